// Deliberately wrong executors, for tests, the demo and the simulation only: what the
// requester's defences (verification, quorum, audit) must catch. Not part of the executor: a
// node misbehaves only through its answer hook (`Behaviour.hook`, ExecutorNode.Config.answer).
import DDE

public enum Misbehaviour {
    /// The result made wrong: an object gets `"forged": tag`, anything else is wrapped as
    /// `{"forged": tag, "value": result}`. Distinct tags make liars disagree among themselves;
    /// one tag makes them collude.
    public static func altered(_ result: JSON, tag: JSON = .bool(true)) -> JSON {
        if case .object(var o) = result {
            o["forged"] = tag
            return .object(o)
        }
        return .object(JSONObject(uniqueMembers: [.init("forged", tag), .init("value", result)]))
    }

    /// Alters the result after the proof was signed: check 7 (resultHash) refuses it.
    public static func forge(_ result: ComputeResult) -> ComputeResult {
        var r = result
        r.result = altered(r.result)
        return r
    }

    /// Signs a consistent but wrong result: it passes verification (a signature proves who, not
    /// what); only a quorum of honest executors or an audit by re-execution exposes it. The
    /// writes and roots are the honest ones. `timestamp` and `executionLatency`, when given,
    /// replace the honest result's (the simulation's liars answer at their own time).
    public static func lie(_ result: ComputeResult, keyPair: KeyPair, tag: JSON = .bool(true),
                           timestamp: UInt64? = nil, executionLatency: UInt64? = nil) -> ComputeResult {
        let wrong = altered(result.result, tag: tag)
        var proof = result.proof
        proof.resultHash = wrong.hash
        if let timestamp { proof.timestamp = timestamp }
        proof.sign(with: keyPair)
        return ComputeResult(proof: proof, result: wrong, stateWrites: result.stateWrites,
                             executionLatency: executionLatency ?? result.executionLatency)
    }

    /// What a rational liar sends without running anything: a result of its own making, no
    /// writes (so nextStateRoot = previousStateRoot), a made-up trace, every hash consistent and
    /// the proof validly signed. It passes all ten checks; only a re-execution (quorum, audit)
    /// shows it is wrong.
    public static func fabricate(task: ComputeTask, keyPair: KeyPair, now: UInt64 = 0) -> ComputeResult {
        let wrong = JSON.object(JSONObject(uniqueMembers: [.init("forged", .bool(true)), .init("ok", .bool(true))]))
        let writes = StateWrites()
        var proof = ExecutionProof(
            taskId: task.taskId, dappId: task.dappId, dappCodeHash: task.dappCodeHash, action: task.intent.action,
            inputHash: task.inputHash, capabilitiesDeclared: task.requiredCapabilities, capabilitiesUsed: [],
            executionTraceHash: SHA256.hash(task.taskId.bytes + keyPair.publicKey.bytes), traceLength: 1, fuelUsed: 1,
            resultHash: wrong.hash, previousStateRoot: task.previousStateRoot, nextStateRoot: task.previousStateRoot,
            stateWritesHash: writes.hash, executorPublicKey: keyPair.publicKey, timestamp: now)
        proof.sign(with: keyPair)
        return ComputeResult(proof: proof, result: wrong, stateWrites: writes, executionLatency: 0)
    }
}
