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
    /// policy) rolls back alone and is returned in `refused`; a store failure throws and
    /// changes nothing.
    public func record(scores: [ReputationEvent], evidence: [Evidence], accepted: VerifiedResult?,
                       assurance: Assurance, identity: KeyPair, now: UInt64) throws(DDEError) -> DelegationRecord {
        if scores.isEmpty && evidence.isEmpty && accepted == nil { return DelegationRecord() }
        return try database.transaction { () throws(DDEError) -> DelegationRecord in
            var out = DelegationRecord()
            let t = Int64(clamping: now)
            // The executor's record as its last score left it: the commit's check 10 judges it
            // without reading it back.
            let executor = accepted?.verdict.executor
            var scored: ReputationRecord? = nil
            for event in scores {
                let r = try reputation.apply(event, now: t)
                if r.executorKey == executor { scored = r }
            }
            for e in evidence { out.evidenceIds.append(try addEvidence(e)) }
            guard let accepted else { return out }
            do throws(DDEError) {
                out.receipt = try commit(accepted, identity: identity, now: now, assurance: assurance,
                                         policy: scored.map { reputation.policy(of: $0, now: t) })
            } catch {
                if error.status == .store || error.status == .closed { throw error }
                out.refused = error
            }
            return out
        }
    }
}
