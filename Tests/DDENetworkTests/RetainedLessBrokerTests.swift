import DDE
import DDEExecutor
import DDENetwork
import Foundation
import XCTest

/// dde on a broker that gives new subscribers no retained messages (`InProcessHub.retainedOnSubscribe
/// = false`), as RabbitMQ 3.x does for a wildcard filter (the requester's `dde/v1/executors/+`) and
/// for a subscriber on another node of a cluster (the executor's `dde/v1/code/<hash>`):
/// docs/NETWORK.md, Brokers. Executors are found when they announce themselves again, and the
/// requester answers code requests for the modules it published, so a delegation still commits;
/// scripts/test-rabbitmq.sh checks the same on a real two-node RabbitMQ cluster.
final class RetainedLessBrokerTests: XCTestCase {
    typealias Node = ExecutorNode<InProcessTransport>

    func startNode(_ hub: InProcessHub, _ name: String, presenceIntervalMs: UInt64, log: CodeServingTests.Lines) throws -> Node {
        var config = Node.Config()
        config.name = name
        config.presenceIntervalMs = presenceIntervalMs
        let node = Node(transport: hub.endpoint(name: name), keyPair: KeyPair.generate(),
                        codeStore: try CodeStore(directory: temporaryDirectory(self).appendingPathComponent("code-\(name)")),
                        config: config, log: { log.add($0) })
        try node.start()
        let stop = DelegationEndToEndTests.Flag()
        Thread { node.run(pollMs: 20, until: { stop.isSet }) }.start()
        addTeardownBlock { stop.set(); node.transport.close() }
        return node
    }

    func counterSpec(_ hash: Digest) -> TaskSpec {
        TaskSpec(dappId: "counter", dappCodeHash: hash, action: "increment", payload: .null,
                 requiredCapabilities: ["state.read", "state.write"], timestamp: UInt64(Date().timeIntervalSince1970 * 1000))
    }

