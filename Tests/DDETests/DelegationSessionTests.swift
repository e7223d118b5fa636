import XCTest
@testable import DDE

/// The session state machine with hand-built, really signed proofs (Fixture): what it accepts,
/// whom it scores and what it keeps as evidence.
final class DelegationSessionTests: XCTestCase {
    let a = Fixture.executor
    let b = Fixture.other
    static let thirdKey = try! KeyPair.fromSeed(Fixture.seed(4))
    var c: KeyPair { DelegationSessionTests.thirdKey }
    let task = Fixture.task

    func session(_ mode: AssuranceMode, asked: [KeyPair]? = nil, policy: VerifyPolicy = .acceptAll) -> DelegationSession {
        DelegationSession(task: task, mode: mode, asked: (asked ?? [a, b, c]).map { $0.publicKey },
                          sentAt: 1000, deadline: 6000, policy: policy)
    }

    /// A valid compute_result payload signed by `signer`.
    func good(_ signer: KeyPair) -> JSON { Fixture.computeResult(proof: Fixture.proof(signer: signer)).json }

    /// Consistent and signed, but a different result (what a liar sends).
    func lie(_ signer: KeyPair) -> JSON {
        let wrong: JSON = try! JSONParser.parse(#"{"count":1000,"ok":true}"#)
        return Fixture.computeResult(proof: Fixture.proof(result: wrong, signer: signer), result: wrong).json
    }

    /// Signed, but the result altered afterwards (check 7).
    func forged(_ signer: KeyPair) -> JSON {
        var r = Fixture.computeResult(proof: Fixture.proof(signer: signer))
        r.result = try! JSONParser.parse(#"{"count":43,"ok":true}"#)
        return r.json
    }

    func kinds(_ s: DelegationSession) -> [DelegationEvent.Kind] { s.events.map { $0.kind } }

    func testFirstValidAcceptsTheFirstValidProofWithRequesterLatency() {
        var s = session(.firstValid)
        s.receive(result: good(a), at: 1250)
        XCTAssertTrue(s.isDecided)
        XCTAssertEqual(s.accepted?.executorPublicKey, a.publicKey)
        let actions = s.takeActions()
        XCTAssertEqual(actions.count, 1)
        // 250 ms is what the requester measured; the executor claimed 7 (executionLatency).
        guard case .success(let key, let latency)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertEqual(key, a.publicKey)
        XCTAssertEqual(latency, 250)
        // A later valid agreeing proof is scored too.
        s.receive(result: good(b), at: 1300)
        XCTAssertEqual(kinds(s), [.accepted, .agreed])
        guard case .success(let key2, 300)? = s.takeActions().first else { return XCTFail("no success for b") }
        XCTAssertEqual(key2, b.publicKey)
    }

    func testAlteredResultIsNoAnswerAndNeverBansTheSigner() {
        var s = session(.firstValid)
        // A genuine proof of a with another result attached (check 7): anyone reading the results
        // topic can make this, so it proves nothing about a.
        s.receive(result: forged(a), at: 1100)
        XCTAssertFalse(s.isDecided)
        XCTAssertEqual(kinds(s), [.unattributed])
        XCTAssertEqual(s.events.first?.status, .resultHash)
        XCTAssertTrue(s.takeActions().isEmpty, "check 7 must not score the signer")
        // a's genuine answer still counts: the altered copy did not use up its turn.
        s.receive(result: good(a), at: 1150)
        XCTAssertEqual(s.accepted?.executorPublicKey, a.publicKey)
        XCTAssertEqual(s.accepted?.result, Fixture.result)
    }

    func testAlteredWritesAreNoAnswerEither() {
        var s = session(.quorum(2), asked: [a, b])
        var r = Fixture.computeResult(proof: Fixture.proof(signer: a))
        r.stateWrites = StateWrites()
        s.receive(result: r.json, at: 1100)
        XCTAssertEqual(kinds(s), [.unattributed])
        XCTAssertEqual(s.events.first?.status, .writesHash)
        XCTAssertTrue(s.takeActions().isEmpty)
    }

    func testSignedWrongProofIsEvidence() {
        var s = session(.firstValid)
        // Signed claim of a next state root that the writes do not give (check 8).
        let p = Fixture.proof(signer: a) { $0.nextStateRoot = SHA256.hash(Array("elsewhere".utf8)) }
        s.receive(result: Fixture.computeResult(proof: p).json, at: 1100)
        let actions = s.takeActions()
        XCTAssertEqual(actions.count, 2)
        guard case .evidence(let e) = actions[1] else { return XCTFail("\(actions)") }
        XCTAssertEqual(e.executorKey, a.publicKey)
        XCTAssertEqual(e.status, .nextStateRoot)
        XCTAssertEqual(e.taskJSON, task.canonicalBytes)
        // The evidence holds the compute_result as received, proof and signature included.
        let kept = try? ComputeResult(json: try JSONParser.parse(e.resultJSON))
        XCTAssertEqual(kept?.proof.signature, p.signature)
    }

    func testBadSignatureIsNotBlamedOnTheKeyItNames() {
        var s = session(.firstValid)
        var p = Fixture.proof(signer: a)
        p.signature = b.sign(.proof, p.signedHash)  // names a, signed by b
        s.receive(result: Fixture.computeResult(proof: p).json, at: 1100)
        XCTAssertEqual(kinds(s), [.unattributed])
        XCTAssertTrue(s.takeActions().isEmpty)
        // a may still answer properly.
        s.receive(result: good(a), at: 1200)
        XCTAssertEqual(s.accepted?.executorPublicKey, a.publicKey)
    }

    func testDuplicatesAndUnaskedExecutorsAreIgnored() {
        var s = session(.quorum(2), asked: [a, b])
        s.receive(result: good(a), at: 1100)
        s.receive(result: good(a), at: 1101)          // QoS 1 duplicate
        s.receive(result: good(c), at: 1102)          // not asked
        XCTAssertFalse(s.isDecided, "one executor's duplicate must not make a quorum of 2")
        XCTAssertEqual(kinds(s), [.unresolved, .duplicate, .unsolicited])
        XCTAssertTrue(s.takeActions().isEmpty)
        s.receive(result: good(b), at: 1200)
        XCTAssertTrue(s.isDecided)
        XCTAssertEqual(kinds(s), [.accepted, .duplicate, .unsolicited, .agreed])
    }

    func testQuorumOutvotesTheLiarAndKeepsEvidence() {
        var s = session(.quorum(2))
        s.receive(result: good(a), at: 1100)
        s.receive(result: lie(b), at: 1150)
        XCTAssertFalse(s.isDecided)
        XCTAssertTrue(s.takeActions().isEmpty, "nobody is scored before the quorum decides")
        s.receive(result: good(c), at: 1200)
        XCTAssertEqual(s.accepted?.executorPublicKey, a.publicKey)
        XCTAssertEqual(s.accepted?.result, Fixture.result)
        XCTAssertEqual(kinds(s), [.accepted, .disagreed, .agreed])
        var successes: [PublicKey] = []
        var failures: [PublicKey] = []
        var evidence: [Evidence] = []
        for action in s.takeActions() {
            switch action {
            case .success(let k, _): successes.append(k)
            case .failure(let k): failures.append(k)
            case .evidence(let e): evidence.append(e)
            case .validated: break
            default: XCTFail("unexpected \(action)")
            }
        }
        XCTAssertEqual(Set(successes), [a.publicKey, c.publicKey])
        XCTAssertEqual(failures, [b.publicKey])
        XCTAssertEqual(evidence.map { $0.executorKey }, [b.publicKey])
        XCTAssertEqual(evidence.first?.status, .resultMismatch)
        // The portable document pairs the liar's proof with the accepted one.
        let doc = try? EvidenceDocument(bytes: evidence.first?.document ?? [])
        XCTAssertEqual(Set(doc?.signers ?? []), [a.publicKey, b.publicKey])
    }

    func testLiarLateAfterTheQuorumIsStillEvidence() {
        var s = session(.quorum(2))
        s.receive(result: good(a), at: 1100)
        s.receive(result: good(c), at: 1120)
        _ = s.takeActions()
        s.receive(result: lie(b), at: 1300)
        let actions = s.takeActions()
        XCTAssertEqual(actions.count, 2)
        guard case .failure(let k) = actions[0], case .evidence(let e) = actions[1] else { return XCTFail("\(actions)") }
        XCTAssertEqual(k, b.publicKey)
        XCTAssertEqual(e.executorKey, b.publicKey)
    }

    func testQuorumFailsEarlyWhenItCannotBeReached() {
        var s = session(.quorum(2), asked: [a, b])
        s.receive(result: good(a), at: 1100)
        XCTAssertFalse(s.isDecided)
        s.receive(result: lie(b), at: 1200)
        guard case .failed(let e) = s.state else { return XCTFail("expected failure, got \(s.state)") }
        XCTAssertEqual(e.status, .quorumNotReached)
        // Two valid proofs disagree and nothing decides: neither is scored.
        XCTAssertTrue(s.takeActions().isEmpty)
    }

    func testSilentExecutorsTimeOutAtTheDeadline() {
        var s = session(.firstValid)
        s.receive(result: forged(a), at: 1100)
        s.receive(error: ComputeErrorMessage(taskId: task.taskId, executor: b, code: .busy, message: "busy"), at: 1200)
        XCTAssertFalse(s.isDecided)
        _ = s.takeActions()
        s.expire(at: 6000)
        guard case .failed(let e) = s.state else { return XCTFail("expected failure") }
        XCTAssertEqual(e.status, .noResult)
        let actions = s.takeActions()
        // a sent only an altered copy (no answer of its own), c nothing; b's compute_error is not scored.
        XCTAssertEqual(actions.count, 2, "\(actions)")
        var timedOut: [PublicKey] = []
        for case .timeout(let k) in actions { timedOut.append(k) }
        XCTAssertEqual(timedOut, [a.publicKey, c.publicKey])
    }

    func testStoppingEarlyScoresNoTimeouts() {
        var s = session(.firstValid)
        s.receive(result: good(a), at: 1100)
        _ = s.takeActions()
        s.expire(at: 1200, deadlineReached: false)
        XCTAssertTrue(s.takeActions().isEmpty)
        XCTAssertNotNil(s.accepted)
    }

    func testEveryoneFailedEndsEarly() {
        var s = session(.firstValid, asked: [a, b])
        let p = Fixture.proof(signer: a) { $0.nextStateRoot = SHA256.hash(Array("elsewhere".utf8)) }
        s.receive(result: Fixture.computeResult(proof: p).json, at: 1100)
        s.receive(error: ComputeErrorMessage(taskId: task.taskId, executor: b, code: .codeNotFound, message: "no code"), at: 1200)
        XCTAssertTrue(s.everyoneAnswered)
        guard case .failed(let e) = s.state else { return XCTFail("expected failure") }
        XCTAssertEqual(e.status, .noResult)
    }

    func testForgedComputeErrorsEndNobodysTurnAndScoreNothing() {
        // Unsigned, signed by someone else, or a genuine refusal of another task replayed here:
        // none is b's answer to this task.
        var other = ComputeErrorMessage(taskId: task.taskId, executorPublicKey: b.publicKey, code: .busy, message: "busy")
        other.sign(with: c)
        let replayed = ComputeErrorMessage(taskId: SHA256.hash(Array("another task".utf8)), executor: b, code: .busy,
                                           message: "busy")
        var moved = replayed
        moved.taskId = task.taskId
        for forged in [ComputeErrorMessage(taskId: task.taskId, executorPublicKey: b.publicKey, code: .busy, message: "busy"),
                       other, moved] {
            var s = session(.quorum(2), asked: [a, b])
            s.receive(result: good(a), at: 1100)
            s.receive(error: forged, at: 1150)
            XCTAssertFalse(s.everyoneAnswered, "a forged error must not end b's turn")
            XCTAssertFalse(s.isDecided)
            XCTAssertEqual(s.events.last?.kind, .unattributed)
            s.receive(result: good(b), at: 1200)
            XCTAssertEqual(s.assurance.how, .quorum, "b's genuine answer still counts")
            XCTAssertNotNil(s.accepted)
        }
        // The genuine signed refusal ends b's turn.
        var s = session(.quorum(2), asked: [a, b])
        s.receive(result: good(a), at: 1100)
        s.receive(error: ComputeErrorMessage(taskId: task.taskId, executor: b, code: .busy, message: "busy"), at: 1150)
        XCTAssertTrue(s.everyoneAnswered)
        guard case .failed(let e) = s.state else { return XCTFail("\(s.state)") }
        XCTAssertEqual(e.status, .quorumNotReached)
    }

    func testBannedExecutorIsRefusedNotScored() {
        var s = session(.firstValid, policy: VerifyPolicy(banned: [a.publicKey]))
        s.receive(result: good(a), at: 1100)
        XCTAssertEqual(kinds(s), [.refused])
        XCTAssertEqual(s.events.first?.status, .executorBanned)
        XCTAssertTrue(s.takeActions().isEmpty)
        XCTAssertFalse(s.isDecided)
    }

    func testResultForAnotherTaskAndGarbageAreIgnored() {
        var s = session(.firstValid)
        let other = try! ComputeTask.create(Fixture.spec(state: nil), requester: Fixture.requester)
        s.receive(result: Fixture.computeResult(proof: Fixture.proof(for: other, writes: StateWrites(), signer: a),
                                                writes: StateWrites()).json, at: 1100)
        s.receive(result: .string("nonsense"), at: 1100)
        XCTAssertEqual(kinds(s), [.unsolicited, .unattributed])
        XCTAssertTrue(s.takeActions().isEmpty)
    }
}
