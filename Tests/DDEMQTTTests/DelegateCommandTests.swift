import XCTest
import Foundation
@testable import DDE
#if canImport(Glibc)
import Glibc
#endif

/// `dde delegate` as a user runs it: a process against a real broker and `dde node` processes;
/// checks its exit status, the receipt it prints, its progress lines and `dde chain verify`.
final class DelegateCommandTests: XCTestCase {
    /// first_valid twice, then quorum(2) with --json: each exits 0, prints a receipt that is
    /// signed by the requester and chained to the previous one, and the chain verifies.
    func testDelegateCommitsPrintsTheReceiptAndTheChainVerifies() throws {
        let broker = try TestBroker()
        // Teardown blocks run last first: the broker stops after the nodes, which clear their
        // presence through it on SIGTERM (with the broker gone each would wait out its flush).
        addTeardownBlock { broker.stop() }
        let dir = broker.dir
        let nodes = try ["alpha", "bravo"].map { try NodeProcess(broker: broker.url, dir: dir, name: $0, args: ["--name", $0]) }
        addTeardownBlock { for n in nodes { XCTAssertEqual(n.terminate(), 0, "\(n.name)\n\(n.log)") } }
        for n in nodes { n.waitUntilReady() }
        let keyPath = dir.appendingPathComponent("requester.key").path
        let requester = KeyPair.generate()
        try KeyFile.save(requester, to: keyPath)
        let storePath = dir.appendingPathComponent("requester.db").path
        let counterArgs = ["delegate", "--broker", broker.url, "--store", storePath, "--key", keyPath, "--dapp", "counter",
                           "--code", E2E.repoRoot.appendingPathComponent("examples/dapps/counter.wat").path,
                           "--action", "increment", "--cap", "state.read", "--cap", "state.write", "--discover", "1500"]

        var previous: Digest? = nil
        for n in 0..<2 {
            let run = try CLIRun(counterArgs + ["--fanout", "2"])
            XCTAssertEqual(run.status, 0, run.describe + nodes.map { $0.log }.joined())
            let receipt = try Receipt(bytes: Array(run.stdout.utf8))
            XCTAssertEqual(receipt.index, UInt64(n))
            XCTAssertEqual(receipt.identity, requester.publicKey)
            XCTAssertTrue(receipt.hasValidSignature)
            XCTAssertEqual(receipt.computedHash, receipt.receiptHash)
            XCTAssertEqual(receipt.previousReceiptHash, previous)
            XCTAssertTrue(nodes.map { $0.key }.contains(receipt.remote.executorPublicKey))
            previous = receipt.receiptHash
            // Progress: whom it asked (both), the verdicts with latencies, the commit.
            XCTAssertTrue(run.stderr.contains("2 executor(s) announced"), run.describe)
            let asked = try XCTUnwrap(run.stderr.split(separator: "\n").first { $0.contains(": asked ") }, run.describe)
            for node in nodes { XCTAssertTrue(asked.contains(String(node.key.hex.prefix(8))), run.describe) }
            XCTAssertNotNil(run.stderr.range(of: #"<- [0-9a-f]{8} accepted [0-9]+ ms"#, options: .regularExpression), run.describe)
            XCTAssertTrue(run.stderr.contains("committed receipt #\(n) \(receipt.receiptHash.hex)"), run.describe)
        }

        let quorum = try CLIRun(counterArgs + ["--mode", "quorum", "--k", "2", "--json"])
        XCTAssertEqual(quorum.status, 0, quorum.describe)
        guard case .object(let report) = try JSONParser.parse(Array(quorum.stdout.utf8)) else { return XCTFail(quorum.describe) }
        XCTAssertEqual(report["mode"], .string("quorum(2)"))
        XCTAssertEqual(report["failure"], .null)
        XCTAssertEqual(report["result"].map { String(decoding: $0.canonicalBytes(), as: UTF8.self) }, "{\"count\":3}")
        guard case .array(let answers)? = report["answers"] else { return XCTFail(quorum.describe) }
        let verdicts = answers.compactMap { a -> String? in
            guard case .object(let o) = a, case .string(let v)? = o["verdict"] else { return nil }
            return v
        }
        XCTAssertEqual(verdicts.sorted(), ["accepted", "agreed"], quorum.describe)
        guard case .object(let receiptObject)? = report["receipt"] else { return XCTFail(quorum.describe) }
        XCTAssertEqual(try Receipt(json: .object(receiptObject)).previousReceiptHash, previous)

        let verify = try CLIRun(["chain", "verify", "--store", storePath])
        XCTAssertEqual(verify.status, 0, verify.describe)
        XCTAssertTrue(verify.stdout.contains("3 receipts"), verify.describe)
        let store = try Store(path: storePath)
        defer { store.close() }
        XCTAssertEqual(try store.dappValue("counter", key: Array("count".utf8)).map { String(decoding: $0, as: UTF8.self) }, "3")
    }

    /// The failures come out as their DDE_ERR_* exit codes and commit nothing: too few executors
    /// (NO_EXECUTOR, also for a critical task with no proven executor), an executor that never
    /// answers (NO_RESULT; the --json report says it timed out), a quorum one of two cannot make
    /// (QUORUM_NOT_REACHED), a state given by hand (ARGUMENT), a broker that is not there
    /// (TRANSPORT).
    func testFailuresExitWithTheirStatusAndCommitNothing() throws {
        let broker = try TestBroker()
        addTeardownBlock { broker.stop() }  // after the nodes' block below (see above)
        let dir = broker.dir
        let honest = try NodeProcess(broker: broker.url, dir: dir, name: "alpha", args: ["--name", "alpha"])
        let silent = try NodeProcess(broker: broker.url, dir: dir, name: "mute", args: ["--name", "mute", "--test-behaviour", "silent"])
        addTeardownBlock { for n in [honest, silent] { XCTAssertEqual(n.terminate(), 0, "\(n.name)\n\(n.log)") } }
        for n in [honest, silent] { n.waitUntilReady() }
        let keyPath = dir.appendingPathComponent("requester.key").path
        try KeyFile.save(KeyPair.generate(), to: keyPath)
        let storePath = dir.appendingPathComponent("requester.db").path
        let base = ["delegate", "--broker", broker.url, "--store", storePath, "--key", keyPath, "--dapp", "counter",
                    "--code", E2E.repoRoot.appendingPathComponent("examples/dapps/counter.wat").path,
                    "--action", "increment", "--cap", "state.read", "--cap", "state.write", "--discover", "1500"]

        let three = try CLIRun(base + ["--mode", "quorum", "--k", "3"])
        XCTAssertEqual(three.status, Status.noExecutor.rawValue, three.describe)
        XCTAssertTrue(three.stderr.contains("DDE_ERR_NO_EXECUTOR: quorum(3) needs 3 executors"), three.describe)
        XCTAssertEqual(three.stdout, "")

        let critical = try CLIRun(base + ["--critical"])
        XCTAssertEqual(critical.status, Status.noExecutor.rawValue, critical.describe)
        XCTAssertTrue(critical.stderr.contains("proven"), critical.describe)

        let quorum = try CLIRun(base + ["--mode", "quorum", "--k", "2", "--fanout", "2", "--timeout", "1500"])
        XCTAssertEqual(quorum.status, Status.quorumNotReached.rawValue, quorum.describe)
        XCTAssertTrue(quorum.stderr.contains("DDE_ERR_QUORUM_NOT_REACHED"), quorum.describe)
        XCTAssertTrue(quorum.stderr.contains("\(String(silent.key.hex.prefix(8))) timeout"), quorum.describe)

        let statePath = dir.appendingPathComponent("state.json")
        try Data("{}".utf8).write(to: statePath)
        let withState = try CLIRun(base + ["--state", statePath.path])
        XCTAssertEqual(withState.status, Status.argument.rawValue, withState.describe)
        XCTAssertTrue(withState.stderr.contains("state comes from the store"), withState.describe)

        // The honest node leaves (its presence is cleared): only the silent one is asked.
        XCTAssertEqual(honest.terminate(), 0, honest.log)
        let alone = try CLIRun(base + ["--fanout", "2", "--timeout", "1500", "--json"])
        XCTAssertEqual(alone.status, Status.noResult.rawValue, alone.describe)
        guard case .object(let report) = try JSONParser.parse(Array(alone.stdout.utf8)) else { return XCTFail(alone.describe) }
        guard case .object(let failure)? = report["failure"] else { return XCTFail(alone.describe) }
        XCTAssertEqual(failure["code"], .string("DDE_ERR_NO_RESULT"))
        XCTAssertEqual(report["receipt"], .null)
        XCTAssertEqual(report["asked"], .array([.string(silent.key.hex)]), alone.describe)
        XCTAssertTrue(alone.stdout.contains("\"executor\":\"\(silent.key.hex)\",\"latencyMs\":"), alone.describe)
        XCTAssertTrue(alone.stdout.contains("\"verdict\":\"timeout\""), alone.describe)
        XCTAssertTrue(alone.stderr.contains("DDE_ERR_NO_RESULT"), alone.describe)

        let nowhere = try CLIRun(["delegate", "--broker", "mqtt://127.0.0.1:\(try TestBroker.freePort())", "--store", storePath,
                                  "--key", keyPath, "--dapp", "counter", "--code-hash", String(repeating: "0", count: 64),
                                  "--action", "increment"])
        XCTAssertEqual(nowhere.status, Status.transport.rawValue, nowhere.describe)

        let verify = try CLIRun(["chain", "verify", "--store", storePath])
        XCTAssertEqual(verify.status, 0, verify.describe)
        XCTAssertEqual(verify.stdout, "chain ok: empty", verify.describe)
    }

    /// `dde demo --broker`: two requesters and three executors, each on its own MQTT connection.
    /// first_valid commits the liar's consistent lie; the audited mode never does, convicts the
    /// liar, and requester B blacklists it from the shared evidence alone; at the end the
    /// executors have cleared their presence.
    func testDemoOverMQTT() throws {
        let broker = try TestBroker()
        let run = try CLIRun(["demo", "--broker", broker.url, "--hashchain-n", "200", "--json"])
        XCTAssertEqual(run.status, 0, run.describe)
        guard case .object(let summary) = try JSONParser.parse(Array(run.stdout.utf8)) else { return XCTFail(run.describe) }
        guard case .object(let chain)? = summary["chain"], case .array(let rounds)? = summary["rounds"],
              case .object(let b)? = summary["requesterB"] else { return XCTFail(run.describe) }
        XCTAssertEqual(chain["verified"], .bool(true))
        XCTAssertEqual(summary["liesCommittedFirstValid"], .number(1), run.describe)
        XCTAssertEqual(summary["liesCommittedAudited"], .number(0), run.describe)
        XCTAssertNotEqual(summary["liarConvictedInRound"], .null, run.describe)
        XCTAssertEqual(b["liarBlacklisted"], .bool(true), run.describe)
        for round in rounds {
            guard case .object(let o) = round, o["mode"] == .string("audited") else { continue }
            guard case .object(let receipt)? = o["receipt"] else { return XCTFail("uncommitted audited round: \(run.describe)") }
            XCTAssertEqual(receipt["lie"], .bool(false), run.describe)
        }
        // Presence cleared: a fresh requester on that broker finds nobody.
        let store = try Store(path: broker.dir.appendingPathComponent("probe.db").path)
        defer { store.close() }
        let probe = KeyPair.generate()
        let transport = try MQTTTransport(url: broker.url, clientId: "probe", options: MQTTOptions(cleanSession: true))
        defer { transport.close() }
        let delegator = try Delegator(transport: transport, store: store, identity: probe)
        XCTAssertEqual(try delegator.discover(timeoutMs: 1000), 0)
    }
}

/// One `dde` process run to completion (at most 60 s), with its output.
struct CLIRun {
    let arguments: [String]
    let status: Int32
    let stdout: String
    let stderr: String
    /// It was still running after 60 s and was killed.
    let timedOut: Bool

    init(_ arguments: [String]) throws {
        self.arguments = arguments
        let process = Process()
        process.executableURL = E2E.ddeBinary
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain both pipes while it runs, so a full pipe cannot block it.
        let outData = DataBox()
        let errData = DataBox()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { outData.set(out.fileHandleForReading.readDataToEndOfFile()) }
        DispatchQueue.global().async(group: group) { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        timedOut = process.isRunning
        if timedOut {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        _ = group.wait(timeout: .now() + 5)
        status = process.terminationStatus
        stdout = String(decoding: outData.get(), as: UTF8.self).trimmingCharacters(in: .newlines)
        stderr = String(decoding: errData.get(), as: UTF8.self)
    }

    var describe: String { "dde \(arguments.joined(separator: " ")) -> \(status)\(timedOut ? " (gave up after 60 s: killed)" : "")\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
}

final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}
