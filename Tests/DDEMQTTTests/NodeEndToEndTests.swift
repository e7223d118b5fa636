import XCTest
import Foundation
@testable import DDE
import DDEExecutor
#if canImport(Glibc)
import Glibc
#endif

/// End to end: a real Mosquitto broker, executor nodes as separate `dde node` processes, and a
/// requester (the core Delegator over MQTTTransport, with its own SQLite store) in this process.
/// Every wait is bounded; every process is stopped in teardown.
final class NodeEndToEndTests: XCTestCase {
    // MARK: cases

    /// first_valid: three increments committed in order with the right counts; the nodes hold no
    /// code at start and fetch it by hash from the retained code topic.
    func testFirstValidCommitsTheRightResults() throws {
        let e = try E2E(test: self)
        try e.delegator.publishCode(e.counter)
        let a = try e.startNode("alpha", preload: false)
        let b = try e.startNode("bravo", preload: false)
        try e.waitForExecutors(2)
        for n in 1...3 {
            let report = try e.delegateCounter(mode: .firstValid, fanout: 2)
            try e.assertCommitted(report, count: n)
            XCTAssertTrue([a.key, b.key].contains(try XCTUnwrap(report.receipt).remote.executorPublicKey))
        }
        XCTAssertEqual(try e.store.receiptCount(), 3)
        XCTAssertNoThrow(try e.store.verifyChain())
        XCTAssertTrue(a.log.contains("fetched") || b.log.contains("fetched"), e.logs)
    }

    /// quorum(2) of three: only the first node holds the module; the others ask for it on
    /// dde/v1/code-requests and the first publishes it (peer to peer, hash checked on receipt).
    func testQuorumCommitsTheRightResultsWithCodeFromAPeer() throws {
        let e = try E2E(test: self)
        let a = try e.startNode("alpha", preload: true)
        let b = try e.startNode("bravo", preload: false)
        let c = try e.startNode("charlie", preload: false)
        try e.waitForExecutors(3)
        for n in 1...2 {
            let report = try e.delegateCounter(mode: .quorum(2), fanout: 3, lingerMs: 8000)
            try e.assertCommitted(report, count: n)
            let agreeing = report.events.filter { $0.kind == .accepted || $0.kind == .agreed }
            XCTAssertGreaterThanOrEqual(agreeing.count, 2, "\(report.events.map { "\($0.kind)" })")
        }
        XCTAssertTrue(a.log.contains("published for a peer"), e.logs)
        XCTAssertTrue(b.log.contains("fetched") && c.log.contains("fetched"), e.logs)
    }

    /// One executor alters its results after signing (check 7): no altered result is ever
    /// committed, and since anyone reading the results topic could attach other bytes to a
    /// genuine proof, nothing is held against the signer: no failure, no ban.
    func testAlteredResultsAreNeverCommittedNorHeldAgainstTheSigner() throws {
        let e = try E2E(test: self)
        try e.delegator.publishCode(e.counter)
        _ = try e.startNode("alpha")
        _ = try e.startNode("bravo")
        let forger = try e.startNode("mallory", behaviour: "forge")
        try e.waitForExecutors(3)
        let now = { Int64(nowMs()) }
        for n in 1...4 {
            let report = try e.delegateCounter(mode: .firstValid, fanout: 3, lingerMs: 8000)
            try e.assertCommitted(report, count: n)
            XCTAssertNotEqual(report.receipt?.remote.executorPublicKey, forger.key)
            XCTAssertTrue(report.asked.contains(forger.key), "round \(n): never banned, so still asked")
            XCTAssertTrue(report.events.contains { $0.executor == forger.key && $0.kind == .unattributed && $0.status == .resultHash },
                          "round \(n): \(report.events.map { "\($0.kind) \($0.status.nameString)" })")
            XCTAssertFalse(try e.store.reputation.isBanned(forger.key, now: now()), "round \(n)")
        }
        XCTAssertEqual(try e.store.reputation.get(forger.key, now: now())?.failedProofs ?? 0, 0)
        XCTAssertTrue(forger.log.contains("FORGED"), e.logs)
    }

