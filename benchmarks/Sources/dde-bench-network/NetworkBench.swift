// dde-bench-network (run by benchmarks/network.sh; a benchmark, not part of the product):
// sequential delegations of the counter dApp through a broker to the executors already running
// there, timed end to end on the requester (task creation and signing, publish, execution on the
// executor, reply, verification, SQLite commit), beside the raw cost of the protocol's own work in
// the same run (RawFloor). One JSON document on stdout.
import ArgumentParser
import DDE
import DDEBench
import DDEExecutor
import Foundation

@main
struct NetworkBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dde-bench-network",
        abstract: "Time delegations of the counter dApp over MQTT, and the protocol floor as a raw delegation (benchmarks/network.sh).",
        subcommands: [Delegations.self, RawExecute.self], defaultSubcommand: Delegations.self)
}

/// Fails the command with the error's status and message.
func exiting(_ name: String, _ body: () throws(DDEError) -> Void) throws {
    do throws(DDEError) {
        try body()
    } catch {
        FileHandle.standardError.write(Data("dde-bench-network \(name): \(error.message)\n".utf8))
        throw ExitCode(error.status.rawValue)
    }
}

struct Delegations: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delegate", abstract: "Time delegations of the counter dApp to the executors on the broker.")

    @Option(help: "MQTT broker URL.") var broker: String
    @Option(help: "Executors to wait for and ask (fanout).") var executors: Int = 1
    @Option(help: "Timed delegations.") var count: Int = 200
    @Option(help: "Untimed delegations first.") var warmup: Int = 20
    @Option(help: "first_valid or quorum.") var mode: String = "first_valid"
    @Option(help: "Quorum size (with --mode quorum).") var k: Int = 2
    @Option(help: "The counter module (.wat).") var code: String
    @Option(help: "Folder for the requester's store.") var workdir: String
    @Option(help: "Alternate the timed delegations with raw ones (RawDelegation.swift) against the `raw-execute` process on this port of 127.0.0.1 (1 executor, first_valid).")
    var rawPort: Int?

    func run() throws { try exiting("delegate") { () throws(DDEError) in try bench() } }

    func bench() throws(DDEError) {
        guard count >= 10, count <= 100_000, warmup >= 0, executors >= 1 else {
            throw DDEError(.argument, "--count 10..100000, --warmup >= 0, --executors >= 1")
        }
        guard let assurance = try AssuranceMode.named(mode, quorum: k) else {
            throw DDEError(.argument, "--mode must be first_valid or quorum, not \(mode)")
        }
        guard let text = try? String(contentsOfFile: code, encoding: .utf8) else {
            throw DDEError(.io, "cannot read module \(code)")
        }
        let module = try CodeStore.compile(wat: text)
        let identity = KeyPair.generate()
        let storePath = "\(workdir)/bench-\(identity.publicKey.hex.prefix(8)).sqlite"
        let store = try Store(path: storePath)
        defer { store.close() }
        let transport = try MQTTTransport(url: broker, clientId: MQTTTransport.clientId(role: "bench", key: identity.publicKey))
        defer { transport.close() }
        let delegator = try Delegator(transport: transport, store: store, identity: identity)
        let hash = try delegator.publishCode(module)
        let until = Date().addingTimeInterval(20)
        while try delegator.discover(timeoutMs: 100) < executors {
            guard Date() < until else { throw DDEError(.noExecutor, "only \(delegator.executors.count) of \(executors) executors announced themselves") }
        }
        var options = DelegationOptions(mode: assurance, fanout: executors, deadlineMs: 10_000)
        options.lingerMs = 0  // measure the decision, not the wait for the remaining executors
        options.pollMs = 1000

        var samples: [Double] = []
        var failures = 0
        // The floor of the protocol's own work, measured beside it: after each timed
        // delegation (and a pause as long) one raw SQLite transaction writing the rows its commit
        // wrote (the same file system, the same moment's disk) and the reads of the next task's
        // state and proof, and Ed25519 and SHA-256 through libsodium at the end.
        var rawWriter: RawSQLiteWriter? = nil
        var rawRows: RawCommitRows? = nil
        var rawCommit: [UInt64] = []
        var rawRead: [UInt64] = []
        // SHA-256 computations of the v2 state proof that the protocol mandates on the path: the
        // executor checks the task's proof against previousStateRoot (a path and a value hash per
        // carried key, a hash per leaf or node of the proof), the requester computes the next root
        // from it (check 8: a path and a value hash per write, the proof's tree hashed again).
        // The executor's own next root is inside its measured execution.
        var proofHashes = 0
        // The signed objects' SHA-256s, at their real lengths (docs/PROTOCOL.md sections 3, 5, 7):
        // the task's id over the task without taskId and signature (the requester makes it, the
        // executor computes it again), its inputHash over the payload (both), H(proof without
        // signature) under each needed result's signature, H(result) and H(stateWrites) against
        // the proof (the requester; the executor's own are in its execution), proofHash = H(proof)
        // named by the receipt, and the receipt's hash under its signature.
        var signedHashLengths: [Int] = []
        var paused: UInt64 = 0
        defer { rawWriter?.close() }
        // The raw delegation (with --raw-port), set up from the first timed delegation.
        var rawDelegation: RawRequester? = nil
        var rawTotal: [UInt64] = [], rawTransaction: [UInt64] = []
        // Each iteration with a raw delegation: the two delegations' times and which came first.
        // Iterations alternate "raw, dde, pause, raw SQLite transaction" and "dde, raw, pause, raw
        // SQLite transaction": each kind comes as often first (after the pause and another store's
        // fsync) as second (straight after the other kind's fsync), and each executor idles
        // through the other kind's delegation and the pause.
        var pairs: [(ours: UInt64, raw: UInt64, rawFirst: Bool)] = []
        if rawPort != nil, assurance.needed != 1 || executors != 1 {
            throw DDEError(.argument, "--raw-port goes with 1 executor and first_valid")
        }
        var timedStart = DispatchTime.now().uptimeNanoseconds
        for i in 0..<(warmup + count) {
            if i == warmup { timedStart = DispatchTime.now().uptimeNanoseconds }
            let spec = TaskSpec(dappId: "counter", dappCodeHash: hash, action: "increment", payload: .object(JSONObject()),
                                requiredCapabilities: ["state.read", "state.write"],
                                timestamp: UInt64(Date().timeIntervalSince1970 * 1000))
            // With the raw delegation: one of each per iteration, the raw one first in every
            // other iteration (see below).
            let rawFirst = rawDelegation != nil && i % 2 == 0
            var raw: (total: UInt64, commit: UInt64)? = nil
            if rawFirst, let rawDelegation { raw = try rawDelegation.delegate() }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let report = try delegator.delegate(spec, options: options)
            let t1 = DispatchTime.now().uptimeNanoseconds
            if !rawFirst, let rawDelegation { raw = try rawDelegation.delegate() }
            guard report.receipt != nil, let accepted = report.accepted else {
                failures += 1
                continue
            }
            if let raw, i >= warmup {
                rawTotal.append(raw.total)
                rawTransaction.append(raw.commit)
                pairs.append((ours: t1 - t0, raw: raw.total, rawFirst: rawFirst))
            }
            if i >= warmup {
                samples.append(Double(t1 - t0) / 1000)
                if rawWriter == nil, let receipt = report.receipt {
                    rawWriter = try RawSQLiteWriter(path: "\(workdir)/raw-floor-\(identity.publicKey.hex.prefix(8)).sqlite")
                    var rows = RawCommitRows(receipt: receipt, task: report.task, result: accepted,
                                             executorKey: accepted.proof.executorPublicKey.bytes)
                    rows.treeRows = try RawFloor.treeRows(storePath: storePath, dappId: report.task.dappId)
                    rawRows = rows
                    guard case .object(let t) = report.task.json, case .object(let r) = receipt.json,
                          let partial = report.task.partialState else {
                        throw DDEError(.schema, "the delegation made no v2 task or receipt object")
                    }
                    let task = JSON.object(t.removing("taskId", "signature")).canonicalBytes().count
                    let input = report.task.intent.payload.canonicalBytes().count
                    let proof = accepted.proof
                    let proofUnsigned = proof.unsignedJSON.canonicalBytes().count
                    // The requester's after the answer: H(result), H(stateWrites), proofHash, the receipt's.
                    let result = accepted.result.canonicalBytes().count, writes = accepted.stateWrites.json.canonicalBytes().count
                    let proofBytes = proof.json.canonicalBytes().count
                    let receiptBytes = JSON.object(r.removing("receiptHash", "signature")).canonicalBytes().count
                    signedHashLengths = [task, task, input, input]
                        + Array(repeating: proofUnsigned, count: assurance.needed) + [result, writes, proofBytes, receiptBytes]
                    let checked = 2 * partial.entries.count + rows.treeRows.count
                    let nextRoot = 2 * accepted.stateWrites.entries.count + rows.treeRows.count
                    proofHashes = checked + nextRoot
                    if let rawPort {
                        let plan = RawDelegationPlan(
                            task: report.task.canonicalBytes, rows: rows,
                            offerBytes: TaskOffer(task: report.task, executors: report.asked).envelopeBytes.count,
                            resultBytes: Envelope.canonicalBytes(type: .computeResult, payload: accepted.canonicalBytes).count,
                            taskHashLengths: [task, input], checkHashLengths: [task, input] + Array(repeating: 65, count: checked),
                            runHashLengths: [result, writes], proofUnsignedBytes: proofUnsigned,
                            judgeHashLengths: Array(repeating: 65, count: nextRoot) + [result, writes, proofBytes],
                            receiptBytes: receiptBytes)
                        let s0 = DispatchTime.now().uptimeNanoseconds
                        rawDelegation = try RawRequester(plan: plan, port: rawPort, storePath: "\(workdir)/raw-delegation-\(identity.publicKey.hex.prefix(8)).sqlite",
                                                         warmup: warmup)
                        paused += DispatchTime.now().uptimeNanoseconds - s0  // its set-up and warm-up: not the row's time
                    }
                }
                if let rawWriter, let rawRows {
                    // A pause as long as the delegation before the raw transaction: its fsync
                    // then follows the delegation's as the delegation's follows the previous raw
                    // one. Straight after another fsync, ext4 makes it wait for that one's
                    // journal commit (measured here: 4.0 ms against 2.9 ms on a busy disk), which
                    // would make the floor look higher than it is.
                    let pause = min(t1 - t0, 5_000_000)
                    usleep(UInt32(pause / 1000))
                    paused += pause
                    var r0 = DispatchTime.now().uptimeNanoseconds
                    try rawWriter.commit(rawRows, index: Int64(rawCommit.count))
                    rawCommit.append(DispatchTime.now().uptimeNanoseconds - r0)
                    if !rawRows.treeRows.isEmpty {  // what the next task's build reads (v2)
                        r0 = DispatchTime.now().uptimeNanoseconds
                        try rawWriter.readTaskState(rawRows)
                        rawRead.append(DispatchTime.now().uptimeNanoseconds - r0)
                    }
                }
            }
        }
        let timedEnd = DispatchTime.now().uptimeNanoseconds
        rawDelegation = nil  // tells the raw executor it is done
        let outside: UInt64 = rawCommit.reduce(0, +) + rawRead.reduce(0, +) + rawTotal.reduce(0, +) + paused
        let elapsed = Double(timedEnd - timedStart - outside) / 1e9
        let ed25519 = RawFloor.ed25519(rounds: 300)
        let sha256 = RawFloor.sha256(rounds: 300)
        let signedHashes = RawFloor.sha256(lengths: signedHashLengths, rounds: 300)
        samples.sort()
        let rawSorted = rawTotal.sorted()
        func us(_ ns: UInt64) -> Double { Double(ns / 100) / 10 }
        let ratios = pairs.map { Double($0.ours) / Double(max($0.raw, 1)) }.sorted()
        let pairRatio = ratios.isEmpty ? 0 : (ratios[ratios.count / 2] * 1000).rounded() / 1000
        let rawP99 = rawSorted.isEmpty ? 0 : rawSorted[min(rawSorted.count - 1, rawSorted.count * 99 / 100)]
        func pick(_ a: [Double], _ q: Double) -> Double { a.isEmpty ? 0 : a[min(a.count - 1, Int(Double(a.count) * q))] }
        let mean = samples.isEmpty ? 0 : samples.reduce(0, +) / Double(samples.count)
        let doc = JSON.object(JSONObject(uniqueMembers: [
            .init("count", .number(Double(samples.count))),
            .init("executors", .number(Double(executors))),
            .init("failures", .number(Double(failures))),
            .init("meanUs", .number((mean * 10).rounded() / 10)),
            .init("mode", .string(assurance.label)),
            .init("needed", .number(Double(assurance.needed))),
            .init("p50Us", .number((pick(samples, 0.5) * 10).rounded() / 10)),
            .init("p99Us", .number((pick(samples, 0.99) * 10).rounded() / 10)),
            .init("proofHashes", .number(Double(proofHashes))),
            .init("signedHashBytes", .number(Double(signedHashLengths.reduce(0, +)))),
            .init("signedHashes", .number(Double(signedHashLengths.count))),
            .init("rawCommitP50Us", .number(us(RawFloor.median(rawCommit)))),
            .init("rawDelegationCount", .number(Double(rawTotal.count))),
            .init("rawDelegationP50Us", .number(us(RawFloor.median(rawTotal)))),
            .init("rawDelegationP99Us", .number(us(rawP99))),
            .init("rawDelegationTransactionP50Us", .number(us(RawFloor.median(rawTransaction)))),
            // By position: the p50 of each kind when it came first and when it came second, and
            // the median of the per-iteration ratios (dde over raw).
            .init("rawDelegationFirstP50Us", .number(us(RawFloor.median(pairs.filter { $0.rawFirst }.map(\.raw))))),
            .init("rawDelegationSecondP50Us", .number(us(RawFloor.median(pairs.filter { !$0.rawFirst }.map(\.raw))))),
            .init("ddeFirstP50Us", .number(us(RawFloor.median(pairs.filter { !$0.rawFirst }.map(\.ours))))),
            .init("ddeSecondP50Us", .number(us(RawFloor.median(pairs.filter { $0.rawFirst }.map(\.ours))))),
            .init("pairRatioP50", .number(pairRatio)),
            .init("rawReadP50Us", .number(us(RawFloor.median(rawRead)))),
            .init("rawSha256Us", .number(Double(sha256 / 10) / 100)),
            .init("rawSignedHashesUs", .number(Double(signedHashes / 10) / 100)),
            .init("rawSignUs", .number(us(ed25519.signNs))),
            .init("rawVerifyUs", .number(us(ed25519.verifyNs))),
            .init("tasksPerSecond", .number((Double(samples.count) / elapsed * 10).rounded() / 10)),
        ]))
        print(String(decoding: doc.canonicalBytes(), as: UTF8.self))
    }
}

struct RawExecute: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raw-execute",
        abstract: "The protocol floor as a delegation: the raw executor that `delegate --raw-port` delegates to (RawDelegation.swift).")

    @Option(help: "The broker's port on 127.0.0.1.") var port: Int
    @Option(help: "The counter module (.wat): the task the plan names runs in dde's sandbox.") var code: String
    @Option(help: "Exit after this many seconds without a plan or an offer.") var idleExit: Int = 120

    func run() throws {
        try exiting("raw-execute") { () throws(DDEError) in
            guard idleExit >= 1, idleExit <= 3600 else { throw DDEError(.argument, "--idle-exit 1..3600") }
            guard let text = try? String(contentsOfFile: code, encoding: .utf8) else { throw DDEError(.io, "cannot read module \(code)") }
            try RawExecutor.serve(port: port, module: try CodeStore.compile(wat: text), idleSeconds: idleExit)
        }
    }
}
