// One delegated task, as a pure state machine (docs/PROTOCOL.md section 11): results and errors
// arrive one at a time with the time the requester received them; the session verifies each,
// decides (first_valid or quorum k), and says whom to score and what to keep as evidence. It
// touches no store and no clock, so tests drive it with hand-built proofs and any times.

/// How many agreeing proofs a task needs.
public enum AssuranceMode: Sendable, Equatable {
    /// Accept the first proof that verifies.
    case firstValid
    /// Accept when this many distinct executors' proofs agree on resultHash, nextStateRoot,
    /// stateWritesHash and executionTraceHash.
    case quorum(Int)

    /// Proofs needed.
    public var needed: Int {
        switch self {
        case .firstValid: return 1
        case .quorum(let k): return k < 1 ? 1 : k
        }
    }

    public var label: String {
        switch self {
        case .firstValid: return "first_valid"
        case .quorum(let k): return "quorum(\(k))"
        }
    }

    /// The mode a caller names: "first_valid", or "quorum" with `k` executors (1 to
    /// `TaskOffer.maxExecutors`, else `.argument`). nil for any other name: each caller says
    /// which of its fields was wrong.
    public static func named(_ name: String, quorum k: Int) throws(DDEError) -> AssuranceMode? {
        if sameScalars(name, "first_valid") { return .firstValid }
        guard sameScalars(name, "quorum") else { return nil }
        guard k >= 1, k <= TaskOffer.maxExecutors else {
            throw DDEError(.argument, "the quorum must be 1...\(TaskOffer.maxExecutors) executors, not \(k)")
        }
        return .quorum(k)
    }
}

/// What the requester should do to its store because of the session.
public enum DelegationAction: Sendable {
    case success(PublicKey, latencyMs: UInt64)
    case failure(PublicKey)
    case timeout(PublicKey)
    case evidence(Evidence)
}

/// One thing that happened in a session, for the report.
public struct DelegationEvent: Sendable {
    public enum Kind: Sendable, Equatable {
        /// The proof the session accepted (and the requester commits).
        case accepted
        /// Valid and agreeing with the accepted proof (a quorum member, or a later one).
        case agreed
        /// Valid, but disagreeing with another valid proof while no quorum decides who is right
        /// (first_valid, or a quorum that was not reached): not scored.
        case unresolved
        /// Valid, but outvoted by the quorum: kept as evidence, scored invalid.
        case disagreed
        /// Failed verification (checks 2-8): scored invalid.
        case invalid
        /// Refused by policy (banned or blacklisted, check 10): not scored again.
        case refused
        /// Unparsable, or the signature does not verify for the key it names: nobody to blame.
        case unattributed
        /// A second message from an executor that already answered: ignored.
        case duplicate
        /// From an executor that was not asked: ignored.
        case unsolicited
        /// A compute_error from the executor (unsigned: not scored).
        case error
        /// Asked, silent until the deadline: scored as a timeout.
        case timeout
    }

    public var kind: Kind
    public var executor: PublicKey?
    /// Requester-measured milliseconds from sending the task to receiving this message.
    public var latencyMs: UInt64
    public var status: Status
    public var detail: String
    public var resultHash: Digest?

    public init(kind: Kind, executor: PublicKey?, latencyMs: UInt64, status: Status = .ok, detail: String = "",
                resultHash: Digest? = nil) {
        self.kind = kind
        self.executor = executor
        self.latencyMs = latencyMs
        self.status = status
        self.detail = detail
        self.resultHash = resultHash
    }
}

public struct DelegationSession: Sendable {
    public enum State: Sendable {
        case pending
        case accepted(ComputeResult)
        case failed(DDEError)
    }

    public let task: ComputeTask
    public let mode: AssuranceMode
    /// The executors the task was sent to; empty: anyone may answer.
    public let asked: [PublicKey]
    /// When the task was sent and when the session gives up (requester's clock, ms).
    public let sentAt: UInt64
    public let deadline: UInt64
    /// Check 10 of the verification.
    public let policy: VerifyPolicy

    public private(set) var state: State = .pending
    public private(set) var events: [DelegationEvent] = []
    private var actions: [DelegationAction] = []
    /// Executors that sent a proof (first proof counts), and those that sent an error.
    private var answered = Set<PublicKey>()
    private var errored = Set<PublicKey>()
    /// Valid proofs not yet scored (a quorum still open), in arrival order.
    private var held: [(result: ComputeResult, bytes: [UInt8], latency: UInt64, eventIndex: Int)] = []
    private var acceptedKey: AgreementKey?
    private var expired = false

    /// The four fields a quorum agrees on.
    struct AgreementKey: Equatable, Sendable {
        var resultHash: Digest
        var nextStateRoot: Digest
        var stateWritesHash: Digest
        var executionTraceHash: Digest

        init(_ p: ExecutionProof) {
            resultHash = p.resultHash
            nextStateRoot = p.nextStateRoot
            stateWritesHash = p.stateWritesHash
            executionTraceHash = p.executionTraceHash
        }
    }

