import ArgumentParser
import DDE
import DDEAdversary
import DDEExecutor
import Foundation

struct CodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "code", abstract: "Manage the content-addressed code store.", subcommands: [Add.self, CodePublish.self, CodeCheck.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a module (.wasm, or .wat compiled first) and print its code hash.")

        @Argument(help: "The module file.") var file: String
        @OptionGroup var store: CodeDirectory

        func run() throws {
            try DDECommands.run { () throws(DDEError) in
                let bytes = try readInput(file, what: "module", limit: .module)
                let module = file.hasSuffix(".wat") ? try compileWAT(bytes, path: file) : bytes
                writeLine(try store.open().add(module).hex)
            }
        }
    }
}

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Execute a task as an executor and print the signed compute_result.",
        discussion: "Checks the task (id, signature), runs its module from the code store deterministically, and signs the proof.")

    @OptionGroup var key: ExecutorKeyOption
    @OptionGroup var store: CodeDirectory
    @Argument(help: "The task (JSON file, '-' for stdin).") var task: String
    /// Tests only: `lie` signs a consistent but wrong result (verify accepts it, audit does not);
    /// `forge` alters the result after signing (verify refuses it).
    @Option(help: .hidden) var testBehaviour: String?

    func run() throws {
        try DDECommands.run { () throws(DDEError) in
            let t = try ComputeTask(json: try parseJSON(try readInput(task, what: "task"), what: task))
            let pair = try key.load()
            var result = try Executor.execute(task: t, keyPair: pair, codeStore: try store.open())
            switch testBehaviour {
            case nil: break
            case "forge": result = Misbehaviour.forge(result)
            case "lie": result = Misbehaviour.lie(result, keyPair: pair)
            default: throw DDEError(.argument, "--test-behaviour must be forge or lie")
            }
            writeOutput(result.canonicalBytes)
        }
    }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Re-execute a task and say whether a compute_result's proof holds.",
        discussion: """
            Exit 0 when it holds; DDE_ERR_AUDIT_FAILED (95) naming the first field that differs \
            when it does not: a validly signed but wrong proof is evidence against its executor.
            """)

    @OptionGroup var store: CodeDirectory
    @Argument(help: "The task (JSON file).") var task: String
    @Argument(help: "The compute_result (JSON file).") var result: String
    @Flag(help: "Print the report as JSON.") var json = false

    func run() throws {
        try DDECommands.run { () throws(DDEError) in
            let t = try ComputeTask(json: try parseJSON(try readInput(task, what: "task"), what: task))
            let r = try ComputeResult(json: try parseJSON(try readInput(result, what: "result"), what: result))
            let report = try Audit.check(task: t, result: r, codeStore: try store.open())
            if json {
                var o = JSONObject()
                o["holds"] = .bool(report.holds)
                o["executorPublicKey"] = .string(r.proof.executorPublicKey.hex)
                if let f = report.field { o["field"] = .string(f) }
                if let e = report.expected { o["expected"] = .string(e) }
                if let c = report.claimed { o["claimed"] = .string(c) }
                writeOutput(JSON.object(o).canonicalBytes())
            } else if report.holds {
                writeLine("holds: re-execution agrees with every field of the proof")
            }
            if let field = report.field {
                throw DDEError(.auditFailed, "\(field) differs: re-execution gives \(report.expected ?? "?"), the proof claims \(report.claimed ?? "?")")
            }
        }
    }
}
