// The cost of fuel metering on the compute-heavy example dApp: the same hashchain run with
// metering on (as every task runs) and off (no fuel bound: never used for tasks). Run by
// `dde-torture bench-executor` (benchmarks/executor.sh).
import DDE
@_spi(Benchmarks) import DDEExecutor
import Dispatch
import Foundation

public struct ExecutorBenchmarkReport: Sendable, CustomStringConvertible {
    public let n: Int
    public let repeats: Int
    /// Best-of-`repeats` wall clock of one whole run (check, instantiate, invoke), nanoseconds.
    public let meteredNanoseconds: UInt64
    public let unmeteredNanoseconds: UInt64
    public let fuelUsed: UInt64

    /// metered / unmetered.
    public var ratio: Double { Double(meteredNanoseconds) / Double(max(1, unmeteredNanoseconds)) }

    public var description: String {
        func ms(_ ns: UInt64) -> String {
            let tenths = (ns + 50_000) / 100_000
            return "\(tenths / 10).\(tenths % 10) ms"
        }
        return """
        hashchain n=\(n), best of \(repeats): fuel metering on \(ms(meteredNanoseconds)), off \(ms(unmeteredNanoseconds)), \
        ratio \(Double(Int(ratio * 1000)) / 1000); fuelUsed \(fuelUsed) (\(fuelUsed / UInt64(max(1, n))) per SHA-256 block)
        """
    }
}

public enum ExecutorBenchmark {
    /// Runs `examples/dapps/hashchain.wat` (pass its text) with N = `n`, metered and unmetered,
    /// and checks both give the same result.
    public static func run(hashchainWAT: String, n: Int = 4000, repeats: Int = 5) throws(DDEError) -> ExecutorBenchmarkReport {
        let module = try CodeStore.compile(wat: hashchainWAT)
        let request = ExecutionRequest(module: module, action: "run", input: Array(String(n).utf8), capabilities: [],
                                       limits: ExecutionLimits(maxFuel: maxSafeInteger))
        func best(_ sandbox: Sandbox) throws(DDEError) -> (UInt64, ExecutionOutcome) {
            var fastest = UInt64.max
            var last: ExecutionOutcome?
            for _ in 0..<max(1, repeats) {
                let start = DispatchTime.now().uptimeNanoseconds
                let outcome = try sandbox.run(request)
                fastest = min(fastest, DispatchTime.now().uptimeNanoseconds - start)
                last = outcome
            }
            guard let last else { throw DDEError(.internalError, "benchmark made no run") }
            return (fastest, last)
        }
        let (metered, a) = try best(Sandbox(fuelMetering: true))
        let (unmetered, b) = try best(Sandbox(fuelMetering: false))
        guard a.result == b.result else {
            throw DDEError(.internalError, "hashchain gave different results with and without fuel metering")
        }
        return ExecutorBenchmarkReport(n: n, repeats: repeats, meteredNanoseconds: metered,
                                       unmeteredNanoseconds: unmetered, fuelUsed: a.fuelUsed)
    }

    /// One task as an executor node runs it (`Executor.execute`: the sandbox run, the next root,
    /// the proof and its signature), in one sandbox that keeps the module: nanoseconds of the
    /// first run (the module read, checked, parsed and validated) and the median of the next
    /// `rounds` (the module kept, compiled lazily). The last result must pass the Verifier.
    public static func perTask(wat: String, action: String, capabilities: [String], state: [[UInt8]: [UInt8]],
                               payload: JSON, rounds: Int) throws(DDEError) -> (firstNs: UInt64, p50Ns: UInt64) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dde-bench-task-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let codeStore = try CodeStore(directory: folder)
        let hash = try codeStore.add(try CodeStore.compile(wat: wat))
        let requester = KeyPair.generate(), executor = KeyPair.generate()
        let task = try ComputeTask.create(TaskSpec(dappId: "bench", dappCodeHash: hash, action: action, payload: payload,
                                                   requiredCapabilities: capabilities, state: StateMap(values: state),
                                                   timestamp: 1_700_000_000_000), requester: requester)
        let sandbox = Sandbox()
        var times: [UInt64] = []
        var last: ComputeResult?
        for _ in 0...max(1, rounds) {
            let start = DispatchTime.now().uptimeNanoseconds
            last = try Executor.execute(task: task, keyPair: executor, codeStore: codeStore, sandbox: sandbox, now: 1_700_000_000_100)
            times.append(DispatchTime.now().uptimeNanoseconds - start)
        }
        // What was timed is a run a requester accepts.
        if let last { _ = try Verifier.verify(task: task, result: last) }
        let first = times.removeFirst()
        return (first, times.sorted()[times.count / 2])
    }
}
