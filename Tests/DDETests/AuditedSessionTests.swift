import XCTest
@testable import DDE

/// The audited mode's decisions (PROTOCOL.md section 11), with really signed proofs: consistent
/// liars (valid signatures, consistent hashes) against audits, replication, pinned executors,
/// fresh colluding identities, and the audit draw itself.
final class AuditedSessionTests: XCTestCase {
    static let keys = (10..<20).map { try! KeyPair.fromSeed(Fixture.seed(UInt8($0))) }
    var honest1: KeyPair { Self.keys[0] }
    var honest2: KeyPair { Self.keys[1] }
    var honest3: KeyPair { Self.keys[2] }
    var liar1: KeyPair { Self.keys[3] }
    var liar2: KeyPair { Self.keys[4] }
    let task = Fixture.task
    /// 1e-2 against 20% liars: c = 25, trusted from 25 validated results.
    let policy = AuditPolicy(errorTarget: 1e-2, liarShare: 0.2)

    func session(asked: [KeyPair], reserve: [KeyPair] = [], validated: KeyValuePairs<KeyPair, Int64> = [:],
                 pinned: [KeyPair] = [], draw: Double = 0.5, policy: AuditPolicy? = nil) -> DelegationSession {
        var v: [PublicKey: Int64] = [:]
        for (k, n) in validated { v[k.publicKey] = n }
        let trust = TrustView(pinned: Set(pinned.map { $0.publicKey }), validated: v,
                              reserve: reserve.map { $0.publicKey }, policy: policy ?? self.policy)
        return DelegationSession(task: task, mode: .audited(policy ?? self.policy), asked: asked.map { $0.publicKey },
                                 sentAt: 1000, deadline: 6000, trust: trust, auditDraw: draw)
    }

    func good(_ signer: KeyPair) -> JSON { Fixture.computeResult(proof: Fixture.proof(signer: signer)).json }

