// Verification by the requester (PROTOCOL.md section 7): hashes and one signature check, never
// re-execution. A pure function of (task, result, policy): it reads nothing else and changes
// nothing, so it can run on any thread and be repeated at commit time.

/// Who the requester refuses to accept proofs from, whatever they prove (check 10).
public struct VerifyPolicy: Sendable {
    public var banned: Set<PublicKey>
    public var blacklisted: Set<PublicKey>

    public init(banned: Set<PublicKey> = [], blacklisted: Set<PublicKey> = []) {
        self.banned = banned
        self.blacklisted = blacklisted
    }

    /// Accepts every executor.
    public static let acceptAll = VerifyPolicy()
}

/// What a successful verification establishes, for the caller to commit or score.
public struct Verdict: Sendable {
    public let taskId: Digest
    public let executor: PublicKey
    public let resultHash: Digest
    public let nextStateRoot: Digest
    /// The accepted proof.
    public let proof: ExecutionProof
    /// H(proof) with its signature: how a receipt names the accepted proof. Computed when asked
    /// for: dde_verify does not need it, and it costs a serialisation and a hash.
    public var proofHash: Digest { proof.proofHash }
}

/// A compute_result that passed checks 1 to 10 against its task, with the policy of that moment.
/// Only the Verifier makes one (its initialiser is private to this file), so the store commits it
/// without verifying, serialising or hashing again; only check 10 is repeated at commit time,
/// against the scores of that moment.
public struct VerifiedResult: Sendable {
    public var task: ComputeTask { fields.task }
    public var result: ComputeResult { fields.result }
    public var verdict: Verdict { fields.verdict }
    /// The result's canonical bytes (what the store keeps), serialised once.
    public var resultBytes: [UInt8] { fields.resultBytes }
    /// H(proof) with its signature (`Verdict.proofHash`), hashed from the proof's canonical bytes
    /// (in `resultBytes`, or as serialised for them).
    public var proofHash: Digest { fields.proofHash }
    /// A v2 task's proven tree with the writes applied, as check 8 folded it to the proof's
    /// nextStateRoot (nil for v1): the nodes a commit writes.
    var applied: FoldedNode? { fields.applied }

    /// The fields, in one object: a session moves its verified results around (held, grouped,
    /// accepted, committed), and each copy of them inline was a copy of the task, two proofs and
    /// the tree (retains and memory moves, a visible share of judging an answer).
    private final class Fields: Sendable {
        let task: ComputeTask
        let result: ComputeResult
        let verdict: Verdict
        let resultBytes: [UInt8]
        let proofHash: Digest
        let applied: FoldedNode?

        init(task: ComputeTask, result: ComputeResult, verdict: Verdict, resultBytes: [UInt8], proofHash: Digest,
             applied: FoldedNode?) {
            self.task = task
            self.result = result
            self.verdict = verdict
            self.resultBytes = resultBytes
            self.proofHash = proofHash
            self.applied = applied
        }
    }

    private let fields: Fields

    fileprivate init(task: ComputeTask, result: ComputeResult, verdict: Verdict, resultBytes: [UInt8], proofHash: Digest,
                     applied: FoldedNode?) {
        fields = Fields(task: task, result: result, verdict: verdict, resultBytes: resultBytes, proofHash: proofHash,
                        applied: applied)
    }
}

public enum Verifier {
    /// Checks 2 to 10 on a parsed compute_result, as `verify(task:result:policy:)`, keeping the
    /// task and result for a commit (`Store.commit(_:identity:now:assurance:)`).
    public static func verified(task: ComputeTask, result: ComputeResult,
                                policy: VerifyPolicy = .acceptAll) throws(DDEError) -> VerifiedResult {
        try verified(task: task, result: result, canonicalBytes: nil, policy: policy, signatureVerified: false)
    }