    /// A slow but honest executor loses to a fast one under first_valid.
    func testSlowExecutorLosesToFastHonestOne() throws {
        let e = try E2E(test: self)
        try e.delegator.publishCode(e.counter)
        let fast = try e.startNode("fast")
        let slow = try e.startNode("slow", behaviour: "slow:1500")
        try e.waitForExecutors(2)
        for n in 1...2 {
            let report = try e.delegateCounter(mode: .firstValid, fanout: 2, lingerMs: 0)
            try e.assertCommitted(report, count: n)
            XCTAssertTrue(report.asked.contains(slow.key))
            XCTAssertEqual(report.receipt?.remote.executorPublicKey, fast.key)
            let accepted = try XCTUnwrap(report.events.first { $0.kind == .accepted })
            XCTAssertLessThan(accepted.latencyMs, 1500)
        }
    }

    /// The broker is stopped after the third of eight tasks and started again a second later:
    /// every task is committed exactly once (QoS-1 sessions and the client outboxes carry the
    /// offers and results across the restart).
    func testBrokerRestartLosesNoTaskAndCommitsNoneTwice() throws {
        let e = try E2E(test: self, persistence: true)
        try e.delegator.publishCode(e.counter)
        _ = try e.startNode("alpha")
        _ = try e.startNode("bravo")
        try e.waitForExecutors(2)
        var taskIds = Set<Digest>()
        for n in 1...8 {
            if n == 4 {
                e.broker.stop()
                e.broker.restart(after: 1.0)
            }
            let report = try e.delegateCounter(mode: .firstValid, fanout: 2, deadlineMs: 30_000)
            try e.assertCommitted(report, count: n)
            XCTAssertTrue(taskIds.insert(report.task.taskId).inserted)
        }
        XCTAssertNil(e.broker.startFailure)
        XCTAssertEqual(try e.store.receiptCount(), 8)
        XCTAssertNoThrow(try e.store.verifyChain())
        XCTAssertGreaterThanOrEqual(e.transport.stats.connects, 2, "the requester reconnected")
        // Persistence kept every session, so no offer or result had to wait for a resubscription.
        XCTAssertTrue(e.notices.contains { $0.contains("reconnected to the broker (kept its session)") }, e.logs)
        for node in e.nodes { XCTAssertTrue(node.log.contains("kept its session"), e.logs) }
    }

    /// Twelve offers at once to a node allowing two tasks per requester: two results, ten
    /// compute_errors DDE_ERR_BUSY, and the node keeps serving.
    func testFloodBeyondMaxTasksPerPeerIsAnsweredWithComputeErrors() throws {
        let e = try E2E(test: self)
        try e.delegator.publishCode(e.counter)
        let node = try e.startNode("alpha", behaviour: "slow:1000", extra: ["--max-tasks-per-peer", "2", "--workers", "2"])
        try e.waitForExecutors(1)
        var sent = Set<Digest>()
        for i in 0..<12 {
            let spec = TaskSpec(dappId: "counter", dappCodeHash: e.counterHash, action: "increment", payload: .int(UInt64(i)),
                                requiredCapabilities: ["state.read", "state.write"], timestamp: nowMs())
            let task = try ComputeTask.create(spec, requester: e.requester)
            sent.insert(task.taskId)
            try e.transport.publish(topic: Topic.tasks, payload: TaskOffer(task: task, executors: [node.key]).envelope.canonicalBytes,
                                    retain: false)
        }
        var results = 0
        var busy = 0
        var other: [String] = []
        let deadline = Date().addingTimeInterval(20)
        while results + busy + other.count < 12 && Date() < deadline {
            guard let m = try e.transport.receive(timeoutMs: 200), m.topic == Topic.results(requester: e.requester.publicKey) else { continue }
            let envelope = try Envelope.decode(m.payload)
            switch envelope.type {
            case .computeResult:
                let result = try ComputeResult(json: envelope.payload)
                XCTAssertTrue(sent.contains(result.proof.taskId))
                results += 1
            case .computeError:
                let error = try ComputeErrorMessage(json: envelope.payload)
                XCTAssertTrue(sent.contains(error.taskId))
                if error.code == .busy { busy += 1 } else { other.append(error.code.nameString) }
            default:
                other.append(envelope.type.name)
            }
        }
        XCTAssertEqual(results, 2, e.logs)
        XCTAssertEqual(busy, 10, e.logs)
        XCTAssertEqual(other, [])
        XCTAssertTrue(node.isRunning)
        XCTAssertTrue(node.log.contains("refused, DDE_ERR_BUSY"), e.logs)
        // Still serving once the two are done.
        try e.assertCommitted(try e.delegateCounter(mode: .firstValid, fanout: 1), count: 1)
    }

