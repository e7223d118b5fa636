// Where a delegation's time goes (benchmarks/network.sh, `dde bench-network --stages`): every
// step on the path of one counter-dApp delegation, run in one process without a broker, each
// timed on its own over many rounds. The end-to-end figure minus the MQTT floor minus the sum of
// these is what the transport and the thread hand-offs cost.
import DDE
import Dispatch
import Foundation
@_spi(Fuzzing) import WasmKit
import WasmParser

public struct StageTiming: Sendable {
    public let side: String
    public let name: String
    /// Median over the rounds, nanoseconds.
    public let p50Nanoseconds: UInt64
}

public enum StageBenchmark {
    /// `module` is the counter dApp; `workdir` holds the store and code folder (the store file
    /// lives on the same file system as in the end-to-end run, so fsync costs the same).
    public static func run(module: [UInt8], workdir: String, rounds: Int = 200) throws(DDEError) -> [StageTiming] {
        let requester = KeyPair.generate()
        let executor = KeyPair.generate()
        let tag = requester.publicKey.hex.prefix(8)
        let store = try Store(path: "\(workdir)/stages-\(tag).sqlite")
        defer { store.close() }
        let codeStore = try CodeStore(directory: URL(fileURLWithPath: "\(workdir)/stages-code-\(tag)"))
        let hash = try codeStore.add(module)
        let sandbox = Sandbox()
        let caps = ["state.read", "state.write"]

        var samples: [String: [UInt64]] = [:]
        var order: [(String, String)] = []
        func time<R>(_ side: String, _ name: String, _ body: () throws(DDEError) -> R) throws(DDEError) -> R {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let r = try body()
            let dt = DispatchTime.now().uptimeNanoseconds &- t0
            if samples[name] == nil { order.append((side, name)) }
            samples[name, default: []].append(dt)
            return r
        }

        for _ in 0..<max(1, rounds) {
            // Requester: the task from the stored state, signed; executors chosen; the offer.
            var spec = TaskSpec(dappId: "counter", dappCodeHash: hash, action: "increment", payload: .object(JSONObject()),
                                requiredCapabilities: caps, timestamp: UInt64(Date().timeIntervalSince1970 * 1000))
            let task = try time("requester", "read dApp state + create and sign task") { () throws(DDEError) -> ComputeTask in
                var current = StateMap()
                for entry in try store.dappState(spec.dappId) { current.set(entry.key, entry.value) }
                spec.state = current
                return try ComputeTask.create(spec, requester: requester)
            }
            let now = UInt64(Date().timeIntervalSince1970 * 1000)
            let policy = try time("requester", "choose executor + policy (SQLite reads)") { () throws(DDEError) -> VerifyPolicy in
                _ = try store.reputation.routingOrder([executor.publicKey], now: Int64(now))
                _ = try store.reputation.get(executor.publicKey, now: Int64(now))
                return try store.reputation.policy(now: Int64(now))
            }
            let offerBytes = try time("requester", "encode offer envelope") {
                TaskOffer(task: task, executors: [executor.publicKey]).envelope.canonicalBytes
            }

            // Executor.
            let offer = try time("executor", "decode envelope + parse task (id, signature)") { () throws(DDEError) -> TaskOffer in
                try TaskOffer(json: try Envelope.decode(offerBytes).payload)
            }
            let request = try time("executor", "code lookup (read file + SHA-256)") { () throws(DDEError) -> ExecutionRequest in
                try Executor.request(for: offer.task, codeStore: codeStore)
            }
            _ = try time("executor", "ModuleCheck (own walk of the module)") { () throws(DDEError) -> ModuleInfo in
                try ModuleCheck.check(request.module, declared: caps, action: "increment")
            }
            _ = try time("executor", "WasmKit parseWasm") { () throws(DDEError) -> Bool in
                do { _ = try parseWasm(bytes: request.module, features: []) } catch { throw DDEError(.codeInvalid, "\(error)") }
                return true
            }
            _ = try time("executor", "sandbox.run, uncached (check + parse + instantiate + run)") { () throws(DDEError) -> ExecutionOutcome in
                try sandbox.run(request)
            }
            let cached = try time("executor", "code lookup, cached in the sandbox") { () throws(DDEError) -> ExecutionRequest in
                try Executor.request(for: offer.task, codeStore: codeStore, sandbox: sandbox)
            }
            _ = try time("executor", "WasmKit store + imports + instantiate (validate, compile)") { () throws(DDEError) -> Bool in
                let store = WasmKit.Store(engine: sandbox.engine)
                let host = HostCalls(request: cached, deadline: nil)
                var imports = Imports()
                for function in HostFunction.all {
                    imports.define(module: HostFunction.moduleName, name: function.name, host.function(function, store: store))
                }
                guard let module = cached.prepared?.module else { throw DDEError(.internalError, "the counter module was not cached") }
                do { _ = try module.instantiate(store: store, imports: imports) } catch { throw DDEError(.codeInvalid, "\(error)") }
                return true
            }
            _ = try time("executor", "sandbox.run, cached (task checks + instantiate + run)") { () throws(DDEError) -> ExecutionOutcome in
                try sandbox.run(cached)
            }
            let result = try time("executor", "Executor.execute, cached (lookup + run + proof + sign)") { () throws(DDEError) -> ComputeResult in
                try Executor.execute(task: offer.task, keyPair: executor, codeStore: codeStore, sandbox: sandbox)
            }
            let resultBytes = try time("executor", "encode result envelope") {
                Envelope(type: .computeResult, payload: result.json).canonicalBytes
            }

            // Requester again.
            let payload = try time("requester", "decode result envelope") { () throws(DDEError) -> JSON in
                try Envelope.decode(resultBytes).payload
            }
            var session = DelegationSession(task: task, mode: .firstValid, asked: [executor.publicKey], sentAt: now,
                                            deadline: now + 10_000, policy: policy)
            try time("requester", "session: parse result, signature, verify") { session.receive(result: payload, at: now + 1) }
            guard let accepted = session.accepted else {
                throw DDEError(.internalError, "stage benchmark: the result was not accepted: \(session.events.last?.detail ?? "")")
            }
            let actions = session.takeActions()
            try time("requester", "reputation.recordSuccess (own transaction)") { () throws(DDEError) in
                for case .success(let key, let latency) in actions {
                    try store.reputation.recordSuccess(key, latencyMs: Int64(latency), now: Int64(now))
                }
            }
            _ = try time("requester", "store.commit (verify again + transaction)") { () throws(DDEError) -> Receipt in
                try store.commit(task: task, result: accepted, identity: requester, now: now + 1)
            }
        }
        return order.map { side, name in
            let s = (samples[name] ?? []).sorted()
            return StageTiming(side: side, name: name, p50Nanoseconds: s.isEmpty ? 0 : s[s.count / 2])
        }
    }
}
