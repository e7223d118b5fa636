// Evidence in the store (PROTOCOL.md section 12): documents made here or received from other
// requesters, and the convictions they carry. A receiver never acts on an unchecked claim: a
// document is stored against each liar its verdict names (convicting it), or, with no verdict,
// against both signers as unjudged (convicting nobody).

/// What importing a document did.
public enum EvidenceOutcome: Sendable, Equatable {
    /// The liars were convicted (blacklisted for good); `how` says how they were named.
    case convicted([PublicKey], EvidenceDocument.Verdict.How)
    /// Checked (signatures, same task, disagreement), but naming the liar needs a re-execution
    /// that was not possible here: kept, nobody convicted.
    case unjudged
    /// This document was already in the store with its verdict: nothing changed.
    case known
}

extension Store {
    /// Stores a checked document with its verdict (nil: unjudged) and convicts the liars, in one
    /// transaction. A document already stored with a verdict changes nothing (`.known`); one stored
    /// unjudged stays `.unjudged`, or is judged now if a verdict is given.
    @discardableResult
    public func importEvidence(_ doc: EvidenceDocument, verdict: EvidenceDocument.Verdict?,
                               now: Int64) throws(DDEError) -> EvidenceOutcome {
        let bytes = doc.canonicalBytes
        return try database.transaction { () throws(DDEError) -> EvidenceOutcome in
            let stored = try database.withStatement("SELECT max(convicted) FROM evidence WHERE document = ?1") { s throws(DDEError) -> Int64? in
                try s.bind(1, blob: bytes)
                guard try s.step(), !s.isNull(0) else { return nil }
                return s.int64(0)
            }
            if let stored, stored != 0 {
                // Known with its verdict; its liars stay convicted even if a record was cleared since.
                for liar in verdict?.liars ?? [] { try reputation.convict(liar, now: now) }
                return .known
            }
            if stored != nil, verdict == nil { return .unjudged }  // kept before, still without a verdict
            if stored != nil {
                try database.withStatement("DELETE FROM evidence WHERE document = ?1 AND convicted = 0") { s throws(DDEError) in
                    try s.bind(1, blob: bytes)
                    try s.step()
                }
            }
            let taskJSON = doc.task.canonicalBytes
            guard let verdict, !verdict.liars.isEmpty else {
                var signers: [PublicKey] = []
                for k in doc.signers where !signers.contains(k) { signers.append(k) }
                for signer in signers {
                    var e = Evidence(executorKey: signer, taskId: doc.task.taskId, status: .evidenceUnjudged,
                                     detail: "two signed proofs disagree; re-execution is needed to name the liar",
                                     taskJSON: taskJSON, resultJSON: [], recordedAt: now)
                    e.document = bytes
                    try addEvidence(e)
                }
                return .unjudged
            }
            for liar in verdict.liars {
                var e = Evidence(executorKey: liar, taskId: doc.task.taskId, status: .auditFailed,
                                 detail: "proven a liar by \(verdict.how.rawValue)", taskJSON: taskJSON, resultJSON: [],
                                 recordedAt: now)
                e.document = bytes
                e.convicted = true
                try addEvidence(e)
                try reputation.convict(liar, now: now)
            }
            return .convicted(verdict.liars, verdict.how)
        }
    }

    /// Every portable document in the store, each once, oldest first.
    public func evidenceDocuments() throws(DDEError) -> [EvidenceDocument] {
        var seen: [Digest] = []
        var out: [EvidenceDocument] = []
        for e in try evidence() {
            guard let bytes = e.document, let doc = try? EvidenceDocument(bytes: bytes) else { continue }
            let id = doc.id
            if seen.contains(id) { continue }
            seen.append(id)
            out.append(doc)
        }
        return out
    }
}
