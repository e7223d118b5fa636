// dde-torture: a test and benchmark tool, not part of the product (an executable target in
// benchmarks/Sources, no product: `swift build -c release --product dde-torture`).
//
//   dde-torture crash --store DB --code DIR --wat counter.wat [--seed N]
//       The child of scripts/test-crash.sh: commits real results in a loop until it is killed.
//       Each task is built from the dApp's state as the store holds it (never stale), run by the
//       real executor on the counter dApp, and committed with Store.commit. Prints
//         start <receipts> <counter value> <counter-b value>   after opening the store
//         committed <index> <taskId hex>                      after Store.commit returned
//       and flushes stdout after each line. About one task in ten carries a large payload
//       (64-320 KiB) so that some kills land while the WAL is being written and synced.
//
//   dde-torture bench-store --dir DIR --wat counter.wat [--commits N] [--rounds R] [--chain N]
//                           [--task-version 1|2]
//       Durable commits per second through Store.commit (of a verified result, and the public
//       one that verifies again) against their floors: raw SQLite transactions writing the same
//       bytes with the same settings plus the receipt's hash and signature (and the proof's
//       verification for the public one); verifyChain time per receipt. One JSON line.
//
//   dde-torture bench-executor --wat hashchain.wat [--n N] [--repeats R] [--wasm OUT] [--tasks N]
//       ExecutorBenchmark.run (fuel metering on vs off), and ExecutorBenchmark.perTask for the
//       counter and wallet dApps beside hashchain.wat (one task as a node runs it, N rounds). One
//       JSON line; --wasm writes the compiled module for a peer interpreter.
import CDDE
import DDE
import DDEBench
import DDEExecutor
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("dde-torture: \(message)\n".utf8))
    exit(2)
}

func emit(_ line: String) {
    // One write per line then fflush: the parent reads a "committed" line only if it was fully out.
    fputs(line + "\n", stdout)
    fflush(stdout)
}

/// --name value options; a bare word first is the mode.
struct Options {
    let mode: String
    private var values: [String: String] = [:]

    init(_ args: [String]) {
        guard let first = args.first else { fail("usage: dde-torture crash|bench-store|bench-executor --option value ...") }
        mode = first
        var i = 1
        while i < args.count {
            let a = args[i]
            guard a.hasPrefix("--"), i + 1 < args.count else { fail("expected --option value, got \(a)") }
            values[String(a.dropFirst(2))] = args[i + 1]
            i += 2
        }
    }

    func string(_ name: String) -> String {
        guard let v = values[name] else { fail("--\(name) is required for \(mode)") }
        return v
    }

    func optional(_ name: String) -> String? { values[name] }

    func int(_ name: String, _ fallback: Int) -> Int {
        guard let v = values[name] else { return fallback }
        guard let n = Int(v) else { fail("--\(name) must be an integer, got \(v)") }
        return n
    }
}

func must<T>(_ what: String, _ body: () throws(DDEError) -> T) -> T {
    do throws(DDEError) { return try body() } catch { fail("\(what): \(error.status) \(error.detail)") }
}

func nowMs() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }

func readText(_ path: String) -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fail("cannot read \(path)") }
    return text
}

/// Fixed keys: every round of the crash test opens the same store, bound to one identity.
let requester = must("requester key") { () throws(DDEError) in try KeyPair.fromSeed([UInt8](repeating: 1, count: 32)) }
let executorKey = must("executor key") { () throws(DDEError) in try KeyPair.fromSeed([UInt8](repeating: 2, count: 32)) }

/// A counter task on the state `state`, with `padBytes` of payload the dApp ignores.
func counterTask(dappId: String, code: Digest, state: StateMap, tag: String, padBytes: Int, timestamp: UInt64) -> ComputeTask {
    var payload = JSONObject()
    payload["tag"] = .string(tag)
    if padBytes > 0 { payload["pad"] = .string(String(repeating: "p", count: padBytes)) }
    let spec = TaskSpec(dappId: dappId, dappCodeHash: code, action: "increment", payload: .object(payload),
                        requiredCapabilities: ["state.read", "state.write"], state: state, timestamp: timestamp)
    return must("task create") { () throws(DDEError) in try ComputeTask.create(spec, requester: requester) }
}

