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
var rounds = 30
var dir = "build/scaling"
var csv: String?
var wat = "examples/dapps/wallet.wat"
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--sizes": sizes = (args.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--rounds": rounds = Int(args.popFirst() ?? "") ?? rounds
    case "--dir": dir = args.popFirst() ?? dir
    case "--csv": csv = args.popFirst()
    case "--wallet": wat = args.popFirst() ?? wat
    default:
        say("usage: dde-bench-scaling [--sizes 10,1000,...] [--rounds R] [--dir DIR] [--csv FILE] [--wallet wallet.wat]")
        exit(2)
    }
}
guard !sizes.isEmpty, rounds >= 5 else { fail("--sizes and --rounds >= 5") }
try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)

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

    var rows = [String]()
    print("| accounts | task bytes | task build us (of which proof from the store) | execute us | verify us | commit us | delegate p50 us | store MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes {
        let path = "\(dir)/wallet-\(n).sqlite"
        let store = try Store(path: path)
        defer { store.close() }
        // Seed once: commits of 10,000 accounts each, through the real commit path.
        var have = 0
        if try store.dappValue("wallet", key: key(n - 1)) == nil {
            have = 0
            if try store.receiptCount() > 0 { throw DDEError(.argument, "\(path) holds a partial wallet: remove it") }
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

        // The four steps, on one transfer each round.
        let codeStore = try CodeStore(directory: URL(fileURLWithPath: "\(dir)/code"))
        _ = try codeStore.add(module)
        let sandbox = Sandbox()
        var rng = Rng(UInt64(n))
        var tBuild = [UInt64](), tProof = [UInt64](), tExec = [UInt64](), tVerify = [UInt64](), tCommit = [UInt64]()
        var taskBytes = 0
        for r in 0..<rounds {
            let a = rng.below(n), b = (a + 1 + rng.below(max(n - 1, 1))) % n
            let t0 = now()
            let (root, entries, proof) = try store.stateProof("wallet", keys: [key(a), key(b)])
            let tp = now()
            let spec = TaskSpec(dappId: "wallet", dappCodeHash: codeHash, action: "send",
                                payload: try JSONParser.parse(Array(#"{"amount":1,"from":"user\#(a)","to":"user\#(b)"}"#.utf8)),
                                requiredCapabilities: caps,
                                partialState: try PartialState(entries: entries, proof: proof, root: root), timestamp: tick())
            let task = try ComputeTask.create(spec, requester: requester)
            let t1 = now()
            let result = try Executor.execute(task: task, keyPair: executorKey, codeStore: codeStore, sandbox: sandbox, now: tick())
            let t2 = now()
            let verified = try Verifier.verified(task: task, result: result)
            let t3 = now()
            try store.commit(verified, identity: requester, now: tick(), assurance: .direct)
            let t4 = now()
            if r > 0 {  // the first round warms the module cache
                tBuild.append(t1 - t0); tProof.append(tp - t0); tExec.append(t2 - t1); tVerify.append(t3 - t2); tCommit.append(t4 - t3)
            }
            taskBytes = max(taskBytes, task.canonicalBytes.count)
        }

        // End to end: one executor node on the in-process transport.
        let hub = InProcessHub()
        var config = ExecutorNode<InProcessTransport>.Config()
        config.name = "executor"
        let node = ExecutorNode(transport: hub.endpoint(name: "executor"), keyPair: executorKey,
                                codeStore: codeStore, config: config, log: { _ in })
        try node.start()
        final class Stop: @unchecked Sendable { var flag = false }
        let stop = Stop()
        let thread = Thread { node.run(until: { stop.flag }) }
        thread.start()
        defer { stop.flag = true; node.transport.close() }
        let delegator = try Delegator(transport: hub.endpoint(name: "requester"), store: store, identity: requester)
        _ = try delegator.publishCode(module)
        _ = try delegator.discover(timeoutMs: 200)
        var options = DelegationOptions(mode: .firstValid, fanout: 1, deadlineMs: 30_000)
        options.lingerMs = 0
        options.pollMs = 1000
        var tDelegate = [UInt64]()
        for r in 0...rounds {
            let a = rng.below(n), b = (a + 1 + rng.below(max(n - 1, 1))) % n
            var spec = TaskSpec(dappId: "wallet", dappCodeHash: codeHash, action: "send",
                                payload: try JSONParser.parse(Array(#"{"amount":1,"from":"user\#(a)","to":"user\#(b)"}"#.utf8)),
                                requiredCapabilities: caps, timestamp: tick())
            spec.stateKeys = [key(a), key(b)]
            let t0 = now()
            let report = try delegator.delegate(spec, options: options)
            let t1 = now()
            guard report.receipt != nil else { throw report.failure ?? DDEError(.noResult, "delegation \(r) committed nothing") }
            if r > 0 { tDelegate.append(t1 - t0) }
        }
        // The file and its write-ahead log.
        let bytes = [path, path + "-wal"].map { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0 }
        let mib = Double(bytes.reduce(0, +)) / 1_048_576
        let row = [Double(n), Double(taskBytes), p50(tBuild), p50(tExec), p50(tVerify), p50(tCommit), p50(tDelegate), mib, p50(tProof)]
        print("| \(n) | \(taskBytes) | \(fmt(row[2])) (\(fmt(row[8]))) | \(fmt(row[3])) | \(fmt(row[4])) | \(fmt(row[5])) | \(fmt(row[6])) | \(fmt(row[7])) |")
        rows.append(row.map { fmt($0) }.joined(separator: ","))
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
