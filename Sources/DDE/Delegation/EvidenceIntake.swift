// Evidence that reaches a requester (PROTOCOL.md section 12): documents from the evidence topic
// (checked on arrival by the Delegator, judged here after each delegation), its own
// disagreements when it can re-execute, and documents a caller asks it to check.

extension Delegator {
    /// Judges the evidence received since the last call (`receiveEvidence` on each): called at
    /// the end of `discover` and of `delegate`, never while a delegation waits for answers.
    public func processEvidence() throws(DDEError) {
        let docs = pendingEvidence
        pendingEvidence = []
        for doc in docs {
            let outcome = try receiveEvidence(doc)
            evidenceReceived.append((doc.id, outcome))
        }
        if evidenceReceived.count > Delegator.maxPendingEvidence {
            evidenceReceived.removeFirst(evidenceReceived.count - Delegator.maxPendingEvidence)
        }
    }

    /// Acts on a checked evidence document (its signatures and disagreement were checked when it
    /// was parsed): convicts the liars it names by itself (equivocation, signed fields) or by a
    /// re-execution through `judge`; otherwise keeps it unjudged and convicts nobody.
    @discardableResult
    public func receiveEvidence(_ doc: EvidenceDocument) throws(DDEError) -> EvidenceOutcome {
        let verdict = doc.selfEvidentVerdict ?? judge?(doc).map { doc.verdict(reexecuted: $0) }
        return try store.importEvidence(doc, verdict: verdict, now: Int64(clamping: clock()))
    }

    /// Checks a document and acts on it, asking the network when it must: a liar named by the
    /// document itself, or by `judge` (local re-execution), is convicted at once; otherwise the
    /// task is run again by executors this requester trusts (`judgeByExecutors`) and the liar
    /// is convicted only when a pinned executor confirmed the outcome. Else the document is kept
    /// unjudged.
    @discardableResult
    public func checkEvidence(_ doc: EvidenceDocument, options: DelegationOptions) throws(DDEError) -> EvidenceOutcome {
        var verdict = doc.selfEvidentVerdict ?? judge?(doc).map { doc.verdict(reexecuted: $0) }
        if verdict == nil { verdict = try judgeByExecutors(doc, options: options) }
        return try store.importEvidence(doc, verdict: verdict, now: Int64(clamping: clock()))
    }

    /// Has executors re-run the task of `doc`, neither of its signers among them: a copy of the
    /// task under this requester's key (execution depends only on the code, action, payload,
    /// state and limits, so the outcome is the same), delegated with `options` (the audited mode
    /// by default) and committed nowhere. The verdict, when a pinned executor stood behind the
    /// outcome; nil otherwise.
    public func judgeByExecutors(_ doc: EvidenceDocument, options: DelegationOptions) throws(DDEError) -> EvidenceDocument.Verdict? {
        let t = doc.task
        var o = options
        o.exclude += doc.signers
        o.shareEvidence = false
        // Every answer audited: one executor's word convicts nobody.
        var audit = AuditPolicy()
        if case .audited(let p) = o.mode { audit = p }
        audit.auditFloor = 1
        o.mode = .audited(audit)
        let spec = TaskSpec(dappId: t.dappId, dappCodeHash: t.dappCodeHash, action: t.intent.action, payload: t.intent.payload,
                            raw: t.intent.raw, requiredCapabilities: t.requiredCapabilities, state: t.partialState == nil ? t.state : nil, partialState: t.partialState, limits: t.limits,
                            timestamp: clock())
        let report = try run(spec, options: o, commits: false)
        guard let accepted = report.accepted, let assurance = report.assurance else { return nil }
        // As in a delegation, only a pinned executor's word convicts: validated keys may all be
        // one patient attacker's (PROTOCOL.md section 11).
        for k in [accepted.proof.executorPublicKey] + assurance.confirmedBy where o.pinned.contains(k) {
            return doc.verdict(reexecuted: EvidenceDocument.Outcome(accepted.proof))
        }
        return nil
    }

}