/// The same counter task in taskVersion 2 (the protocol's form since issue 15): the "count" entry
/// and its proof against the state's tree root, instead of the whole state.
func counterTaskV2(dappId: String, code: Digest, state: StateMap, tag: String, padBytes: Int, timestamp: UInt64) -> ComputeTask {
    var payload = JSONObject()
    payload["tag"] = .string(tag)
    if padBytes > 0 { payload["pad"] = .string(String(repeating: "p", count: padBytes)) }
    let spec = TaskSpec(dappId: dappId, dappCodeHash: code, action: "increment", payload: .object(payload),
                        requiredCapabilities: ["state.read", "state.write"], state: state,
                        stateKeys: [Array("count".utf8)], timestamp: timestamp)
    return must("task create") { () throws(DDEError) in try ComputeTask.create(spec, requester: requester) }
}

func stateMap(_ store: Store, _ dappId: String) -> StateMap {
    var map = StateMap()
    for entry in must("read state", { () throws(DDEError) in try store.dappState(dappId) }) { map.set(entry.key, entry.value) }
    return map
}

func counterValue(_ store: Store, _ dappId: String) -> String {
    guard let v = must("read count", { () throws(DDEError) in try store.dappValue(dappId, key: Array("count".utf8)) }) else { return "0" }
    return String(decoding: v, as: UTF8.self)
}

// MARK: crash

func crash(_ o: Options) {
    var rng = SystemRandomNumberGenerator()
    let seed = o.int("seed", Int.random(in: 0..<1_000_000_000, using: &rng))
    let codeStore = must("code store") { () throws(DDEError) in try CodeStore(directory: URL(fileURLWithPath: o.string("code"))) }
    let code = must("add counter") { () throws(DDEError) in try codeStore.add(try CodeStore.compile(wat: readText(o.string("wat")))) }
    let store = must("open store") { () throws(DDEError) in try Store(path: o.string("store")) }
    let count = must("count") { () throws(DDEError) in try store.receiptCount() }
    emit("start \(count) \(counterValue(store, "counter")) \(counterValue(store, "counter-b"))")
    let sandbox = Sandbox()
    var i = 0
    while true {
        // Mostly one dApp (its state path is exercised every time); now and then a second one,
        // so the node root covers two dApps.
        let dappId = Int.random(in: 0..<5, using: &rng) == 0 ? "counter-b" : "counter"
        let pad = Int.random(in: 0..<10, using: &rng) == 0 ? Int.random(in: 64 << 10..<320 << 10, using: &rng) : 0
        let task = counterTask(dappId: dappId, code: code, state: stateMap(store, dappId),
                               tag: "\(seed)-\(i)", padBytes: pad, timestamp: nowMs())
        let result = must("execute") { () throws(DDEError) in
            try Executor.execute(task: task, keyPair: executorKey, codeStore: codeStore, sandbox: sandbox)
        }
        let receipt = must("commit") { () throws(DDEError) in
            try store.commit(task: task, result: result, identity: requester, now: nowMs())
        }
        emit("committed \(receipt.index) \(task.taskId.hex)")
        i += 1
    }
}

// MARK: bench-store

/// Nanoseconds of a monotonic clock.
func monotonicNs() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// CPU time of this thread (user + system), nanoseconds: what a run costs apart from waiting on the disk.
func threadCPUNs() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

struct Prepared {
    let task: ComputeTask
    let result: ComputeResult
    /// The result as the Verifier passed it (checked before any timing): what a delegation commits.
    let verified: VerifiedResult
}

/// `n` counter tasks forming one valid chain from the empty state, executed ahead of time, in
/// taskVersion `version` (1: the whole state; 2: the "count" entry and its proof).
func prepareChain(_ n: Int, code: Digest, codeStore: CodeStore, padEvery: Int, version: Int) -> [Prepared] {
    var state = StateMap()
    var out: [Prepared] = []
    let sandbox = Sandbox()
    out.reserveCapacity(n)
    for i in 0..<n {
        let pad = padEvery > 0 && i % padEvery == padEvery - 1 ? 64 << 10 : 0
        let time = 1_700_000_000_000 + UInt64(i)
        let task = version == 1
            ? counterTask(dappId: "counter", code: code, state: state, tag: "bench-\(i)", padBytes: pad, timestamp: time)
            : counterTaskV2(dappId: "counter", code: code, state: state, tag: "bench-\(i)", padBytes: pad, timestamp: time)
        let result = must("execute") { () throws(DDEError) in
            try Executor.execute(task: task, keyPair: executorKey, codeStore: codeStore, sandbox: sandbox, now: 1_700_000_000_000)
        }
        let verified = must("verify") { () throws(DDEError) in try Verifier.verified(task: task, result: result) }
        state = state.applying(result.stateWrites)
        out.append(Prepared(task: task, result: result, verified: verified))
    }
    return out
}