    /// A consistent lie: valid signature, resultHash = H(result), writes and roots consistent.
    func lie(_ signer: KeyPair, _ n: Int = 1000) -> JSON {
        let wrong: JSON = try! JSONParser.parse(#"{"count":\#(n),"ok":true}"#)
        return Fixture.computeResult(proof: Fixture.proof(result: wrong, signer: signer), result: wrong).json
    }

    struct Tally {
        var successes: [PublicKey] = [], failures: [PublicKey] = [], validated: [PublicKey] = []
        var convicted: [PublicKey] = [], asked: [[PublicKey]] = [], evidence: [Evidence] = [], timeouts: [PublicKey] = []
        var demoted: [PublicKey] = []
    }

    func tally(_ actions: [DelegationAction]) -> Tally {
        var t = Tally()
        for a in actions {
            switch a {
            case .success(let k, _): t.successes.append(k)
            case .failure(let k): t.failures.append(k)
            case .validated(let k): t.validated.append(k)
            case .convict(let k): t.convicted.append(k)
            case .ask(let ks): t.asked.append(ks)
            case .evidence(let e): t.evidence.append(e)
            case .timeout(let k): t.timeouts.append(k)
            case .demote(let k): t.demoted.append(k)
            }
        }
        return t
    }

    func testTrustedPrimaryNotDrawnIsAcceptedUnauditedAndGainsNoTrust() {
        // 100 validated: p = 25/100 = 0.25; the draw 0.5 is above it.
        var s = session(asked: [honest1], reserve: [honest2], validated: [honest1: 100, honest2: 100], draw: 0.5)
        s.receive(result: good(honest1), at: 1100)
        XCTAssertEqual(s.accepted?.executorPublicKey, honest1.publicKey)
        XCTAssertEqual(s.assurance.how, .unaudited)
        XCTAssertEqual(s.assurance.confirmedBy, [])
        let t = tally(s.takeActions())
        XCTAssertEqual(t.successes, [honest1.publicKey])
        XCTAssertEqual(t.validated, [], "an unaudited accept never raises trust")
        XCTAssertEqual(t.asked, [])
    }

    func testTrustedLiarDrawnForAuditIsCaughtByThePinnedAuditorAndConvicted() {
        var s = session(asked: [liar1], reserve: [honest2, honest1], validated: [liar1: 100, honest2: 100],
                        pinned: [honest1], draw: 0.1)
        s.receive(result: lie(liar1), at: 1100)
        XCTAssertFalse(s.isDecided, "drawn for audit: nothing is committed before the auditor answers")
        var t = tally(s.takeActions())
        XCTAssertEqual(t.asked, [[honest1.publicKey]], "the audit goes out only after the answer, to the pinned executor first")
        s.receive(result: good(honest1), at: 1200)
        XCTAssertEqual(s.accepted?.executorPublicKey, honest1.publicKey)
        XCTAssertEqual(s.accepted?.result, Fixture.result)
        XCTAssertEqual(s.assurance.how, .escalated)
        XCTAssertTrue(s.assurance.validated)
        t = tally(s.takeActions())
        XCTAssertEqual(t.convicted, [liar1.publicKey])
        XCTAssertEqual(t.failures, [liar1.publicKey])
        XCTAssertEqual(t.successes, [honest1.publicKey])
        XCTAssertEqual(t.evidence.count, 1)
        XCTAssertTrue(t.evidence[0].convicted)
        let doc = try! EvidenceDocument(bytes: t.evidence[0].document!)
        XCTAssertEqual(Set(doc.signers), [liar1.publicKey, honest1.publicKey])
        // Anyone re-executing gets the honest outcome and names the liar.
        let honest = EvidenceDocument.Outcome(Fixture.proof(signer: honest2))
        XCTAssertEqual(doc.verdict(reexecuted: honest).liars, [liar1.publicKey])
    }

    func testWithoutPinnedExecutorsATieBetweenTrustedOnesEscalatesToAValidatedMajority() {
        var s = session(asked: [liar1], reserve: [honest2, honest1], validated: [liar1: 100, honest1: 100, honest2: 100],
                        draw: 0.1)
        s.receive(result: lie(liar1), at: 1100)
        XCTAssertEqual(tally(s.takeActions()).asked, [[honest2.publicKey]])
        s.receive(result: good(honest2), at: 1200)
        XCTAssertFalse(s.isDecided, "one trusted executor against another: nobody decides yet")
        XCTAssertEqual(tally(s.takeActions()).asked, [[honest1.publicKey]])
        s.receive(result: good(honest1), at: 1300)
        XCTAssertEqual(s.accepted?.executorPublicKey, honest2.publicKey)
        let t = tally(s.takeActions())
        // Two validated executors against one commit, and the loser goes back to probation; a
        // majority of validated keys convicts nobody (they may be one patient attacker's).
        XCTAssertEqual(t.convicted, [])
        XCTAssertEqual(t.demoted, [liar1.publicKey])
        XCTAssertEqual(t.failures, [], "demoted, not failed: the same majority could be a Sybil one")
        XCTAssertEqual(Set(t.successes), [honest1.publicKey, honest2.publicKey])
        XCTAssertEqual(Set(t.validated), [honest1.publicKey, honest2.publicKey])
        XCTAssertEqual(t.evidence.count, 1, "the disagreement is kept for re-execution to judge")
    }

    func testValidatedSybilKeysOutvotingAnHonestAuditorCannotGetItConvicted() {
        // One attacker's keys earned validated records by patience and now agree on a lie: the
        // primary lies, the honest auditor disagrees, the escalation reaches another attacker
        // key. The lie wins this session (nothing pinned, nobody re-executes), but the honest
        // executor is only sent back to probation, never convicted or banned, and the evidence
        // names both sides for a re-execution.
        var s = session(asked: [liar1], reserve: [honest1, liar2], validated: [liar1: 100, honest1: 100, liar2: 100],
                        draw: 0.1)
        s.receive(result: lie(liar1), at: 1100)
        XCTAssertEqual(tally(s.takeActions()).asked, [[honest1.publicKey]])
        s.receive(result: good(honest1), at: 1200)
        XCTAssertEqual(tally(s.takeActions()).asked, [[liar2.publicKey]])
        s.receive(result: lie(liar2), at: 1300)
        XCTAssertEqual(s.accepted?.executorPublicKey, liar1.publicKey)
        let t = tally(s.takeActions())
        XCTAssertEqual(t.convicted, [])
        XCTAssertEqual(t.failures, [])
        XCTAssertEqual(t.demoted, [honest1.publicKey])
        let doc = try! EvidenceDocument(bytes: t.evidence[0].document!)
        XCTAssertEqual(doc.verdict(reexecuted: EvidenceDocument.Outcome(Fixture.proof(signer: honest2))).liars,
                       [liar1.publicKey], "re-execution names the real liar")
    }

    func testAuditedAgreementValidatesBoth() {
        var s = session(asked: [honest1], reserve: [honest2], validated: [honest1: 100, honest2: 100], draw: 0.1)
        s.receive(result: good(honest1), at: 1100)
        XCTAssertEqual(tally(s.takeActions()).asked, [[honest2.publicKey]])
        s.receive(result: good(honest2), at: 1200)
        XCTAssertEqual(s.assurance.how, .audited)
        XCTAssertEqual(s.assurance.confirmedBy, [honest2.publicKey])
        XCTAssertEqual(Set(tally(s.takeActions()).validated), [honest1.publicKey, honest2.publicKey])
    }

    func testProbationLiarIsNeverCommittedAgainstAStrongReplica() {
        // liar1 is fresh; its replica honest1 is trusted; nobody else can be asked. One validated
        // word against a fresh one: nothing committed (the validated one could be the liar), and
        // the fresh key cannot cost the validated executor its record.
        var s = session(asked: [liar1, honest1], validated: [honest1: 100])
        s.receive(result: lie(liar1), at: 1050)
        XCTAssertFalse(s.isDecided)
        s.receive(result: good(honest1), at: 1100)
        guard case .failed(let e) = s.state else { return XCTFail("\(s.state)") }
        XCTAssertEqual(e.status, .unresolved)
        let t = tally(s.takeActions())
        XCTAssertEqual(t.failures, [])
        XCTAssertEqual(t.demoted, [], "a fresh key must not demote a validated executor")
        // With a second validated executor to ask, the fresh liar loses and fails.
        var s2 = session(asked: [liar1, honest1], reserve: [honest2], validated: [honest1: 100, honest2: 100])
        s2.receive(result: lie(liar1), at: 1050)
        s2.receive(result: good(honest1), at: 1100)
        XCTAssertEqual(tally(s2.takeActions()).asked, [[honest2.publicKey]])
        s2.receive(result: good(honest2), at: 1200)
        XCTAssertEqual(s2.accepted?.executorPublicKey, honest1.publicKey)
        let t2 = tally(s2.takeActions())
        XCTAssertEqual(t2.convicted, [], "only a pinned executor or re-execution convicts")
        XCTAssertEqual(t2.failures, [liar1.publicKey])
    }

    func testATrustedLiarAuditedByOneHonestExecutorLosesItsTrust() {
        // Audit 1 against 1, nobody else validated to ask: nothing committed, and both go back
        // to probation (the liar cannot keep lying on a record it keeps).
        var s = session(asked: [liar1], reserve: [honest1, liar2], validated: [liar1: 100, honest1: 100], draw: 0.1)
        s.receive(result: lie(liar1), at: 1050)
        XCTAssertEqual(tally(s.takeActions()).asked, [[honest1.publicKey]], "audits go to validated executors only")
        s.receive(result: good(honest1), at: 1100)
        guard case .failed(let e) = s.state else { return XCTFail("\(s.state)") }
        XCTAssertEqual(e.status, .unresolved)
        let t = tally(s.takeActions())
        XCTAssertEqual(Set(t.demoted), [liar1.publicKey, honest1.publicKey])
        XCTAssertEqual(t.asked, [], "the fresh liar2 is never asked to decide")
    }

    func testPinnedPrimaryIsNotAudited() {
        var s = session(asked: [honest1], pinned: [honest1], draw: 0.0)
        s.receive(result: good(honest1), at: 1050)
        XCTAssertEqual(s.assurance.how, .unaudited)
        XCTAssertNotNil(s.accepted)
    }

    func testForgedErrorsInValidatedNamesCannotLeaveTheDecisionToFreshKeys() {
        // The fresh primary liar1 is replicated to validated honest1; a stranger forges "busy" in
        // honest1's name to get fresh liar2 asked instead.
        var s = session(asked: [liar1, honest1], reserve: [liar2], validated: [honest1: 100])
        s.receive(result: lie(liar1), at: 1050)
        s.receive(error: ComputeErrorMessage(taskId: task.taskId, executorPublicKey: honest1.publicKey, code: .busy, message: "busy"),
                  at: 1060)
        XCTAssertEqual(tally(s.takeActions()).asked, [], "a validated executor's turn stays open")
        s.receive(result: good(honest1), at: 1100)
        XCTAssertNotEqual(s.accepted?.executorPublicKey, liar1.publicKey)
        // And if the validated executor never confirms, fresh agreement decides nothing.
        var s2 = session(asked: [liar1, liar2], reserve: [honest1], validated: [honest1: 100])
        s2.receive(result: lie(liar1), at: 1050)
        s2.receive(result: lie(liar2), at: 1060)
        XCTAssertEqual(tally(s2.takeActions()).asked, [[honest1.publicKey]])
        s2.receive(error: ComputeErrorMessage(taskId: task.taskId, executorPublicKey: honest1.publicKey, code: .busy, message: "busy"),
                   at: 1070)
        XCTAssertFalse(s2.isDecided)
        s2.expire(at: 6000)
        XCTAssertNil(s2.accepted)
    }

    func testFreshCollidingIdentitiesNeverOutvoteOrBanAValidatedExecutor() {
        // Two fresh keys of one attacker agree on a lie; the validated honest executors win, and
        // the attacker key that answered fails (conviction waits for re-execution or a pin).
        var s = session(asked: [liar1, honest1], reserve: [liar2, honest2], validated: [honest1: 100, honest2: 100])
        s.receive(result: lie(liar1), at: 1050)
        s.receive(result: good(honest1), at: 1100)
        var t = tally(s.takeActions())
        XCTAssertEqual(t.asked, [[honest2.publicKey]], "strong executors are asked before fresh ones")
        s.receive(result: good(honest2), at: 1200)
        XCTAssertEqual(s.accepted?.result, Fixture.result)
        t = tally(s.takeActions())
        XCTAssertEqual(t.failures, [liar1.publicKey])
        XCTAssertEqual(t.convicted, [])
        XCTAssertFalse(t.failures.contains(honest1.publicKey) || t.failures.contains(honest2.publicKey))

        // The other order: both fresh liars answer first, then the only validated executor. Its
        // single word does not commit (it could be the liar), but the fresh pair decides nothing
        // and costs it nothing.
        var s2 = session(asked: [liar1, liar2, honest1], validated: [honest1: 100])
        s2.receive(result: lie(liar1), at: 1050)
        s2.receive(result: lie(liar2), at: 1060)
        XCTAssertFalse(s2.isDecided, "agreement among fresh identities while a strong executor is asked decides nothing")
        s2.receive(result: good(honest1), at: 1100)
        XCTAssertNil(s2.accepted)
        let t2 = tally(s2.takeActions())
        XCTAssertFalse(t2.failures.contains(honest1.publicKey))
        XCTAssertEqual(t2.demoted, [])
    }

    func testBootstrapMajorityDecidesWithoutConvictingAndSaysSo() {
        // Nobody strong known: two fresh honest against one fresh liar.
        var s = session(asked: [liar1, honest1], reserve: [honest2])
        s.receive(result: lie(liar1), at: 1050)
        s.receive(result: good(honest1), at: 1100)
        XCTAssertEqual(tally(s.takeActions()).asked, [[honest2.publicKey]])
        s.receive(result: good(honest2), at: 1200)
        XCTAssertEqual(s.accepted?.result, Fixture.result)
        XCTAssertFalse(s.assurance.validated, "agreement among fresh identities only")
        let t = tally(s.takeActions())
        XCTAssertEqual(t.convicted, [])
        XCTAssertEqual(t.failures, [liar1.publicKey])
        XCTAssertEqual(Set(t.validated), [honest1.publicKey, honest2.publicKey])
    }

    func testAQuorumOfFreshIdentitiesEarnsNoTrust() {
        // Two fresh keys agreeing under quorum(2) (one attacker's, maybe): committed as quorum
        // says, but neither gains the validated record the audited mode trusts.
        var s = DelegationSession(task: task, mode: .quorum(2), asked: [liar1.publicKey, liar2.publicKey],
                                  sentAt: 1000, deadline: 6000)
        s.receive(result: lie(liar1), at: 1050)
        s.receive(result: lie(liar2), at: 1060)
        XCTAssertNotNil(s.accepted)
        XCTAssertFalse(s.assurance.validated)
        XCTAssertEqual(tally(s.takeActions()).validated, [])
        // With a trusted member, agreement does validate the fresh one.
        var s2 = DelegationSession(task: task, mode: .quorum(2), asked: [honest1.publicKey, honest2.publicKey],
                                   sentAt: 1000, deadline: 6000,
                                   trust: TrustView(validated: [honest1.publicKey: 100], policy: policy))
        s2.receive(result: good(honest1), at: 1050)
        s2.receive(result: good(honest2), at: 1060)
        XCTAssertEqual(tally(s2.takeActions()).validated, [honest2.publicKey])
    }

    func testStrongExecutorsThatStayTiedCommitNothing() {
        var s = session(asked: [liar1], validated: [liar1: 100, honest1: 100], draw: 0.0)
        s.receive(result: lie(liar1), at: 1050)
        // Drawn for audit with nobody to audit: refused, not accepted unchecked.
        guard case .failed(let e) = s.state else { return XCTFail("\(s.state)") }
        XCTAssertEqual(e.status, .noExecutor)
        XCTAssertNil(s.accepted)

        var s2 = session(asked: [liar1, honest1], validated: [liar1: 100, honest1: 100])
        s2.receive(result: lie(liar1), at: 1050)
        s2.receive(result: good(honest1), at: 1100)
        guard case .failed(let e2) = s2.state else { return XCTFail("\(s2.state)") }
        XCTAssertEqual(e2.status, .unresolved)
        XCTAssertTrue(tally(s2.takeActions()).failures.isEmpty, "nobody is blamed when nothing decides")
    }

    func testAForgedErrorInTheAuditorsNameDoesNotLetTheAnswerThroughUnaudited() {
        var s = session(asked: [liar1], reserve: [honest1, honest2], validated: [liar1: 100, honest1: 100, honest2: 100],
                        draw: 0.1)
        s.receive(result: lie(liar1), at: 1050)
        XCTAssertEqual(tally(s.takeActions()).asked, [[honest1.publicKey]])
        // Unsigned "busy" in honest1's name, from anyone: the audit stays open.
        s.receive(error: ComputeErrorMessage(taskId: task.taskId, executorPublicKey: honest1.publicKey, code: .busy, message: "busy"),
                  at: 1060)
        XCTAssertFalse(s.isDecided)
        XCTAssertEqual(tally(s.takeActions()).asked, [])
        s.receive(result: good(honest1), at: 1100)
        XCTAssertEqual(tally(s.takeActions()).asked, [[honest2.publicKey]], "one trusted against another: escalate")
        s.receive(result: good(honest2), at: 1200)
        XCTAssertEqual(s.accepted?.result, Fixture.result)
        XCTAssertEqual(tally(s.takeActions()).demoted, [liar1.publicKey], "outvoted by a validated majority")
    }

    func testAnAuditorThatNeverAnswersCommitsNothing() {
        var s = session(asked: [liar1], reserve: [honest1], validated: [liar1: 100, honest1: 100], draw: 0.1)
        s.receive(result: lie(liar1), at: 1050)
        _ = s.takeActions()
        s.expire(at: 6000)
        guard case .failed(let e) = s.state else { return XCTFail("\(s.state)") }
        XCTAssertEqual(e.status, .noResult)
        XCTAssertEqual(tally(s.takeActions()).timeouts, [honest1.publicKey])
    }

    func testAuditProbabilityFallsWithTheRecordButNotBelowTheFloor() {
        XCTAssertEqual(policy.validatedAfter, 25)
        XCTAssertEqual(policy.auditProbability(validated: 0), 1)
        XCTAssertEqual(policy.auditProbability(validated: 24), 1)
        XCTAssertEqual(policy.auditProbability(validated: 50), 0.5, accuracy: 1e-12)
        XCTAssertEqual(policy.auditProbability(validated: 1_000_000), 0.01, accuracy: 1e-12)
        let boinc = AuditPolicy.boinc()
        XCTAssertEqual(boinc.auditProbability(validated: 9), 1)
        XCTAssertEqual(boinc.auditProbability(validated: 10), 0.1, accuracy: 1e-12)
    }

    /// The draw follows its probability: 20,000 sessions with draws from a fixed-seed generator;
    /// the share audited must be within 4.5 standard deviations of p.
    func testTheAuditDrawFollowsItsProbability() {
        var state: UInt64 = 0x5eed
        func splitmix() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
        let n = 20_000
        let validated: Int64 = 100  // p = 0.25
        let p = policy.auditProbability(validated: validated)
        var audited = 0
        let answer = good(honest1)
        for _ in 0..<n {
            var s = session(asked: [honest1], reserve: [honest2], validated: [honest1: validated, honest2: validated],
                            draw: SecureRandom.unit(splitmix()))
            s.receive(result: answer, at: 1100)
            if !s.isDecided { audited += 1 }
        }
        let sd = (Double(n) * p * (1 - p)).squareRoot()
        XCTAssertLessThan(abs(Double(audited) - Double(n) * p), 4.5 * sd, "audited \(audited) of \(n), p = \(p)")
    }
}
