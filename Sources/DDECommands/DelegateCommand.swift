// `dde delegate`: one delegation from the command line, over MQTT. Builds and signs the task
// from the store's current dApp state, optionally publishes its code by hash, learns executors
// from their presence, delegates (first_valid, quorum or audited), commits the accepted result to the
// store's receipt chain, and prints the receipt. Progress goes to stderr, the document to stdout.
import ArgumentParser
import DDE
import DDEExecutor
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
            QUORUM_NOT_REACHED, 105 NO_EXECUTOR, 106 UNRESOLVED, 100 TRANSPORT, ...
            What each mode guarantees: first_valid trusts the fastest signer (a consistent liar \
            that answers first is committed); quorum k commits what k distinct executors agree on \
            (k fresh identities of one attacker can agree on a lie); audited replicates executors \
            on probation, audits trusted ones at random after they answered, escalates \
            disagreements to validated or --pin'ned executors and blacklists proven liars for good, \
            aiming at --error-target forged commits when at most --liar-share of executors lie. \
            Without a pinned or validated executor it cannot tell a Sybil majority from honest \
            peers, and says so on stderr.
              dde delegate --broker mqtt://127.0.0.1:1883 --store requester.db --key requester.key \\
                  --dapp counter --code examples/dapps/counter.wat --action increment \\
                  --cap state.read --cap state.write
            Over TLS, with a device certificate or a user name and a password file: \
            --broker mqtts://host --ca-file ca.crt [--tls-cert C --tls-key K | --username U \
            --password-file F] (docs/NETWORK.md, "TLS and credentials").
            """)

    @OptionGroup var broker: BrokerOption
    @OptionGroup var store: StoreOption
    @OptionGroup var key: RequesterKeyOption
    @OptionGroup var fields: TaskFields

    @OptionGroup var assurance: AssuranceOptions

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

    @OptionGroup var clientId: ClientIdOption

    @Flag(help: "Print the whole delegation report as JSON on stdout instead of the receipt.")
    var json = false

    func run() throws {
        try DDECommands.run { () throws(DDEError) in
            let options = try delegationOptions()
            // Read before connecting: a missing file fails without touching the network.
            let module = try fields.module()
            let spec = try TaskSpec(json: .object(try fields.specObject(allowState: false, module: module)), now: nowMs())
            let identity = try key.load()
            let db = try store.open()
            defer { db.close() }
            let mqtt = try MQTTTransport(url: broker.url, clientId: clientId.id(role: "req", key: identity.publicKey),
                                         options: try broker.options())
            defer { mqtt.close() }
            mqtt.onNotice = { progress("mqtt: \($0)") }
            let delegator = try Delegator(transport: mqtt, store: db, identity: identity)
            delegator.judge = assurance.judge()

            if let module {
                let hash = try delegator.publishCode(module)
                progress("published code \(hash.hex) (\(module.count) bytes, retained on dde/v1/code/<hash>)")
            }
            let known = try delegator.discover(timeoutMs: discover)
            progress("\(known) executor(s) announced on \(mqtt.host):\(mqtt.port)")
            if known == 0 { progress(Delegate.noPresenceNotice(discoverMs: discover)) }

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
            if !report.retriedWithKeys.isEmpty {
                let keys = report.retriedWithKeys.map { "\"\(String(decoding: $0, as: UTF8.self))\"" }.joined(separator: ", ")
                progress("sent twice: the first task did not carry \(keys), which its executions read (name them with --state-key to send them at once)")
            }
            if let a = report.assurance {
                progress("assured: \(a.how.rawValue)\(a.confirmedBy.isEmpty ? "" : ", confirmed by \(a.confirmedBy.map { short($0) }.joined(separator: ", "))")\(a.validated ? " (validated)" : "")")
            }
            for caveat in report.caveats { progress("caveat: \(caveat)") }
            if delegator.codeRequestsAnswered > 0 {
                progress("answered \(delegator.codeRequestsAnswered) code request(s) for the published module")
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

    /// Why no executor may have been seen although some are running: on Mosquitto the retained
    /// presence of every executor arrives right after subscribing; RabbitMQ 3.x delivers no
    /// retained message to a wildcard subscription (`dde/v1/executors/+`) and keeps retained
    /// messages on the node they were published to (docs/NETWORK.md, Brokers).
    static func noPresenceNotice(discoverMs: UInt64) -> String {
        "no executor presence received within \(discoverMs) ms. A broker that delivers no retained message to a wildcard subscription, or keeps them on one node of a cluster (RabbitMQ 3.x does both), shows an executor only when it announces itself: every 60000 ms by default (dde node --presence-interval), or queued for this requester's kept session (same key or --client-id) since it last connected. Raise --discover above the executors' interval."
    }

    func delegationOptions() throws(DDEError) -> DelegationOptions {
        var o = DelegationOptions()
        try assurance.apply(to: &o)
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