func removeStore(_ path: String) {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

/// How the store commits: a result the Verifier passed (`Store.commit(_:identity:now:assurance:)`,
/// the delegation's commit), or the public `Store.commit(task:result:...)` that verifies it again.
enum CommitPath { case verified, verifying }

/// Commits `chain` into a fresh store at `path`; returns wall and CPU nanoseconds and the rows written.
func timeStoreCommits(_ chain: [Prepared], path: String, _ how: CommitPath) -> (time: (wall: UInt64, cpu: UInt64), rows: [RawCommitRows]) {
    removeStore(path)
    let store = must("open") { () throws(DDEError) in try Store(path: path) }
    var rows: [RawCommitRows] = []
    rows.reserveCapacity(chain.count)
    var receipts: [Receipt] = []
    receipts.reserveCapacity(chain.count)
    let start = monotonicNs(), cpuStart = threadCPUNs()
    for (i, p) in chain.enumerated() {
        let now = 1_700_000_000_000 + UInt64(i)
        receipts.append(must("commit") { () throws(DDEError) in
            switch how {
            case .verified: return try store.commit(p.verified, identity: requester, now: now, assurance: .direct)
            case .verifying: return try store.commit(task: p.task, result: p.result, identity: requester, now: now)
            }
        })
    }
    let elapsed = (monotonicNs() - start, threadCPUNs() - cpuStart)
    store.close()
    // The tree's rows: the counter holds one key, so its tree is one chunk, which every commit
    // rewrites; the floor writes it as the store left it.
    let tree = must("tree rows") { () throws(DDEError) in try RawFloor.treeRows(storePath: path, dappId: "counter") }
    for (p, r) in zip(chain, receipts) {
        guard !p.result.stateWrites.entries.isEmpty else { fail("the counter wrote nothing") }
        var row = RawCommitRows(receipt: r, task: p.task, result: p.result)
        row.treeRows = tree
        rows.append(row)
    }
    return (elapsed, rows)
}

/// The floor of a commit: raw SQLite (`RawSQLiteWriter`: the same schema, WAL and
/// synchronous=FULL, and per commit one BEGIN IMMEDIATE ... COMMIT inserting the same bytes:
/// receipt, compute_result, state value, dApp root, the tree's chunk), plus what the protocol
/// requires of the requester for each receipt: its hash (SHA-256 of its canonical bytes) and its
/// Ed25519 signature (libsodium directly); with `verify`, also the Ed25519 verification of the
/// executor's proof that the public Store.commit repeats. Returns wall and CPU nanoseconds.
func timeRawInserts(_ rows: [RawCommitRows], path: String, verify: Bool = false) -> (wall: UInt64, cpu: UInt64) {
    let writer = must("raw open") { () throws(DDEError) in try RawSQLiteWriter(path: path) }
    defer { writer.close() }
    var pk = [UInt8](repeating: 0, count: 32), sk = [UInt8](repeating: 0, count: 64)
    crypto_sign_keypair(&pk, &sk)
    var message = [UInt8](repeating: 0x52, count: 64), signature = [UInt8](repeating: 0, count: 64)
    var proofSignature = [UInt8](repeating: 0, count: 64)
    crypto_sign_detached(&proofSignature, nil, message, 64, sk)
    let start = monotonicNs(), cpuStart = threadCPUNs()
    for (i, r) in rows.enumerated() {
        if verify { _ = crypto_sign_verify_detached(proofSignature, message, 64, pk) }
        message.withUnsafeMutableBufferPointer { m in
            _ = crypto_hash_sha256(m.baseAddress! + 32, r.receiptJSON, UInt64(r.receiptJSON.count))
        }
        crypto_sign_detached(&signature, nil, message, 64, sk)
        must("raw commit") { () throws(DDEError) in try writer.commit(r, index: Int64(i)) }
    }
    return (monotonicNs() - start, threadCPUNs() - cpuStart)
}

func benchStore(_ o: Options) {
    let dir = o.string("dir")
    let commits = o.int("commits", 200)
    let rounds = o.int("rounds", 8)
    let chainLength = o.int("chain", 3000)
    let version = o.int("task-version", 2)
    let codeStore = must("code store") { () throws(DDEError) in try CodeStore(directory: URL(fileURLWithPath: dir + "/code")) }
    let code = must("add counter") { () throws(DDEError) in try codeStore.add(try CodeStore.compile(wat: readText(o.string("wat")))) }
    // One commit in 16 carries a 64 KiB payload, as real tasks sometimes do.
    let chain = prepareChain(max(commits, chainLength), code: code, codeStore: codeStore, padEvery: 16, version: version)
    let storePath = dir + "/store.db", rawPath = dir + "/raw.db"

    // Each round runs the verified commit, its floor, the verifying commit and its floor, in an
    // order that turns each round (so that all see the same disk conditions); the figures are
    // the totals over all rounds, and the median of the per-round ratios.
    var storeNs: UInt64 = 0, rawNs: UInt64 = 0, storeCPU: UInt64 = 0, rawCPU: UInt64 = 0
    var publicNs: UInt64 = 0, publicRawNs: UInt64 = 0, publicCPU: UInt64 = 0, publicRawCPU: UInt64 = 0
    var perRound: [String] = []
    var ratios: [Double] = [], publicRatios: [Double] = []
    let rows = timeStoreCommits(Array(chain.prefix(commits)), path: storePath, .verified).rows
    for round in 0..<max(1, rounds) {
        var s: (wall: UInt64, cpu: UInt64) = (0, 0), r = s, p = s, pr = s
        let steps: [() -> Void] = [
            { s = timeStoreCommits(Array(chain.prefix(commits)), path: storePath, .verified).time },
            { r = timeRawInserts(rows, path: rawPath) },
            { p = timeStoreCommits(Array(chain.prefix(commits)), path: storePath, .verifying).time },
            { pr = timeRawInserts(rows, path: rawPath, verify: true) },
        ]
        for k in 0..<steps.count { steps[(k + round) % steps.count]() }
        storeNs += s.wall; rawNs += r.wall; storeCPU += s.cpu; rawCPU += r.cpu
        publicNs += p.wall; publicRawNs += pr.wall; publicCPU += p.cpu; publicRawCPU += pr.cpu
        ratios.append(Double(r.wall) / Double(max(1, s.wall)))
        publicRatios.append(Double(pr.wall) / Double(max(1, p.wall)))
        perRound.append("[\(rate(commits, s.wall)),\(rate(commits, r.wall)),\(rate(commits, p.wall)),\(rate(commits, pr.wall))]")
    }
    ratios.sort()
    publicRatios.sort()
    let total = commits * max(1, rounds)

    // verifyChain on a long chain (built with the same durable commits).
    let chainPath = dir + "/chain.db"
    _ = timeStoreCommits(Array(chain.prefix(chainLength)), path: chainPath, .verified)
    let store = must("open") { () throws(DDEError) in try Store(path: chainPath) }
    let start = monotonicNs()
    let report = must("verifyChain") { () throws(DDEError) in try store.verifyChain() }
    let verifyNs = monotonicNs() - start
    guard report.count == UInt64(chainLength) else { fail("verifyChain saw \(report.count) receipts, wanted \(chainLength)") }
    let bytes = (try? FileManager.default.attributesOfItem(atPath: chainPath)[.size] as? Int) ?? 0

    print("""
        {"commits":\(commits),"rounds":\(rounds),"storeCommitsPerSecond":\(rate(total, storeNs)),\
        "rawTransactionsPerSecond":\(rate(total, rawNs)),"ratio":\(fixed(Double(rawNs) / Double(max(1, storeNs)), 3)),\
        "medianRoundRatio":\(fixed(ratios[ratios.count / 2], 3)),\
        "storeCPUMicrosecondsPerCommit":\(fixed(Double(storeCPU) / 1e3 / Double(total), 1)),\
        "rawCPUMicrosecondsPerTransaction":\(fixed(Double(rawCPU) / 1e3 / Double(total), 1)),\
        "taskVersion":\(version),"publicCommitsPerSecond":\(rate(total, publicNs)),\
        "publicRawPerSecond":\(rate(total, publicRawNs)),"publicRatio":\(fixed(Double(publicRawNs) / Double(max(1, publicNs)), 3)),\
        "publicMedianRoundRatio":\(fixed(publicRatios[publicRatios.count / 2], 3)),\
        "publicCPUMicrosecondsPerCommit":\(fixed(Double(publicCPU) / 1e3 / Double(total), 1)),\
        "publicRawCPUMicrosecondsPerTransaction":\(fixed(Double(publicRawCPU) / 1e3 / Double(total), 1)),\
        "perRound":[\(perRound.joined(separator: ","))],\
        "verifyChainReceipts":\(chainLength),"verifyChainMs":\(fixed(Double(verifyNs) / 1e6, 1)),\
        "verifyChainMicrosecondsPerReceipt":\(fixed(Double(verifyNs) / 1e3 / Double(chainLength), 1)),\
        "chainFileBytes":\(bytes)}
        """)
}

func rate(_ n: Int, _ ns: UInt64) -> String { fixed(Double(n) * 1e9 / Double(max(1, ns)), 1) }

func fixed(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }

// MARK: bench-executor

func benchExecutor(_ o: Options) {
    let wat = readText(o.string("wat"))
    let n = o.int("n", 4000)
    let report = must("benchmark") { () throws(DDEError) in
        try ExecutorBenchmark.run(hashchainWAT: wat, n: n, repeats: o.int("repeats", 5))
    }
    // The result the peer must reproduce: run once more through the public sandbox.
    let module = must("compile") { () throws(DDEError) in try CodeStore.compile(wat: wat) }
    let outcome = must("run") { () throws(DDEError) in
        try Sandbox().run(ExecutionRequest(module: module, action: "run", input: Array(String(n).utf8), capabilities: [],
                                           limits: ExecutionLimits(maxFuel: maxSafeInteger)))
    }
    if let out = o.optional("wasm") {
        guard FileManager.default.createFile(atPath: out, contents: Data(module)) else { fail("cannot write \(out)") }
    }
    let result = String(decoding: outcome.resultDocument.canonicalBytes(), as: UTF8.self)
    // One task as a node runs it, for the example dApps next to --wat (--tasks N rounds each).
    let dapps = URL(fileURLWithPath: o.string("wat")).deletingLastPathComponent().path
    let rounds = o.int("tasks", 2000)
    var tasks: [String] = []
    for (name, action, caps, state, payload) in [
        ("counter", "increment", ["state.read", "state.write"], [Array("count".utf8): Array("41".utf8)], "{}"),
        ("wallet", "send", ["state.read", "state.write"], [Array("balance/bob".utf8): Array("100".utf8)],
         #"{"to":"alice","from":"bob","amount":5}"#),
    ] {
        let (first, p50) = must("task") { () throws(DDEError) in
            try ExecutorBenchmark.perTask(wat: readText("\(dapps)/\(name).wat"), action: action, capabilities: caps, state: state,
                                          payload: try JSONParser.parse(Array(payload.utf8)), rounds: rounds)
        }
        tasks.append(#"{"dapp":"\#(name)","action":"\#(action)","firstUs":\#(fixed(Double(first) / 1e3, 1)),"p50Us":\#(fixed(Double(p50) / 1e3, 1))}"#)
    }
    print("""
        {"n":\(n),"repeats":\(report.repeats),"meteredMs":\(fixed(Double(report.meteredNanoseconds) / 1e6, 2)),\
        "unmeteredMs":\(fixed(Double(report.unmeteredNanoseconds) / 1e6, 2)),"ratio":\(fixed(report.ratio, 3)),\
        "fuelUsed":\(report.fuelUsed),"result":\(result),"tasks":[\(tasks.joined(separator: ","))],"taskRounds":\(rounds)}
        """)
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
switch options.mode {
case "crash": crash(options)
case "bench-store": benchStore(options)
case "bench-executor": benchExecutor(options)
default: fail("unknown mode \(options.mode): crash, bench-store or bench-executor")
}
