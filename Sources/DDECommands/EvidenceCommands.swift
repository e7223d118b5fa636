// `dde evidence`: portable fraud evidence (docs/PROTOCOL.md section 12). A document is a task and
// two validly signed proofs for it that disagree; anyone can check it (signatures, same task,
// disagreement) and name the liar by re-executing the task from a code store.
import ArgumentParser
import DDE
import DDEExecutor
import DDENetwork
import Foundation

struct EvidenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence",
        abstract: "List, export, check and import fraud evidence: two signed proofs of one task that disagree.",
        discussion: """
            A document is {"evidenceVersion":1,"proofs":[proof, proof],"task":task} (docs/PROTOCOL.md \
            section 12). `check` verifies both signatures and the task, then re-executes the task \
            (code by hash from --code) to name the liar; `import` does the same into a store and \
            blacklists the liar there for good. Nothing is acted on unchecked.
              dde evidence make task.json result-a.json result-b.json > evidence.jsonl
              dde evidence export --store a.db > evidence.jsonl
              dde evidence check --code ./dde-code evidence.jsonl
              dde evidence import --store b.db --code ./dde-code evidence.jsonl
            """,
        subcommands: [Make.self, List.self, Export.self, Check.self, Import.self])

    struct Make: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an evidence document from a task and two compute_results that disagree.",
            discussion: "Exit 0 with the document on stdout; 110 EVIDENCE_AGREES when they agree, 52 PROOF_SIGNATURE, 42 TASK_MISMATCH, ...")
        @Argument(help: "The task (JSON file).") var task: String
        @Argument(help: "One compute_result (JSON file).") var first: String
        @Argument(help: "Another compute_result for the same task (JSON file).") var second: String

        func run() throws {
            try DDECommands.run { () throws(DDEError) in
                let t = try ComputeTask(json: try parseJSON(try readInput(task, what: "task"), what: task))
                let a = try ComputeResult(json: try parseJSON(try readInput(first, what: "result"), what: first))
                let b = try ComputeResult(json: try parseJSON(try readInput(second, what: "result"), what: second))
                writeOutput(try EvidenceDocument(task: t, proofs: a.proof, b.proof).canonicalBytes)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the evidence kept in a store, one line each.")
        @OptionGroup var store: StoreOption
        @Flag(help: "Print a JSON array.") var json = false

        func run() throws {
            try DDECommands.run { () throws(DDEError) in
                let s = try store.open()
                defer { s.close() }
                let rows = try s.evidence()
                if json {
                    writeOutput(JSON.array(rows.map { e in .object(JSONObject(uniqueMembers: [
                        .init("id", .number(Double(e.id))),
                        .init("executorPublicKey", .string(e.executorKey.hex)),
                        .init("taskId", .string(e.taskId.hex)),
                        .init("status", .string(e.status.nameString)),
                        .init("detail", .string(e.detail)),
                        .init("convicted", .bool(e.convicted)),
                        .init("portable", .bool(e.document != nil)),
                        .init("recordedAt", .number(Double(e.recordedAt))),
                    ])) }).canonicalBytes())
                    return
                }
                if rows.isEmpty { writeLine("(no evidence)") }
                for e in rows {
                    writeLine("#\(e.id) \(short(e.executorKey)) task \(short(e.taskId)) \(e.status.nameString)\(e.convicted ? " CONVICTED" : "")\(e.document != nil ? " portable" : ""): \(e.detail)")
                }
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every portable evidence document of a store, one canonical JSON line each.")
        @OptionGroup var store: StoreOption

        func run() throws {
            try DDECommands.run { () throws(DDEError) in
                let s = try store.open()
                defer { s.close() }
                for doc in try s.evidenceDocuments() { writeOutput(doc.canonicalBytes) }
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check evidence documents and name each liar by re-execution.",
            discussion: "Exit 0 when every document names its liar; else the first failure's DDE_ERR_* code (52 PROOF_SIGNATURE, 42 TASK_MISMATCH, 110 EVIDENCE_AGREES, 80 CODE_NOT_FOUND, ...).")
        @OptionGroup var code: CodeDirectory
        @Argument(help: "A file of documents, one per line ('-' for stdin).") var file: String
        @Flag(help: "Print one JSON verdict per document.") var json = false

        func run() throws {
            try DDECommands.run { () throws(DDEError) in
                let codeStore = try code.open()
                for doc in try readDocuments(file) {
                    let v = try Audit.judge(doc, codeStore: codeStore)
                    report(doc, v, json: json)
                }
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check evidence documents and record them in a store: each liar is blacklisted there for good.",
            discussion: "Without a module for a document's task in --code, or when the run here refuses the task, the document is kept unjudged and nobody is blacklisted (exit 111 EVIDENCE_UNJUDGED).")
        @OptionGroup var store: StoreOption
        @OptionGroup var code: CodeDirectory
        @Argument(help: "A file of documents, one per line ('-' for stdin).") var file: String
        @Flag(help: "Print one JSON verdict per document.") var json = false

        func run() throws {
            try DDECommands.run { () throws(DDEError) in
                let s = try store.open()
                defer { s.close() }
                let codeStore = try code.open()
                var unjudged = 0
                for doc in try readDocuments(file) {
                    var verdict: EvidenceDocument.Verdict?
                    do throws(DDEError) {
                        verdict = try Audit.judge(doc, codeStore: codeStore)
                    } catch {
                        if error.status != .codeNotFound && error.status != .evidenceUnjudged { throw error }
                        verdict = nil
                    }
                    let outcome = try s.importEvidence(doc, verdict: verdict, now: Int64(nowMs()))
                    switch outcome {
                    case .convicted(let liars, let how):
                        report(doc, EvidenceDocument.Verdict(liars: liars, how: how), json: json)
                    case .known:
                        if !json { writeLine("\(short(doc.id)): already known") }
                    case .unjudged:
                        unjudged += 1
                        if !json { writeLine("\(short(doc.id)): kept unjudged (no module \(short(doc.task.dappCodeHash)) in the code store to re-execute): nobody blacklisted") }
                    }
                }
                if unjudged > 0 {
                    throw DDEError(.evidenceUnjudged, "\(unjudged) document(s) could not be judged: add their modules to the code store (`dde code add`) and import again")
                }
            }
        }
    }
}

/// Documents from a file of canonical JSON lines (blank lines skipped), each checked as parsed.
private func readDocuments(_ file: String) throws(DDEError) -> [EvidenceDocument] {
    let bytes = try readInput(file, what: "evidence", limit: .evidenceFile)
    var out: [EvidenceDocument] = []
    for (i, line) in bytes.split(separator: 0x0a, omittingEmptySubsequences: true).enumerated() {
        do throws(DDEError) {
            out.append(try EvidenceDocument(bytes: Array(line)))
        } catch {
            throw DDEError(error.status, "\(file) line \(i + 1): \(error.detail)")
        }
    }
    guard !out.isEmpty else { throw DDEError(.argument, "\(file) holds no evidence document") }
    return out
}

private func report(_ doc: EvidenceDocument, _ v: EvidenceDocument.Verdict, json: Bool) {
    if json {
        writeOutput(JSON.object(JSONObject(uniqueMembers: [
            .init("evidenceId", .string(doc.id.hex)),
            .init("taskId", .string(doc.task.taskId.hex)),
            .init("liars", .array(v.liars.map { .string($0.hex) })),
            .init("how", .string(v.how.rawValue)),
        ])).canonicalBytes())
    } else {
        writeLine("\(short(doc.id)): task \(short(doc.task.taskId)): liar \(v.liars.map { $0.hex }.joined(separator: ", ")) (\(v.how.rawValue))")
    }
}