    /// Garbage published straight to the broker (mosquitto_pub): not JSON, wrong schema, another
    /// version, oversized, a task with a broken signature, a task whose id does not match: each is
    /// refused with its reason in the node's log, and junk on the requester's results topic is
    /// refused by the requester; neither stops, and the next delegation succeeds.
    func testMalformedOversizedAndWronglySignedMessagesAreRefused() throws {
        let e = try E2E(test: self)
        try e.delegator.publishCode(e.counter)
        let node = try e.startNode("alpha", extra: ["--max-message-bytes", "65536"])
        try e.waitForExecutors(1)

        let spec = TaskSpec(dappId: "counter", dappCodeHash: e.counterHash, action: "increment", payload: .object(JSONObject()),
                            requiredCapabilities: ["state.read", "state.write"], timestamp: nowMs())
        let task = try ComputeTask.create(spec, requester: e.requester)
        let good = String(decoding: TaskOffer(task: task, executors: []).envelope.canonicalBytes, as: UTF8.self)
        let sig = task.signature.hex
        let flipped = String(sig.dropLast()) + (sig.hasSuffix("0") ? "1" : "0")
        let badSignature = good.replacingOccurrences(of: sig, with: flipped)
        let badId = good.replacingOccurrences(of: "\"raw\":\"\"", with: "\"raw\":\"x\"")
        XCTAssertNotEqual(badSignature, good)
        XCTAssertNotEqual(badId, good)
        let big = e.dir.appendingPathComponent("big.bin")
        try Data(repeating: 0x41, count: 100_000).write(to: big)
        let huge = e.dir.appendingPathComponent("huge.bin")
        try Data(repeating: 0x41, count: (1 << 20) + 1).write(to: huge)

        try e.mosquittoPub(Topic.tasks, message: "not json at all")
        try e.mosquittoPub(Topic.tasks, message: #"{"v":1,"type":"compute_task","payload":{"executors":[],"task":{}}}"#)
        try e.mosquittoPub(Topic.tasks, message: #"{"v":2,"type":"compute_task","payload":{}}"#)
        try e.mosquittoPub(Topic.tasks, message: #"{"v":1,"type":"teleport","payload":{}}"#)
        try e.mosquittoPub(Topic.tasks, file: big)
        try e.mosquittoPub(Topic.tasks, message: badSignature)
        try e.mosquittoPub(Topic.tasks, message: badId)
        try e.mosquittoPub(Topic.codeRequests, message: "{\"v\":1")
        let results = Topic.results(requester: e.requester.publicKey)
        try e.mosquittoPub(results, message: "junk for the requester")
        try e.mosquittoPub(results, message: #"{"v":1,"type":"compute_result","payload":{}}"#)
        try e.mosquittoPub(results, file: huge)

        let expected = ["DDE_ERR_JSON", "DDE_ERR_SCHEMA", "DDE_ERR_VERSION", "DDE_ERR_MESSAGE_TYPE",
                        "100000 bytes, over the 65536-byte limit", "DDE_ERR_TASK_SIGNATURE", "DDE_ERR_TASK_ID",
                        "dropped a message on dde/v1/code-requests"]
        waitUntil("the node to log every refusal", seconds: 10) { expected.allSatisfy { node.log.contains($0) } }
        for reason in expected { XCTAssertTrue(node.log.contains(reason), "node log lacks \(reason):\n\(e.logs)") }
        XCTAssertFalse(node.log.contains("ok, result"), "nothing was executed")
        XCTAssertTrue(node.isRunning)

        // The junk on the results topic is waiting in the requester's queue: the delegation
        // meets it, refuses it (unattributed), and still commits the node's valid result. The
        // broker delivers in the order it received, so once the oversized message (published
        // last) has been dropped on arrival, the two before it are queued.
        waitUntil("the oversized message to reach the requester", seconds: 10) { e.transport.stats.dropped >= 1 }
        let report = try e.delegateCounter(mode: .firstValid, fanout: 1)
        try e.assertCommitted(report, count: 1)
        XCTAssertGreaterThanOrEqual(report.events.filter { $0.kind == .unattributed }.count, 2,
                                    "\(report.events.map { "\($0.kind)" })")
        XCTAssertTrue(e.notices.contains { $0.contains("1048577 bytes, over the 1048576-byte limit") }, "\(e.notices)")
    }
}

// MARK: - harness

/// One end-to-end setup: broker, requester (store, MQTTTransport, Delegator), node processes.
final class E2E {
    let dir: URL
    let broker: TestBroker
    let requester = KeyPair.generate()
    let store: Store
    let transport: MQTTTransport
    let delegator: Delegator<MQTTTransport>
    let counter: [UInt8]
    let counterHash: Digest
    private(set) var nodes: [NodeProcess] = []
    private let noticeLock = NSLock()
    private var noticeLines: [String] = []
    var notices: [String] { noticeLock.lock(); defer { noticeLock.unlock() }; return noticeLines }

    init(test: XCTestCase, persistence: Bool = true) throws {
        broker = try TestBroker(persistence: persistence)
        dir = broker.dir
        store = try Store(path: dir.appendingPathComponent("requester.sqlite").path)
        transport = try MQTTTransport(url: broker.url, clientId: MQTTTransport.clientId(role: "req", key: requester.publicKey))
        delegator = try Delegator(transport: transport, store: store, identity: requester)
        let wat = try String(contentsOf: E2E.repoRoot.appendingPathComponent("examples/dapps/counter.wat"), encoding: .utf8)
        counter = try CodeStore.compile(wat: wat)
        counterHash = SHA256.hash(counter)
        transport.onNotice = { [weak self] line in
            guard let self else { return }
            self.noticeLock.lock(); self.noticeLines.append(line); self.noticeLock.unlock()
        }
        test.addTeardownBlock { [self] in
            self.shutdown(test: test)
        }
    }

    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `dde` binary next to the test bundle (or DDE_BIN).
    static var ddeBinary: URL {
        if let path = ProcessInfo.processInfo.environment["DDE_BIN"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dde")
    }

    func startNode(_ name: String, behaviour: String? = nil, preload: Bool = true, extra: [String] = []) throws -> NodeProcess {
        var args = ["--name", name]
        if preload { args += ["--preload", E2E.repoRoot.appendingPathComponent("examples/dapps/counter.wat").path] }
        if let behaviour { args += ["--test-behaviour", behaviour] }
        let node = try NodeProcess(broker: broker.url, dir: dir, name: name, args: args + extra)
        nodes.append(node)
        return node
    }

    /// Waits (at most 20 s) until the requester has seen `n` executors' presence.
    func waitForExecutors(_ n: Int) throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if try delegator.discover(timeoutMs: 100) >= n { return }
        }
        XCTFail("gave up after 20 s waiting for \(n) executors: only \(delegator.executors.count) announced themselves\n\(logs)")
        throw DDEError(.noExecutor, "executors did not start")
    }

    func delegateCounter(mode: AssuranceMode, fanout: Int, lingerMs: UInt64 = 100, deadlineMs: UInt64 = 20_000) throws -> DelegationReport {
        var options = DelegationOptions(mode: mode, fanout: fanout, deadlineMs: deadlineMs)
        options.lingerMs = lingerMs
        let spec = TaskSpec(dappId: "counter", dappCodeHash: counterHash, action: "increment", payload: .object(JSONObject()),
                            raw: "count one more", requiredCapabilities: ["state.read", "state.write"], timestamp: nowMs())
        return try delegator.delegate(spec, options: options)
    }

    /// The report committed `{"count":n}` and the store's counter is n.
    func assertCommitted(_ report: DelegationReport, count n: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let accepted = report.accepted, report.receipt != nil else {
            XCTFail("not committed: \(report.failure?.message ?? "?") events \(report.events.map { "\($0.kind) \($0.status.nameString) \($0.detail)" })\n\(logs)",
                    file: file, line: line)
            throw DDEError(.noResult, "not committed")
        }
        XCTAssertEqual(String(decoding: accepted.result.canonicalBytes(), as: UTF8.self), "{\"count\":\(n)}", file: file, line: line)
        let stored = try store.dappValue("counter", key: Array("count".utf8))
        XCTAssertEqual(stored.map { String(decoding: $0, as: UTF8.self) }, "\(n)", file: file, line: line)
    }

    func mosquittoPub(_ topic: String, message: String? = nil, file: URL? = nil) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_pub")
        var args = ["-h", "127.0.0.1", "-p", "\(broker.port)", "-q", "1", "-t", topic]
        if let message { args += ["-m", message] }
        if let file { args += ["-f", file.path] }
        p.arguments = args
        try p.run()
        let deadline = Date().addingTimeInterval(10)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        let timedOut = p.isRunning
        if timedOut { p.terminate() }
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "mosquitto_pub to \(topic)\(timedOut ? ": gave up after 10 s waiting for it to finish" : "")")
    }

    var logs: String {
        nodes.map { "---- \($0.name)\n\($0.log)" }.joined(separator: "\n")
            + "\n---- broker\(broker.startFailure.map { " (restart failed: \($0))" } ?? "")\n\(broker.log)"
            + "\n---- requester notices\n\(notices.joined(separator: "\n"))"
    }

    /// Stops every node with SIGTERM (they must exit 0 within 10 s), then the requester.
    func shutdown(test: XCTestCase) {
        for node in nodes {
            let status = node.terminate()
            XCTAssertEqual(status, 0, "\(node.name) did not exit 0 within 10 s of SIGTERM\n\(node.log)")
            XCTAssertTrue(node.log.contains("stopped;"), "\(node.name) log:\n\(node.log)")
        }
        nodes = []
        transport.close()
        store.close()
        broker.stop()
    }
}

/// A `dde node` process with its own key and code store; stderr goes to a file in the test folder.
final class NodeProcess {
    let name: String
    let key: PublicKey
    let logURL: URL
    private let process = Process()

