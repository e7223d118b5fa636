// Deliberately wrong executors, for tests and demos only: what the requester's defences
// (verification, quorum, audit) must catch.
import DDE

public enum Misbehaviour {
    /// The result made wrong: an object gets `"forged": true`, anything else is wrapped in one.
    public static func altered(_ result: JSON) -> JSON {
        if case .object(var o) = result {
            o["forged"] = .bool(true)
            return .object(o)
        }
        return .object(JSONObject(uniqueMembers: [.init("forged", result)]))
    }

    /// Alters the result after the proof was signed: check 7 (resultHash) refuses it.
    public static func forge(_ result: ComputeResult) -> ComputeResult {
        var r = result
        r.result = altered(r.result)
        return r
    }

    /// Signs a consistent but wrong result: it passes verification (a signature proves who, not
    /// what); only a quorum of honest executors or an audit by re-execution exposes it.
    public static func lie(_ result: ComputeResult, keyPair: KeyPair) -> ComputeResult {
        let wrong = altered(result.result)
        var proof = result.proof
        proof.resultHash = wrong.hash
        proof.sign(with: keyPair)
        return ComputeResult(proof: proof, result: wrong, stateWrites: result.stateWrites,
                             executionLatency: result.executionLatency)
    }
}