    /// `canonicalBytes`: the result's canonical bytes when the caller has them already.
    /// `signatureVerified`: the caller checked check 9 on this very proof already (the session
    /// does, to know whom to blame), so the Ed25519 verification is not repeated.
    /// `resultHash`, `stateWritesHash`: H(result) and H(stateWrites) when the caller has them.
    /// `proofRange`: where the proof's canonical bytes lie in `canonicalBytes`, when the caller
    /// knows (the direct reader of a canonical input): H(proof) is hashed from there.
    static func verified(task: ComputeTask, result: ComputeResult, canonicalBytes: [UInt8]?, policy: VerifyPolicy,
                         signatureVerified: Bool, resultHash: Digest? = nil,
                         stateWritesHash: Digest? = nil, proofRange: Range<Int>? = nil) throws(DDEError) -> VerifiedResult {
        var applied: FoldedNode?
        let verdict = try verify(task: task, result: result, policy: policy, proofSignedHash: nil,
                                 stateWritesHash: stateWritesHash, resultHash: resultHash,
                                 signatureVerified: signatureVerified, applied: &applied)
        if let canonicalBytes, let proofRange, proofRange.upperBound <= canonicalBytes.count {
            let proofHash = canonicalBytes.withUnsafeBytes { SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[proofRange])) }
            return VerifiedResult(task: task, result: result, verdict: verdict, resultBytes: canonicalBytes,
                                  proofHash: proofHash, applied: applied)
        }
        let proofBytes = result.proof.canonicalBytes(signed: true)
        return VerifiedResult(task: task, result: result, verdict: verdict,
                              resultBytes: canonicalBytes ?? result.canonicalBytes(proofBytes: proofBytes),
                              proofHash: SHA256.hash(proofBytes), applied: applied)
    }

    /// Parses `resultBytes` as a compute_result (check 1) and verifies it against `task`.
    public static func verify(task: ComputeTask, resultBytes: UnsafeRawBufferPointer,
                              policy: VerifyPolicy = .acceptAll,
                              limits: JSONLimits = .default) throws(DDEError) -> Verdict {
        // The direct reader; when the bytes of the proof or the writes were canonical it has
        // hashed them already. Documents it does not handle take the generic parser.
        if let plain = ComputeResult.readPlain(resultBytes, limits: limits) {
            return try verify(task: task, result: plain.result, policy: policy,
                              proofSignedHash: plain.proofSignedHash, stateWritesHash: plain.stateWritesHash,
                              resultHash: plain.resultHash)
        }
        let result = try ComputeResult(json: try JSONParser.parse(resultBytes, limits: limits))
        return try verify(task: task, result: result, policy: policy)
    }

    /// The same for a byte array.
    public static func verify(task: ComputeTask, resultBytes: [UInt8], policy: VerifyPolicy = .acceptAll,
                              limits: JSONLimits = .default) throws(DDEError) -> Verdict {
        let verdict: Result<Verdict, DDEError> = resultBytes.withUnsafeBytes { b in
            do throws(DDEError) {
                return .success(try verify(task: task, resultBytes: b, policy: policy, limits: limits))
            } catch {
                return .failure(error)
            }
        }
        return try verdict.get()
    }

    /// Checks 2 to 10 on an already parsed (check 1) compute_result, in the protocol's order;
    /// the first failing check throws its own status.
    public static func verify(task: ComputeTask, result: ComputeResult,
                              policy: VerifyPolicy = .acceptAll) throws(DDEError) -> Verdict {
        try verify(task: task, result: result, policy: policy, proofSignedHash: nil, stateWritesHash: nil, resultHash: nil)
    }

    /// `proofSignedHash`, `stateWritesHash` and `resultHash`, when given, are H(proof without
    /// signature), H(stateWrites) and H(result) of `result`, computed by the reader from the input.
    /// `signatureVerified`: as for `verified`. `applied`: when given, set to check 8's folded tree
    /// (v2), which a commit writes; without it check 8 keeps no tree (a verification that commits
    /// nothing: the C API's, verifyChain's replay).
    static func verify(task: ComputeTask, result: ComputeResult, policy: VerifyPolicy, proofSignedHash: Digest?,
                       stateWritesHash: Digest?, resultHash: Digest?, signatureVerified: Bool = false,
                       applied: UnsafeMutablePointer<FoldedNode?>? = nil) throws(DDEError) -> Verdict {
        let proof = result.proof

        try checkTaskFields(task: task, proof: proof)
        // 7. The result and writes are the ones the proof commits to.
        guard (resultHash ?? result.result.hash) == proof.resultHash else {
            throw DDEError(.resultHash, "proof.resultHash is not H(result)")
        }
        guard (stateWritesHash ?? result.stateWrites.hash) == proof.stateWritesHash else {
            throw DDEError(.writesHash, "proof.stateWritesHash is not H(stateWrites)")
        }
        // 8. The state transition: from the task's root to the root after the writes. Writes
        // need the state.write capability used (and so declared): without this, an executor
        // could sign writes to a dApp whose task allows none (found by an independent executor
        // written from this page: Tests/Adversary).
        try checkPreviousRoot(task: task, proof: proof)
        if !result.stateWrites.isEmpty && !proof.capabilitiesUsed.contains(where: { sameScalars($0, "state.write") }) {
            throw DDEError(.capabilities, "the result writes state but proof.capabilitiesUsed lacks \"state.write\"")
        }
        let next: Digest
        if let partial = task.partialState {
            // v2: from the task's proof and the writes alone (section 6.2); every written key
            // must be one the task carries.
            do throws(DDEError) {
                if let applied {
                    let tree = try partial.applied(result.stateWrites)
                    next = tree.subtree.hash
                    applied.pointee = tree
                } else {
                    next = try partial.root(applying: result.stateWrites)
                }
            } catch {
                throw DDEError(.nextStateRoot, "the result writes state key \"\(error.detail)\", which the task does not carry")
            }
        } else {
            next = task.stateLeaves.root(applying: result.stateWrites)
        }
        guard proof.nextStateRoot == next else {
            throw DDEError(.nextStateRoot, "proof.nextStateRoot is not the root of the task state with stateWrites applied (expected \(next.hex))")
        }
        // 9. Signed by the executor it names.
        guard signatureVerified || proof.executorPublicKey.isValidSignature(proof.signature, kind: .proof,
                                                      digest: proofSignedHash ?? proof.signedHash) else {
            throw DDEError(.proofSignature, "proof.signature does not verify for executor \(proof.executorPublicKey.hex)")
        }
        try checkPolicy(proof.executorPublicKey, policy)
        return Verdict(taskId: task.taskId, executor: proof.executorPublicKey, resultHash: proof.resultHash,
                       nextStateRoot: proof.nextStateRoot, proof: proof)
    }

    /// Checks 2 to 6: the proof claims this task's id, dApp, action, code, input, capabilities, and
    /// stays within its limits. Every field involved is signed, so a failure here is a wrong claim
    /// of the signer's own (evidence on its own, PROTOCOL.md section 12).
    public static func checkTaskFields(task: ComputeTask, proof: ExecutionProof) throws(DDEError) {
        // 2. The proof is for this task.
        guard proof.taskId == task.taskId else {
            throw DDEError(.taskMismatch, "proof.taskId \(proof.taskId.hex) is not this task's id \(task.taskId.hex)")
        }
        guard sameScalars(proof.dappId, task.dappId) else {
            throw DDEError(.taskMismatch, "proof.dappId \"\(proof.dappId)\" is not the task's \"\(task.dappId)\"")
        }
        guard sameScalars(proof.action, task.intent.action) else {
            throw DDEError(.taskMismatch, "proof.action \"\(proof.action)\" is not the task's \"\(task.intent.action)\"")
        }
        // 3. The same code.
        guard proof.dappCodeHash == task.dappCodeHash else {
            throw DDEError(.codeHashMismatch, "proof.dappCodeHash differs from the task's")
        }
        // 4. The same input.
        guard proof.inputHash == task.inputHash else {
            throw DDEError(.inputHashMismatch, "proof.inputHash differs from the task's")
        }
        // 5. Capabilities: declared exactly as required; used within declared.
        guard proof.capabilitiesDeclared.elementsEqual(task.requiredCapabilities, by: sameScalars) else {
            throw DDEError(.capabilities, "proof.capabilitiesDeclared differs from the task's requiredCapabilities")
        }
        for used in proof.capabilitiesUsed where !proof.capabilitiesDeclared.contains(where: { sameScalars($0, used) }) {
            throw DDEError(.capabilities, "proof.capabilitiesUsed names \"\(used)\", which the task did not declare")
        }
        // 6. Within the task's limits.
        guard proof.traceLength <= task.limits.maxExecutionSteps else {
            throw DDEError(.stepsExceeded, "proof.traceLength \(proof.traceLength) > maxExecutionSteps \(task.limits.maxExecutionSteps)")
        }
        guard proof.fuelUsed <= task.limits.maxFuel else {
            throw DDEError(.fuelExceeded, "proof.fuelUsed \(proof.fuelUsed) > maxFuel \(task.limits.maxFuel)")
        }
    }

    /// Check 10: the requester does not refuse this executor.
    static func checkPolicy(_ executor: PublicKey, _ policy: VerifyPolicy) throws(DDEError) {
        if policy.blacklisted.contains(executor) {
            throw DDEError(.executorBlacklisted, "executor \(executor.hex) is blacklisted")
        }
        if policy.banned.contains(executor) {
            throw DDEError(.executorBanned, "executor \(executor.hex) is temporarily banned")
        }
    }

    /// Check 8's first half: the proof starts from the task's state root (signed on both sides).
    static func checkPreviousRoot(task: ComputeTask, proof: ExecutionProof) throws(DDEError) {
        guard proof.previousStateRoot == task.previousStateRoot else {
            throw DDEError(.previousStateRoot, "proof.previousStateRoot differs from the task's")
        }
    }
}
