// `dde delegate`: one delegation from the command line, over MQTT. Builds and signs the task
// from the store's current dApp state, optionally publishes its code by hash, learns executors
// from their presence, delegates (first_valid or quorum), commits the accepted result to the
// store's receipt chain, and prints the receipt. Progress goes to stderr, the document to stdout.
import ArgumentParser
import DDE
import DDENetwork
import Foundation

struct Delegate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delegate one task to the executors on an MQTT broker; commit and print the receipt.",
        discussion: """
            The task is built from the options (as in `dde task create`) on the dApp's current \
            state in --store, signed with --key, and offered to the best --fanout executors (by \
            reputation) among those announcing themselves on the broker. Progress on stderr: \
            whom it asked, each answer with its verdict and the latency measured here. On \
            stdout: the committed receipt (with --json: the whole report). Exit status 0 when a \
            receipt was committed, else the DDE_ERR_* code: 101 NO_RESULT, 102 \
            QUORUM_NOT_REACHED, 105 NO_EXECUTOR, 100 TRANSPORT, ...
              dde delegate --broker mqtt://127.0.0.1:1883 --store requester.db --key requester.key \\
                  --dapp counter --code examples/dapps/counter.wat --action increment \\
                  --cap state.read --cap state.write
            """)

    @Option(help: "MQTT broker URL (mqtt://host:port).")
    var broker: String

    @Option(help: "Requester store (SQLite; created if absent): the dApp state, the receipt chain, reputation.")
    var store: String

    @Option(help: "Requester key file (from `dde keygen`): signs the task and the receipt.")
    var key: String

    @OptionGroup var fields: TaskFields

    @Option(help: "first_valid (accept the first valid proof) or quorum (k executors must agree).")
    var mode: String = "first_valid"

    @Option(help: "Quorum size (with --mode quorum).")
    var k: Int = 2

    @Option(help: "Executors asked (at least k).")
    var fanout: Int = 3

    @Option(help: "Milliseconds from sending the offer to giving up.")
    var timeout: UInt64 = 10_000

    @Flag(help: "Send only to proven executors (several successful proofs already), never to banned or blacklisted ones.")
    var critical = false

    @Flag(help: "With --critical: fill up with unproven executors when too few proven ones are known.")
    var allowFallback = false

    @Option(help: "Milliseconds to collect executors' presence before choosing.")
    var discover: UInt64 = 1000

    @Option(help: "MQTT client id (default dde-req-<12 hex of the key>; the broker keeps the session under it).")
    var clientId: String?

    @Flag(help: "Print the whole delegation report as JSON on stdout instead of the receipt.")
    var json = false

    func run() throws {
        try DDECLI.run { () throws(DDEError) in
            let options = try delegationOptions()
            // Read before connecting: a missing file fails without touching the network.
            let module = try fields.module()
            let spec = try TaskSpec(json: .object(try fields.specObject(allowState: false, module: module)), now: nowMs())
            let identity = try KeyFile.load(from: key)
            let db = try Store(path: store)
            defer { db.close() }
            let mqtt = try MQTTTransport(url: broker, clientId: clientId ?? MQTTTransport.clientId(role: "req", key: identity.publicKey))
            defer { mqtt.close() }
            mqtt.onNotice = { progress("mqtt: \($0)") }
            let delegator = try Delegator(transport: mqtt, store: db, identity: identity)

            if let module {
                let hash = try delegator.publishCode(module)
                progress("published code \(hash.hex) (\(module.count) bytes, retained on dde/v1/code/<hash>)")
            }
            let known = try delegator.discover(timeoutMs: discover)
            progress("\(known) executor(s) announced on \(mqtt.host):\(mqtt.port)")

            delegator.onSent = { task, asked in
                progress("task \(task.taskId.hex) \(task.dappId).\(task.intent.action) \(options.mode.label): asked \(asked.map { short($0) }.joined(separator: ", ")), waiting up to \(options.deadlineMs) ms")
            }
            let report = try delegator.delegate(spec, options: options)
            for e in report.events {
                let who = e.executor.map { short($0) } ?? "(unknown)"
                let status = e.status == .ok ? "" : "  \(e.status.nameString): \(e.detail)"
                let result = e.resultHash.map { "  result \(short($0))" } ?? ""
                progress("  <- \(who) \(e.kind.name) \(e.latencyMs) ms\(result)\(status)")
            }
            if let receipt = report.receipt {
                progress("committed receipt #\(receipt.index) \(receipt.receiptHash.hex) from \(short(receipt.remote.executorPublicKey)); state root \(short(receipt.nextStateRoot))")
            }
            // The answers are scored and the offer sent; wait for the broker's acknowledgements
            // before disconnecting (bounded), so nothing published here is lost.
            do throws(DDEError) { try mqtt.flush(timeoutMs: 5000) } catch { progress("mqtt: \(error.message)") }
            if json {
                writeOutput(report.json.canonicalBytes())
            } else if let receipt = report.receipt {
                writeOutput(receipt.canonicalBytes)
            }
            if let failure = report.failure { throw failure }
        }
    }

    func delegationOptions() throws(DDEError) -> DelegationOptions {
        var o = DelegationOptions()
        guard let named = try AssuranceMode.named(mode, quorum: k) else {
            throw DDEError(.argument, "--mode must be first_valid or quorum, not \(mode)")
        }
        o.mode = named
        guard fanout >= 1, fanout <= TaskOffer.maxExecutors else {
            throw DDEError(.argument, "--fanout must be 1...\(TaskOffer.maxExecutors), not \(fanout)")
        }
        guard timeout >= 1 else { throw DDEError(.argument, "--timeout must be at least 1 ms") }
        guard discover <= 600_000 else { throw DDEError(.argument, "--discover must be at most 600000 ms") }
        o.fanout = fanout  // Delegator.choose asks at least the quorum
        o.deadlineMs = timeout
        o.critical = critical
        o.allowFallback = allowFallback
        return o
    }
}

/// A progress line on stderr.
private func progress(_ line: String) {
    logLine("dde delegate: \(line)")
}
