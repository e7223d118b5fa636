import DDE
import DDEAdversary
import DDEExecutor
import DDENetwork
import Foundation
import XCTest

/// Delegation end to end with no fakes: real executor nodes on threads running the example dApps
/// in the WebAssembly sandbox, the in-process transport, and a real store file.
final class DelegationEndToEndTests: XCTestCase {
    typealias Node = ExecutorNode<InProcessTransport>

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        var value: Int { lock.lock(); defer { lock.unlock() }; return n }
        func add() { lock.lock(); n += 1; lock.unlock() }
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
        func set() { lock.lock(); value = true; lock.unlock() }
    }

    struct Network {
        var hub: InProcessHub
        var nodes: [Node]
        var store: Store
        var delegator: Delegator<InProcessTransport>
        var wallet: Digest
        var hashchain: Digest
        func key(_ name: String) -> PublicKey { nodes.first { $0.config.name == name }!.publicKey }
    }

    /// A requester and one node per (name, behaviour); nodes start with empty code stores and
    /// fetch the modules by hash.
    func network(_ behaviours: [(String, Behaviour)], duplicates: Bool = false,
                 configure: (inout Node.Config) -> Void = { _ in }) throws -> Network {
        let dir = temporaryDirectory(self)
        let hub = InProcessHub()
        hub.duplicateDeliveries = duplicates
        let stop = Flag()
        var nodes: [Node] = []
        for (name, behaviour) in behaviours {
            var config = Node.Config()
            config.name = name
            config.answer = behaviour.hook
            configure(&config)
            let node = Node(transport: hub.endpoint(name: name), keyPair: KeyPair.generate(),
                            codeStore: try CodeStore(directory: dir.appendingPathComponent("code-\(name)")),
                            config: config, log: { _ in })
            try node.start()
            nodes.append(node)
            let thread = Thread { node.run(until: { stop.isSet }) }
            thread.start()
        }
        addTeardownBlock {
            stop.set()
            for n in nodes { n.transport.close() }
        }
        let store = try Store(path: dir.appendingPathComponent("requester.sqlite").path)
        addTeardownBlock { store.close() }
        let delegator = try Delegator(transport: hub.endpoint(name: "requester"), store: store, identity: KeyPair.generate())
        let wallet = try delegator.publishCode(try exampleModule("wallet"))
        let hashchain = try delegator.publishCode(try exampleModule("hashchain"))
        XCTAssertEqual(try delegator.discover(timeoutMs: 100), behaviours.count)
        return Network(hub: hub, nodes: nodes, store: store, delegator: delegator, wallet: wallet, hashchain: hashchain)
    }

    /// A wallet task spec; `declare`: name the balances its payload touches as its state keys, as
    /// a caller that knows the dApp does (else the delegation finds them: one retry per task).
    func walletSpec(_ net: Network, _ action: String, _ payload: String, declare: Bool = true) throws -> TaskSpec {
        let json = try JSONParser.parse(payload)
        var keys: [[UInt8]] = []
        if case .object(let o) = json {
            for field in ["from", "to"] { if case .string(let name)? = o[field] { keys.append(Array("balance/\(name)".utf8)) } }
        }
        return TaskSpec(dappId: "wallet", dappCodeHash: net.wallet, action: action, payload: json,
                        raw: "\(action) \(payload)", requiredCapabilities: ["state.read", "state.write"],
                        stateKeys: declare ? keys : nil, timestamp: UInt64(Date().timeIntervalSince1970 * 1000))
    }

    func options(_ mode: AssuranceMode, fanout: Int, linger: UInt64 = 5000) -> DelegationOptions {
        var o = DelegationOptions(mode: mode, fanout: fanout, deadlineMs: 20_000)
        o.lingerMs = linger
        return o
    }

    func balance(_ net: Network, _ name: String) throws -> String? {
        try net.store.dappValue("wallet", key: Array("balance/\(name)".utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A v2 task that does not carry a key its execution reads is refused by every executor with
    /// DDE_ERR_STATE_KEY_OUTSIDE naming the key; the client stops listening, builds the task again
    /// with that key and commits (issue 15).
    func testAKeyOutsideTheTaskCostsOneRetryAndCommits() throws {
        let net = try network([("a", .honest), ("b", .honest)])
        // An empty dApp: nothing to carry, so the mint's read of balance/me is outside the task.
        let mint = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":100,"to":"me"}"#, declare: false),
                                              options: options(.firstValid, fanout: 2))
        XCTAssertNil(mint.failure)
        // Both tries' answers are reported: the two refusals naming the key, then the second try's.
        XCTAssertEqual(mint.events.first?.kind, .error)
        XCTAssertEqual(mint.events.first?.status, .stateKeyOutside)
        XCTAssertEqual(mint.events.first?.detail, "balance/me")
        XCTAssertTrue(mint.events.contains { $0.kind == .accepted })
        XCTAssertEqual(mint.retriedWithKeys, [Array("balance/me".utf8)])
        XCTAssertEqual(mint.task.taskVersion, 2)
        XCTAssertEqual(mint.task.partialState?.keys, [Array("balance/me".utf8)])
        XCTAssertEqual(mint.receipt?.index, 0)
        XCTAssertEqual(try balance(net, "me"), "100")
        // Nobody was scored for the refused first task: both succeeded once, no timeout.
        for n in net.nodes {
            let r = try net.store.reputation.get(n.publicKey, now: Int64(Date().timeIntervalSince1970 * 1000))
            XCTAssertEqual(r?.timeouts ?? 0, 0)
            XCTAssertEqual(r?.failedProofs ?? 0, 0)
        }

        // Past carryAllKeysUpTo, undeclared keys are not carried: a send reads two, one retry adds
        // only the first, and the delegation fails naming the second.
        var o = options(.firstValid, fanout: 2)
        o.carryAllKeysUpTo = 0
        let send = try net.delegator.delegate(try walletSpec(net, "send", #"{"amount":5,"from":"me","to":"alice"}"#, declare: false), options: o)
        XCTAssertNil(send.receipt)
        XCTAssertEqual(send.retriedWithKeys, [Array("balance/me".utf8)])
        XCTAssertTrue(send.events.contains { $0.kind == .error && $0.status == .stateKeyOutside && $0.detail == "balance/alice" })
        // Declared per action, the keys go in the first task: it commits without a retry.
        net.delegator.declareKeys(dappId: "wallet", action: "send") { spec in
            guard case .object(let p) = spec.payload, case .string(let from)? = p["from"], case .string(let to)? = p["to"] else { return [] }
            return [Array("balance/\(from)".utf8), Array("balance/\(to)".utf8)]
        }
        let declared = try net.delegator.delegate(try walletSpec(net, "send", #"{"amount":5,"from":"me","to":"alice"}"#, declare: false), options: o)
        XCTAssertNil(declared.failure)
        XCTAssertEqual(declared.retriedWithKeys, [])
        XCTAssertEqual(declared.task.partialState?.keys.count, 2)
        XCTAssertEqual(try balance(net, "alice"), "5")
        XCTAssertEqual(try net.store.verifyChain().count, 2)
    }

    /// An executor that refuses at once with a signed DDE_ERR_STATE_KEY_OUTSIDE naming a key the
    /// task carries (a false refusal: it answers first) neither ends the delegation nor costs a
    /// retry: quorum(2) still commits the two honest answers.
    func testAFalseKeyRefusalNamingACarriedKeyDoesNotStopAQuorum() throws {
        let net = try network([("liar", .refuseKey("balance/me")), ("a", .honest), ("b", .honest)])
        let mint = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":100,"to":"me"}"#),
                                              options: options(.quorum(2), fanout: 3))
        XCTAssertNil(mint.failure)
        XCTAssertEqual(mint.retriedWithKeys, [])
        XCTAssertEqual(mint.task.partialState?.keys, [Array("balance/me".utf8)])
        XCTAssertTrue(mint.events.contains { $0.kind == .error && $0.status == .stateKeyOutside && $0.detail == "balance/me" })
        XCTAssertEqual(mint.events.filter { $0.kind == .accepted || $0.kind == .agreed }.count, 2)
        XCTAssertEqual(mint.receipt?.index, 0)
        XCTAssertEqual(try balance(net, "me"), "100")
    }

    /// A false refuser that names another key first does not choose the retry's keys: the
    /// retry carries every key named by a signed refusal (its and the honest executors'), and
    /// commits.
    func testAFalseKeyRefusalNamingAnotherKeyDoesNotChooseTheRetry() throws {
        let net = try network([("liar", .refuseKey("balance/decoy")), ("a", .honest), ("b", .honest)])
        let mint = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":100,"to":"me"}"#, declare: false),
                                              options: options(.quorum(2), fanout: 3))
        XCTAssertNil(mint.failure)
        XCTAssertEqual(Set(mint.retriedWithKeys), [Array("balance/decoy".utf8), Array("balance/me".utf8)])
        XCTAssertEqual(mint.task.partialState.map { Set($0.keys) }, [Array("balance/decoy".utf8), Array("balance/me".utf8)])
        XCTAssertEqual(mint.receipt?.index, 0)
        XCTAssertEqual(try balance(net, "me"), "100")
        XCTAssertNil(try net.store.dappValue("wallet", key: Array("balance/decoy".utf8)))
        // The report's JSON names the keys the retry added.
        guard case .object(let report) = mint.json, case .array(let keys)? = report["retriedWithKeys"] else {
            return XCTFail("no retriedWithKeys in the report")
        }
        XCTAssertEqual(keys.count, 2)
    }

    func testFirstValidCommitsTheRightResult() throws {
        let net = try network([("a", .honest), ("b", .honest)])
        let mint = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":100,"to":"me"}"#), options: options(.firstValid, fanout: 2))
        XCTAssertNil(mint.failure)
        XCTAssertEqual(mint.receipt?.index, 0)
        let send = try net.delegator.delegate(try walletSpec(net, "send", #"{"amount":5,"from":"me","to":"alice"}"#), options: options(.firstValid, fanout: 2))
        let receipt = try send.receiptOrThrow()
        XCTAssertEqual(receipt.index, 1)
        // H(proof) as hashed from the answer's own bytes (the direct reader's proof range).
        XCTAssertEqual(receipt.remote.proofHash, send.accepted?.proof.proofHash)
        XCTAssertEqual(send.accepted?.result, try JSONParser.parse(#"{"from":95,"ok":true,"to":5}"#))
        XCTAssertEqual(try balance(net, "alice"), "5")
        XCTAssertEqual(try balance(net, "me"), "95")
        XCTAssertEqual(try net.store.verifyChain().count, 2)
        // Both were asked and both answered in the linger: both scored with requester latencies.
        XCTAssertEqual(Set(send.asked), Set(net.nodes.map { $0.publicKey }))
        for n in net.nodes {
            XCTAssertEqual(try net.store.reputation.get(n.publicKey, now: Int64(Date().timeIntervalSince1970 * 1000))?.successfulProofs ?? 0, 2, accuracy: 0.01)
        }
    }

    func testQuorumCommitsTheRightResult() throws {
        let net = try network([("a", .honest), ("b", .honest), ("c", .honest)])
        let spec = TaskSpec(dappId: "hashchain", dappCodeHash: net.hashchain, action: "run", payload: .number(3),
                            timestamp: UInt64(Date().timeIntervalSince1970 * 1000))
        let report = try net.delegator.delegate(spec, options: options(.quorum(3), fanout: 3))
        _ = try report.receiptOrThrow()
        // SHA-256 three times over 32 zero bytes, computed here by the core.
        var h = [UInt8](repeating: 0, count: 32)
        for _ in 0..<3 { h = SHA256.hash(h).bytes }
        XCTAssertEqual(report.accepted?.result, try JSONParser.parse(#"{"hash":"\#(Hex.encode(h))","n":3}"#))
        XCTAssertEqual(report.events.filter { $0.kind == .accepted }.count, 1)
        XCTAssertEqual(report.events.filter { $0.kind == .agreed }.count, 2)
        XCTAssertEqual(try net.store.verifyChain().count, 1)
    }

    func testAlteredResultsAreNeverCommittedNorScored() throws {
        let net = try network([("honest", .honest), ("forger", .forge)])
        let forger = net.key("forger")
        _ = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":100,"to":"me"}"#), options: options(.firstValid, fanout: 2))
        for round in 1...3 {
            let r = try net.delegator.delegate(try walletSpec(net, "send", #"{"amount":1,"from":"me","to":"alice"}"#), options: options(.firstValid, fanout: 2))
            XCTAssertNotNil(r.receipt, "round \(round): \(r.failure?.message ?? "")")
            XCTAssertEqual(r.asked.count, 2, "the forger is never banned: an altered result proves nothing about its signer")
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        XCTAssertEqual(try net.store.reputation.get(forger, now: now)?.failedProofs ?? 0, 0)
        XCTAssertFalse(try net.store.reputation.isBanned(forger, now: now))
        // Every committed receipt came from the honest node and re-verifies.
        let count = try net.store.verifyChain().count
        XCTAssertEqual(count, 4)
        for i in 0..<count {
            XCTAssertEqual(try net.store.receipt(at: i).remote.executorPublicKey, net.key("honest"))
        }
        XCTAssertEqual(try balance(net, "alice"), "3")
    }

    func testForgerAloneCommitsNothing() throws {
        let net = try network([("forger", .forge)])
        var o = options(.firstValid, fanout: 1)
        o.deadlineMs = 1500
        let r = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":100,"to":"me"}"#), options: o)
        XCTAssertNil(r.receipt)
        XCTAssertEqual(r.failure?.status, .noResult)
        // The altered copy is no answer; at the deadline the forger's own answer is still missing.
        XCTAssertEqual(r.events.map { $0.kind }, [.unattributed, .timeout])
        XCTAssertEqual(try net.store.receiptCount(), 0)
        XCTAssertNil(try balance(net, "me"))
    }

    func testSlowExecutorLosesToFastHonestOne() throws {
        let net = try network([("fast", .honest), ("slow", .slow(ms: 600))])
        let r = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":7,"to":"me"}"#), options: options(.firstValid, fanout: 2, linger: 0))
        XCTAssertEqual(try r.receiptOrThrow().remote.executorPublicKey, net.key("fast"))
        let accepted = try XCTUnwrap(r.events.first { $0.kind == .accepted })
        XCTAssertLessThan(accepted.latencyMs, 600)
        // Stopped listening before the slow one answered and before the deadline: not a timeout.
        let slow = try net.store.reputation.get(net.key("slow"), now: Int64(Date().timeIntervalSince1970 * 1000))
        XCTAssertEqual(slow?.timeouts ?? 0, 0)
    }

    func testSilentExecutorTimesOutAtTheDeadline() throws {
        let net = try network([("a", .honest), ("mute", .silent)])
        var o = options(.quorum(2), fanout: 2)
        o.deadlineMs = 400
        let r = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":7,"to":"me"}"#), options: o)
        XCTAssertEqual(r.failure?.status, .quorumNotReached)
        XCTAssertEqual(r.events.first { $0.kind == .timeout }?.executor, net.key("mute"))
        let mute = try net.store.reputation.get(net.key("mute"), now: Int64(Date().timeIntervalSince1970 * 1000))
        XCTAssertEqual(mute?.timeouts ?? 0, 1, accuracy: 0.01)
        XCTAssertEqual(try net.store.receiptCount(), 0)
    }

    func testQuorumWithALiarStoresEvidence() throws {
        let net = try network([("a", .honest), ("b", .honest), ("liar", .lie)])
        let r = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":50,"to":"me"}"#), options: options(.quorum(2), fanout: 3))
        XCTAssertEqual(r.accepted?.result, try JSONParser.parse(#"{"ok":true,"to":50}"#))
        XCTAssertNotEqual(try r.receiptOrThrow().remote.executorPublicKey, net.key("liar"))
        XCTAssertEqual(r.events.first { $0.executor == net.key("liar") }?.kind, .disagreed)
        let evidence = try net.store.evidence(executor: net.key("liar"))
        XCTAssertEqual(evidence.count, 1)
        XCTAssertEqual(evidence.first?.status, .resultMismatch)
        XCTAssertEqual(evidence.first?.taskId, r.task.taskId)
        XCTAssertEqual(r.evidenceIds, evidence.map { $0.id })
        XCTAssertTrue(try net.store.evidence(executor: net.key("a")).isEmpty)
    }

    func testLiarWinsFirstValidOnlyWhenAloneButQuorumCatchesIt() throws {
        // The known limit of first_valid: a consistent lie verifies. Quorum is the answer.
        let net = try network([("liar", .lie)])
        let r = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":1,"to":"me"}"#), options: options(.firstValid, fanout: 1))
        XCTAssertEqual(r.accepted?.result, try JSONParser.parse(#"{"forged":true,"ok":true}"#))
    }

    /// The audited mode against a consistent liar that answers first, on real executor nodes:
    /// with the requester's own machine pinned, no lie is ever committed, and the first time the
    /// liar is asked it is convicted (blacklisted for good) and the evidence names it.
    func testAuditedModeNeverCommitsAConsistentLie() throws {
        let net = try network([("mine", .honest), ("b", .honest), ("liar", .lie)])
        var o = options(.audited(AuditPolicy(errorTarget: 1e-3, liarShare: 0.2)), fanout: 3, linger: 200)
        o.pinned = [net.key("mine")]
        var liarAsked = 0
        for i in 1...8 {
            let r = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":\#(i),"to":"me"}"#), options: o)
            let receipt = try r.receiptOrThrow()
            XCTAssertNotEqual(receipt.remote.executorPublicKey, net.key("liar"), "round \(i)")
            // mint returns the new balance: 1 + 2 + ... + i, never a liar's made-up document.
            XCTAssertEqual(r.accepted?.result, try JSONParser.parse(#"{"ok":true,"to":\#(i * (i + 1) / 2)}"#))
            XCTAssertNotEqual(receipt.assurance?.how, .unaudited, "nobody is trusted yet: every result is replicated")
            if r.asked.contains(net.key("liar")) { liarAsked += 1 }
        }
        XCTAssertLessThanOrEqual(liarAsked, 1, "convicted the first time it was asked, never asked again")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        if liarAsked == 1 {
            XCTAssertTrue(try net.store.reputation.get(net.key("liar"), now: now)?.isConvicted ?? false)
            let doc = try XCTUnwrap(try net.store.evidenceDocuments().first)
            XCTAssertTrue(doc.signers.contains(net.key("liar")))
        }
        XCTAssertFalse(try net.store.reputation.isBlacklisted(net.key("mine"), now: now))
        XCTAssertFalse(try net.store.reputation.isBlacklisted(net.key("b"), now: now))
        XCTAssertEqual(try net.store.verifyChain().count, 8)
    }

    /// Without a pin, no majority convicts (validated keys may be one attacker's), but a
    /// requester that can re-execute judges its own disagreements after the delegation.
    func testARequesterThatCanReexecuteConvictsTheLiarOfItsOwnDisagreementWithoutAPin() throws {
        let net = try network([("a", .honest), ("b", .honest), ("c", .honest), ("liar", .lie)])
        let code = try CodeStore(directory: temporaryDirectory(self).appendingPathComponent("judge-code"))
        _ = try code.add(try exampleModule("wallet"))
        net.delegator.judge = { doc in (try? Audit.outcome(of: doc.task, codeStore: code)) ?? nil }
        let o = options(.audited(AuditPolicy(errorTarget: 1e-3, liarShare: 0.2)), fanout: 4, linger: 200)
        let now = { Int64(Date().timeIntervalSince1970 * 1000) }
        var rounds = 0
        while rounds < 24, try net.store.evidenceDocuments().isEmpty {
            rounds += 1
            _ = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":\#(rounds),"to":"me"}"#), options: o)
        }
        let doc = try XCTUnwrap(try net.store.evidenceDocuments().first, "the liar never disagreed with anyone in 24 rounds")
        XCTAssertTrue(doc.signers.contains(net.key("liar")))
        XCTAssertTrue(try net.store.reputation.get(net.key("liar"), now: now())?.isConvicted ?? false,
                      "judged by re-execution right after the delegation")
        for name in ["a", "b", "c"] {
            XCTAssertFalse(try net.store.reputation.get(net.key(name), now: now())?.isConvicted ?? false, name)
        }
    }

    /// Evidence travels: requester A catches the liar and publishes the document; requester B,
    /// which cannot execute anything itself (no judge, as firmware), keeps it unjudged, then asks
    /// executors it trusts to re-run the task and convicts the liar on their validated answer.
    func testASecondRequesterChecksSharedEvidenceThroughExecutorsItTrusts() throws {
        let net = try network([("mine", .honest), ("b", .honest), ("c", .honest), ("liar", .lie)])
        let dir = temporaryDirectory(self)
        let bStore = try Store(path: dir.appendingPathComponent("b.sqlite").path)
        addTeardownBlock { bStore.close() }
        let b = try Delegator(transport: net.hub.endpoint(name: "requester-b"), store: bStore, identity: KeyPair.generate())
        XCTAssertEqual(try b.discover(timeoutMs: 100), 4)

        var o = options(.audited(AuditPolicy(errorTarget: 1e-3, liarShare: 0.2)), fanout: 4, linger: 200)
        o.pinned = [net.key("mine")]
        for i in 1...16 where !(try net.store.reputation.get(net.key("liar"), now: Int64(Date().timeIntervalSince1970 * 1000))?.isConvicted ?? false) {
            _ = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":\#(i),"to":"me"}"#), options: o)
        }
        let doc = try XCTUnwrap(try net.store.evidenceDocuments().first, "the liar was never asked in 16 rounds")

        // B hears the document on the evidence topic: checked, but nobody it could convict.
        _ = try b.discover(timeoutMs: 200)
        XCTAssertEqual(b.evidenceReceived.map { $0.id }, [doc.id])
        XCTAssertEqual(b.evidenceReceived.first?.result, .unjudged)
        let now = { Int64(Date().timeIntervalSince1970 * 1000) }
        XCTAssertFalse(try bStore.reputation.isBlacklisted(net.key("liar"), now: now()))
        XCTAssertFalse(try bStore.reputation.isBlacklisted(net.key("mine"), now: now()))

        // B asks executors it trusts (it pins "b"), never the document's signers.
        var bo = options(.audited(AuditPolicy(errorTarget: 1e-3, liarShare: 0.2)), fanout: 4, linger: 200)
        bo.pinned = [net.key("b")]
        let outcome = try b.checkEvidence(doc, options: bo)
        XCTAssertEqual(outcome, .convicted([net.key("liar")], .reexecution))
        XCTAssertTrue(try bStore.reputation.isBlacklisted(net.key("liar"), now: now()))
        XCTAssertFalse(try bStore.reputation.isBlacklisted(net.key("mine"), now: now()))
        XCTAssertEqual(try bStore.receiptCount(), 0, "checking evidence commits nothing")
    }

    /// A stranger on the network (never asked for work) answers every offer at once with "busy"
    /// in the names of the executors asked: unsigned, and signed with its own key. Before
    /// compute_error was signed this made 8 of 20 quorum(2) delegations fail.
    func testForgedBusyErrorsInHonestNamesChangeNoOutcomeAndNoScore() throws {
        let net = try network([("a", .honest), ("b", .honest), ("c", .honest)])
        let forger = net.hub.endpoint(name: "forger")
        try forger.subscribe(Topic.tasks)
        let stranger = KeyPair.generate()
        let stop = Flag()
        let forged = Counter()
        let thread = Thread {
            while !stop.isSet {
                guard let m = try? forger.receive(timeoutMs: 20), let e = try? Envelope.decode(m.payload),
                      e.type == .computeTask, let offer = try? TaskOffer(json: e.payload) else { continue }
                for key in offer.executors {
                    var signedByStranger = ComputeErrorMessage(taskId: offer.task.taskId, executorPublicKey: key, code: .busy, message: "busy")
                    signedByStranger.sign(with: stranger)
                    for message in [ComputeErrorMessage(taskId: offer.task.taskId, executorPublicKey: key, code: .busy, message: "busy"),
                                    signedByStranger] {
                        try? forger.publish(topic: Topic.results(requester: offer.task.requesterPublicKey),
                                            payload: message.envelope.canonicalBytes, retain: false)
                        forged.add()
                    }
                }
            }
        }
        thread.start()
        addTeardownBlock { stop.set() }
        for i in 1...20 {
            let r = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":\#(i),"to":"me"}"#),
                                               options: options(.quorum(2), fanout: 2, linger: 50))
            XCTAssertNotNil(r.receipt, "round \(i): \(r.failure?.detail ?? "")")
        }
        stop.set()
        XCTAssertGreaterThan(forged.value, 40, "the forger was heard")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var scored = 0
        for name in ["a", "b", "c"] {
            guard let r = try net.store.reputation.get(net.key(name), now: now) else { continue }
            scored += 1
            XCTAssertEqual(r.failedProofs, 0, name)
            XCTAssertEqual(r.timeouts, 0, name)
        }
        XCTAssertGreaterThanOrEqual(scored, 2)
        XCTAssertEqual(try net.store.verifyChain().count, 20)
    }

    func testDuplicateDeliveriesAreHarmless() throws {
        let net = try network([("a", .honest), ("b", .honest)], duplicates: true)
        let r = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":9,"to":"me"}"#), options: options(.quorum(2), fanout: 2))
        XCTAssertNotNil(r.receipt, r.failure?.message ?? "")
        XCTAssertEqual(try balance(net, "me"), "9")
        // Each node ran the task once though the offer came twice.
        XCTAssertEqual(net.nodes.map { $0.answered }, [1, 1])
    }

    func testBusyExecutorAnswersWithComputeError() throws {
        let net = try network([("tiny", .slow(ms: 300))]) { $0.maxComputeTasksPerPeer = 1 }
        let key = net.key("tiny")
        // Fill the node's one slot with a task sent by hand, then delegate. No pause needed: the
        // hub queues messages in the order they are published, and the node handles one offer at
        // a time, counting the first in flight before it reads the second.
        let first = try ComputeTask.create(try walletSpec(net, "mint", #"{"amount":1,"to":"x"}"#), requester: net.delegator.identity)
        try net.delegator.transport.publish(topic: Topic.tasks, payload: TaskOffer(task: first, executors: [key]).envelope.canonicalBytes, retain: false)
        let r = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":2,"to":"y"}"#), options: options(.firstValid, fanout: 1))
        XCTAssertEqual(r.failure?.status, .noResult)
        let error = try XCTUnwrap(r.events.first { $0.kind == .error })
        XCTAssertEqual(error.status, .busy)
        XCTAssertEqual(error.executor, key)
    }

    func testCriticalTasksSkipUnprovenExecutorsUnlessFallbackIsAllowed() throws {
        let net = try network([("a", .honest)])
        var o = options(.firstValid, fanout: 1)
        o.critical = true
        o.provenAfterSuccesses = 2
        XCTAssertThrowsError(try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":1,"to":"me"}"#), options: o)) { error in
            XCTAssertEqual((error as? DDEError)?.status, .noExecutor)
        }
        o.allowFallback = true
        XCTAssertNotNil(try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":1,"to":"me"}"#), options: o).receipt)
        o.allowFallback = false
        // One success is not yet proven (2 needed); a second non-critical one makes it so.
        XCTAssertThrowsError(try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":1,"to":"me"}"#), options: o))
        _ = try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":1,"to":"me"}"#), options: options(.firstValid, fanout: 1))
        XCTAssertNotNil(try net.delegator.delegate(try walletSpec(net, "mint", #"{"amount":1,"to":"me"}"#), options: o).receipt)
    }

    func testCodeThatNeverArrivesIsRefused() throws {
        let net = try network([("a", .honest)]) { $0.codeFetchTimeoutMs = 100 }
        let missing = SHA256.hash(Array("no such module".utf8))
        let spec = TaskSpec(dappId: "ghost", dappCodeHash: missing, action: "run", payload: .null,
                            timestamp: UInt64(Date().timeIntervalSince1970 * 1000))
        var o = options(.firstValid, fanout: 1)
        o.deadlineMs = 3000
        let r = try net.delegator.delegate(spec, options: o)
        XCTAssertEqual(r.failure?.status, .noResult)
        XCTAssertEqual(r.events.first?.status, .codeNotFound)
    }
}
