// One delegated task, as a pure state machine (docs/PROTOCOL.md section 11): results and errors
// arrive one at a time with the time the requester received them; the session verifies each,
// decides (first_valid, quorum k, audited), and says whom to score, whom else to ask and what to
// keep as evidence. It touches no store, no clock and no random source (the audit draw is given
// to it), so tests drive it with hand-built proofs and any times.
//
// Only what an executor signed moves its score: a proof whose signature does not verify, or
// whose attached result or writes do not hash to what its valid signature covers (check 7), is
// no answer from anyone (a relay can attach other bytes to a genuine proof).

/// What the requester should do to its store, or on the network, because of the session.
public enum DelegationAction: Sendable {
    case success(PublicKey, latencyMs: UInt64)
    /// A signed wrong claim (checks 2-6, 8 on signed fields, or outvoted): may ban.
    case failure(PublicKey)
    case timeout(PublicKey)
    case evidence(Evidence)
    /// Another executor's signed proof confirmed this one's result.
    case validated(PublicKey)
    /// Proven a liar (outvoted where a pinned executor decided): blacklisted for good.
    case convict(PublicKey)
    /// Send the task to these executors too (an audit, or an escalation).
    case ask([PublicKey])
    /// Back to probation (validated = 0), nothing else: a trusted executor outvoted by a
    /// validated majority, or on one side of a disagreement nobody could resolve.
    case demote(PublicKey)
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
        /// Unparsable, the signature (of a proof or a compute_error) does not verify for the key
        /// it names, or the attached result or writes are not what the valid signature covers
        /// (check 7): nobody to blame, and the executor may still send its genuine answer.
        case unattributed
        /// A second message from an executor that already answered: ignored.
        case duplicate
        /// From an executor that was not asked: ignored.
        case unsolicited
        /// A compute_error the executor signed: a refusal, not scored.
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
        case accepted(VerifiedResult)
        case failed(DDEError)
    }

    public let task: ComputeTask
    public let mode: AssuranceMode
    /// The executors the task was sent to (audits and escalations add to it); empty: anyone may
    /// answer.
    public internal(set) var asked: [PublicKey]
    /// When the task was sent and when the session gives up (requester's clock, ms).
    public let sentAt: UInt64
    public let deadline: UInt64
    /// Check 10 of the verification.
    public let policy: VerifyPolicy
    /// Pinned executors, validated records and who else may be asked.
    public internal(set) var trust: TrustView
    /// The audit draw, uniform in [0, 1) from the requester's CSPRNG: the primary's answer is
    /// audited when it is below p(validated). Drawn before, used only after the answer arrived.
    let auditDraw: Double

    public private(set) var state: State = .pending
    public private(set) var events: [DelegationEvent] = []
    /// How the accepted result was assured (for the receipt).
    public private(set) var assurance = Assurance(how: .firstValid)
    var actions: [DelegationAction] = []
    /// Executors that sent a proof (first proof counts), and those that sent an error.
    var answered = Set<PublicKey>()
    var errored = Set<PublicKey>()
    /// Valid proofs not yet decided on, in arrival order (all of them in the audited mode).
    var held: [Held] = []
    var acceptedKey: AgreementKey?
    /// The proof committed, for evidence against later dissenters, and what its group's win
    /// proves about them.
    var acceptedProof: ExecutionProof?
    var win = Win.plain
    /// Audited mode: an audit was asked for, proofs disagreed, executors asked beyond the first.
    var auditAsked = false
    var escalated = false
    var extraAsked = 0
    /// The time of the latest input (for evidence records made by a decision).
    var lastSeen: UInt64 = 0
    private var expired = false
    private let strongKnown: Bool

    /// What a decision proves about the valid proofs it outvoted.
    enum Win: Sendable {
        /// Nothing beyond "they disagree" (first_valid, a quorum, a bootstrap majority, an
        /// agreement): fresh dissenters fail; strong ones keep their record.
        case plain
        /// Two or more validated executors, more than any other group: the result is committed,
        /// strong dissenters go back to probation and fresh ones fail, but nobody is convicted.
        /// Validation is earned by patience (ceil(c) honest answers per key), so a majority of
        /// validated keys may be one attacker's; only re-execution or a pinned executor proves.
        case validatedMajority
        /// A pinned executor (the caller's own machine) stood behind the result: dissenters are
        /// convicted for good.
        case pinned
    }

    struct Held: Sendable {
        var verified: VerifiedResult
        var result: ComputeResult { verified.result }
        var bytes: [UInt8]
        var latency: UInt64
        var eventIndex: Int
        var executor: PublicKey { result.proof.executorPublicKey }
    }

    /// The four fields a quorum agrees on: what deterministic execution fixes (one definition
    /// with the evidence's outcome).
    typealias AgreementKey = EvidenceDocument.Outcome

    public init(task: ComputeTask, mode: AssuranceMode, asked: [PublicKey], sentAt: UInt64, deadline: UInt64,
                policy: VerifyPolicy = .acceptAll, trust: TrustView = TrustView(), auditDraw: Double = 0) {
        self.task = task
        self.mode = mode
        self.asked = asked
        self.sentAt = sentAt
        self.deadline = deadline
        self.policy = policy
        self.auditDraw = auditDraw
        // From the local view, not self.trust: reading self before every field is set made the
        // compiler copy the whole session (5.8 KB of code on aarch64).
        var view = trust
        if case .audited(let p) = mode { view.policy = p }
        self.trust = view
        strongKnown = asked.contains { view.isStrong($0) } || view.reserve.contains { view.isStrong($0) }
    }

    public var isDecided: Bool {
        if case .pending = state { return false }
        return true
    }

    /// The accepted result, if any.
    public var accepted: ComputeResult? { verified?.result }

    /// The accepted result as the Verifier passed it: what the store commits.
    public var verified: VerifiedResult? {
        if case .accepted(let r) = state { return r }
        return nil
    }

    /// Whether every asked executor has answered (a proof or an error): nothing more to wait for.
    public var everyoneAnswered: Bool {
        !asked.isEmpty && asked.allSatisfy { answered.contains($0) || errored.contains($0) }
    }

    var waiting: Int { asked.filter { !answered.contains($0) && !errored.contains($0) }.count }

    /// The actions accumulated since the last call (apply them in order).
    public mutating func takeActions() -> [DelegationAction] {
        let out = actions
        actions = []
        return out
    }

    // MARK: input

    /// A compute_result payload received at `now`.
    public mutating func receive(result payload: JSON, at now: UInt64) {
        let result: ComputeResult
        do throws(DDEError) {
            result = try ComputeResult(json: payload)
        } catch {
            lastSeen = now
            events.append(DelegationEvent(kind: .unattributed, executor: nil, latencyMs: now > sentAt ? now - sentAt : 0,
                                          status: error.status, detail: error.detail))
            return
        }
        receive(result, at: now)
    }

    /// A compute_result the direct reader read (`ComputeResult.readPlain(envelope:)`), received at
    /// `now`: the hashes it took from the input and the canonical bytes, when it has them, are not
    /// computed again.
    mutating func receive(plain: FastComputeResult, at now: UInt64) {
        receive(plain.result, proofSignedHash: plain.proofSignedHash, resultHash: plain.resultHash,
                stateWritesHash: plain.stateWritesHash, bytes: plain.canonicalBytes, proofRange: plain.proofRange, at: now)
    }

    /// `proofSignedHash`, `resultHash`, `stateWritesHash`: H(proof without signature), H(result)
    /// and H(stateWrites) of `result` when the reader has them; `bytes`: its canonical bytes, and
    /// `proofRange` where the proof's lie in them.
    private mutating func receive(_ result: ComputeResult, proofSignedHash: Digest? = nil, resultHash: Digest? = nil,
                                  stateWritesHash: Digest? = nil, bytes: [UInt8]? = nil, proofRange: Range<Int>? = nil,
                                  at now: UInt64) {
        lastSeen = now
        let latency = now > sentAt ? now - sentAt : 0
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
        let proof = result.proof
        guard proof.executorPublicKey.isValidSignature(proof.signature, kind: .proof,
                                                       digest: proofSignedHash ?? proof.signedHash) else {
            events.append(DelegationEvent(kind: .unattributed, executor: executor, latencyMs: latency,
                                          status: .proofSignature,
                                          detail: "proof.signature does not verify for the key it names"))
            return
        }
        // Check 7 compares the signed hashes with the unsigned result and writes: anyone who read
        // a genuine proof can attach other bytes to it. That proves nothing about the signer, so
        // it is no answer at all (the executor's genuine answer may still come).
        let resultHash = resultHash ?? result.result.hash, writesHash = stateWritesHash ?? result.stateWrites.hash
        if resultHash != proof.resultHash || writesHash != proof.stateWritesHash {
            let which: Status = resultHash != proof.resultHash ? .resultHash : .writesHash
            events.append(DelegationEvent(kind: .unattributed, executor: executor, latencyMs: latency, status: which,
                                          detail: "the attached result or writes are not what the valid signature covers (check 7): altered in transit or by a relay; not held against the signer"))
            return
        }
        guard answered.insert(executor).inserted else {
            events.append(DelegationEvent(kind: .duplicate, executor: executor, latencyMs: latency,
                                          detail: "this executor already answered"))
            return
        }
        // The canonical bytes: what the store commits, or evidence if another proof outvotes
        // this one later.
        let bytes = bytes ?? result.canonicalBytes
        let verified: VerifiedResult
        do throws(DDEError) {
            // Check 9 passed just above; check 7 too (its hashes are not computed again).
            verified = try Verifier.verified(task: task, result: result, canonicalBytes: bytes, policy: policy,
                                             signatureVerified: true, resultHash: resultHash, stateWritesHash: writesHash,
                                             proofRange: proofRange)
        } catch {
            if error.status == .executorBanned || error.status == .executorBlacklisted {
                events.append(DelegationEvent(kind: .refused, executor: executor, latencyMs: latency,
                                              status: error.status, detail: error.detail))
            } else {
                // Checks 2-6 and 8: a claim the executor signed is wrong.
                events.append(DelegationEvent(kind: .invalid, executor: executor, latencyMs: latency,
                                              status: error.status, detail: error.detail, resultHash: result.resultHash))
                actions.append(.failure(executor))
                actions.append(.evidence(evidence(result.proof, bytes, error.status, error.detail, now, against: nil)))
            }
            afterAnswer()
            return
        }
        valid(Held(verified: verified, bytes: bytes, latency: latency, eventIndex: 0), at: now)
    }

    /// A compute_error received at `now`. Signed by the executor it names, it ends the wait for
    /// that executor (never scored: a refusal is no lie); one whose signature does not verify is
    /// no answer from anyone (a forged "busy" in an honest executor's name would end its turn and
    /// leave the decision to others).
    public mutating func receive(error message: ComputeErrorMessage, at now: UInt64) {
        lastSeen = now
        let latency = now > sentAt ? now - sentAt : 0
        let executor = message.executorPublicKey
        guard message.taskId == task.taskId, asked.isEmpty || asked.contains(executor) else {
            events.append(DelegationEvent(kind: .unsolicited, executor: executor, latencyMs: latency,
                                          status: message.code, detail: message.message))
            return
        }
        guard message.hasValidSignature else {
            events.append(DelegationEvent(kind: .unattributed, executor: executor, latencyMs: latency,
                                          status: .signature,
                                          detail: "compute_error \(message.code.nameString) whose signature does not verify for the key it names: ignored"))
            return
        }
        guard !answered.contains(executor), errored.insert(executor).inserted else {
            events.append(DelegationEvent(kind: .duplicate, executor: executor, latencyMs: latency,
                                          status: message.code, detail: message.message))
            return
        }
        events.append(DelegationEvent(kind: .error, executor: executor, latencyMs: latency,
                                      status: message.code, detail: message.message))
        afterAnswer()
    }

    /// The deadline passed (or the requester stops listening at `now`, `deadlineReached` false):
    /// asked executors silent so far are scored as timeouts only when the deadline was reached,
    /// and an undecided session fails.
    public mutating func expire(at now: UInt64, deadlineReached: Bool = true) {
        guard !expired else { return }
        expired = true
        lastSeen = now
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

    private mutating func afterAnswer() {
        if case .audited = mode { judgeAudited() } else { checkHopeless() }
    }

    private mutating func valid(_ h: Held, at now: UInt64) {
        var h = h
        let executor = h.executor
        let key = AgreementKey(h.result.proof)
        if let acceptedKey {
            // Decided already: a later proof agrees or not.
            if key == acceptedKey {
                events.append(DelegationEvent(kind: .agreed, executor: executor, latencyMs: h.latency, resultHash: h.result.resultHash))
                actions.append(.success(executor, latencyMs: h.latency))
                if confirms(executor, acceptedGroup: true) { actions.append(.validated(executor)) }
            } else if case .firstValid = mode {
                events.append(DelegationEvent(kind: .unresolved, executor: executor, latencyMs: h.latency,
                                              status: .resultMismatch, detail: "valid, but disagrees with the accepted proof (first_valid cannot tell who is right; use quorum or audited)",
                                              resultHash: h.result.resultHash))
            } else {
                events.append(DelegationEvent(kind: .disagreed, executor: executor, latencyMs: h.latency))
                outvoted(h, eventIndex: events.count - 1, at: now)
            }
            return
        }
        if case .failed = state {
            // Failed already (e.g. hopeless quorum): nothing to decide; the proof is not scored.
            events.append(DelegationEvent(kind: .unresolved, executor: executor, latencyMs: h.latency,
                                          detail: "valid, after the session had failed", resultHash: h.result.resultHash))
            return
        }
        events.append(DelegationEvent(kind: .unresolved, executor: executor, latencyMs: h.latency, resultHash: h.result.resultHash))
        h.eventIndex = events.count - 1
        held.append(h)
        if case .audited = mode {
            judgeAudited()
            return
        }
        let group = held.filter { AgreementKey($0.result.proof) == key }
        guard group.count >= mode.needed else {
            checkHopeless()
            return
        }
        // Decided: the first proof of the agreeing group is the one committed.
        let how: Assurance.How
        if case .quorum = mode { how = .quorum } else { how = .firstValid }
        accept(group, how: how, win: .plain, at: now)
    }

    /// Commits `group` (agreeing proofs; the first is committed): its members score successes,
    /// those confirmed by a strong executor are validated, and every other held proof is
    /// outvoted (quorum and audited modes) or left unresolved (first_valid).
    mutating func accept(_ group: [Held], how: Assurance.How, win: Win, at now: UInt64) {
        let key = AgreementKey(group[0].result.proof)
        acceptedKey = key
        acceptedProof = group[0].result.proof
        self.win = win
        state = .accepted(group[0].verified)
        let members = group.map { $0.executor }
        // Worth more when the agreement includes a strong executor: fresh identities agreeing
        // among themselves may be one attacker.
        let checked = how != .unaudited && how != .firstValid && how != .direct
        assurance = Assurance(how: how, confirmedBy: Array(members.dropFirst()),
                              validated: checked && members.contains { trust.isStrong($0) })
        for (i, member) in group.enumerated() {
            events[member.eventIndex].kind = i == 0 ? .accepted : .agreed
            actions.append(.success(member.executor, latencyMs: member.latency))
        }
        if members.count > 1 {
            for m in members where confirms(m, acceptedGroup: true) { actions.append(.validated(m)) }
        }
        let others = held.filter { AgreementKey($0.result.proof) != key }
        held = []
        if case .firstValid = mode { return }
        for other in others {
            events[other.eventIndex].kind = .disagreed
            outvoted(other, eventIndex: other.eventIndex, at: now)
        }
    }

    /// Whether `member`'s agreement with the accepted group validates it: another member is
    /// strong (pinned or trusted), or, in the audited mode, nobody the requester could ask is
    /// strong (bootstrap: agreement among fresh identities is all there is; the report says so).
    private func confirms(_ member: PublicKey, acceptedGroup: Bool) -> Bool {
        var members = [PublicKey]()
        if let acceptedProof { members.append(acceptedProof.executorPublicKey) }
        for e in events where e.kind == .agreed || e.kind == .accepted {
            if let k = e.executor, !members.contains(k) { members.append(k) }
        }
        if !members.contains(member) { members.append(member) }
        guard members.count > 1 else { return false }
        if members.contains(where: { $0 != member && trust.isStrong($0) }) { return true }
        // Bootstrap only in the audited mode, which knows every usable executor (asked and
        // reserve): elsewhere the session sees only those asked, and fresh identities agreeing
        // in a quorum must not earn the trust the audited mode relies on.
        guard case .audited = mode else { return false }
        return !anyStrongKnown
    }

    /// Whether any executor asked or in reserve is strong (set at the start: asking moves keys
    /// from the reserve to `asked`, which does not change it).
    var anyStrongKnown: Bool { strongKnown }

    /// A valid proof that disagrees with the accepted one: a signed wrong claim, kept as
    /// portable evidence beside the accepted proof; scored by what the win proves (`Win`).
    private mutating func outvoted(_ h: Held, eventIndex: Int, at now: UInt64) {
        let detail: ErrorDetail = "signed proof disagrees with the accepted result (\(mode.label)) on resultHash, nextStateRoot, stateWritesHash or executionTraceHash"
        events[eventIndex].kind = .disagreed
        events[eventIndex].status = .resultMismatch
        events[eventIndex].detail = detail.text
        events[eventIndex].resultHash = h.result.resultHash
        // Agreement that decided nothing (fresh keys in a quorum, a bootstrap majority) must not
        // get a validated executor banned, and only a pinned executor's word convicts.
        let strong = trust.isStrong(h.executor)
        var e = evidence(h.result.proof, h.bytes, .resultMismatch, detail.text, now, against: acceptedProof)
        switch win {
        case .plain:
            if !strong { actions.append(.failure(h.executor)) }
        case .validatedMajority:
            actions.append(strong ? .demote(h.executor) : .failure(h.executor))
        case .pinned:
            actions.append(.failure(h.executor))
            if case .audited(let p) = mode, p.convicts {
                e.convicted = true
                actions.append(.convict(h.executor))
            }
        }
        actions.append(.evidence(e))
    }

    /// Fails early when the executors still to answer cannot bring a decision.
    private mutating func checkHopeless() {
        guard case .pending = state, !asked.isEmpty else { return }
        var largest = 0
        for h in held {
            let k = AgreementKey(h.result.proof)
            largest = max(largest, held.filter { AgreementKey($0.result.proof) == k }.count)
        }
        if largest + waiting < mode.needed { fail() }
    }

    mutating func fail(_ error: DDEError? = nil) {
        if let error { state = .failed(error); return }
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
        case .audited:
            if held.isEmpty {
                state = .failed(DDEError(.noResult, "no valid proof for task \(task.taskId.hex) from the \(asked.count) executors asked"))
            } else if escalated {
                state = .failed(DDEError(.unresolved, "proofs for task \(task.taskId.hex) disagree and no validated majority decided among the \(asked.count) executors asked: nothing committed"))
            } else {
                state = .failed(DDEError(.noResult, "the proof for task \(task.taskId.hex) could not be confirmed (\(auditAsked ? "audit" : "replica") not answered in time): nothing committed"))
            }
        }
    }

    /// Evidence against `proof`: the stored record and, when another valid proof disagrees with
    /// it, the portable document (PROTOCOL.md section 12).
    func evidence(_ proof: ExecutionProof, _ bytes: [UInt8], _ status: Status, _ detail: String,
                  _ now: UInt64, against other: ExecutionProof?) -> Evidence {
        var e = Evidence(executorKey: proof.executorPublicKey, taskId: task.taskId, status: status, detail: detail,
                         taskJSON: task.canonicalBytes, resultJSON: bytes, recordedAt: Int64(clamping: now))
        if let other, let doc = try? EvidenceDocument(task: task, proofs: proof, other) {
            e.document = doc.canonicalBytes
        }
        return e
    }
}
