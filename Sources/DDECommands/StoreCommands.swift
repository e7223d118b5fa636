import ArgumentParser
import DDE
import Foundation

struct Commit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a compute_result again and commit it to the receipt chain.",
        discussion: """
            One transaction: the receipt (signed with --key, linked to the previous one), the proof, \
            the result and the state writes, and the new state. Refuses duplicates (DDE_ERR_DUPLICATE) \
            and tasks made on an old state (DDE_ERR_STALE); any failure changes nothing.
            """)

    @OptionGroup var store: StoreOption
    @OptionGroup var key: RequesterKeyOption
    @Argument(help: "The task (JSON file).") var task: String
    @Argument(help: "The compute_result (JSON file).") var result: String

    func run() throws {
        try DDECommands.run { () throws(DDEError) in
            let t = try ComputeTask(json: try parseJSON(try readInput(task, what: "task"), what: task))
            let r = try ComputeResult(json: try parseJSON(try readInput(result, what: "result"), what: result))
            let receipt = try store.open().commit(task: t, result: r, identity: try key.load(), now: nowMs())
            writeOutput(receipt.canonicalBytes)
        }
    }
}

struct Chain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect the receipt chain.", subcommands: [VerifyChain.self, Show.self, Export.self])

    struct VerifyChain: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Re-check every link, hash and signature, and replay all writes from genesis.",
            discussion: "Exit 0 when whole; DDE_ERR_CHAIN_BROKEN (63) naming the first bad receipt otherwise.")

        @OptionGroup var store: StoreOption
        @Flag(help: "No progress on stderr.") var quiet = false

        func run() throws {
            try DDECommands.run { () throws(DDEError) in
                let s = try store.open()
                var lastShown = 0.0
                let report = try s.verifyChain { done, total in
                    guard !quiet, total > 0 else { return }
                    let now = Date().timeIntervalSince1970
                    if now - lastShown > 0.2 || done == total {
                        lastShown = now
                        Console.current.write(Array("\rverifying receipt \(done)/\(total)".utf8), toStandardError: true)
                        if done == total { Console.current.write([0x0a], toStandardError: true) }
                    }
                }
                if let head = report.head {
                    writeLine("chain ok: \(report.count) receipts, head \(head.receiptHash.hex), state root \(head.nextStateRoot.hex)")
                } else {
                    writeLine("chain ok: empty")
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the chain head, or one receipt.")

        @OptionGroup var store: StoreOption
        @Option(help: "Print the receipt at this index instead of the head.") var index: UInt64?

        func run() throws {
            try DDECommands.run { () throws(DDEError) in
                let s = try store.open()
                if let index {
                    writeOutput(try s.receipt(at: index).canonicalBytes)
                    return
                }
                var o = JSONObject()
                if let head = try s.head() {
                    o["count"] = .number(Double(head.count))
                    o["receiptHash"] = .string(head.receiptHash.hex)
                    o["stateRoot"] = .string(head.nextStateRoot.hex)
                } else {
                    o["count"] = .number(0)
                    o["stateRoot"] = .string(StateRoot.empty.hex)
                }
                if let id = try s.identity() { o["identity"] = .string(id.hex) }
                writeOutput(JSON.object(o).canonicalBytes())
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the chain as JSON lines: {computeResult, receipt, task} per receipt.")

        @OptionGroup var store: StoreOption
        @Flag(help: "Receipts only.") var receiptsOnly = false

        func run() throws {
            try DDECommands.run { () throws(DDEError) in
                try store.open().exportJSONLines(withProofs: !receiptsOnly) { line in
                    Console.current.write(line) // each line ends with its newline
                }
            }
        }
    }
}

struct Peers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print executor reputation in routing order.",
        discussion: "Usable executors first, then by the lower confidence bound of their success rate, then by latency.")

    @OptionGroup var store: StoreOption
    @Flag(help: "Print a JSON array of records.") var json = false

    func run() throws {
        try DDECommands.run { () throws(DDEError) in
            let s = try store.open()
            let now = Int64(nowMs())
            let sorted = try s.reputation.allInRoutingOrder(now: now)
            if json {
                writeOutput(JSON.array(sorted.map { $0.json(config: s.reputation.config, now: now) }).canonicalBytes())
                return
            }
            writeLine(peerTable(sorted, config: s.reputation.config, now: now))
        }
    }
}

/// A fixed-width table of reputation records (also used by the demo).
func peerTable(_ records: [ReputationRecord], config: ReputationConfig, now: Int64) -> String {
    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    func num(_ d: Double) -> String { String(format: "%.2f", d) }
    var lines = [pad("executor", 18) + pad("ok", 8) + pad("invalid", 9) + pad("timeout", 9) + pad("valid.", 8)
                 + pad("bound", 7) + pad("latency", 10) + "status"]
    for r in records {
        let status = r.isConvicted ? "convicted (blacklisted for good)" : r.isBlacklisted(config) ? "blacklisted"
            : r.isBanned(at: now) ? "banned" : "ok"
        lines.append(pad(String(r.executorKey.hex.prefix(16)) + "…", 18) + pad(num(r.successfulProofs), 8)
                     + pad(num(r.failedProofs), 9) + pad(num(r.timeouts), 9) + pad(String(r.validated), 8)
                     + pad(num(r.successLowerBound(z: config.confidenceZ)), 7) + pad(num(r.latencyAvg) + "ms", 10) + status)
    }
    if records.isEmpty { lines.append("(no executors yet)") }
    return lines.joined(separator: "\n")
}