    public init(task: ComputeTask, mode: AssuranceMode, asked: [PublicKey], sentAt: UInt64, deadline: UInt64,
                policy: VerifyPolicy = .acceptAll) {
        self.task = task
        self.mode = mode
        self.asked = asked
        self.sentAt = sentAt
        self.deadline = deadline
        self.policy = policy
    }

    public var isDecided: Bool {
        if case .pending = state { return false }
        return true
    }

    /// The accepted result, if any.
    public var accepted: ComputeResult? {
        if case .accepted(let r) = state { return r }
        return nil
    }

    /// Whether every asked executor has answered (a proof or an error): nothing more to wait for.
    public var everyoneAnswered: Bool {
        !asked.isEmpty && asked.allSatisfy { answered.contains($0) || errored.contains($0) }
    }

    /// The actions accumulated since the last call (apply them in order).
    public mutating func takeActions() -> [DelegationAction] {
        let out = actions
        actions = []
        return out
    }

    // MARK: input

    /// A compute_result payload received at `now`.
    public mutating func receive(result payload: JSON, at now: UInt64) {
        let latency = now > sentAt ? now - sentAt : 0
        let result: ComputeResult
        do throws(DDEError) {
            result = try ComputeResult(json: payload)
        } catch {
            events.append(DelegationEvent(kind: .unattributed, executor: nil, latencyMs: latency,
                                          status: error.status, detail: error.detail))
            return
        }
        let executor = result.proof.executorPublicKey
        guard result.taskId == task.taskId else {
            events.append(DelegationEvent(kind: .unsolicited, executor: executor, latencyMs: latency,
                                          status: .taskMismatch, detail: "a result for another task (\(result.taskId.hex))"))
            return
        }
        guard asked.isEmpty || asked.contains(executor) else {
            events.append(DelegationEvent(kind: .unsolicited, executor: executor, latencyMs: latency,
                                          detail: "from an executor the task was not sent to"))
            return
        }
        // A signature that does not verify may name anyone: blaming the key it names would let
        // a third party ruin an honest executor's reputation.
        guard result.proof.hasValidSignature else {
            events.append(DelegationEvent(kind: .unattributed, executor: executor, latencyMs: latency,
                                          status: .proofSignature,
                                          detail: "proof.signature does not verify for the key it names"))
            return
        }
        guard answered.insert(executor).inserted else {
            events.append(DelegationEvent(kind: .duplicate, executor: executor, latencyMs: latency,
                                          detail: "this executor already answered"))
            return
        }
        // The canonical bytes are kept as evidence: a quorum may outvote this proof later.
        let bytes: [UInt8]
        if case .quorum = mode { bytes = payload.canonicalBytes() } else { bytes = [] }
        do throws(DDEError) {
            // Check 9 (the signature) passed just above.
            _ = try Verifier.verify(task: task, result: result, policy: policy, proofSignedHash: nil, stateWritesHash: nil,
                                    resultHash: nil, signatureVerified: true)
        } catch {
            let bytes = bytes.isEmpty ? payload.canonicalBytes() : bytes
            if error.status == .executorBanned || error.status == .executorBlacklisted {
                events.append(DelegationEvent(kind: .refused, executor: executor, latencyMs: latency,
                                              status: error.status, detail: error.detail))
            } else {
                events.append(DelegationEvent(kind: .invalid, executor: executor, latencyMs: latency,
                                              status: error.status, detail: error.detail, resultHash: result.resultHash))
                actions.append(.failure(executor))
                // Checks 7 concern the unsigned result and writes (alterable in transit); the
                // others are about what the executor signed: those are evidence.
                if error.status != .resultHash && error.status != .writesHash {
                    actions.append(.evidence(evidence(result, bytes, error.status, error.detail, now)))
                }
            }
            checkHopeless()
            return
        }
        valid(result, bytes: bytes, latency: latency, at: now)
    }

    /// A compute_error received at `now`. Unsigned, so never scored: it only stops the wait for
    /// that executor.
    public mutating func receive(error message: ComputeErrorMessage, at now: UInt64) {
        let latency = now > sentAt ? now - sentAt : 0
        let executor = message.executorPublicKey
        guard message.taskId == task.taskId, asked.isEmpty || asked.contains(executor) else {
            events.append(DelegationEvent(kind: .unsolicited, executor: executor, latencyMs: latency,
                                          status: message.code, detail: message.message))
            return
        }
        guard !answered.contains(executor), errored.insert(executor).inserted else {
            events.append(DelegationEvent(kind: .duplicate, executor: executor, latencyMs: latency,
                                          status: message.code, detail: message.message))
            return
        }
        events.append(DelegationEvent(kind: .error, executor: executor, latencyMs: latency,
                                      status: message.code, detail: message.message))
        checkHopeless()
    }

