import DDE
import DDECommands
import Foundation
import XCTest

/// `dde` commands run in this process (DDECommand.run(_:console:), what the `dde` executable's
/// main runs), their output read back from the console. scripts/test-cli.sh runs the same
/// commands as the binary.
final class CommandTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dde-cmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let dir = self.dir!
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    }

    /// Runs `dde ARGUMENTS` in process: (exit status, stdout, stderr).
    func dde(_ arguments: [String], input: String = "") -> (status: Int32, out: String, err: String) {
        let console = Console(standardInput: Array(input.utf8))
        let status = DDECommand.run(arguments, console: console)
        return (status, console.standardOutput, console.standardError)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func write(_ text: String, to name: String) throws {
        try Data(text.utf8).write(to: dir.appendingPathComponent(name))
    }

    /// task create, code add, exec, verify: a task signed by the key's owner for the module's
    /// hash, a result that verifies (plain and --json), and an altered one refused with its code.
    func testTaskCreateExecAndVerifyInProcess() throws {
        let counter = CommandTests.repoRoot.appendingPathComponent("examples/dapps/counter.wat").path
        let requester = dde(["keygen", "-o", path("r.key")])
        XCTAssertEqual(requester.status, 0, requester.err)
        XCTAssertEqual(requester.out.count, 65, "the public key in hex and a newline: \(requester.out)")
        XCTAssertEqual(dde(["keygen", "-o", path("e.key")]).status, 0)

        let added = dde(["code", "add", counter, "--code", path("code")])
        XCTAssertEqual(added.status, 0, added.err)
        let codeHash = added.out.trimmingCharacters(in: .newlines)

        let create = dde(["task", "create", "--key", path("r.key"), "--dapp", "counter", "--code", counter,
                          "--action", "increment", "--cap", "state.read", "--cap", "state.write", "--timestamp", "1700000000000"])
        XCTAssertEqual(create.status, 0, create.err)
        XCTAssertEqual(create.err, "")
        XCTAssertTrue(create.out.hasSuffix("}\n"), create.out)
        let task = try ComputeTask(json: try JSONParser.parse(Array(create.out.utf8.dropLast())))
        XCTAssertEqual(task.requesterPublicKey.hex, requester.out.trimmingCharacters(in: .newlines))
        XCTAssertEqual(task.dappCodeHash.hex, codeHash)
        XCTAssertEqual(task.dappId, "counter")
        XCTAssertEqual(task.intent.action, "increment")
        XCTAssertEqual(task.timestamp, 1_700_000_000_000)
        XCTAssertEqual(create.out, String(decoding: task.canonicalBytes, as: UTF8.self) + "\n", "canonical JSON")
        try write(create.out, to: "task.json")

        let exec = dde(["exec", "--key", path("e.key"), "--code", path("code"), path("task.json")])
        XCTAssertEqual(exec.status, 0, exec.err)
        try write(exec.out, to: "result.json")

        let verify = dde(["verify", path("task.json"), path("result.json")])
        XCTAssertEqual(verify.status, 0, verify.err)
        let executor = try ComputeResult(json: try JSONParser.parse(Array(exec.out.utf8))).proof.executorPublicKey
        XCTAssertEqual(verify.out, "valid: task \(task.taskId.hex) by executor \(executor.hex)\n")
        // The result on standard input ('-'), the verdict as JSON.
        let json = dde(["verify", "--json", path("task.json"), "-"], input: exec.out)
        XCTAssertEqual(json.status, 0, json.err)
        guard case .object(let verdict) = try JSONParser.parse(Array(json.out.utf8)) else { return XCTFail(json.out) }
        XCTAssertEqual(verdict["valid"], .bool(true))
        XCTAssertEqual(verdict["taskId"], .string(task.taskId.hex))

        // Altered after signing: exit 48 (DDE_ERR_RESULT_HASH) and one line on stderr.
        let altered = exec.out.replacingOccurrences(of: "\"result\":{\"count\":1}", with: "\"result\":{\"count\":999}")
        XCTAssertNotEqual(altered, exec.out)
        let refused = dde(["verify", path("task.json"), "-"], input: altered)
        XCTAssertEqual(refused.status, Status.resultHash.rawValue)
        XCTAssertEqual(refused.out, "")
        XCTAssertTrue(refused.err.hasPrefix("dde: DDE_ERR_RESULT_HASH"), refused.err)
        XCTAssertEqual(refused.err.filter { $0 == "\n" }.count, 1, refused.err)
    }

    /// A whole-state (taskVersion 1) commit, then a partial-state (taskVersion 2) one made with
    /// --state-key on the state the first left: both run, verify and commit, and `dde chain
    /// verify` passes over the two kinds of task in one chain.
    func testWholeStateAndPartialStateTasksInOneVerifiedChain() throws {
        let counter = CommandTests.repoRoot.appendingPathComponent("examples/dapps/counter.wat").path
        XCTAssertEqual(dde(["keygen", "-o", path("r.key")]).status, 0)
        XCTAssertEqual(dde(["keygen", "-o", path("e.key")]).status, 0)
        XCTAssertEqual(dde(["code", "add", counter, "--code", path("code")]).status, 0)
        let common = ["--key", path("r.key"), "--dapp", "counter", "--code", counter, "--action", "increment",
                      "--cap", "state.read", "--cap", "state.write"]
        func run(_ name: String, _ extra: [String]) throws -> ComputeTask {
            let create = dde(["task", "create"] + common + extra)
            XCTAssertEqual(create.status, 0, create.err)
            try write(create.out, to: "\(name).json")
            let exec = dde(["exec", "--key", path("e.key"), "--code", path("code"), path("\(name).json")])
            XCTAssertEqual(exec.status, 0, exec.err)
            try write(exec.out, to: "\(name)-result.json")
            let commit = dde(["commit", "--store", path("s.db"), "--key", path("r.key"), path("\(name).json"), path("\(name)-result.json")])
            XCTAssertEqual(commit.status, 0, commit.err)
            return try ComputeTask(json: try JSONParser.parse(Array(create.out.utf8.dropLast())))
        }
        let whole = try run("whole", ["--timestamp", "1700000000000"])
        XCTAssertEqual(whole.taskVersion, 1)
        try write(#"{"count":"MQ=="}"#, to: "state.json")
        let partial = try run("partial", ["--state", path("state.json"), "--state-key", "count", "--timestamp", "1700000000001"])
        XCTAssertEqual(partial.taskVersion, 2)
        XCTAssertEqual(partial.partialState?.entries.first?.value, Array("1".utf8))
        let verify = dde(["chain", "verify", "--store", path("s.db")])
        XCTAssertEqual(verify.status, 0, verify.err + verify.out)
        let store = try Store(path: path("s.db"))
        XCTAssertEqual(try store.dappValue("counter", key: Array("count".utf8)), Array("2".utf8))
        // A key the counter reads that the task does not carry: the run refuses and names it.
        let other = dde(["task", "create"] + common + ["--state", path("state.json"), "--state-key", "other"])
        try write(other.out, to: "other.json")
        let refused = dde(["exec", "--key", path("e.key"), "--code", path("code"), path("other.json")])
        XCTAssertEqual(refused.status, Status.stateKeyOutside.rawValue)
        XCTAssertTrue(refused.err.contains("DDE_ERR_STATE_KEY_OUTSIDE: count"), refused.err)
    }

    /// Usage errors and help come back as ArgumentParser gives them to the binary.
    /// Standard input and files are read with the document limit applied: one byte over 1 MiB is
    /// refused (DDE_ERR_LIMIT, 21) with the limit and what to do; exactly 1 MiB is read.
    func testInputOverTheDocumentLimitIsRefusedWithTheLimitAndTheRemedy() throws {
        let limit = JSONLimits.default.maxBytes
        let fits = "\"" + String(repeating: "x", count: limit - 2) + "\""
        XCTAssertEqual(dde(["canon"], input: fits).status, 0)
        let over = dde(["canon"], input: fits + " ")
        XCTAssertEqual(over.status, 21, over.err)
        XCTAssertTrue(over.err.contains("document (standard input) is larger than \(limit) bytes (1 MiB)"), over.err)
        XCTAssertTrue(over.err.contains("dde canon --max-bytes N reads larger ones"), over.err)
        XCTAssertEqual(dde(["canon", "--max-bytes", "\(limit + 1)"], input: fits + " ").status, 0)
        try write(fits + "  ", to: "over.json")
        let file = dde(["verify", path("over.json"), path("over.json")])
        XCTAssertEqual(file.status, 21, file.err)
        XCTAssertTrue(file.err.contains("task \(path("over.json")) is larger than"), file.err)
        XCTAssertTrue(file.err.contains("no peer accepts a larger one"), file.err)
    }

    func testUsageErrorsAndHelpInProcess() {
        let missing = dde(["task", "create", "--dapp", "counter"])
        XCTAssertEqual(missing.status, 64, "EX_USAGE")
        XCTAssertTrue(missing.err.contains("--key"), missing.err)
        let help = dde(["task", "create", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.out.contains("USAGE: dde task create"), help.out)
        let canon = dde(["canon"], input: #"{"b":1E2,"a":"\u00e9"}"#)
        XCTAssertEqual(canon.status, 0, canon.err)
        XCTAssertEqual(canon.out, "{\"a\":\"é\",\"b\":100}\n")
    }
}