    init(broker: String, dir: URL, name: String, args: [String]) throws {
        self.name = name
        let pair = KeyPair.generate()
        key = pair.publicKey
        let keyPath = dir.appendingPathComponent("\(name).key").path
        try KeyFile.save(pair, to: keyPath)
        logURL = dir.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let binary = E2E.ddeBinary
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw DDEError(.io, "no dde binary at \(binary.path): build it first (swift build --product dde; scripts/test-e2e.sh does)")
        }
        process.executableURL = binary
        process.arguments = ["node", "--broker", broker, "--key", keyPath,
                             "--code", dir.appendingPathComponent("code-\(name)").path] + args
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: logURL)
        try process.run()
    }

    var isRunning: Bool { process.isRunning }
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Waits (at most `seconds`) for the node's "ready" line: it is subscribed and has published
    /// its presence. Fails the test, saying so, if the line does not come.
    func waitUntilReady(seconds: Double = 20, file: StaticString = #filePath, line: UInt = #line) {
        if !waitUntil("\(name) to log ready", seconds: seconds, { log.contains(": ready, executor ") }) {
            XCTFail("gave up after \(seconds) s waiting for \(name) to log ready:\n\(log)", file: file, line: line)
        }
    }

    /// SIGTERM, then waits at most 10 s (SIGKILL after that); the exit status, nil if killed.
    @discardableResult
    func terminate() -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }
}

func nowMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
