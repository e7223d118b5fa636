// `dde demo`: the whole flow on the in-process transport, or over an MQTT broker (--broker, each
// node on its own connection). A requester with its own store and three executor nodes on
// threads (one forges its results), delegating the wallet and the
// hashchain example dApps in first_valid and quorum modes, printing each step: the task, whom it
// asked, every proof with its verdict and the latency the requester measured, the committed
// receipt, the reputation table and the chain verification.
import ArgumentParser
import DDE
import DDEExecutor
import DDENetwork
import Foundation

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delegate example dApps to in-process executors (one forges) and show every step.",
        discussion: """
            Runs a requester and three executors in this process over the in-process transport. \
            The executors fetch the modules by hash from the requester, run them, and sign proofs; \
            the forger alters its results after signing, is caught by verification every time and \
            is banned after three invalid proofs. Nothing here needs a network or a broker; with \
            --broker mqtt://host:port the same runs over MQTT, each executor on its own \
            connection (executors already on that broker may be asked too).
            """)

    @Option(help: "Requester store file (default: a new one in a temporary folder). Its key is kept next to it as <store>.key.")
    var store: String?

    @Option(help: "MQTT broker URL (mqtt://host:port) instead of the in-process transport.")
    var broker: String?

    @Option(help: "Hashchain iterations per task.")
    var hashchainN: Int = 4000

    @Flag(help: "Add a fourth executor that signs consistent but wrong results (only quorum catches it).")
    var liar = false

    @Flag(help: "Print a machine-readable JSON summary instead of the step-by-step lines.")
    var json = false

    func run() throws {
        try DDECLI.run { () throws(DDEError) in
            let demo = DemoRun(storePath: store, hashchainN: hashchainN, liar: liar, json: json)
            if let broker {
                _ = try MQTTTransport.parseURL(broker)
                // A fresh id per run and no kept session: demo keys are new every time.
                let run = UUID().uuidString.prefix(8).lowercased()
                var options = MQTTOptions(cleanSession: true)
                options.maxMessageBytes = CodeMessage.limits.maxBytes
                try demo.run(network: "MQTT broker \(broker)", discoveryMs: 5000) { (name: String) throws(DDEError) -> MQTTTransport in
                    try MQTTTransport(url: broker, clientId: "dde-demo-\(run)-\(name)", options: options)
                }
            } else {
                let hub = InProcessHub()
                try demo.run(network: "the in-process transport (no broker)", discoveryMs: 200) { (name: String) throws(DDEError) -> InProcessTransport in
                    hub.endpoint(name: name)
                }
            }
        }
    }
}

/// Collects node log lines from their threads, so they print between the requester's steps.
final class LogBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    func take() -> [String] { lock.lock(); defer { lock.unlock() }; let l = lines; lines = []; return l }
}

/// What the demo needs of a transport beyond `Transport`: closing it at the end.
protocol DemoTransport: Transport {
    func close()
}

extension InProcessTransport: DemoTransport {}
extension MQTTTransport: DemoTransport {}

/// One delegation of the demo.
struct DemoRound {
    var title: String
    var mode: AssuranceMode
    var dapp: String
    var code: Digest
    var action: String
    var payload: String
    var raw: String
    var caps: [String]
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

struct DemoRun {
    let storePath: String?
    let hashchainN: Int
    let liar: Bool
    let json: Bool

    func say(_ line: String = "") { if !json { print(line) } }

