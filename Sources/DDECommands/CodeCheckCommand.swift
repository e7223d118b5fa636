import ArgumentParser
import DDE
import DDEExecutor
import Foundation

/// `dde code check`: the executor's load-time checks on a module, every refusal with its place
/// and what to change (docs/DAPPS.md).
struct CodeCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Say whether the executor would load a module, naming every refusal and what to change.",
        discussion: """
            Runs the executor's load-time checks (docs/EXECUTION.md section 2) and WasmKit's \
            validation, runs nothing. Prints one line per refusal, with the function (index in \
            the module, name from its name section) and the byte offset of the instruction in the \
            file (as llvm-objdump -d prints it); exit 0 when the module loads, else the status a \
            run would report (the first refusal). Without --cap it prints the capabilities a task \
            must declare; with --cap it also refuses an import of a capability not given.
            """)

    @Argument(help: "The module (.wasm, or .wat compiled first).") var file: String
    @Option(name: .customLong("cap"), help: "A capability the task declares (repeat): state.read, state.write, crypto.hash, crypto.verify, log.")
    var capabilities: [String] = []
    @Option(help: "The action the task names: it must be an exported () -> i32.") var action: String?
    @Flag(help: "Print the report as JSON.") var json = false

    func run() throws {
        try DDECommands.run { () throws(DDEError) in
            for capability in capabilities where !Capability.all.contains(capability) {
                throw DDEError(.argument, "unknown capability \"\(capability)\" in --cap; known: \(Capability.all.joined(separator: ", "))")
            }
            let bytes = try readInput(file, what: "module", limit: .module)
            let module = file.hasSuffix(".wat") ? try compileWAT(bytes, path: file) : bytes
            let report = Sandbox().inspect(module: module, declared: capabilities.isEmpty ? nil : capabilities, action: action)
            if json {
                var o = JSONObject()
                o["loads"] = .bool(report.findings.isEmpty)
                o["codeHash"] = .string(SHA256.hash(module).hex)
                o["findings"] = .array(report.findings.map { finding in
                    var f = JSONObject()
                    f["status"] = .string("\(finding.status.name)")
                    f["code"] = .number(Double(finding.status.rawValue))
                    f["message"] = .string(finding.message)
                    if let function = finding.function { f["function"] = .number(Double(function)) }
                    if let function = finding.function, let name = report.functionNames[function] { f["functionName"] = .string(name) }
                    if let offset = finding.offset { f["offset"] = .number(Double(offset)) }
                    return .object(f)
                })
                if let info = report.info {
                    o["actions"] = .array(info.actions.map { .string($0) })
                    o["capabilities"] = .array(info.capabilitiesImported.map { .string($0) })
                    o["imports"] = .array(info.imports.map { .string($0.name) })
                }
                writeOutput(JSON.object(o).canonicalBytes())
            } else {
                for finding in report.findings {
                    writeLine("\(finding.status.name): \(finding.message)")
                }
                if report.findings.isEmpty, let info = report.info {
                    writeLine("loads: \(file) passes the executor's load-time checks (code hash \(SHA256.hash(module).hex))")
                    writeLine("  actions: \(info.actions.isEmpty ? "none: export a () -> i32 function" : info.actions.joined(separator: ", "))")
                    writeLine("  imports: \(info.imports.isEmpty ? "none" : info.imports.map { "dde.\($0.name)" }.joined(separator: ", "))")
                    if !info.capabilitiesImported.isEmpty {
                        writeLine("  a task must declare: \(info.capabilitiesImported.map { "--cap \($0)" }.joined(separator: " "))")
                    }
                }
            }
            if let first = report.findings.first {
                let count = report.findings.count
                throw DDEError(first.status, "\(file) would be refused at load: \(count) finding\(count == 1 ? "" : "s") \(json ? "in the report" : "above"); a run reports the first; fix each as it says and check again")
            }
        }
    }
}
