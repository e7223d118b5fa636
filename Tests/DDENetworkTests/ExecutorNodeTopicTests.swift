import DDE
import DDEExecutor
import DDENetwork
import Foundation
import XCTest

/// What a node takes from which topic: offers only from the tasks topic (with its limits), and
/// offers for other executors dropped before their task is checked.
final class ExecutorNodeTopicTests: XCTestCase {
    typealias Lines = CodeServingTests.Lines

    func startNode(_ hub: InProcessHub, holding modules: [[UInt8]], log: Lines) throws -> ExecutorNode<InProcessTransport> {
        let code = try CodeStore(directory: temporaryDirectory(self).appendingPathComponent("code"))
        for m in modules { _ = try code.add(m) }
        var config = ExecutorNode<InProcessTransport>.Config()
        config.name = "node"
        config.codeFetchTimeoutMs = 30_000
        let node = ExecutorNode(transport: hub.endpoint(name: "node"), keyPair: KeyPair.generate(), codeStore: code,
                                config: config, log: { log.add($0) })
        try node.start()
        let stop = DelegationEndToEndTests.Flag()
        Thread { node.run(until: { stop.isSet }) }.start()
        addTeardownBlock { stop.set(); node.transport.close() }
        return node
    }

    func walletTask(_ module: [UInt8], requester: KeyPair, codeHash: Digest? = nil) throws -> ComputeTask {
        let spec = TaskSpec(dappId: "wallet", dappCodeHash: codeHash ?? SHA256.hash(module), action: "mint",
                            payload: try JSONParser.parse(#"{"amount":3,"to":"me"}"#), requiredCapabilities: ["state.read", "state.write"],
                            timestamp: UInt64(Date().timeIntervalSince1970 * 1000))
        return try ComputeTask.create(spec, requester: requester)
    }

    /// The next message on `topic` within `seconds`, skipping others.
    func next(on endpoint: InProcessTransport, topic: String, within seconds: Double) throws -> Message? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let m = try endpoint.receive(timeoutMs: 50), m.topic == topic { return m }
        }
        return nil
    }

    /// A compute_task published on the code topic of a module the node waits for is not run.
    func testAnOfferOnACodeTopicIsNotRun() throws {
        let hub = InProcessHub()
        let module = try exampleModule("wallet")
        let log = Lines()
        let node = try startNode(hub, holding: [module], log: log)
        let requester = KeyPair.generate()
        let peer = hub.endpoint(name: "requester")
        try peer.subscribe(Topic.results(requester: requester.publicKey))

        // A task whose code the node lacks: it subscribes to that code topic, then asks for it.
        let watcher = hub.endpoint(name: "watcher")
        try watcher.subscribe(Topic.codeRequests)
        let missing = SHA256.hash(Array("a module nobody has".utf8))
        let waiting = try walletTask(module, requester: requester, codeHash: missing)
        try peer.publish(topic: Topic.tasks, payload: TaskOffer(task: waiting, executors: [node.publicKey]).envelopeBytes, retain: false)
        XCTAssertNotNil(try next(on: watcher, topic: Topic.codeRequests, within: 5), log.text)

        // A valid offer for a module the node holds, published on that code topic.
        let task = try walletTask(module, requester: requester)
        try peer.publish(topic: Topic.code(missing), payload: TaskOffer(task: task, executors: [node.publicKey]).envelopeBytes,
                         retain: false)
        XCTAssertTrue(log.contains("node: dropped a compute_task message on \(Topic.code(missing))"), log.text)
        var answers = 0
        let end = Date().addingTimeInterval(1)
        while Date() < end { if try peer.receive(timeoutMs: 50) != nil { answers += 1 } }
        XCTAssertEqual(answers, 0, log.text)
        XCTAssertEqual(node.answered, 0, log.text)

        // The same offer on the tasks topic runs.
        try peer.publish(topic: Topic.tasks, payload: TaskOffer(task: task, executors: [node.publicKey]).envelopeBytes, retain: false)
        XCTAssertNotNil(try next(on: peer, topic: Topic.results(requester: requester.publicKey), within: 10), log.text)
    }

    /// Offers naming other executors are dropped before their task's checks: a forged signature
    /// there is never looked at (no "refused an offer" line), on the direct and the generic path.
    func testAnOfferForOthersIsDroppedUnchecked() throws {
        let hub = InProcessHub()
        let module = try exampleModule("wallet")
        let log = Lines()
        let node = try startNode(hub, holding: [module], log: log)
        let requester = KeyPair.generate()
        let peer = hub.endpoint(name: "requester")
        let task = try walletTask(module, requester: requester)
        let forged = String(decoding: TaskOffer(task: task, executors: []).envelopeBytes, as: UTF8.self)
            .replacingOccurrences(of: task.signature.hex, with: KeyPair.generate().sign(.task, task.taskId).hex)
        func offer(to executor: PublicKey, plain: Bool) -> [UInt8] {
            var text = forged.replacingOccurrences(of: #""executors":[]"#, with: #""executors":["\#(executor.hex)"]"#)
            if !plain { text = text.replacingOccurrences(of: #"{"payload":"#, with: #"{ "payload":"#) }
            return Array(text.utf8)
        }
        let other = KeyPair.generate().publicKey
        try peer.publish(topic: Topic.tasks, payload: offer(to: other, plain: true), retain: false)
        try peer.publish(topic: Topic.tasks, payload: offer(to: other, plain: false), retain: false)
        // Then the same to this node: refused, one line each, so the node has seen all four.
        try peer.publish(topic: Topic.tasks, payload: offer(to: node.publicKey, plain: true), retain: false)
        try peer.publish(topic: Topic.tasks, payload: offer(to: node.publicKey, plain: false), retain: false)
        let deadline = Date().addingTimeInterval(5)
        func refusals() -> Int { log.text.components(separatedBy: "refused an offer").count - 1 }
        while refusals() < 2 && Date() < deadline { usleep(5_000) }
        usleep(200_000)
        XCTAssertEqual(refusals(), 2, log.text)
        XCTAssertTrue(log.text.contains("task.signature does not verify"), log.text)
    }
}
