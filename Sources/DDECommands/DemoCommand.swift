// `dde demo`: the whole flow on the in-process transport, or over an MQTT broker (--broker, each
// node on its own connection). A requester with its own store and three executor nodes on
// threads; one of them (charlie) is a rational liar: it runs nothing and signs consistent lies,
// which pass every check of the verification. The demo shows, one line per step:
//   1. first_valid commits charlie's lie: it trusts the fastest signer;
//   2. the audited mode (alpha pinned as the requester's own machine) catches charlie on its
//      first task, convicts it (blacklisted for good) and keeps the portable evidence;
//   3. a second requester, never cheated, receives that evidence, checks it (signatures, same
//      task, disagreement, re-execution of the code by hash) and blacklists charlie too.
import ArgumentParser
import DDE
import DDEAdversary
import DDEExecutor
import DDENetwork
import Foundation

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delegate example dApps to in-process executors (one lies) and show how a lie is caught and proven.",
        discussion: """
            Runs two requesters and three executors in this process over the in-process \
            transport. The executors fetch the modules by hash, run them and sign proofs; \
            charlie runs nothing and signs consistent lies that verify. first_valid commits its \
            lie; the audited mode catches it, convicts it and shares the evidence; the second \
            requester checks the evidence by re-execution and blacklists charlie without ever \
            having been cheated. Nothing here needs a network or a broker; with --broker \
            mqtt://host:port the same runs over MQTT, each participant on its own connection \
            (executors already on that broker may be asked too). Every participant connects \
            with the same TLS and credential options; the demo's executors have fresh keys, so a \
            broker whose ACL ties topics to certificates (examples/broker) refuses their presence.
            """)

    @Option(help: "Requester store file (default: a new one in a temporary folder). Its key is kept next to it as <store>.key.")
    var store: String?

    @Option(help: "MQTT broker URL (mqtt://host:port, or mqtts://host:port for TLS) instead of the in-process transport.")
    var broker: String?

    @OptionGroup var security: MQTTSecurityOptions

    @Option(help: "Hashchain iterations per task.")
    var hashchainN: Int = 4000

    @Flag(help: "Print a machine-readable JSON summary instead of the step-by-step lines.")
    var json = false

    func run() throws {
        try DDECommands.run { () throws(DDEError) in
            let demo = DemoRun(storePath: store, hashchainN: hashchainN, json: json)
            if let broker {
                _ = try MQTTTransport.parseURL(broker)
                // A fresh id per run and no kept session: demo keys are new every time.
                let run = UUID().uuidString.prefix(8).lowercased()
                var options = MQTTOptions(cleanSession: true, security: security.security)
                options.maxMessageBytes = CodeMessage.limits.maxBytes
                try options.security.check(tls: try MQTTTransport.parseURL(broker).tls)
                try demo.run(network: "MQTT broker \(broker)", discoveryMs: 5000) { (name: String) throws(DDEError) -> MQTTTransport in
                    try MQTTTransport(url: broker, clientId: "dde-demo-\(run)-\(name)", options: options)
                }
            } else {
                guard security.security == MQTTSecurity() else {
                    throw DDEError(.argument, "TLS and credential options need --broker")
                }
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

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

struct DemoRun {
    let storePath: String?
    let hashchainN: Int
    let json: Bool

    func say(_ line: String = "") { if !json { writeLine(line) } }

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

        // Requester A: its key and store.
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
        var names: [PublicKey: String] = [identity.publicKey: "requester A"]
        let behaviours: [(String, Behaviour)] = [("alpha", .honest), ("bravo", .honest), ("charlie", .lie)]
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
            config.answer = behaviour.hook
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
        let alpha = nodes[0].publicKey, charlie = nodes[2].publicKey

        let endpoint = try connect("requester")
        defer { endpoint.close() }
        let delegator = try Delegator(transport: endpoint, store: store, identity: identity)
        // Requester B: another device, its own store and key; it listens for shared evidence.
        let bIdentity = KeyPair.generate()
        names[bIdentity.publicKey] = "requester B"
        let bStore = try Store(path: temp.appendingPathComponent("requester-b.sqlite").path)
        defer { bStore.close() }
        let bEndpoint = try connect("requester-b")
        defer { bEndpoint.close() }
        let b = try Delegator(transport: bEndpoint, store: bStore, identity: bIdentity)
        let bCode = try CodeStore(directory: temp.appendingPathComponent("code-requester-b"))
        b.judge = { doc in (try? Audit.outcome(of: doc.task, codeStore: bCode)) ?? nil }

        say("dde demo: verifiable delegated compute on \(network)")
        say("requester A \(short(identity.publicKey)), store \(path); requester B \(short(bIdentity.publicKey))")
        for (n, (_, behaviour)) in zip(nodes, behaviours) {
            say("executor  \(label(n.publicKey))  \(behaviour == .honest ? "honest" : "LIES: runs nothing, signs consistent wrong results (they pass every check)")")
        }

        // Code by hash: compile the examples and publish them (retained) for the executors.
        let wallet = try compileExample("wallet")
        let hashchain = try compileExample("hashchain")
        let walletHash = try delegator.publishCode(wallet)
        let hashchainHash = try delegator.publishCode(hashchain)
        _ = try bCode.add(hashchain)
        _ = try bCode.add(wallet)
        say("published code  wallet \(short(walletHash)) (\(wallet.count) bytes), hashchain \(short(hashchainHash)) (\(hashchain.count) bytes) on dde/v1/code/<hash>")
        // Until every demo executor has announced itself (retained presence), bounded.
        var known = 0
        let discoverEnd = Date().addingTimeInterval(Double(discoveryMs) / 1000)
        repeat {
            known = try delegator.discover(timeoutMs: 100)
        } while nodes.contains(where: { n in !delegator.executors.contains { $0.executorPublicKey == n.publicKey } }) && Date() < discoverEnd
        _ = try b.discover(timeoutMs: 100)
        say("discovered \(known) executors from their presence messages on dde/v1/executors/+")

        var roundDocs: [JSON] = []
        var roundNumber = 0
        var liesCommitted: [String: Int] = [:]
        var convictedInRound: Int? = nil
        let audited = AuditPolicy(errorTarget: 1e-3, liarShare: 0.2)

        /// One delegation, its lines, and its summary document.
        func delegate(_ who: Delegator<T>, _ whoName: String, mode: AssuranceMode, pinned: [PublicKey], dapp: String,
                      code: Digest, action: String, payload: String, raw: String, caps: [String]) throws(DDEError) -> DelegationReport {
            roundNumber += 1
            var options = DelegationOptions(mode: mode, fanout: nodes.count, deadlineMs: 30_000)
            options.lingerMs = 2_000  // listen until every executor asked has answered (they are all fast)
            options.pinned = pinned
            let spec = TaskSpec(dappId: dapp, dappCodeHash: code, action: action, payload: try JSONParser.parse(payload),
                                raw: raw, requiredCapabilities: caps, timestamp: nowMs())
            say()
            say("== round \(roundNumber): \(whoName), \(mode.label)\(pinned.isEmpty ? "" : " (pinned: \(pinned.map { label($0) }.joined(separator: ", ")))"): \(dapp).\(action) \"\(raw)\"")
            let report = try who.delegate(spec, options: options)
            say("   task \(short(report.task.taskId)), asked: " + report.asked.map { label($0) }.joined(separator: ", "))
            for line in logs.take() { say("   [\(line)]") }
            var answers: [JSON] = []
            for e in report.events {
                let status = e.status == .ok ? "" : "  \(e.status.nameString): \(e.detail)"
                say("   <- \(label(e.executor).padding(toLength: 18, withPad: " ", startingAt: 0)) \(verdict(e.kind).padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(e.latencyMs).leftPad(5)) ms\(e.resultHash.map { "  result \(short($0))" } ?? "")\(status)")
                answers.append(.object(JSONObject(uniqueMembers: [
                    .init("executor", e.executor.map { .string($0.hex) } ?? .null),
                    .init("name", .string(names[e.executor ?? identity.publicKey] ?? "?")),
                    .init("status", .string(e.status.nameString)),
                    .init("verdict", .string(verdict(e.kind))),
                ])))
            }
            var doc: [JSONObject.Member] = [
                .init("answers", .array(answers)),
                .init("asked", .array(report.asked.map { .string(names[$0] ?? $0.hex) })),
                .init("dappId", .string(dapp)), .init("action", .string(action)),
                .init("mode", .string(mode.label)), .init("requester", .string(whoName)),
                .init("taskId", .string(report.task.taskId.hex)),
            ]
            if let receipt = report.receipt, let accepted = report.accepted {
                let lie = receipt.remote.executorPublicKey == charlie
                if lie { liesCommitted[mode.label, default: 0] += 1 }
                let how = report.assurance.map { a in "\(a.how.rawValue)\(a.confirmedBy.isEmpty ? "" : " by \(a.confirmedBy.map { label($0) }.joined(separator: ", "))")" } ?? "?"
                say("   committed receipt #\(receipt.index) from \(label(receipt.remote.executorPublicKey)), assured: \(how)")
                say("   result \(String(decoding: accepted.result.canonicalBytes(), as: UTF8.self))\(lie ? "   <- A LIE, committed" : "")")
                doc.append(.init("receipt", .object(JSONObject(uniqueMembers: [
                    .init("assurance", report.assurance.map { $0.json } ?? .null),
                    .init("executor", .string(receipt.remote.executorPublicKey.hex)),
                    .init("index", .number(Double(receipt.index))),
                    .init("lie", .bool(lie)),
                    .init("receiptHash", .string(receipt.receiptHash.hex)),
                ]))))
            } else if let failure = report.failure {
                say("   NOT committed: \(failure.message)")
                doc.append(.init("failure", .string(failure.message)))
            }
            for caveat in report.caveats { say("   caveat: \(caveat)") }
            roundDocs.append(.object(JSONObject(uniqueMembers: doc.sorted { $0.key < $1.key })))
            return report
        }

        // 1. first_valid: the liar runs nothing and answers first.
        let n = hashchainN
        _ = try delegate(delegator, "requester A", mode: .firstValid, pinned: [], dapp: "hashchain", code: hashchainHash,
                         action: "run", payload: "\(n)", raw: "SHA-256 applied \(n) times", caps: [])
        say("   first_valid trusts the fastest signer: a signature proves who claims a result, not that it is right.")

        // 2. audited: alpha is A's own machine (pinned). Until charlie is caught (it is asked as
        //    primary with probability 1/2 a round, so within a few rounds), at most 12 rounds.
        var evidenceDoc: EvidenceDocument? = nil
        for i in 1...12 {
            let report = try delegate(delegator, "requester A", mode: .audited(audited), pinned: [alpha], dapp: "hashchain",
                                      code: hashchainHash, action: "run", payload: "\(n + i)",
                                      raw: "SHA-256 applied \(n + i) times", caps: [])
            if try store.reputation.get(charlie, now: Int64(nowMs()))?.isConvicted == true {
                convictedInRound = roundNumber
                let kept = try store.evidence(executor: charlie).filter { $0.convicted }
                if let bytes = kept.first?.document { evidenceDoc = try EvidenceDocument(bytes: bytes) }
                say("   !! \(label(charlie)) was drawn, checked against pinned \(label(alpha)) and proven a liar: blacklisted for good (evidence #\(report.evidenceIds.map(String.init).joined(separator: ", ")))")
                break
            }
        }
        _ = try delegate(delegator, "requester A", mode: .audited(audited), pinned: [alpha], dapp: "wallet", code: walletHash,
                         action: "mint", payload: #"{"amount":100,"to":"me"}"#, raw: "mint 100 frame to me",
                         caps: ["state.read", "state.write"])

        // 3. The evidence travels: requester B checks it and acts on it.
        var bBlacklisted = false
        var bOutcome = "none received"
        if let evidenceDoc {
            say()
            say("== evidence \(short(evidenceDoc.id)): task \(short(evidenceDoc.task.taskId)) with two validly signed proofs that disagree (\(evidenceDoc.canonicalBytes.count) bytes)")
            say("   signers: " + evidenceDoc.signers.map { label($0) }.joined(separator: ", ") + "; anyone can check it: dde evidence check --code DIR FILE")
            say("   requester A published it on \(Topic.evidence)")
            _ = try b.discover(timeoutMs: 500)
            for (id, outcome) in b.evidenceReceived where id == evidenceDoc.id {
                switch outcome {
                case .convicted(let liars, let how):
                    bOutcome = "convicted \(liars.map { names[$0] ?? $0.hex }.joined(separator: ", ")) by \(how.rawValue)"
                case .unjudged: bOutcome = "unjudged"
                case .known: bOutcome = "known"
                }
            }
            bBlacklisted = try bStore.reputation.isBlacklisted(charlie, now: Int64(nowMs()))
            say("   requester B (never cheated) checked both signatures and the task, re-executed hashchain from its own code store: \(bOutcome)")
            say("   requester B's view of \(label(charlie)): \(bBlacklisted ? "BLACKLISTED for good" : "not blacklisted")")
            _ = try delegate(b, "requester B", mode: .audited(audited), pinned: [], dapp: "hashchain", code: hashchainHash,
                             action: "run", payload: "\(n + 100)", raw: "SHA-256 applied \(n + 100) times", caps: [])
        }

        // Reputation, chain and state.
        let now = Int64(nowMs())
        say()
        say("== reputation (requester A's view, routing order)")
        say(peerTable(try store.reputation.allInRoutingOrder(now: now), config: store.reputation.config, now: now)
            .split(separator: "\n").map { "   " + $0 }.joined(separator: "\n"))
        var repDocs: [JSON] = []
        for r in try store.reputation.allInRoutingOrder(now: now) {
            repDocs.append(.object(JSONObject(uniqueMembers: [
                .init("blacklisted", .bool(r.isBlacklisted(store.reputation.config))),
                .init("convicted", .bool(r.isConvicted)),
                .init("executor", .string(r.executorKey.hex)),
                .init("name", .string(names[r.executorKey] ?? "?")),
                .init("validated", .number(Double(r.validated))),
            ])))
        }
        let chainReport = try store.verifyChain()
        say()
        say("== receipt chain: \(chainReport.count) receipts verified (hash links, signatures, proofs re-verified, state replayed)")
        let seconds = Date().timeIntervalSince(started)
        let firstValidLies = liesCommitted["first_valid"] ?? 0
        let auditedLies = liesCommitted[audited.label] ?? 0
        say()
        say("done in \(String(format: "%.2f", seconds)) s. Lies committed: \(firstValidLies) under first_valid, \(auditedLies) under audited; \(label(charlie)) \(convictedInRound.map { "convicted in round \($0)" } ?? "NOT caught") and blacklisted by requester B \(bBlacklisted ? "from the evidence alone" : "NOT").")

        if json {
            let summary = JSON.object(JSONObject(uniqueMembers: [
                .init("chain", .object(JSONObject(uniqueMembers: [
                    .init("count", .number(Double(chainReport.count))),
                    .init("verified", .bool(true)),
                ]))),
                .init("liarConvictedInRound", convictedInRound.map { .number(Double($0)) } ?? .null),
                .init("liesCommittedAudited", .number(Double(auditedLies))),
                .init("liesCommittedFirstValid", .number(Double(firstValidLies))),
                .init("reputation", .array(repDocs)),
                .init("requesterB", .object(JSONObject(uniqueMembers: [
                    .init("evidence", .string(bOutcome)),
                    .init("liarBlacklisted", .bool(bBlacklisted)),
                ]))),
                .init("rounds", .array(roundDocs)),
                .init("seconds", .number((seconds * 1000).rounded() / 1000)),
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
