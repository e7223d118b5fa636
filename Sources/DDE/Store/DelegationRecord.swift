// A delegation's outcome in the store, through one door and one transaction (one durable
// commit): the scores first (the commit's check 10 sees them), then the evidence kept, then the
// accepted result, which only the Verifier can have made (`VerifiedResult`).

extension Store {
    /// What `record` wrote.
    public struct DelegationRecord: Sendable {
        /// Row ids of the evidence, in order.
        public var evidenceIds: [Int64] = []
        /// The receipt of the committed result.
        public var receipt: Receipt?
        /// Why the accepted result was not committed (stale, duplicate, refused by check 10);
        /// the scores and evidence were kept.
        public var refused: DDEError?
    }

    /// Applies `scores` (Unix ms `now`), keeps `evidence`, and commits `accepted` with
    /// `assurance`, in one transaction. A commit refused for its own reasons (stale, duplicate,
    /// policy) is returned in `refused`, with the scores and evidence kept: the transaction is
    /// rolled back and they are written again without it (one more fsync, on a refusal only); a
    /// store failure throws and changes nothing.
    public func record(scores: [ReputationEvent], evidence: [Evidence], accepted: VerifiedResult?,
                       assurance: Assurance, identity: KeyPair, now: UInt64) throws(DDEError) -> DelegationRecord {
        if scores.isEmpty && evidence.isEmpty && accepted == nil { return DelegationRecord() }
        do throws(DDEError) {
            return try database.transaction { () throws(DDEError) -> DelegationRecord in
                var out = DelegationRecord()
                let t = Int64(clamping: now)
                for event in scores { try reputation.apply(event, now: t) }
                for e in evidence { out.evidenceIds.append(try addEvidence(e)) }
                guard let accepted else { return out }
                // No savepoint: SQLite copies every page changed under one first, and the pages a
                // commit changes at a million keys outgrow its in-memory statement journal
                // (64 KiB), so each delegation wrote a temporary file.
                out.receipt = try commit(accepted, identity: identity, now: now, assurance: assurance, policy: nil,
                                         savepoint: false)
                return out
            }
        } catch {
            // Rolled back whole. Without the commit, the scores and evidence go in again (an
            // error of their own comes back the same and is thrown).
            guard accepted != nil, error.status != .store && error.status != .closed else { throw error }
            var out = try record(scores: scores, evidence: evidence, accepted: nil, assurance: assurance,
                                 identity: identity, now: now)
            out.refused = error
            return out
        }
    }
}
