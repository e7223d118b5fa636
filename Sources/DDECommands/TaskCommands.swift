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

        @OptionGroup var key: RequesterKeyOption
        @OptionGroup var fields: TaskFields

        func run() throws {
            try DDECommands.run { () throws(DDEError) in
                let spec = try fields.specObject(allowState: true)
                let pair = try key.load()
                let task = try ComputeTask.create(try TaskSpec(json: .object(spec), now: nowMs()), requester: pair)
                writeOutput(task.canonicalBytes)
            }
        }
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
