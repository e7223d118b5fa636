// dde-bench-scaling (issue 15; benchmarks/scaling.sh): the cost of one wallet transfer against
// the number of accounts in the wallet. For each size n a store holds a wallet of n accounts
// (seeded through real commits of taskVersion 2 tasks, kept in --dir for the next run), and each
// round times, on one transfer between two random accounts:
//
//   task      building the v2 task from the store (Store.stateProof: the two entries and their
//             proof) and signing it; its canonical bytes
//   execute   Executor.execute on it (the wallet module in the WasmKit sandbox, warm)
//   verify    Verifier.verified (checks 2-10; check 8 from the task's proof and the writes)
//   commit    Store.commit of the verified result (the tree's paths, one fsync)
//   delegate  Delegator.delegate end to end with one executor node on the in-process transport
//             (a new transfer each round: task, offer, execution, answer, verification, commit)
//
// p50 of each, one row per n; --csv writes the rows for the plot (benchmarks/plot_scaling.py).
// The sizes take turns in --passes passes (5) of --rounds / passes transfers each (plus one
// warm-up), so that what slows the machine for a while (another process, a slow fsync) lands on
// every size more alike than when each size ran all its rounds in a row; the growth from the
// smallest wallet to the largest is the median of the passes' own p50 ratios (the upper middle
// one for an even count), each pass's ratio printed. A block is short (about 0.1-0.2 s at 40
// transfers), so one load spike moves one pass: benchmarks/scaling.sh runs 25 passes of 80
// (--rounds 2000 --passes 25), whose median moved by 0.05-0.1x from run to run in session 11
// against 0.1-0.2x with 5 passes of 40.
//
//   swift build -c release --product dde-bench-scaling
//   .build/release/dde-bench-scaling --dir build/scaling --sizes 10,1000,100000,1000000
import DDE
import DDEExecutor
import DDENetwork
import Dispatch
import Foundation

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
func say(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
func fail(_ s: String) -> Never { say("dde-bench-scaling: " + s); exit(1) }

struct Rng {
    var s: UInt64
    init(_ seed: UInt64) { s = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 { s ^= s >> 12; s ^= s << 25; s ^= s >> 27; return s &* 0x2545_F491_4F6C_DD1D }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

func p50(_ xs: [UInt64]) -> Double { Double(xs.sorted()[xs.count / 2]) / 1000 }  // microseconds

var sizes = [10, 1_000, 100_000, 1_000_000]
var rounds = 2000
var passes = 25
var dir = "build/scaling"
var csv: String?
var wat = "examples/dapps/wallet.wat"
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--sizes": sizes = (args.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--rounds": rounds = Int(args.popFirst() ?? "") ?? rounds
    case "--passes": passes = Int(args.popFirst() ?? "") ?? passes
    case "--dir": dir = args.popFirst() ?? dir
    case "--csv": csv = args.popFirst()
    case "--wallet": wat = args.popFirst() ?? wat
    default:
        say("usage: dde-bench-scaling [--sizes 10,1000,...] [--rounds R] [--passes P] [--dir DIR] [--csv FILE] [--wallet wallet.wat]")
        exit(2)
    }
}
guard !sizes.isEmpty, rounds >= 5, passes >= 1 else { fail("--sizes, --rounds >= 5 and --passes >= 1") }
try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)

/// One wallet size: its store, and the executor node and Delegator that delegate on it.
final class Wallet {
    let n: Int
    let path: String
    let store: Store
    let sandbox = Sandbox()
    var rng: Rng
    var node: ExecutorNode<InProcessTransport>?
    var delegator: Delegator<InProcessTransport>?
    var thread: Thread?
    final class Stop: @unchecked Sendable { var flag = false }
    let stop = Stop()
    var tBuild = [UInt64](), tProof = [UInt64](), tExec = [UInt64](), tVerify = [UInt64](), tCommit = [UInt64]()
    var tDelegate = [UInt64]()
    var taskBytes = 0
    /// Each pass's p50 of the commit and of the delegation (the growth is judged pass by pass).
    var passCommit = [Double](), passDelegate = [Double]()

    init(n: Int, path: String) throws(DDEError) {
        self.n = n
        self.path = path
        store = try Store(path: path)
        rng = Rng(UInt64(n))
    }

    func close() {
        stop.flag = true
        node?.transport.close()
        store.close()
    }
}

