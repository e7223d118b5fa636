// `dde-sim`: the Byzantine simulation of issue 11 on the shipped decision code.
import ArgumentParser
import DDE
import DDEExecutor
import Foundation

/// The signal that asked the run to stop (0: none). Set by the signal handler, read by the cells.
var simStopSignal: Int32 = 0

@main
struct DDESimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dde-sim",
        abstract: "Byzantine simulation: forged-accept rate against extra executions, per assurance mode and liar strategy.",
        discussion: """
            Each cell runs one mode against one strategy: REQUESTERS requesters delegate TASKS counter \
            tasks in turn (examples/dapps/counter.wat, on each requester's real state) to EXECUTORS \
            executors, LIAR_SHARE of them liars.

            REAL (the shipped code, unchanged): each requester is a dde Delegator with its own key and \
            its own SQLite store (a real file, on /dev/shm when it exists, synchronous=FULL): task \
            creation and signing from the store's state, routing (reputation order, the audited \
            mode's random primary), the audit draw, every check of the verification, the quorum, \
            audit and escalation rules, reputation scoring, bans, blacklisting, conviction, evidence \
            documents (made, shared on the evidence topic, parsed, checked, judged by re-execution, \
            imported) and the hash-linked commit. Honest answers come from the real executor \
            (Executor.execute in the WasmKit sandbox) and every executor signs its own proof with \
            its own Ed25519 key; every proof is verified by the requester.

            SIMULATED: the network (SimTransport: an offer published on the task topic is answered \
            at once by the executors it names, each answer queued with that executor's latency: \
            honest 20-200 ms, liars 2-10 ms, +-10% per answer), the clock (simulated milliseconds \
            injected into the Delegator), the randomness (a seeded xoshiro256** injected through \
            Delegator(random:), seeded keys and payloads: the same --seed gives the same table), and \
            the liars (benchmarks/Sources/dde-sim/Adversary.swift: the strategies below, each lie \
            made by Misbehaviour.lie of Sources/DDEAdversary). The only shortcut: an honest execution is \
            run once per distinct task id and each honest executor re-signs its fields under its own \
            key (determinism: the same task gives the same result).

            STRATEGIES: always (every answer a lie, each liar its own); prob_q (a lie with \
            probability --q); until_trusted (lies only when a task's first offer names it alone, \
            which a requester does only once it trusts it; honest when replicated and on audits, \
            which it can tell from a task id already offered); colluding (all liars sign the same \
            lie, always); sybil (one attacker holding every liar key: lies only when every executor \
            a first offer names is its own, backs its lie on audits, and replaces a caught key by a \
            fresh one); rejoin (always lies; after a blacklisting or conviction it returns under a \
            fresh key).

            MODES compared in one run: first_valid and quorum(2) (asking --fanout executors), \
            boinc (AuditPolicy.boinc(): trusted after 10 validated, audited with probability 1/n, \
            nobody convicted, no evidence shared), audited at --error-target, and audited at each \
            of --targets (for the plot). audited and boinc pin --pinned honest executors per \
            requester.

            The requesters run with the shipped DelegationOptions (deadline 10 s, linger 100 ms, \
            evidence shared on the evidence topic; the sim delivers it to every requester, the \
            publisher included, as MQTT does) and judge evidence by re-execution (the `judge` \
            closure: the honest execution, cached by task id). A liar learns that one of its keys \
            is blacklisted as a real one would (it is no longer asked; its proof appears in \
            evidence on the evidence topic): the sim looks it up in the requesters' stores.

            TABLE: per strategy and mode, commits and failed delegations; forged = committed \
            results whose resultHash differs from the honest execution's, forged rate = forged / \
            commits; claim = what the mode promises against that strategy and holds? = whether \
            this run kept it (audited: judged on the commits whose report carries no caveat; \
            caveat = share of commits whose report says no pinned or validated executor \
            confirmed them); extra/task = executors asked beyond one per task; caught = liar keys \
            blacklisted or convicted by at least one requester, of all liar keys (fresh ones \
            included), and the mean tasks (of the cell) from a key joining to that; honest c/b/ban \
            = honest executors convicted / blacklisted / ever banned by some requester. Then, per \
            strategy, boinc against the cheapest-forging audited run that costs no more; then \
            `check:` lines (quorum forged against non-colluding liars = 0; no honest executor \
            convicted or blacklisted) and `beaten:` lines for every claim a strategy broke.

            OUTPUT: the table on stdout, ending with `table-hash: <sha256 of the table>` (the same \
            seed and options give the same hash, whatever --threads); `--csv FILE` for \
            benchmarks/plot_simulation.py (FILE.partial gets each cell's row as it finishes) (more columns: assurance of each commit, lies, answers \
            by pinned executors, seconds); progress on stderr every few seconds.
            """)

    @Option(help: "Executors.") var executors = 1000
    @Option(help: "Requesters, each with its own store, key and Delegator.") var requesters = 4
    @Option(help: "Tasks per cell (all requesters together, in turn).") var tasks = 100_000
    @Option(name: .customLong("liar-share"), help: "Share of executors that lie.") var liarShare = 0.2
    @Option(name: .customLong("assumed-share"), help: "Liar share the audited policies assume (default: --liar-share).") var assumedShare: Double?
    @Option(help: "Strategies: a comma list of always, prob_q, until_trusted, colluding, sybil, rejoin, or all.") var strategy = "all"
    @Option(help: "Modes: a comma list of first_valid, quorum, boinc, audited, or all.") var mode = "all"
    @Option(name: .customLong("error-target"), help: "The audited mode's error target.") var errorTarget = 1e-3
    @Option(help: "More error targets for audited cells (the plot); empty for none.") var targets = "1e-1,3e-2,1e-2"
    @Option(help: "Lie probability of the prob_q strategy.") var q = 0.1
    @Option(help: "Honest executors each requester pins (audited and boinc).") var pinned = 1
    @Option(help: "Executors asked by first_valid and quorum (the shipped default is 3).") var fanout = 3
    @Option(help: "Seed of everything random.") var seed: UInt64 = 1
    @Option(help: "Cells run at once.") var threads = 2
    @Option(help: "Write the results as CSV here.") var csv: String?
    @Flag(help: "Preset for tests: 40 executors, 2 requesters, 800 tasks per cell (well under a minute on 2 cores).") var quick = false
    @Flag(help: "No progress lines on stderr.") var quiet = false
    @Option(help: ArgumentHelp("Print every delegation of these cells on stderr (comma list of strategy/mode, e.g. sybil/quorum(2)).", visibility: .hidden)) var trace = ""

    func run() throws {
        var config = SimConfig()
        config.executors = executors
        config.requesters = requesters
        config.tasks = tasks
        config.liarShare = liarShare
        config.q = q
        config.pinned = pinned
        config.fanout = fanout
        config.seed = seed
        if quick {
            config.executors = 40
            config.requesters = 2
            config.tasks = 800
        }
        config.assumedShare = assumedShare ?? config.liarShare
        config.trace = trace.split(separator: ",").map { String($0) }
        guard config.executors >= 3, config.requesters >= 1, config.tasks >= 1 else {
            throw SimError("need at least 3 executors, 1 requester and 1 task")
        }
        guard config.liarShare >= 0, config.liarShare < 1, config.q >= 0, config.q <= 1 else {
            throw SimError("--liar-share must be in [0, 1) and --q in [0, 1]")
        }

        let strategies = try Strategy.parse(strategy)
        let modes = try modeList(config)

        // The dApp: counter.wat compiled by the executor's WAT support, in a code store of our own.
        let wat = try findExample("counter")
        let module = try CodeStore.compile(wat: wat)
        let shm = "/dev/shm"
        var isDir: ObjCBool = false
        let base = FileManager.default.fileExists(atPath: shm, isDirectory: &isDir) && isDir.boolValue
            ? URL(fileURLWithPath: shm) : FileManager.default.temporaryDirectory
        let folder = base.appendingPathComponent("dde-sim-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Stopped by SIGTERM or SIGINT: the cells stop at their next task and the stores on
        // /dev/shm (hundreds of MB at full size) are removed on the way out.
        for sig in [SIGTERM, SIGINT] { signal(sig) { s in simStopSignal = s } }
        let codeStore = try CodeStore(directory: folder.appendingPathComponent("code"))
        config.codeHash = try codeStore.add(module)
        config.folder = folder.path

        var cells: [(Strategy, ModeSpec)] = []
        for s in strategies { for m in modes { cells.append((s, m)) } }
        let progress = Progress(names: cells.map { "\($0.0.rawValue)/\($0.1.label)" }, perCell: config.tasks, quiet: quiet)
        let started = Date()
        let results = try runCells(cells, config: config, codeStore: codeStore, progress: progress)
        let seconds = Date().timeIntervalSince(started)

        let table = Report.table(config, results, strategies: strategies)
        print(table, terminator: "")
        print("table-hash: \(SHA256.hash(Array(table.utf8)).hex)")
        if let csv {
            try Report.csv(config, results).write(toFile: csv, atomically: true, encoding: .utf8)
        }
        let delegations = results.reduce(0) { $0 + $1.tasks }
        let cpu = results.reduce(0) { $0 + $1.seconds }
        FileHandle.standardError.write(String(format: "dde-sim: %d cells, %d delegations in %.1f s wall (%.1f s in cells, %.0f delegations/s per thread)\n",
                                              results.count, delegations, seconds, cpu, Double(delegations) / max(cpu, 1e-9)).data(using: .utf8)!)
    }

    func modeList(_ config: SimConfig) throws -> [ModeSpec] {
        let names = mode == "all" ? ["first_valid", "quorum", "boinc", "audited"] : mode.split(separator: ",").map { String($0) }
        var out: [ModeSpec] = []
        for n in names {
            switch n.trimmingCharacters(in: .whitespaces) {
            case "first_valid": out.append(ModeSpec(label: "first_valid", mode: .firstValid, target: nil, extra: false))
            case "quorum": out.append(ModeSpec(label: "quorum(2)", mode: .quorum(2), target: nil, extra: false))
            case "boinc": out.append(ModeSpec(label: "boinc", mode: .audited(AuditPolicy.boinc()), target: nil, extra: false))
            case "audited":
                var all = [errorTarget]
                for t in targets.split(separator: ",") {
                    guard let v = Double(t.trimmingCharacters(in: .whitespaces)), v > 0, v < 1 else {
                        throw SimError("--targets: \"\(t)\" is not an error target in (0, 1)")
                    }
                    if !all.contains(v) { all.append(v) }
                }
                for (i, t) in all.enumerated() {
                    let p = AuditPolicy(errorTarget: t, liarShare: config.assumedShare)
                    try p.validate()
                    out.append(ModeSpec(label: "audited(\(Report.target(t)))", mode: .audited(p), target: t, extra: i > 0))
                }
            default:
                throw SimError("unknown mode \"\(n)\" (first_valid, quorum, boinc, audited, all)")
            }
        }
        return out
    }

    func findExample(_ name: String) throws -> String {
        let candidates = [
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("examples/dapps/\(name).wat"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("examples/dapps/\(name).wat"),
        ]
        for url in candidates {
            if let text = try? String(contentsOf: url, encoding: .utf8) { return text }
        }
        throw SimError("cannot find examples/dapps/\(name).wat: run dde-sim from the repository root")
    }

    /// Runs the cells on `threads` threads; results in cell order whatever thread ran each.
    func runCells(_ cells: [(Strategy, ModeSpec)], config: SimConfig, codeStore: CodeStore,
                  progress: Progress) throws -> [CellResult] {
        final class Shared: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            var results: [CellResult?]
            var error: Error?
            var partial: FileHandle?
            init(_ n: Int) { results = [CellResult?](repeating: nil, count: n) }
        }
        let shared = Shared(cells.count)
        if let csv {
            let path = csv + ".partial"
            let header = Report.csv(config, []).data(using: .utf8)!
            if FileManager.default.createFile(atPath: path, contents: header) {
                shared.partial = FileHandle(forWritingAtPath: path)
                shared.partial?.seekToEndOfFile()
            }
        }
        defer {
            try? shared.partial?.close()
            if let csv, shared.error == nil, shared.results.allSatisfy({ $0 != nil }) {
                try? FileManager.default.removeItem(atPath: csv + ".partial")
            }
        }
        let n = max(1, min(threads, cells.count))
        let group = DispatchGroup()
        for _ in 0..<n {
            group.enter()
            let t = Thread {
                while true {
                    shared.lock.lock()
                    let i = shared.next
                    shared.next += 1
                    let stop = shared.error != nil
                    shared.lock.unlock()
                    if i >= cells.count || stop { break }
                    progress.start(i)
                    do {
                        let r = try Cell(config: config, strategy: cells[i].0, mode: cells[i].1, index: i,
                                         codeStore: codeStore, progress: progress).run()
                        progress.finish(i, seconds: r.seconds)
                        shared.lock.lock()
                        shared.results[i] = r
                        // Each cell's row as soon as it is done (a run stopped half-way keeps
                        // what it measured); the CSV proper is written, in cell order, at the end.
                        if let partial = shared.partial {
                            let row = Report.csv(config, [r]).split(separator: "\n").dropFirst().joined() + "\n"
                            partial.write(row.data(using: .utf8)!)
                        }
                        shared.lock.unlock()
                    } catch {
                        shared.lock.lock(); shared.error = error; shared.lock.unlock()
                    }
                }
                group.leave()
            }
            t.stackSize = 8 << 20
            t.start()
        }
        group.wait()
        if let e = shared.error { throw e }
        return shared.results.map { $0! }
    }
}