    /// An executor that announced itself before the requester subscribed is unknown to it (no
    /// retained presence) until it announces again; then a delegation commits with code the
    /// executor could only get from the requester's answer to its code request.
    func testAnExecutorIsFoundOnItsNextAnnouncementAndGetsTheCodeFromTheRequester() throws {
        let hub = InProcessHub()
        hub.retainedOnSubscribe = false
        let log = CodeServingTests.Lines()
        let node = try startNode(hub, "far", presenceIntervalMs: 1000, log: log)

        let store = try Store(path: temporaryDirectory(self).appendingPathComponent("requester.sqlite").path)
        addTeardownBlock { store.close() }
        let delegator = try Delegator(transport: hub.endpoint(name: "requester"), store: store, identity: KeyPair.generate())
        let module = try exampleModule("counter")
        let hash = try delegator.publishCode(module)
        // Subscribed after the node's first announcement: nothing arrives at once.
        XCTAssertEqual(try delegator.discover(timeoutMs: 100), 0)
        // The next announcement (1 s after the first) does.
        XCTAssertEqual(try delegator.discover(timeoutMs: 2500), 1, log.text)
        XCTAssertEqual(delegator.executors.first?.executorPublicKey, node.publicKey)

        var options = DelegationOptions(mode: .firstValid, fanout: 1, deadlineMs: 10_000)
        options.lingerMs = 0
        let report = try delegator.delegate(counterSpec(hash), options: options)
        XCTAssertNotNil(report.receipt, "\(report.failure?.message ?? "")\n\(log.text)")
        XCTAssertEqual(report.accepted?.result, try JSONParser.parse(#"{"count":1}"#))
        XCTAssertEqual(delegator.codeRequestsAnswered, 1)
        XCTAssertTrue(log.contains("far: code \(String(hash.hex.prefix(8))) fetched (\(module.count) bytes)"), log.text)
    }

    /// Without the requester's answer the same executor has no way to the module: a requester
    /// that put the code only on the retained topic (as before) gets DDE_ERR_CODE_NOT_FOUND.
    func testWithoutTheAnswerTheExecutorCannotGetTheCode() throws {
        let hub = InProcessHub()
        hub.retainedOnSubscribe = false
        let log = CodeServingTests.Lines()
        let store = try Store(path: temporaryDirectory(self).appendingPathComponent("requester.sqlite").path)
        addTeardownBlock { store.close() }
        let requester = hub.endpoint(name: "requester")
        let delegator = try Delegator(transport: requester, store: store, identity: KeyPair.generate())
        _ = try startNode(hub, "far", presenceIntervalMs: 60_000, log: log)
        XCTAssertEqual(try delegator.discover(timeoutMs: 500), 1, log.text)  // its first announcement, live
        let module = try exampleModule("counter")
        let code = CodeMessage(module: module)
        try requester.publish(topic: Topic.code(code.codeHash), payload: code.envelope.canonicalBytes, retain: true)

        var options = DelegationOptions(mode: .firstValid, fanout: 1, deadlineMs: 6_000)
        options.lingerMs = 0
        let report = try delegator.delegate(counterSpec(code.codeHash), options: options)
        XCTAssertNil(report.receipt)
        XCTAssertEqual(report.events.first?.status, .codeNotFound, "\(report.events)\n\(log.text)")
        XCTAssertEqual(delegator.codeRequestsAnswered, 0)
    }

    /// Anyone can ask, and each answer is a whole module: a requester answers at most
    /// `maxCodeAnswers` requests per `publishCode`, only for modules it published; a garbled
    /// request is ignored; publishing the module again renews the allowance.
    func testCodeAnswersAreBoundedAndOnlyForPublishedModules() throws {
        let hub = InProcessHub()
        let store = try Store(path: temporaryDirectory(self).appendingPathComponent("requester.sqlite").path)
        addTeardownBlock { store.close() }
        let delegator = try Delegator(transport: hub.endpoint(name: "requester"), store: store, identity: KeyPair.generate())
        let asker = hub.endpoint(name: "asker")
        let peer = hub.endpoint(name: "peer")
        let module = try exampleModule("counter")
        let hash = SHA256.hash(module)
        let other = SHA256.hash(Array("a module nobody published".utf8))
        try peer.subscribe(Topic.code(hash))
        try peer.subscribe(Topic.code(other))
        func ask(_ h: Digest, times: Int) throws {
            for _ in 0..<times {
                try asker.publish(topic: Topic.codeRequests, payload: CodeRequest(codeHash: h).envelope.canonicalBytes, retain: false)
            }
        }
        func received() throws -> (code: Int, other: Int) {
            var n = (code: 0, other: 0)
            while let m = try peer.receive(timeoutMs: 0) {
                if m.topic == Topic.code(hash) { n.code += 1 } else if m.topic == Topic.code(other) { n.other += 1 }
            }
            return n
        }

        // A requester that published nothing does not listen for requests.
        try ask(hash, times: 1)
        _ = try delegator.discover(timeoutMs: 50)
        XCTAssertEqual(delegator.codeRequestsAnswered, 0)

        _ = try delegator.publishCode(module)
        XCTAssertEqual(try received().code, 1)  // the retained publish itself
        let limit = Delegator<InProcessTransport>.maxCodeAnswers
        try ask(hash, times: limit + 5)
        try ask(other, times: 3)
        try asker.publish(topic: Topic.codeRequests, payload: Array("{\"v\":1".utf8), retain: false)
        let ignoredBefore = delegator.ignoredMessages
        _ = try delegator.discover(timeoutMs: 100)
        XCTAssertEqual(delegator.codeRequestsAnswered, limit)
        XCTAssertEqual(try received().code, limit)
        XCTAssertEqual(delegator.ignoredMessages - ignoredBefore, 5 + 3 + 1)

        _ = try delegator.publishCode(module)
        try ask(hash, times: 2)
        _ = try delegator.discover(timeoutMs: 100)
        XCTAssertEqual(delegator.codeRequestsAnswered, limit + 2)
        let after = try received()
        XCTAssertEqual(after.code, 1 + 2)  // the retained publish and two answers
        XCTAssertEqual(after.other, 0)
    }
}
