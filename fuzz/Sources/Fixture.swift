// Fixed keys and a fixed signed task, as in Tests/DDETests/Fixtures.swift: the result harness
// verifies fuzzed compute_results against `task`, and the seeds are built from these, so the
// committed corpus stays valid for as long as the protocol does (Ed25519 signing is
// deterministic: the same bytes every time).
@testable import DDE

enum Fixture {
    static func seed(_ n: UInt8) -> [UInt8] { [UInt8](repeating: n, count: 32) }
    static let requester = try! KeyPair.fromSeed(seed(1))
    static let executor = try! KeyPair.fromSeed(seed(2))
    static let other = try! KeyPair.fromSeed(seed(3))

    static let codeHash = SHA256.hash(Array("(module)".utf8))
    /// The clock of the harnesses that need one (the Delegator's).
    static let now: UInt64 = 1_764_000_000_000

    static func spec(state: StateMap? = StateMap(values: [Array("count".utf8): Array("41".utf8)])) -> TaskSpec {
        TaskSpec(dappId: "counter", dappCodeHash: codeHash, action: "increment",
                 payload: try! JSONParser.parse(#"{"by":1,"note":"é"}"#), raw: "count one more",
                 requiredCapabilities: ["state.write", "state.read"], state: state,
                 limits: ExecutionLimits(maxExecutionSteps: 10, maxFuel: 1000),
                 timestamp: 1_764_000_000_000)
    }

    static let task = try! ComputeTask.create(spec(), requester: requester)

    static let writes = StateWrites([Array("count".utf8): Array("42".utf8), Array("gone".utf8): nil])
    static let result: JSON = try! JSONParser.parse(#"{"count":42,"ok":true}"#)

    /// A valid proof for `task`, with `adjust` applied before signing.
    static func proof(for task: ComputeTask = task, result: JSON = result, writes: StateWrites = writes,
                      signer: KeyPair = executor, adjust: (inout ExecutionProof) -> Void = { _ in }) -> ExecutionProof {
        var p = ExecutionProof(
            taskId: task.taskId, dappId: task.dappId, dappCodeHash: task.dappCodeHash, action: task.intent.action,
            inputHash: task.inputHash, capabilitiesDeclared: task.requiredCapabilities,
            capabilitiesUsed: ["state.read", "state.write"], executionTraceHash: SHA256.hash(Array("trace".utf8)),
            traceLength: 3, fuelUsed: 500, resultHash: result.hash, previousStateRoot: task.previousStateRoot,
            nextStateRoot: nextRoot(task, writes), stateWritesHash: writes.hash,
            executorPublicKey: signer.publicKey, timestamp: 1_764_000_000_100)
        adjust(&p)
        p.signature = signer.sign(.proof, p.signedHash)
        return p
    }

    /// The root after `writes`: from a v2 task's proof, or of a v1 task's whole state.
    static func nextRoot(_ task: ComputeTask, _ writes: StateWrites) -> Digest {
        if let partial = task.partialState { return try! partial.root(applying: writes) }
        return task.stateOrEmpty.applying(writes).root
    }

    static func computeResult(proof: ExecutionProof = proof(), result: JSON = result,
                              writes: StateWrites = writes) -> ComputeResult {
        ComputeResult(proof: proof, result: result, stateWrites: writes, executionLatency: 7)
    }

    /// Builds everything once, before the first input (so the first input's timing is not the
    /// fixture's).
    static func prepare() {
        _ = task
        _ = proof()
    }
}