    /// The deadline passed (or the requester stops listening at `now`, `deadlineReached` false):
    /// asked executors silent so far are scored as timeouts only when the deadline was reached,
    /// and an undecided session fails.
    public mutating func expire(at now: UInt64, deadlineReached: Bool = true) {
        guard !expired else { return }
        expired = true
        if deadlineReached {
            for key in asked where !answered.contains(key) && !errored.contains(key) {
                events.append(DelegationEvent(kind: .timeout, executor: key, latencyMs: now > sentAt ? now - sentAt : 0,
                                              status: .timeout, detail: "no answer before the deadline"))
                actions.append(.timeout(key))
            }
        }
        if case .pending = state { fail() }
    }

    // MARK: deciding

    private mutating func valid(_ result: ComputeResult, bytes: [UInt8], latency: UInt64, at now: UInt64) {
        let executor = result.proof.executorPublicKey
        let key = AgreementKey(result.proof)
        if let acceptedKey {
            // Decided already: a later proof agrees or not.
            if key == acceptedKey {
                events.append(DelegationEvent(kind: .agreed, executor: executor, latencyMs: latency, resultHash: result.resultHash))
                actions.append(.success(executor, latencyMs: latency))
            } else if case .quorum(let k) = mode {
                disagreed(result, bytes, latency: latency, quorum: k, at: now)
            } else {
                events.append(DelegationEvent(kind: .unresolved, executor: executor, latencyMs: latency,
                                              status: .resultMismatch, detail: "valid, but disagrees with the accepted proof (first_valid cannot tell who is right; use quorum or audit)",
                                              resultHash: result.resultHash))
            }
            return
        }
        if case .failed = state {
            // Failed already (e.g. hopeless quorum): nothing to decide; the proof is not scored.
            events.append(DelegationEvent(kind: .unresolved, executor: executor, latencyMs: latency,
                                          detail: "valid, after the session had failed", resultHash: result.resultHash))
            return
        }
        events.append(DelegationEvent(kind: .unresolved, executor: executor, latencyMs: latency, resultHash: result.resultHash))
        held.append((result, bytes, latency, events.count - 1))
        let group = held.filter { AgreementKey($0.result.proof) == key }
        guard group.count >= mode.needed else {
            checkHopeless()
            return
        }
        // Decided: the first proof of the agreeing group is the one committed.
        acceptedKey = key
        state = .accepted(group[0].result)
        let others = held.filter { AgreementKey($0.result.proof) != key }
        for (i, member) in group.enumerated() {
            events[member.eventIndex].kind = i == 0 ? .accepted : .agreed
            actions.append(.success(member.result.proof.executorPublicKey, latencyMs: member.latency))
        }
        if case .quorum(let k) = mode {
            for other in others {
                events[other.eventIndex].kind = .disagreed
                events[other.eventIndex].status = .resultMismatch
                events[other.eventIndex].detail = disagreement(k)
                actions.append(.failure(other.result.proof.executorPublicKey))
                actions.append(.evidence(evidence(other.result, other.bytes, .resultMismatch, disagreement(k), now)))
            }
        }
        held = []
    }

    private mutating func disagreed(_ result: ComputeResult, _ bytes: [UInt8], latency: UInt64, quorum k: Int, at now: UInt64) {
        let executor = result.proof.executorPublicKey
        events.append(DelegationEvent(kind: .disagreed, executor: executor, latencyMs: latency, status: .resultMismatch,
                                      detail: disagreement(k), resultHash: result.resultHash))
        actions.append(.failure(executor))
        actions.append(.evidence(evidence(result, bytes, .resultMismatch, disagreement(k), now)))
    }

    private func disagreement(_ k: Int) -> String {
        "signed proof disagrees with the quorum of \(k) on resultHash, nextStateRoot, stateWritesHash or executionTraceHash"
    }

    /// Fails early when the executors still to answer cannot bring a decision.
    private mutating func checkHopeless() {
        guard case .pending = state, !asked.isEmpty else { return }
        let waiting = asked.filter { !answered.contains($0) && !errored.contains($0) }.count
        var largest = 0
        for h in held {
            let k = AgreementKey(h.result.proof)
            largest = max(largest, held.filter { AgreementKey($0.result.proof) == k }.count)
        }
        if largest + waiting < mode.needed { fail() }
    }

    private mutating func fail() {
        switch mode {
        case .firstValid:
            state = .failed(DDEError(.noResult, "no valid proof for task \(task.taskId.hex) from the \(asked.isEmpty ? "executors" : "\(asked.count) executors") asked"))
        case .quorum(let k):
            var largest = 0
            for h in held {
                let key = AgreementKey(h.result.proof)
                largest = max(largest, held.filter { AgreementKey($0.result.proof) == key }.count)
            }
            state = .failed(DDEError(.quorumNotReached, "quorum of \(k) not reached for task \(task.taskId.hex): at most \(largest) executors agreed"))
        }
    }

    private func evidence(_ result: ComputeResult, _ bytes: [UInt8], _ status: Status, _ detail: String,
                          _ now: UInt64) -> Evidence {
        Evidence(executorKey: result.proof.executorPublicKey, taskId: task.taskId, status: status, detail: detail,
                 taskJSON: task.canonicalBytes, resultJSON: bytes, recordedAt: Int64(clamping: now))
    }
}
