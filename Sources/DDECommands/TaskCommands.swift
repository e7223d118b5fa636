import ArgumentParser
import DDE
import Foundation

struct TaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task", abstract: "Create compute tasks.", subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create and sign a compute task; print it as canonical JSON.",
            discussion: """
                Either give a spec file (--spec, the document dde_task_create takes) or the fields \
                as options. Example:
                  dde task create --key dde.key --dapp counter --code examples/dapps/counter.wat \\
                      --action increment --cap state.read --cap state.write
                """)

        @Option(help: "Requester key file (from `dde keygen`).")
        var key: String

        @OptionGroup var fields: TaskFields

        func run() throws {
            try DDECommands.run { () throws(DDEError) in
                let spec = try fields.specObject(allowState: true)
                let pair = try KeyFile.load(from: key)
                let task = try ComputeTask.create(try TaskSpec(json: .object(spec), now: nowMs()), requester: pair)
                writeOutput(task.canonicalBytes)
            }
        }
    }
}

/// The task's fields as options, shared by `dde task create` and `dde delegate`: a spec file
/// and/or the fields one by one (options override the file's fields).
struct TaskFields: ParsableArguments {
    @Option(help: "A spec document; options below override its fields.")
    var spec: String?

    @Option(help: "dApp id.")
    var dapp: String?

    @Option(help: "The module (.wasm, or .wat compiled first) whose SHA-256 names the code.")
    var code: String?

    @Option(help: "The code hash (64 hex), instead of --code.")
    var codeHash: String?

    @Option(help: "The exported function to run.")
    var action: String?

    @Option(help: "The payload (a JSON document).")
    var payload: String?

    @Option(help: "The human request the intent came from.")
    var raw: String?

    @Option(name: .customLong("cap"), help: "A required capability (repeat): state.read, state.write, crypto.hash, crypto.verify, log.")
    var capabilities: [String] = []

    @Option(help: "A JSON file with the dApp state: {\"key\": \"<base64>\", …}.")
    var state: String?

    @Option(help: "Most host calls (default 500).") var maxSteps: UInt64?
    @Option(help: "Most fuel (default 1000000000).") var maxFuel: UInt64?
    @Option(help: "Wall-clock bound in ms.") var maxTime: UInt64?
    @Option(help: "Memory bound in bytes.") var maxMemory: UInt64?
    @Option(help: "Task timestamp in Unix ms (default: now; fix it for reproducible ids).") var timestamp: UInt64?

    /// The module `--code` names (a .wat file compiled first), or nil without `--code`.
    func module() throws(DDEError) -> [UInt8]? {
        guard let code else { return nil }
        let bytes = try readInput(code, what: "module")
        return code.hasSuffix(".wat") ? try compileWAT(bytes, path: code) : bytes
    }

    /// The spec document (what dde_task_create takes). `allowState: false` refuses a state
    /// (`dde delegate` takes the dApp's state from the store). `module`: what `module()` gave,
    /// when the caller read it already.
    func specObject(allowState: Bool, module: [UInt8]? = nil) throws(DDEError) -> JSONObject {
        var object = JSONObject()
        if let spec {
            guard case .object(let o) = try parseJSON(try readInput(spec, what: "spec"), what: spec) else {
                throw DDEError(.schema, "\(spec) must hold a JSON object")
            }
            object = o
        }
        if let dapp { object["dappId"] = .string(dapp) }
        if code != nil, codeHash != nil {
            throw DDEError(.argument, "give --code or --code-hash, not both")
        }
        let bytes = module != nil ? module : try self.module()
        if let bytes { object["dappCodeHash"] = .string(SHA256.hash(bytes).hex) }
        if let codeHash { object["dappCodeHash"] = .string(codeHash) }
        if let action { object["action"] = .string(action) }
        if let payload { object["payload"] = try parseJSON(Array(payload.utf8), what: "--payload") }
        if let raw { object["raw"] = .string(raw) }
        if !capabilities.isEmpty { object["requiredCapabilities"] = .array(capabilities.map { .string($0) }) }
        if let state { object["state"] = try parseJSON(try readInput(state, what: "state"), what: state) }
        if let maxSteps { object["maxExecutionSteps"] = .number(Double(maxSteps)) }
        if let maxFuel { object["maxFuel"] = .number(Double(maxFuel)) }
        if let maxTime { object["maxExecutionTime"] = .number(Double(maxTime)) }
        if let maxMemory { object["maxMemoryUsage"] = .number(Double(maxMemory)) }
        if let timestamp { object["timestamp"] = .number(Double(timestamp)) }
        if !allowState, object["state"] != nil {
            throw DDEError(.argument, "the task's state comes from the store (the dApp's current state); drop --state and \"state\" from the spec")
        }
        return object
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a compute_result against the task it answers (no re-execution).",
        discussion: """
            Exit status 0 when the proof is valid; otherwise the DDE_ERR_* code of the first \
            failing check (docs/PROTOCOL.md section 7), with its name and message on stderr.
            """)

    @Argument(help: "The task (JSON file).") var task: String
    @Argument(help: "The compute_result (JSON file, '-' for stdin).") var result: String
    @Flag(help: "Print the verdict as JSON on stdout.") var json = false

    func run() throws {
        try DDECommands.run { () throws(DDEError) in
            let t = try ComputeTask(json: try parseJSON(try readInput(task, what: "task"), what: task))
            let bytes = try readInput(result, what: "result")
            let verdict = try Verifier.verify(task: t, resultBytes: bytes)
            if json {
                writeOutput(JSON.object(JSONObject(uniqueMembers: [
                    .init("valid", .bool(true)), .init("taskId", .string(verdict.taskId.hex)),
                    .init("executorPublicKey", .string(verdict.executor.hex)),
                    .init("resultHash", .string(verdict.resultHash.hex)),
                    .init("nextStateRoot", .string(verdict.nextStateRoot.hex)),
                ])).canonicalBytes())
            } else {
                writeLine("valid: task \(verdict.taskId.hex) by executor \(verdict.executor.hex)")
            }
        }
    }
}
