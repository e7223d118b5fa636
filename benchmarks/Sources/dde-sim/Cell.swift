// One cell: a mode against a strategy, `tasks` delegations spread round-robin over the
// requesters, each through the real `Delegator.delegate` on its own SQLite store.
import DDE
import DDEExecutor
import Foundation

struct SimConfig {
    var executors = 1000
    var requesters = 4
    var tasks = 100_000
    var liarShare = 0.2
    /// The liar share the audited policies assume (default: the real one).
    var assumedShare = 0.2
    var q = 0.1
    var pinned = 1
    var fanout = 3
    var seed: UInt64 = 1
    /// Simulated ms a requester waits between two delegations.
    var gapMs: UInt64 = 50
    var codeHash = SHA256.hash([UInt8]())
    var folder = ""
    /// Cells ("strategy/mode") whose every delegation is printed on stderr.
    var trace: [String] = []
}

/// A mode as the table names it.
struct ModeSpec {
    var label: String
    var mode: AssuranceMode
    /// The error target (audited only).
    var target: Double?
    /// Only for the plot (audited at another target than the main one).
    var extra: Bool

    var usesPinned: Bool { if case .audited = mode { return true } else { return false } }
    var isBoinc: Bool { if case .audited(let p) = mode { return p.name == "boinc" } else { return false } }
}

/// What a cell measured.
struct CellResult {
    var strategy: Strategy
    var mode: ModeSpec
    var tasks = 0
    var commits = 0
    var failures = 0
    /// Failures by status name ("thrown X" when delegate threw before sending anything).
    var failuresBy: [String: Int] = [:]
    var forged = 0
    var asked = 0
    /// Delegations that sent an offer (the others threw before: no usable executor).
    var sent = 0
    /// Commits and forged commits by how the receipt says they were assured.
    var byHow: [String: (commits: Int, forged: Int)] = [:]
    /// Liar identities (rejoined keys included), those blacklisted or convicted by at least one
    /// requester, and the mean cell tasks from joining to that.
    var liarIdentities = 0
    var liarsCaught = 0
    var meanTasksToCatch: Double?
    /// Lies signed, and the answers they were among.
    var lies = 0
    var answers = 0
    /// Answers given by pinned executors (the caller's own machines do that work).
    var pinnedAnswers = 0
    /// Honest executors convicted, blacklisted, or banned (temporarily) by some requester.
    var honestConvicted = 0
    var honestBlacklisted = 0
    var honestBanned = 0
    /// Failures scored against honest executors (outvoted or invalid).
    var honestFailures = 0
    /// Commits whose report carried a caveat (no pinned or validated executor confirmed it).
    var caveated = 0
    /// Forged commits among those with a caveat.
    var forgedCaveated = 0
    var executions = 0
    var evidence = 0
    var seconds = 0.0

    var usesCaveats: Bool { mode.usesPinned }
    var forgedRate: Double { commits > 0 ? Double(forged) / Double(commits) : 0 }
    var extraPerTask: Double { tasks > 0 ? Double(asked - sent) / Double(tasks) : 0 }
    var caveatShare: Double { commits > 0 ? Double(caveated) / Double(commits) : 0 }
    /// The forged rate among commits whose report claims the mode's guarantee (no caveat).
    var claimedRate: Double? {
        commits > caveated ? Double(forged - forgedCaveated) / Double(commits - caveated) : nil
    }
}

final class Cell {
    let config: SimConfig
    let strategy: Strategy
    let mode: ModeSpec
    let index: Int
    let codeStore: CodeStore
    let progress: Progress

    init(config: SimConfig, strategy: Strategy, mode: ModeSpec, index: Int, codeStore: CodeStore, progress: Progress) {
        self.config = config
        self.strategy = strategy
        self.mode = mode
        self.index = index
        self.codeStore = codeStore
        self.progress = progress
    }

    var name: String { "\(strategy.rawValue) / \(mode.label)" }

