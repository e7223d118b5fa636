// Portable fraud evidence for C callers (docs/PROTOCOL.md section 12). See include/dde.h.
// The core cannot execute WebAssembly, so a document whose liar only a re-execution can name
// is checked (signatures, same task, disagreement) and kept unjudged: nobody is blacklisted.

/// {"evidenceId","taskId","signers":[pk],"liars":[pk],"how":"equivocation"|"signed_fields"|null}.
private func verdictJSON(_ doc: EvidenceDocument, _ v: EvidenceDocument.Verdict?) -> JSON {
    .object(JSONObject(uniqueMembers: [
        .init("evidenceId", .string(doc.id.hex)),
        .init("how", v.map { .string($0.how.rawValue) } ?? .null),
        .init("liars", .array((v?.liars ?? []).map { .string($0.hex) })),
        .init("signers", .array(doc.signers.map { .string($0.hex) })),
        .init("taskId", .string(doc.task.taskId.hex)),
    ]))
}

@_cdecl("dde_evidence_check")
public func dde_evidence_check(_ document: UnsafePointer<CChar>?, _ length: Int,
                               _ verdict: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                               _ verdictLength: UnsafeMutablePointer<Int>?) -> Int32 {
    verdict?.pointee = nil
    verdictLength?.pointee = 0
    return guarded { () throws(DDEError) in
        let doc = try EvidenceDocument(bytes: Array(try inputBytes(document, length, "document")))
        let v = doc.selfEvidentVerdict
        if verdict != nil { try emit(verdictJSON(doc, v).canonicalBytes(), verdict, verdictLength) }
        if v == nil {
            throw DDEError(.evidenceUnjudged, "the document checks (signatures, one task, disagreement), but naming the liar needs a re-execution of its task: run `dde evidence check` where the code is")
        }
    }
}

@_cdecl("dde_store_evidence_import")
public func dde_store_evidence_import(_ handle: OpaquePointer?, _ document: UnsafePointer<CChar>?, _ length: Int,
                                      _ nowMs: UInt64) -> Int32 {
    guarded { () throws(DDEError) in
        let s = try store(handle)
        let doc = try EvidenceDocument(bytes: Array(try inputBytes(document, length, "document")))
        let outcome = try s.importEvidence(doc, verdict: doc.selfEvidentVerdict, now: clock64(nowMs))
        // .unjudged also for a document kept unjudged before: DDE_OK means its liar is blacklisted.
        if outcome == .unjudged {
            throw DDEError(.evidenceUnjudged, "kept unjudged: naming the liar needs a re-execution of the task; nobody was blacklisted")
        }
    }
}

@_cdecl("dde_store_evidence_export")
public func dde_store_evidence_export(_ handle: OpaquePointer?, _ lines: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                      _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    lines?.pointee = nil
    length?.pointee = 0
    return guarded { () throws(DDEError) in
        let s = try store(handle)
        var out: [UInt8] = []
        for doc in try s.evidenceDocuments() {
            out.append(contentsOf: doc.canonicalBytes)
            out.append(0x0a)
        }
        try emit(out, lines, length)
    }
}

@_cdecl("dde_client_check_evidence")
public func dde_client_check_evidence(_ handle: OpaquePointer?, _ document: UnsafePointer<CChar>?, _ length: Int,
                                      _ options: UnsafePointer<CChar>?, _ optionsLength: Int,
                                      _ verdict: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                      _ verdictLength: UnsafeMutablePointer<Int>?) -> Int32 {
    verdict?.pointee = nil
    verdictLength?.pointee = 0
    return guarded { () throws(DDEError) in
        let c = try client(handle)
        let doc = try EvidenceDocument(bytes: Array(try inputBytes(document, length, "document")))
        // The check always runs in the audited mode with every answer audited
        // (Delegator.judgeByExecutors); the options give its numbers, pins and deadline.
        var opts = DelegationOptions(mode: .audited(AuditPolicy()))
        if options != nil {
            let json = try JSONParser.parse(try inputBytes(options, optionsLength, "options"))
            opts = try delegationOptions(json)
            if case .audited = opts.mode {} else { opts.mode = .audited(AuditPolicy()) }
        }
        let outcome = try c.delegator.checkEvidence(doc, options: opts)
        var judged: EvidenceDocument.Verdict? = nil
        if case .convicted(let liars, let how) = outcome { judged = EvidenceDocument.Verdict(liars: liars, how: how) }
        if verdict != nil { try emit(verdictJSON(doc, judged).canonicalBytes(), verdict, verdictLength) }
        if outcome == .unjudged {
            throw DDEError(.evidenceUnjudged, "no pinned executor confirmed a re-run of the task (pin one in the options): kept unjudged, nobody blacklisted")
        }
    }
}