func run() throws(DDEError) {
    guard let text = try? String(contentsOfFile: wat, encoding: .utf8) else { throw DDEError(.io, "cannot read \(wat)") }
    let module = try CodeStore.compile(wat: text)
    let requester = try KeyPair.fromSeed([UInt8](repeating: 1, count: 32))
    let seeder = try KeyPair.fromSeed([UInt8](repeating: 2, count: 32))
    let executorKey = try KeyPair.fromSeed([UInt8](repeating: 3, count: 32))
    let codeHash = SHA256.hash(module)
    let caps = ["state.read", "state.write"]
    func key(_ i: Int) -> [UInt8] { Array("balance/user\(i)".utf8) }
    var clock = UInt64(1_767_225_600_000)
    func tick() -> UInt64 { clock += 1; return clock }
    let codeStore = try CodeStore(directory: URL(fileURLWithPath: "\(dir)/code"))
    _ = try codeStore.add(module)

    var wallets = [Wallet]()
    defer { for w in wallets { w.close() } }
    for n in sizes {
        let w = try Wallet(n: n, path: "\(dir)/wallet-\(n).sqlite")
        wallets.append(w)
        let store = w.store
        // Seed once: commits of 10,000 accounts each, through the real commit path.
        var have = 0
        if try store.dappValue("wallet", key: key(n - 1)) == nil {
            have = 0
            if try store.receiptCount() > 0 { throw DDEError(.argument, "\(w.path) holds a partial wallet: remove it") }
        } else {
            have = n
        }
        let seedStart = now()
        var start = have
        while start < n {
            let keys = (start..<min(n, start + 10_000)).map { key($0) }
            let (root, entries, proof) = try store.stateProof("wallet", keys: keys)
            let spec = TaskSpec(dappId: "wallet", dappCodeHash: codeHash, action: "mint",
                                payload: .object(JSONObject(uniqueMembers: [.init("seed", .number(Double(start)))])),
                                requiredCapabilities: caps,
                                partialState: try PartialState(entries: entries, proof: proof, root: root), timestamp: tick())
            let task = try ComputeTask.create(spec, requester: requester)
            var map = [[UInt8]: [UInt8]?]()
            for k in keys { map[k] = .some(Array("1000".utf8)) }
            let writes = StateWrites(map)
            let output = JSON.object(JSONObject(uniqueMembers: [.init("ok", .bool(true))]))
            var p = ExecutionProof(
                taskId: task.taskId, dappId: task.dappId, dappCodeHash: task.dappCodeHash, action: task.intent.action,
                inputHash: task.inputHash, capabilitiesDeclared: task.requiredCapabilities, capabilitiesUsed: caps,
                executionTraceHash: SHA256.hash(task.taskId.bytes), traceLength: 1, fuelUsed: 1,
                resultHash: output.hash, previousStateRoot: task.previousStateRoot,
                nextStateRoot: try task.partialState!.root(applying: writes), stateWritesHash: writes.hash,
                executorPublicKey: seeder.publicKey, timestamp: tick())
            p.sign(with: seeder)
            try store.commit(task: task, result: ComputeResult(proof: p, result: output, stateWrites: writes, executionLatency: 0),
                             identity: requester, now: tick(), policy: .acceptAll)
            start += keys.count
            say("n=\(n): seeded \(start) accounts (\((now() - seedStart) / 1_000_000_000) s)")
        }

        // End to end: one executor node on the in-process transport, for this wallet's store.
        let hub = InProcessHub()
        var config = ExecutorNode<InProcessTransport>.Config()
        config.name = "executor-\(n)"
        let node = ExecutorNode(transport: hub.endpoint(name: "executor"), keyPair: executorKey,
                                codeStore: codeStore, config: config, log: { _ in })
        try node.start()
        w.node = node
        let stop = w.stop
        let thread = Thread { node.run(until: { stop.flag }) }
        thread.start()
        w.thread = thread
        let delegator = try Delegator(transport: hub.endpoint(name: "requester"), store: store, identity: requester)
        _ = try delegator.publishCode(module)
        _ = try delegator.discover(timeoutMs: 200)
        w.delegator = delegator
    }

    var options = DelegationOptions(mode: .firstValid, fanout: 1, deadlineMs: 30_000)
    options.lingerMs = 0
    options.pollMs = 1000
    func transfer(_ w: Wallet) throws(DDEError) -> TaskSpec {
        let a = w.rng.below(w.n), b = (a + 1 + w.rng.below(max(w.n - 1, 1))) % w.n
        var spec = TaskSpec(dappId: "wallet", dappCodeHash: codeHash, action: "send",
                            payload: try JSONParser.parse(Array(#"{"amount":1,"from":"user\#(a)","to":"user\#(b)"}"#.utf8)),
                            requiredCapabilities: caps, timestamp: tick())
        spec.stateKeys = [key(a), key(b)]
        return spec
    }

    // The sizes take turns: each pass runs a block of transfers on every size (starting with a
    // different size each pass), so that a slow moment of the machine weighs on every size more
    // alike, and the growth is judged on each pass's own p50s.
    let perPass = max(rounds / passes, 3)
    for pass in 0..<passes {
        for i in 0..<wallets.count {
            let w = wallets[(pass + i) % wallets.count]
            let store = w.store
            var commit = [UInt64](), delegate = [UInt64]()
            // The four steps, on one transfer each round; the first of each block warms up.
            for r in 0...perPass {
                var spec = try transfer(w)
                let t0 = now()
                let (root, entries, proof) = try store.stateProof("wallet", keys: spec.stateKeys!)
                let tp = now()
                spec.partialState = try PartialState(entries: entries, proof: proof, root: root)
                let task = try ComputeTask.create(spec, requester: requester)
                let t1 = now()
                let result = try Executor.execute(task: task, keyPair: executorKey, codeStore: codeStore, sandbox: w.sandbox, now: tick())
                let t2 = now()
                let verified = try Verifier.verified(task: task, result: result)
                let t3 = now()
                try store.commit(verified, identity: requester, now: tick(), assurance: .direct)
                let t4 = now()
                if r > 0 {
                    w.tBuild.append(t1 - t0); w.tProof.append(tp - t0); w.tExec.append(t2 - t1); w.tVerify.append(t3 - t2)
                    commit.append(t4 - t3)
                }
                w.taskBytes = max(w.taskBytes, task.canonicalBytes.count)
            }
            // Whole delegations.
            for r in 0...perPass {
                let spec = try transfer(w)
                let t0 = now()
                let report = try w.delegator!.delegate(spec, options: options)
                let t1 = now()
                guard report.receipt != nil else { throw report.failure ?? DDEError(.noResult, "delegation \(r) committed nothing") }
                if r > 0 { delegate.append(t1 - t0) }
            }
            w.tCommit += commit
            w.tDelegate += delegate
            w.passCommit.append(p50(commit))
            w.passDelegate.append(p50(delegate))
        }
        say("pass \(pass + 1) of \(passes) done")
    }

    var rows = [String]()
    print("| accounts | task bytes | task build us (of which proof from the store) | execute us | verify us | commit us | delegate p50 us | store MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for w in wallets {
        // The file and its write-ahead log.
        let bytes = [w.path, w.path + "-wal"].map { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0 }
        let mib = Double(bytes.reduce(0, +)) / 1_048_576
        let row = [Double(w.n), Double(w.taskBytes), p50(w.tBuild), p50(w.tExec), p50(w.tVerify), p50(w.tCommit), p50(w.tDelegate), mib,
                   p50(w.tProof)]
        print("| \(w.n) | \(w.taskBytes) | \(fmt(row[2])) (\(fmt(row[8]))) | \(fmt(row[3])) | \(fmt(row[4])) | \(fmt(row[5])) | \(fmt(row[6])) | \(fmt(row[7])) |")
        rows.append(row.map { fmt($0) }.joined(separator: ","))
    }
    // The growth from the smallest wallet to the largest, pass by pass.
    if let small = wallets.min(by: { $0.n < $1.n }), let large = wallets.max(by: { $0.n < $1.n }), large.n > small.n {
        func growth(_ name: String, _ a: [Double], _ b: [Double]) {
            let ratios = zip(a, b).map { $1 / $0 }.sorted()
            let median = ratios[ratios.count / 2]
            print("\(name) growth from \(small.n) to \(large.n) accounts: \(String(format: "%.2f", median))x (median of \(ratios.count) passes' p50 ratios; "
                  + "each pass: " + zip(a, b).map { String(format: "%.2f", $1 / $0) }.joined(separator: ", ") + ")")
        }
        print()
        growth("commit", small.passCommit, large.passCommit)
        growth("delegation", small.passDelegate, large.passDelegate)
    }
    if let csv {
        let text = "accounts,task_bytes,task_us,execute_us,verify_us,commit_us,delegate_us,store_mib,proof_us\n" + rows.joined(separator: "\n") + "\n"
        guard FileManager.default.createFile(atPath: csv, contents: Data(text.utf8)) else { throw DDEError(.io, "cannot write \(csv)") }
    }
}

func fmt(_ x: Double) -> String {
    let r = (x * 10).rounded() / 10
    return r == r.rounded() ? String(Int(r)) : "\(r)"
}

do throws(DDEError) {
    try run()
} catch {
    fail(error.message)
}