    /// Runs the demo with a transport per participant from `connect` ("requester", "alpha", ...).
    func run<T: DemoTransport>(network: String, discoveryMs: UInt64,
                               connect: (String) throws(DDEError) -> T) throws(DDEError) {
        let started = Date()
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("dde-demo-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        } catch {
            throw DDEError(.io, "cannot create \(temp.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: temp) }

        // The requester: its key and store.
        let path = storePath ?? temp.appendingPathComponent("requester.sqlite").path
        let keyPath = path + ".key"
        let identity: KeyPair
        if FileManager.default.fileExists(atPath: keyPath) {
            identity = try KeyFile.load(from: keyPath)
        } else {
            identity = KeyPair.generate()
            if storePath != nil { try KeyFile.save(identity, to: keyPath) }
        }
        let store = try Store(path: path)
        defer { store.close() }

        // The network: a transport each.
        let logs = LogBuffer()
        let stop = StopFlag()
        var names: [PublicKey: String] = [identity.publicKey: "requester"]
        var behaviours: [(String, ExecutorNode<T>.Behaviour)] = [("alpha", .honest), ("bravo", .honest), ("charlie", .forge)]
        if liar { behaviours.append(("delta", .lie)) }
        var nodes: [ExecutorNode<T>] = []
        var threads: [Thread] = []
        // Stops the node threads, clears their presence, then closes their transports (never
        // while a thread may still be receiving on one). Bounded: a thread stuck past 10 s is
        // left and its transport stays open.
        var cleaned = false
        func cleanUp() {
            guard !cleaned else { return }
            cleaned = true
            stop.set()
            let deadline = Date().addingTimeInterval(10)
            while threads.contains(where: { $0.isExecuting }) && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
            for (n, t) in zip(nodes, threads) where !t.isExecuting {
                n.stop()
                n.transport.close()
            }
        }
        defer { cleanUp() }
        for (name, behaviour) in behaviours {
            var config = ExecutorNode<T>.Config()
            config.name = name
            config.behaviour = behaviour
            let codeStore = try CodeStore(directory: temp.appendingPathComponent("code-\(name)"))
            let node = ExecutorNode(transport: try connect(name), keyPair: KeyPair.generate(), codeStore: codeStore,
                                    config: config, log: { logs.add($0) })
            try node.start()
            names[node.publicKey] = name
            nodes.append(node)
            let thread = Thread { node.run(until: { stop.isSet }) }
            thread.name = "dde-node-\(name)"
            thread.start()
            threads.append(thread)
        }
        func label(_ key: PublicKey?) -> String {
            guard let key else { return "(unknown)" }
            return "\(names[key] ?? "peer") \(short(key))"
        }

        let endpoint = try connect("requester")
        defer { endpoint.close() }
        let delegator = try Delegator(transport: endpoint, store: store, identity: identity)
        say("dde demo: verifiable delegated compute on \(network)")
        say("requester \(short(identity.publicKey)), store \(path)")
        for n in nodes {
            say("executor  \(label(n.publicKey))  \(n.config.behaviour == .honest ? "honest" : n.config.behaviour == .forge ? "FORGES results after signing" : "LIES (signs wrong results)")")
        }

        // Code by hash: compile the examples and publish them (retained) for the executors.
        let wallet = try compileExample("wallet")
        let hashchain = try compileExample("hashchain")
        let walletHash = try delegator.publishCode(wallet)
        let hashchainHash = try delegator.publishCode(hashchain)
        say("published code  wallet \(short(walletHash)) (\(wallet.count) bytes), hashchain \(short(hashchainHash)) (\(hashchain.count) bytes) on dde/v1/code/<hash>")
        // Until every demo executor has announced itself (retained presence), bounded.
        var known = 0
        let discoverEnd = Date().addingTimeInterval(Double(discoveryMs) / 1000)
        repeat {
            known = try delegator.discover(timeoutMs: 100)
        } while nodes.contains(where: { n in !delegator.executors.contains { $0.executorPublicKey == n.publicKey } }) && Date() < discoverEnd
        say("discovered \(known) executors from their presence messages on dde/v1/executors/+")

        let walletCaps = ["state.read", "state.write"]
        let send = #"{"amount":5,"from":"me","to":"alice"}"#
        let chain = "\(hashchainN)"
        var rounds: [DemoRound] = [
            DemoRound(title: "mint 100 frame to me", mode: .firstValid, dapp: "wallet", code: walletHash, action: "mint",
                  payload: #"{"amount":100,"to":"me"}"#, raw: "mint 100 frame to me", caps: walletCaps),
            DemoRound(title: "send 5 frame to Alice", mode: .firstValid, dapp: "wallet", code: walletHash, action: "send",
                  payload: send, raw: "send 5 frame to Alice", caps: walletCaps),
            DemoRound(title: "hash chain of \(chain)", mode: .firstValid, dapp: "hashchain", code: hashchainHash, action: "run",
                  payload: chain, raw: "SHA-256 applied \(chain) times", caps: []),
            DemoRound(title: "send 5 frame to Alice", mode: .quorum(2), dapp: "wallet", code: walletHash, action: "send",
                  payload: send, raw: "send 5 frame to Alice", caps: walletCaps),
            DemoRound(title: "hash chain of \(chain)", mode: .quorum(2), dapp: "hashchain", code: hashchainHash, action: "run",
                  payload: "\(hashchainN + 1)", raw: "SHA-256 applied \(hashchainN + 1) times", caps: []),
        ]
        if liar {
            rounds.append(DemoRound(title: "send 5 frame to Alice", mode: .quorum(2), dapp: "wallet", code: walletHash,
                                action: "send", payload: send, raw: "send 5 frame to Alice", caps: walletCaps))
        }

        var roundDocs: [JSON] = []
        var forgerBannedAfter: Int? = nil
        let forger = nodes.first { $0.config.behaviour == .forge }?.publicKey
        for (i, round) in rounds.enumerated() {
            var options = DelegationOptions(mode: round.mode, fanout: nodes.count, deadlineMs: 30_000)
            options.lingerMs = 2_000  // listen until every executor asked has answered (they are all fast)
            let spec = TaskSpec(dappId: round.dapp, dappCodeHash: round.code, action: round.action,
                                payload: try JSONParser.parse(round.payload), raw: round.raw,
                                requiredCapabilities: round.caps, timestamp: nowMs())
            say()
            say("== round \(i + 1): \(round.mode.label): \(round.dapp).\(round.action) \"\(round.title)\"")
            let report = try delegator.delegate(spec, options: options)
            let task = report.task
            say("   task \(short(task.taskId)) payload \(String(decoding: task.intent.payload.canonicalBytes(), as: UTF8.self)), from state root \(short(task.previousStateRoot))")
            say("   asked: " + report.asked.map { label($0) }.joined(separator: ", "))
            for line in logs.take() { say("   [\(line)]") }
            var answers: [JSON] = []
            for e in report.events {
                let status = e.status == .ok ? "" : "  \(e.status.nameString): \(e.detail)"
                say("   <- \(label(e.executor).padding(toLength: 18, withPad: " ", startingAt: 0)) \(verdict(e.kind).padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(e.latencyMs).leftPad(5)) ms\(e.resultHash.map { "  result \(short($0))" } ?? "")\(status)")
                answers.append(.object(JSONObject(uniqueMembers: [
                    .init("executor", e.executor.map { .string($0.hex) } ?? .null),
                    .init("latencyMs", .number(Double(e.latencyMs))),
                    .init("name", .string(names[e.executor ?? identity.publicKey] ?? "?")),
                    .init("status", .string(e.status.nameString)),
                    .init("verdict", .string(verdict(e.kind))),
                ])))
            }
            var doc: [JSONObject.Member] = [
                .init("answers", .array(answers)),
                .init("asked", .array(report.asked.map { .string(names[$0] ?? $0.hex) })),
                .init("dappId", .string(round.dapp)), .init("action", .string(round.action)),
                .init("mode", .string(round.mode.label)), .init("taskId", .string(task.taskId.hex)),
            ]
            if let receipt = report.receipt, let accepted = report.accepted {
                say("   committed receipt #\(receipt.index) \(short(receipt.receiptHash)) from \(label(receipt.remote.executorPublicKey)); node state root \(short(receipt.nextStateRoot))")
                say("   result \(String(decoding: accepted.result.canonicalBytes(), as: UTF8.self))")
                doc.append(.init("receipt", .object(JSONObject(uniqueMembers: [
                    .init("executor", .string(receipt.remote.executorPublicKey.hex)),
                    .init("index", .number(Double(receipt.index))),
                    .init("nextStateRoot", .string(receipt.nextStateRoot.hex)),
                    .init("receiptHash", .string(receipt.receiptHash.hex)),
                    .init("result", accepted.result),
                ]))))
            } else if let failure = report.failure {
                say("   NOT committed: \(failure.message)")
                doc.append(.init("failure", .string(failure.message)))
            }
            if !report.evidenceIds.isEmpty {
                say("   evidence kept: \(report.evidenceIds.count) signed proof(s) (ids \(report.evidenceIds.map(String.init).joined(separator: ", ")))")
            }
            if let forger, forgerBannedAfter == nil, try store.reputation.isBanned(forger, now: Int64(nowMs())) {
                forgerBannedAfter = i + 1
                say("   !! \(label(forger)) is now BANNED (3 invalid proofs in a row): it is no longer asked")
            }
            roundDocs.append(.object(JSONObject(uniqueMembers: doc.sorted { $0.key < $1.key })))
        }

        // Reputation, chain and state.
        let now = Int64(nowMs())
        say()
        say("== reputation (requester's view, decayed to now)")
        say("   executor            successes failures timeouts  avg ms  state")
        var repDocs: [JSON] = []
        // In routing order: who the requester would ask first next time.
        for r in try store.reputation.allInRoutingOrder(now: now) {
            let state = r.isBanned(at: now) ? "BANNED" : r.isBlacklisted(store.reputation.config) ? "BLACKLISTED" : "ok"
            say("   \(label(r.executorKey).padding(toLength: 18, withPad: " ", startingAt: 0)) \(fmt(r.successfulProofs).leftPad(9)) \(fmt(r.failedProofs).leftPad(8)) \(fmt(r.timeouts).leftPad(8)) \(fmt(r.latencyAvg).leftPad(7))  \(state)")
            repDocs.append(.object(JSONObject(uniqueMembers: [
                .init("banned", .bool(r.isBanned(at: now))),
                .init("blacklisted", .bool(r.isBlacklisted(store.reputation.config))),
                .init("executor", .string(r.executorKey.hex)),
                .init("failures", .number(r.failedProofs)),
                .init("latencyAvgMs", .number(r.latencyAvg)),
                .init("name", .string(names[r.executorKey] ?? "?")),
                .init("successes", .number(r.successfulProofs)),
                .init("timeouts", .number(r.timeouts)),
            ])))
        }
        let chainReport = try store.verifyChain()
        say()
        say("== receipt chain: \(chainReport.count) receipts verified (hash links, signatures, proofs re-verified, state replayed)")
        if let head = chainReport.head {
            say("   head \(short(head.receiptHash)), node state root \(short(head.nextStateRoot))")
        }
        var balances: [String] = []
        for entry in try store.dappState("wallet") {
            balances.append("\(String(decoding: entry.key, as: UTF8.self)) = \(String(decoding: entry.value, as: UTF8.self))")
        }
        say("   wallet state: \(balances.joined(separator: ", "))")
        let evidence = try store.evidence()
        say(evidence.isEmpty ? "   evidence: none (forged results fail check 7, which concerns the unsigned result: scored, not evidence)"
            : "   evidence: \(evidence.count) signed proof(s) kept against " + Set(evidence.map { label($0.executorKey) }).sorted().joined(separator: ", "))
        let seconds = Date().timeIntervalSince(started)
        say()
        let liars = Set(nodes.filter { $0.config.behaviour == .lie }.map { $0.publicKey })
        var lies = 0
        for i in 0..<chainReport.count where liars.contains(try store.receipt(at: i).remote.executorPublicKey) { lies += 1 }
        let forgers = Set(nodes.filter { $0.config.behaviour == .forge }.map { $0.publicKey })
        var forged = 0
        for i in 0..<chainReport.count where forgers.contains(try store.receipt(at: i).remote.executorPublicKey) { forged += 1 }
        say("done in \(String(format: "%.2f", seconds)) s. Receipts from the forger: \(forged) of \(chainReport.count) (its altered results never verify).")
        if liar {
            say("Lies committed: \(lies) (a consistent signed lie verifies: first_valid cannot catch it when the liar answers first; quorum outvoted it and kept the evidence).")
        }

        if json {
            let summary = JSON.object(JSONObject(uniqueMembers: [
                .init("chain", .object(JSONObject(uniqueMembers: [
                    .init("count", .number(Double(chainReport.count))),
                    .init("headReceiptHash", chainReport.head.map { .string($0.receiptHash.hex) } ?? .null),
                    .init("verified", .bool(true)),
                ]))),
                .init("evidence", .number(Double(evidence.count))),
                .init("forgerBannedAfterRound", forgerBannedAfter.map { .number(Double($0)) } ?? .null),
                .init("reputation", .array(repDocs)),
                .init("rounds", .array(roundDocs)),
                .init("seconds", .number((seconds * 1000).rounded() / 1000)),
                .init("walletState", .object(JSONObject(uniqueMembers: try store.dappState("wallet").map {
                    .init(String(decoding: $0.key, as: UTF8.self), .string(String(decoding: $0.value, as: UTF8.self)))
                }))),
            ]))
            writeOutput(summary.canonicalBytes())
        }
        cleanUp()
    }

    func compileExample(_ name: String) throws(DDEError) -> [UInt8] {
        let candidates = [
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("examples/dapps/\(name).wat"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("examples/dapps/\(name).wat"),
        ]
        for url in candidates {
            if let text = try? String(contentsOf: url, encoding: .utf8) {
                return try CodeStore.compile(wat: text)
            }
        }
        throw DDEError(.io, "cannot find examples/dapps/\(name).wat: run dde demo from the repository root")
    }
}

func verdict(_ kind: DelegationEvent.Kind) -> String {
    switch kind {
    case .accepted: return "ACCEPTED"
    case .agreed: return "agreed"
    case .unresolved: return "unresolved"
    case .disagreed: return "OUTVOTED"
    case .invalid: return "INVALID"
    case .refused: return "refused"
    case .unattributed: return "unattributed"
    case .duplicate: return "duplicate"
    case .unsolicited: return "unsolicited"
    case .error: return "error"
    case .timeout: return "TIMEOUT"
    }
}

func fmt(_ d: Double) -> String { String(format: d == d.rounded() ? "%.0f" : "%.2f", d) }

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
