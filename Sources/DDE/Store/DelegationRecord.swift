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
    /// policy) is returned in `refused`, with the scores and evidence kept; a store failure throws
    /// and changes nothing.
    public func record(scores: [ReputationEvent], evidence: [Evidence], accepted: VerifiedResult?,
                       assurance: Assurance, identity: KeyPair, now: UInt64) throws(DDEError) -> DelegationRecord {
        if scores.isEmpty && evidence.isEmpty && accepted == nil { return DelegationRecord() }
        // The commit joins the transaction without a savepoint of its own (SQLite would copy
        // every page it changes into a statement journal, a visible share of the commit's CPU):
        // a refusal ends the whole transaction, and a second one writes the scores and evidence
        // alone (a refusal is the rare path; the work of scoring is repeated, with the same `now`).
        var refused: DDEError?
        do throws(DDEError) {
            return try database.transaction { () throws(DDEError) -> DelegationRecord in
                let written = try write(scores: scores, evidence: evidence, executor: accepted?.verdict.executor, now: now)
                var out = written.record
                guard let accepted else { return out }
                do throws(DDEError) {
                    try checkCommit(accepted, now: now,
                                    policy: written.scored.map { reputation.policy(of: $0, now: Int64(clamping: now)) })
                    out.receipt = try writeCommit(accepted, identity: identity, now: now, assurance: assurance)
                } catch {
                    if error.status != .store && error.status != .closed { refused = error }
                    throw error
                }
                return out
            }
        } catch {
            guard let refused else { throw error }
            return try database.transaction { () throws(DDEError) -> DelegationRecord in
                var out = try write(scores: scores, evidence: evidence, executor: nil, now: now).record
                out.refused = refused
                return out
            }
        }
    }

    /// The scores (Unix ms `now`) and evidence of `record`, in its transaction; `scored`: the
    /// record of `executor` as its last score left it (the commit's check 10 judges it without
    /// reading it back).
    private func write(scores: [ReputationEvent], evidence: [Evidence], executor: PublicKey?,
                       now: UInt64) throws(DDEError) -> (record: DelegationRecord, scored: ReputationRecord?) {
        var out = DelegationRecord()
        let t = Int64(clamping: now)
        var scored: ReputationRecord? = nil
        for event in scores {
            let r = try reputation.apply(event, now: t)
            if r.executorKey == executor { scored = r }
        }
        for e in evidence { out.evidenceIds.append(try addEvidence(e)) }
        return (out, scored)
    }
}