    func run() throws -> CellResult {
        let started = Date()
        // Each cell its own streams: the same seed gives the same cell whatever thread runs it.
        let cellSeed = Stream.derive(config.seed, "cell:\(strategy.rawValue):\(mode.label)", 0)
        let world = try World(config: config, strategy: strategy, cellSeed: cellSeed, codeStore: codeStore)
        var stores: [Store] = []
        var paths: [String] = []
        var delegators: [Delegator<SimTransport>] = []
        var options: [DelegationOptions] = []
        defer {
            for s in stores { s.close() }
            for p in paths { for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: p + suffix) } }
        }
        let honestIds = world.executors.filter { !$0.liar }.map { $0.id }
        for r in 0..<config.requesters {
            let identity = try KeyPair.fromSeed(Xoshiro(seed: config.seed, "requester-key", r).bytes32())
            let path = "\(config.folder)/cell\(index)-requester\(r).sqlite"
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            let store = try Store(path: path)
            stores.append(store)
            paths.append(path)
            let transport = SimTransport(world: world, requester: identity.publicKey)
            world.attach(transport)
            // The same stream for a mode whatever the strategy (common random numbers: cells of
            // one mode start from the same draws).
            let random = Xoshiro(seed: config.seed, "requester-random:\(mode.label)", r)
            let d = try Delegator(transport: transport, store: store, identity: identity,
                                  clock: { [unowned world] in world.now }, random: { random.next() })
            d.judge = { [unowned world] doc in world.honestOutcome(doc.task) }
            for e in world.executors { d.addExecutor(Presence(executorPublicKey: e.key.publicKey)) }
            var o = DelegationOptions(mode: mode.mode, fanout: config.fanout, deadlineMs: 10_000)
            if mode.usesPinned, !honestIds.isEmpty {
                for j in 0..<config.pinned {
                    let e = world.executors[honestIds[(r * config.pinned + j) % honestIds.count]]
                    if !o.pinned.contains(e.key.publicKey) { o.pinned.append(e.key.publicKey); e.pinnedBy += 1 }
                }
            }
            // BOINC shares nothing between projects: no evidence topic for the baseline.
            o.shareEvidence = !mode.isBoinc
            delegators.append(d)
            options.append(o)
        }

        var result = CellResult(strategy: strategy, mode: mode)
        var watch = [[(key: PublicKey, turns: Int)]](repeating: [], count: config.requesters)
        var honestConvicted = Set<Int>(), honestBlacklisted = Set<Int>(), honestBanned = Set<Int>()
        let payloads = Xoshiro(seed: config.seed, "payloads")
        let caps = ["state.read", "state.write"]

        func caught(_ e: SimExecutor) {
            guard e.liar, e.caughtAt == nil else { return }
            e.caughtAt = world.tasksDone
            if world.rejoin(e) != nil {
                // Every requester reads the presence change before its next task.
                for d in delegators { _ = try? d.discover(timeoutMs: 0) }
            }
        }

        let tracing = config.trace.contains("\(strategy.rawValue)/\(mode.label)")
        func who(_ key: PublicKey?) -> String {
            guard let key, let x = world.executor(key) else { return "?" }
            return (x.liar ? "L" : "h") + "\(x.id)"
        }
        for t in 0..<config.tasks {
            if simStopSignal != 0 { throw SimError("stopped by signal \(simStopSignal) in \(name) after \(t) tasks") }
            let r = t % config.requesters
            let d = delegators[r]
            world.now += config.gapMs
            let spec = TaskSpec(dappId: "counter", dappCodeHash: config.codeHash, action: "increment",
                                payload: .object(JSONObject(uniqueMembers: [.init("n", .number(Double(payloads.next() >> 11)))]))
                                , requiredCapabilities: caps, timestamp: world.now)
            result.tasks += 1
            let report: DelegationReport
            do {
                report = try d.delegate(spec, options: options[r])
            } catch {
                // Nothing sent (no usable executor): a failure, nothing asked. Anything else
                // thrown (the store, the transport) is named on stderr at the end of the cell.
                world.tasksDone += 1
                result.failures += 1
                result.failuresBy["thrown " + error.status.nameString, default: 0] += 1
                progress.tick(index)
                continue
            }
            world.tasksDone += 1
            result.asked += report.asked.count
            result.sent += 1
            if let receipt = report.receipt, let accepted = report.accepted {
                _ = receipt
                result.commits += 1
                let how = report.assurance?.how.rawValue ?? "first_valid"
                var entry = result.byHow[how] ?? (0, 0)
                entry.commits += 1
                let truth = world.honestOutcome(report.task)
                if truth?.resultHash != accepted.proof.resultHash {
                    result.forged += 1
                    entry.forged += 1
                }
                result.byHow[how] = entry
                if !report.caveats.isEmpty {
                    result.caveated += 1
                    if truth?.resultHash != accepted.proof.resultHash { result.forgedCaveated += 1 }
                }
            } else {
                result.failures += 1
                result.failuresBy[report.failure?.status.nameString ?? "none", default: 0] += 1
            }
            if tracing {
                var line = "trace \(t) r\(r) asked \(report.asked.map { who($0) }.joined(separator: ","))"
                for e in report.events {
                    line += " \(who(e.executor)):\(e.kind.name)"
                    if e.kind == .disagreed || e.kind == .invalid, let key = e.executor,
                       let rec = try stores[r].reputation.get(key, now: Int64(clamping: world.now)) {
                        if rec.isConvicted { line += "[CONVICTED]" } else if rec.isBlacklisted(stores[r].reputation.config) { line += "[blacklisted]" }
                        else if rec.isBanned(at: Int64(clamping: world.now)) { line += "[banned]" }
                    }
                }
                if let a = report.accepted {
                    let forged = world.honestOutcome(report.task)?.resultHash != a.proof.resultHash
                    line += " -> \(report.assurance?.how.rawValue ?? "?") by \(who(a.proof.executorPublicKey))\(forged ? " FORGED" : "")"
                } else {
                    line += " -> failed: \(report.failure?.message ?? "?")"
                }
                FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
            }
            // Who was scored what, and who is now out.
            let now = Int64(clamping: world.now)
            let rep = stores[r].reputation
            for e in report.events where e.kind == .disagreed || e.kind == .invalid {
                guard let key = e.executor, let x = world.executor(key), !x.liar else { continue }
                result.honestFailures += 1
                if let rec = try rep.get(key, now: now) {
                    if rec.isConvicted { honestConvicted.insert(x.id) }
                    if rec.isBlacklisted(rep.config) { honestBlacklisted.insert(x.id) }
                    if rec.isBanned(at: now) { honestBanned.insert(x.id) }
                }
            }
            for key in report.asked {
                guard let x = world.executor(key), x.liar, x.caughtAt == nil else { continue }
                if let rec = try rep.get(key, now: now), rec.isBlacklisted(rep.config) { caught(x) }
            }
            // Convictions by shared evidence: every requester judges the documents it received
            // at the end of its next delegation (or discover); the signers each document names
            // are looked up in that requester's store after its next two delegations.
            for (i, keys) in world.takeEvidenceSigners() {
                for key in keys where !watch[i].contains(where: { $0.key == key }) { watch[i].append((key, 2)) }
            }
            if !watch[r].isEmpty {
                var keep: [(key: PublicKey, turns: Int)] = []
                for w in watch[r] {
                    guard let x = world.executor(w.key), let rec = try rep.get(w.key, now: now) else { continue }
                    if x.liar {
                        if rec.isBlacklisted(rep.config) { caught(x); continue }
                    } else {
                        if rec.isConvicted { honestConvicted.insert(x.id) }
                        if rec.isBlacklisted(rep.config) { honestBlacklisted.insert(x.id) }
                    }
                    if w.turns > 1 { keep.append((w.key, w.turns - 1)) }
                }
                watch[r] = keep
            }
            progress.tick(index)
        }
        // Final sweep: every requester's view of every honest executor.
        let end = Int64(clamping: world.now)
        for s in stores {
            for rec in try s.reputation.all(now: end) {
                guard let x = world.executor(rec.executorKey) else { continue }
                if x.liar {
                    if x.caughtAt == nil, rec.isBlacklisted(s.reputation.config) { x.caughtAt = world.tasksDone }
                } else {
                    if rec.isConvicted { honestConvicted.insert(x.id) }
                    if rec.isBlacklisted(s.reputation.config) { honestBlacklisted.insert(x.id) }
                }
            }
            result.evidence += try s.evidence().count
        }
        let liars = world.executors.filter { $0.liar }
        result.liarIdentities = liars.count
        let caughtOnes = liars.filter { $0.caughtAt != nil }
        result.liarsCaught = caughtOnes.count
        if !caughtOnes.isEmpty {
            result.meanTasksToCatch = Double(caughtOnes.reduce(0) { $0 + ($1.caughtAt! - $1.joinedAt) }) / Double(caughtOnes.count)
        }
        result.lies = world.executors.reduce(0) { $0 + $1.lies }
        result.answers = world.executors.reduce(0) { $0 + $1.answers }
        result.pinnedAnswers = world.executors.reduce(0) { $0 + ($1.pinnedBy > 0 ? $1.answers : 0) }
        result.honestConvicted = honestConvicted.count
        result.honestBlacklisted = honestBlacklisted.count
        result.honestBanned = honestBanned.count
        result.executions = world.honest.executions
        result.seconds = Date().timeIntervalSince(started)
        let odd = result.failuresBy.filter { $0.key.hasPrefix("thrown") && $0.key != "thrown DDE_ERR_NO_EXECUTOR" }
        if !odd.isEmpty {
            FileHandle.standardError.write("dde-sim: \(name): delegate threw \(odd.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", "))\n".data(using: .utf8)!)
        }
        return result
    }
}
