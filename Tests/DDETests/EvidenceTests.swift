import XCTest
@testable import DDE

/// Portable fraud evidence (PROTOCOL.md section 12): what makes a document, what refuses one
/// (each with its own error), and the round trip through two stores: produced by one requester,
/// exported, imported by another that checks it and blacklists the liar for good.
final class EvidenceTests: XCTestCase {
    let task = Fixture.task
    let honest = testKeyPair(30)
    let liar = testKeyPair(31)
    var dir: TempDir!

    override func setUp() { dir = TempDir() }

    func lieProof(_ signer: KeyPair, count: Int = 1000) -> ExecutionProof {
        Fixture.proof(result: try! JSONParser.parse(#"{"count":\#(count),"ok":true}"#), signer: signer)
    }

    var honestOutcome: EvidenceDocument.Outcome { EvidenceDocument.Outcome(Fixture.proof(signer: honest)) }

    func testDocumentRoundTripsAndNamesTheLiarByReexecution() throws {
        let doc = try EvidenceDocument(task: task, proofs: lieProof(liar), Fixture.proof(signer: honest))
        let back = try EvidenceDocument(bytes: doc.canonicalBytes)
        XCTAssertEqual(back.id, doc.id)
        XCTAssertNil(back.selfEvidentVerdict, "two keys disagreeing: only a re-execution can tell")
        let v = back.verdict(reexecuted: honestOutcome)
        XCTAssertEqual(v.liars, [liar.publicKey])
        XCTAssertEqual(v.how, .reexecution)
        // Order does not matter: one spelling per document.
        let swapped = try EvidenceDocument(task: task, proofs: Fixture.proof(signer: honest), lieProof(liar))
        XCTAssertEqual(swapped.canonicalBytes, doc.canonicalBytes)
    }

    func testEquivocationNamesTheSignerWithoutExecution() throws {
        let doc = try EvidenceDocument(task: task, proofs: lieProof(liar, count: 1), lieProof(liar, count: 2))
        let v = try XCTUnwrap(doc.selfEvidentVerdict)
        XCTAssertEqual(v.liars, [liar.publicKey])
        XCTAssertEqual(v.how, .equivocation)
    }

    func testForgedEvidenceIsRefusedEachWithItsOwnError() throws {
        // A signature that does not verify.
        var bad = lieProof(liar)
        bad.signature = honest.sign(.proof, bad.signedHash)
        assertThrows(.proofSignature) { () throws(DDEError) in try EvidenceDocument(task: task, proofs: bad, Fixture.proof(signer: honest)) }
        // Proofs of two different tasks.
        let other = try ComputeTask.create(Fixture.spec(state: nil), requester: Fixture.requester)
        let otherProof = Fixture.proof(for: other, writes: StateWrites(), signer: honest)
        assertThrows(.taskMismatch) { () throws(DDEError) in try EvidenceDocument(task: task, proofs: lieProof(liar), otherProof) }
        // Two proofs that agree.
        assertThrows(.evidenceAgrees) { () throws(DDEError) in
            try EvidenceDocument(task: task, proofs: Fixture.proof(signer: liar), Fixture.proof(signer: honest))
        }
        // The same refusals when parsing a document someone sent, built by hand.
        func document(_ proofs: [ExecutionProof]) -> [UInt8] {
            JSON.object(JSONObject(uniqueMembers: [
                .init("evidenceVersion", .number(1)),
                .init("proofs", .array(proofs.map { $0.json })),
                .init("task", task.json),
            ])).canonicalBytes()
        }
        assertThrows(.proofSignature) { () throws(DDEError) in try EvidenceDocument(bytes: document([bad, Fixture.proof(signer: honest)])) }
        assertThrows(.evidenceAgrees) { () throws(DDEError) in
            try EvidenceDocument(bytes: document([Fixture.proof(signer: liar), Fixture.proof(signer: honest)]))
        }
        assertThrows(.schema) { () throws(DDEError) in try EvidenceDocument(bytes: document([lieProof(liar)])) }
        // A task whose requester signature was altered.
        var json = try XCTUnwrap(try? JSONParser.parse(document([lieProof(liar), Fixture.proof(signer: honest)])))
        guard case .object(var o) = json, case .object(var t)? = o["task"] else { return XCTFail() }
        t["timestamp"] = .number(1)
        o["task"] = .object(t)
        json = .object(o)
        XCTAssertThrowsError(try EvidenceDocument(json: json))
    }

    func testImportedIntoASecondStoreCheckedAndTheLiarBlacklistedForGood() throws {
        // Requester A made the evidence in an audit.
        let a = try Store(path: dir.path("a.db"))
        defer { a.close() }
        let doc = try EvidenceDocument(task: task, proofs: lieProof(liar), Fixture.proof(signer: honest))
        var e = Evidence(executorKey: liar.publicKey, taskId: task.taskId, status: .resultMismatch, detail: "audit",
                         taskJSON: task.canonicalBytes, resultJSON: [], recordedAt: 5)
        e.document = doc.canonicalBytes
        e.convicted = true
        try a.addEvidence(e)
        let exported = try a.evidenceDocuments()
        XCTAssertEqual(exported.map { $0.id }, [doc.id])

        // Requester B was never cheated; it checks the document and re-executes.
        let b = try Store(path: dir.path("b.db"))
        defer { b.close() }
        let received = try EvidenceDocument(bytes: exported[0].canonicalBytes)
        XCTAssertEqual(try b.importEvidence(received, verdict: nil, now: 10), .unjudged)
        XCTAssertFalse(try b.reputation.isBlacklisted(liar.publicKey, now: 10), "an unjudged claim bans nobody")
        XCTAssertFalse(try b.reputation.isBlacklisted(honest.publicKey, now: 10))
        let outcome = try b.importEvidence(received, verdict: received.verdict(reexecuted: honestOutcome), now: 20)
        XCTAssertEqual(outcome, .convicted([liar.publicKey], .reexecution))
        XCTAssertTrue(try b.reputation.isBlacklisted(liar.publicKey, now: 20))
        XCTAssertFalse(try b.reputation.isBlacklisted(honest.publicKey, now: 20))
        // For good: successes later and a long time do not lift it.
        for i in 0..<50 { try b.reputation.recordSuccess(liar.publicKey, latencyMs: 1, now: 30 + Int64(i)) }
        XCTAssertTrue(try b.reputation.isBlacklisted(liar.publicKey, now: 10 * 365 * 24 * 3_600_000))
        // Importing it again changes nothing.
        XCTAssertEqual(try b.importEvidence(received, verdict: received.verdict(reexecuted: honestOutcome), now: 40), .known)
        XCTAssertEqual(try b.evidence(executor: liar.publicKey).filter { $0.convicted }.count, 1)
        XCTAssertEqual(try b.evidence(executor: honest.publicKey).count, 0, "the unjudged rows were replaced by the verdict")
    }
}
