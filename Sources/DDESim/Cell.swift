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
    var forged = 0
    var asked = 0
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
    /// Honest executors convicted, blacklisted, or banned (temporarily) by some requester.
    var honestConvicted = 0
    var honestBlacklisted = 0
    var honestBanned = 0
    /// Failures scored against honest executors (outvoted or invalid).
    var honestFailures = 0
    /// Commits whose report carried a caveat (no pinned or validated executor confirmed it).
    var caveated = 0
    var executions = 0
    var evidence = 0
    var seconds = 0.0

    var forgedRate: Double { commits > 0 ? Double(forged) / Double(commits) : 0 }
    var extraPerTask: Double { tasks > 0 ? Double(asked - tasks) / Double(tasks) : 0 }
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
            let random = Xoshiro(seed: cellSeed, "requester-random", r)
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
        var evidenceSeen = [Int](repeating: 0, count: config.requesters)
        var honestConvicted = Set<Int>(), honestBlacklisted = Set<Int>(), honestBanned = Set<Int>()
        let payloads = Xoshiro(seed: cellSeed, "payloads")
        let caps = ["state.read", "state.write"]

        func caught(_ e: SimExecutor) {
            guard e.liar, e.caughtAt == nil else { return }
            e.caughtAt = world.tasksDone
            if world.rejoin(e) != nil {
                // Every requester reads the presence change before its next task.
                for d in delegators { _ = try? d.discover(timeoutMs: 0) }
            }
        }

        for t in 0..<config.tasks {
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
                // Nothing sent (no usable executor): a failure, nothing asked.
                world.tasksDone += 1
                result.failures += 1
                progress.tick(index)
                continue
            }
            world.tasksDone += 1
            result.asked += report.asked.count
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
                if !report.caveats.isEmpty { result.caveated += 1 }
            } else {
                result.failures += 1
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
            // Convictions by shared evidence, at any requester (a rejoin makes every requester
            // read its queue, which may import more: loop until nothing is new).
            var fresh = true
            while fresh {
                fresh = false
                for (i, other) in delegators.enumerated() where other.evidenceReceived.count > evidenceSeen[i] {
                    let entries = Array(other.evidenceReceived[evidenceSeen[i]...])
                    evidenceSeen[i] += entries.count
                    fresh = true
                    for entry in entries {
                        guard case .convicted(let keys, _) = entry.result else { continue }
                        for key in keys {
                            guard let x = world.executor(key) else { continue }
                            if x.liar { caught(x) } else { honestConvicted.insert(x.id) }
                        }
                    }
                }
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
        result.honestConvicted = honestConvicted.count
        result.honestBlacklisted = honestBlacklisted.count
        result.honestBanned = honestBanned.count
        result.executions = world.honest.executions
        result.seconds = Date().timeIntervalSince(started)
        return result
    }
}
