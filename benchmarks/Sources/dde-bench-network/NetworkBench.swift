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
        abstract: "Time delegations of the counter dApp over MQTT (benchmarks/network.sh).")

    @Option(help: "MQTT broker URL.") var broker: String
    @Option(help: "Executors to wait for and ask (fanout).") var executors: Int = 1
    @Option(help: "Timed delegations.") var count: Int = 200
    @Option(help: "Untimed delegations first.") var warmup: Int = 20
    @Option(help: "first_valid or quorum.") var mode: String = "first_valid"
    @Option(help: "Quorum size (with --mode quorum).") var k: Int = 2
    @Option(help: "The counter module (.wat).") var code: String
    @Option(help: "Folder for the requester's store.") var workdir: String

    func run() throws {
        do throws(DDEError) {
            try bench()
        } catch {
            FileHandle.standardError.write(Data("dde-bench-network: \(error.message)\n".utf8))
            throw ExitCode(error.status.rawValue)
        }
    }

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
        let store = try Store(path: "\(workdir)/bench-\(identity.publicKey.hex.prefix(8)).sqlite")
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
        // delegation one raw SQLite transaction writing the rows its commit wrote (the same
        // file system, the same moment's disk), and Ed25519 through libsodium at the end.
        var rawWriter: RawSQLiteWriter? = nil
        var rawRows: RawCommitRows? = nil
        var rawCommit: [UInt64] = []
        defer { rawWriter?.close() }
        var timedStart = DispatchTime.now().uptimeNanoseconds
        for i in 0..<(warmup + count) {
            if i == warmup { timedStart = DispatchTime.now().uptimeNanoseconds }
            let spec = TaskSpec(dappId: "counter", dappCodeHash: hash, action: "increment", payload: .object(JSONObject()),
                                requiredCapabilities: ["state.read", "state.write"],
                                timestamp: UInt64(Date().timeIntervalSince1970 * 1000))
            let t0 = DispatchTime.now().uptimeNanoseconds
            let report = try delegator.delegate(spec, options: options)
            let t1 = DispatchTime.now().uptimeNanoseconds
            guard report.receipt != nil, let accepted = report.accepted else {
                failures += 1
                continue
            }
            if i >= warmup {
                samples.append(Double(t1 - t0) / 1000)
                if rawWriter == nil, let receipt = report.receipt {
                    rawWriter = try RawSQLiteWriter(path: "\(workdir)/raw-floor-\(identity.publicKey.hex.prefix(8)).sqlite")
                    rawRows = RawCommitRows(receipt: receipt, task: report.task, result: accepted,
                                            executorKey: accepted.proof.executorPublicKey.bytes)
                }
                if let rawWriter, let rawRows {
                    let r0 = DispatchTime.now().uptimeNanoseconds
                    try rawWriter.commit(rawRows, index: Int64(rawCommit.count))
                    rawCommit.append(DispatchTime.now().uptimeNanoseconds - r0)
                }
            }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - timedStart - rawCommit.reduce(0, +)) / 1e9
        let ed25519 = RawFloor.ed25519(rounds: 300)
        samples.sort()
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
            .init("rawCommitP50Us", .number(Double(RawFloor.median(rawCommit) / 100) / 10)),
            .init("rawSignUs", .number(Double(ed25519.signNs / 100) / 10)),
            .init("rawVerifyUs", .number(Double(ed25519.verifyNs / 100) / 10)),
            .init("tasksPerSecond", .number((Double(samples.count) / elapsed * 10).rounded() / 10)),
        ]))
        print(String(decoding: doc.canonicalBytes(), as: UTF8.self))
    }
}
