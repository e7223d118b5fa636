import DDE
import DDEExecutor
import DDENetwork
import Foundation
import XCTest

/// Executors serve the code they hold to peers (ExecutorNode, so in-process, embedded and demo
/// nodes do too, not only `dde node`): a code_request for a module in the node's code store is
/// answered by publishing the module, retained, on its code topic.
final class CodeServingTests: XCTestCase {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
        var text: String { lock.lock(); defer { lock.unlock() }; return lines.joined(separator: "\n") }
        /// Whether a line containing `part` is logged within `seconds` (the node logs after it publishes).
        func contains(_ part: String, within seconds: Double = 2) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while !text.contains(part) && Date() < deadline { usleep(5_000) }
            return text.contains(part)
        }
    }

    /// Starts a node on `hub` with a code store holding `modules`; stopped at teardown.
    func startNode(_ hub: InProcessHub, _ name: String, holding modules: [[UInt8]], log: Lines) throws -> ExecutorNode<InProcessTransport> {
        let code = try CodeStore(directory: temporaryDirectory(self).appendingPathComponent("code-\(name)"))
        for m in modules { _ = try code.add(m) }
        var config = ExecutorNode<InProcessTransport>.Config()
        config.name = name
        let node = ExecutorNode(transport: hub.endpoint(name: name), keyPair: KeyPair.generate(), codeStore: code,
                                config: config, log: { log.add($0) })
        try node.start()
        let stop = DelegationEndToEndTests.Flag()
        Thread { node.run(until: { stop.isSet }) }.start()
        addTeardownBlock { stop.set(); node.transport.close() }
        return node
    }

    /// The next message on `topic` within `seconds`, skipping others.
    func next(on endpoint: InProcessTransport, topic: String, within seconds: Double) throws -> Message? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let m = try endpoint.receive(timeoutMs: 50), m.topic == topic { return m }
        }
        return nil
    }

    func testANodeServesAModuleByHashToAPeerThatLacksIt() throws {
        let hub = InProcessHub()
        let module = try exampleModule("wallet")
        let hash = SHA256.hash(module)
        let log = Lines()
        _ = try startNode(hub, "holder", holding: [module], log: log)

        // A peer that lacks the module asks for it by hash on the code-requests topic.
        let peer = hub.endpoint(name: "peer")
        try peer.subscribe(Topic.code(hash))
        try peer.publish(topic: Topic.codeRequests, payload: CodeRequest(codeHash: hash).envelope.canonicalBytes, retain: false)
        let message = try XCTUnwrap(try next(on: peer, topic: Topic.code(hash), within: 5), "no module on \(Topic.code(hash)):\n\(log.text)")
        let code = try CodeMessage(json: try Envelope.decode(message.payload, limits: CodeMessage.limits).payload)
        XCTAssertEqual(code.codeHash, hash)
        XCTAssertEqual(code.module, module)
        XCTAssertEqual(SHA256.hash(code.module), hash)
        XCTAssertTrue(log.contains("code \(String(hash.hex.prefix(8))) published for a peer (\(module.count) bytes)"), log.text)

        // Retained: a later peer gets it on subscribing, without asking.
        let late = hub.endpoint(name: "late")
        try late.subscribe(Topic.code(hash))
        let again = try XCTUnwrap(try next(on: late, topic: Topic.code(hash), within: 1))
        XCTAssertEqual(again.payload, message.payload)

        // A module the node does not hold: nothing is published, and a garbled request is dropped
        // with a log line; the node keeps serving.
        let missing = SHA256.hash(Array("no such module".utf8))
        try peer.subscribe(Topic.code(missing))
        try peer.publish(topic: Topic.codeRequests, payload: CodeRequest(codeHash: missing).envelope.canonicalBytes, retain: false)
        try peer.publish(topic: Topic.codeRequests, payload: Array("{\"v\":1".utf8), retain: false)
        XCTAssertNil(try next(on: peer, topic: Topic.code(missing), within: 0.5))
        XCTAssertTrue(log.contains("holder: dropped a message on \(Topic.codeRequests)"), log.text)
    }

    /// quorum(2) over two in-process nodes where only one holds the module and the requester
    /// never publishes it: the other fetches it from its peer by hash, and both results agree.
    func testAnExecutorFetchesCodeFromAPeerDuringADelegation() throws {
        let hub = InProcessHub()
        let module = try exampleModule("wallet")
        let log = Lines()
        _ = try startNode(hub, "holder", holding: [module], log: log)
        _ = try startNode(hub, "newcomer", holding: [], log: log)

        let store = try Store(path: temporaryDirectory(self).appendingPathComponent("requester.sqlite").path)
        addTeardownBlock { store.close() }
        let delegator = try Delegator(transport: hub.endpoint(name: "requester"), store: store, identity: KeyPair.generate())
        XCTAssertEqual(try delegator.discover(timeoutMs: 100), 2)
        let spec = TaskSpec(dappId: "wallet", dappCodeHash: SHA256.hash(module), action: "mint",
                            payload: try JSONParser.parse(#"{"amount":3,"to":"me"}"#), requiredCapabilities: ["state.read", "state.write"],
                            timestamp: UInt64(Date().timeIntervalSince1970 * 1000))
        var options = DelegationOptions(mode: .quorum(2), fanout: 2, deadlineMs: 20_000)
        options.lingerMs = 0
        let report = try delegator.delegate(spec, options: options)
        XCTAssertNotNil(report.receipt, "\(report.failure?.message ?? "")\n\(log.text)")
        XCTAssertEqual(report.accepted?.result, try JSONParser.parse(#"{"ok":true,"to":3}"#))
        XCTAssertTrue(log.contains("holder: code \(String(SHA256.hash(module).hex.prefix(8))) published for a peer"), log.text)
        XCTAssertTrue(log.contains("newcomer: code \(String(SHA256.hash(module).hex.prefix(8))) fetched"), log.text)
    }
}
