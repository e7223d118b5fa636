// The delegating client (docs/PROTOCOL.md section 11) over any Transport: builds and signs the
// task from the store's current dApp state, picks executors by reputation among those that
// announced themselves, publishes the offer, pulls answers until the session decides or the
// deadline passes, commits the accepted result, scores everyone, and reports what happened.
// Single-threaded and pull-based: it runs inside the caller's loop.
import CDDE

/// How one task is delegated.
public struct DelegationOptions: Sendable {
    public var mode: AssuranceMode = .firstValid
    /// Executors asked (at least the quorum size).
    public var fanout: Int = 3
    /// Milliseconds from sending to giving up.
    public var deadlineMs: UInt64 = 10_000
    /// After a decision, keep listening this long (never past the deadline) for the other
    /// executors asked, so they are scored too (valid: success; outvoted or invalid: failure).
    public var lingerMs: UInt64 = 100
    /// A critical task is never sent to banned, blacklisted or unproven executors.
    public var critical: Bool = false
    /// For a critical task: fill up with unproven (never banned or blacklisted) executors when
    /// too few proven ones are known.
    public var allowFallback: Bool = false
    /// Fewer (decayed, rounded to whole) successful proofs than this make an executor unproven.
    public var provenAfterSuccesses: Double = 3
    /// Longest single wait on the transport (ms), so the deadline is checked often.
    public var pollMs: Int = 50

    public init(mode: AssuranceMode = .firstValid, fanout: Int = 3, deadlineMs: UInt64 = 10_000) {
        self.mode = mode
        self.fanout = fanout
        self.deadlineMs = deadlineMs
    }
}

/// What a delegation did: the task, whom it asked, every answer with its verdict and latency,
/// and the receipt (or why there is none).
public struct DelegationReport: Sendable {
    public var task: ComputeTask
    public var mode: AssuranceMode
    public var asked: [PublicKey]
    public var events: [DelegationEvent]
    public var accepted: ComputeResult?
    public var receipt: Receipt?
    public var failure: DDEError?
    /// Evidence ids stored during this delegation.
    public var evidenceIds: [Int64]

    /// The receipt, or the failure thrown.
    public func receiptOrThrow() throws(DDEError) -> Receipt {
        if let receipt { return receipt }
        throw failure ?? DDEError(.internalError, "delegation ended with neither a receipt nor a failure")
    }
}

public final class Delegator<T: Transport> {
    public let transport: T
    public let store: Store
    public let identity: KeyPair
    /// Unix milliseconds (injectable for tests; `cdde_now_ms()` by default).
    public let clock: () -> UInt64
    /// Executors known from presence messages (or added by hand), in order of first sight.
    public private(set) var executors: [Presence] = []
    /// Messages received that belong to no task in progress (late answers, other traffic).
    public private(set) var ignoredMessages = 0
    /// Called right after an offer is published, with the task and the executors asked, so a
    /// command line can say whom it waits for before the answers come in.
    public var onSent: ((ComputeTask, [PublicKey]) -> Void)?

    /// Subscribes to this requester's results and to executors' presence.
    public init(transport: T, store: Store, identity: KeyPair,
                clock: @escaping () -> UInt64 = { cdde_now_ms() }) throws(DDEError) {
        self.transport = transport
        self.store = store
        self.identity = identity
        self.clock = clock
        try transport.subscribe(Topic.results(requester: identity.publicKey))
        try transport.subscribe(Topic.allExecutors)
    }

    /// Adds (or replaces) an executor by hand, for links without presence messages.
    public func addExecutor(_ presence: Presence) {
        if let i = executors.firstIndex(where: { $0.executorPublicKey == presence.executorPublicKey }) {
            executors[i] = presence
        } else {
            executors.append(presence)
        }
    }

    /// Listens for `timeoutMs` to learn executors from presence messages (retained ones arrive
    /// right after subscribing). Returns how many executors are known.
    @discardableResult
    public func discover(timeoutMs: UInt64) throws(DDEError) -> Int {
        let end = clock() + timeoutMs
        while true {
            let now = clock()
            let wait = now >= end ? 0 : Int(min(end - now, 50))
            guard let m = try transport.receive(timeoutMs: wait) else {
                if now >= end { break }
                continue
            }
            handleOutside(m)
        }
        return executors.count
    }

    /// Publishes a module on `Topic.code(hash)` (retained), where executors fetch code by hash.
    /// `.limit` for a module over `CodeMessage.maxModuleBytes` (executors would drop it).
    @discardableResult
    public func publishCode(_ module: [UInt8]) throws(DDEError) -> Digest {
        guard module.count <= CodeMessage.maxModuleBytes else {
            throw DDEError(.limit, "the module is \(module.count) bytes, over the \(CodeMessage.maxModuleBytes)-byte module limit")
        }
        let code = CodeMessage(module: module)
        try transport.publish(topic: Topic.code(code.codeHash), payload: code.envelope.canonicalBytes, retain: true)
        return code.codeHash
    }

    /// Picks the executors for a task: those granting its capabilities, by routing order, never
    /// banned or blacklisted ones; for a critical task only proven ones unless fallback is
    /// allowed. Throws `.noExecutor` when too few fit.
    public func choose(for requiredCapabilities: [String], options: DelegationOptions, now: UInt64) throws(DDEError) -> [PublicKey] {
        let needed = options.mode.needed
        let fanout = max(options.fanout, needed)
        let fitting = executors.filter { $0.grants(requiredCapabilities) }.map { $0.executorPublicKey }
        let t = Int64(clamping: now)
        var usable: [PublicKey] = []
        var proven: [PublicKey] = []
        for key in try store.reputation.routingOrder(fitting, now: t) {
            let record = try store.reputation.get(key, now: t)
            if let record, record.isBanned(at: t) || record.isBlacklisted(store.reputation.config) { continue }
            usable.append(key)
            // Counts are decayed reals (two successes a second apart are 1.99999): as for the
            // blacklist, whole successes are what count.
            let successes = (record?.successfulProofs ?? 0).rounded(.toNearestOrAwayFromZero)
            if successes >= options.provenAfterSuccesses { proven.append(key) }
        }
        var chosen: [PublicKey]
        if options.critical {
            chosen = Array(proven.prefix(fanout))
            if chosen.count < fanout && options.allowFallback {
                for key in usable where chosen.count < fanout && !chosen.contains(key) { chosen.append(key) }
            }
        } else {
            chosen = Array(usable.prefix(fanout))
        }
        guard chosen.count >= needed else {
            let what = options.critical
                ? "\(proven.count) proven (>= \(options.provenAfterSuccesses) successes) of \(usable.count) usable"
                : "\(usable.count) usable (not banned or blacklisted)"
            throw DDEError(.noExecutor, "\(options.mode.label) needs \(needed) executors granting [\(requiredCapabilities.joined(separator: ", "))]; known: \(executors.count), \(what)\(options.critical && !options.allowFallback ? "; allow fallback or build reputation with non-critical tasks" : "")")
        }
        return chosen
    }

    /// Delegates one task: the spec's state is replaced by the store's current state of the
    /// dApp (so the receipt chain can take the result). Returns the report; a delegation that got
    /// no acceptable result has `failure` set (`.noResult`, `.quorumNotReached`) and a result that
    /// could not be committed has the commit's error. Throws for what stops it from starting:
    /// `.noExecutor`, task creation, the transport, the store.
    public func delegate(_ spec: TaskSpec, options: DelegationOptions = DelegationOptions()) throws(DDEError) -> DelegationReport {
        cdde_trace(CDDE_TRACE_DELEGATE_START)
        var spec = spec
        var current = StateMap()
        for entry in try store.dappState(spec.dappId) { current.set(entry.key, entry.value) }
        spec.state = current
        let task = try ComputeTask.create(spec, requester: identity)
        cdde_trace(CDDE_TRACE_TASK_SIGNED)
        let start = clock()
        let asked = try choose(for: task.requiredCapabilities, options: options, now: start)
        let policy = try store.reputation.policy(now: Int64(clamping: start))

        cdde_trace(CDDE_TRACE_OFFER_PUBLISH)
        try transport.publish(topic: Topic.tasks, payload: TaskOffer(task: task, executors: asked).envelope.canonicalBytes,
                              retain: false)
        onSent?(task, asked)
        let sentAt = clock()
        var session = DelegationSession(task: task, mode: options.mode, asked: asked, sentAt: sentAt,
                                        deadline: sentAt + options.deadlineMs, policy: policy)
        var report = DelegationReport(task: task, mode: options.mode, asked: asked, events: [], accepted: nil,
                                      receipt: nil, failure: nil, evidenceIds: [])
        var decidedAt: UInt64? = nil
        while true {
            let now = clock()
            if now >= session.deadline { session.expire(at: now); break }
            if let decidedAt, now >= decidedAt + options.lingerMs || session.everyoneAnswered {
                session.expire(at: now, deadlineReached: false)
                break
            }
            if decidedAt == nil, session.isDecided {
                decidedAt = now
                // Commit as soon as it is decided: the caller need not wait for the linger.
                try commit(&session, &report, at: now)
                continue
            }
            let limit = decidedAt.map { $0 + options.lingerMs } ?? session.deadline
            let wait = Int(min(limit > now ? limit - now : 0, UInt64(max(options.pollMs, 1))))
            guard let m = try transport.receive(timeoutMs: wait) else { continue }
            cdde_trace(CDDE_TRACE_ANSWER_TAKEN)
            route(m, into: &session, at: clock())
            cdde_trace(CDDE_TRACE_ANSWER_JUDGED)
            // Once decided, the scores go into the commit's transaction (one fsync, not two).
            if decidedAt != nil || !session.isDecided { try apply(session.takeActions(), &report) }
        }
        if decidedAt == nil, session.isDecided { try commit(&session, &report, at: clock()) }
        try apply(session.takeActions(), &report)
        cdde_trace(CDDE_TRACE_DELEGATE_END)
        report.events = session.events
        if case .failed(let error) = session.state, report.failure == nil { report.failure = error }
        return report
    }

    private func commit(_ session: inout DelegationSession, _ report: inout DelegationReport, at now: UInt64) throws(DDEError) {
        // Scores and receipt in one SQLite transaction: one durable commit (fsync) per delegation.
        // A refused commit (stale, duplicate: its savepoint rolls back; policy: refused before
        // writing anything) leaves the scores in place.
        try store.database.transaction { () throws(DDEError) in
            // Scores first: the commit re-checks the policy with them.
            try apply(session.takeActions(), &report)
            cdde_trace(CDDE_TRACE_SCORES_WRITTEN)
            guard let result = session.accepted else { return }
            report.accepted = result
            do throws(DDEError) {
                // The session verified the signature (check 9); the commit redoes the rest.
                report.receipt = try store.commit(task: session.task, result: result, identity: identity, now: now,
                                                  policy: nil, signatureVerified: true)
            } catch {
                if error.status == .store || error.status == .closed { throw error }
                report.failure = error
            }
        }
        cdde_trace(CDDE_TRACE_COMMIT_DURABLE)
    }

    private func apply(_ actions: [DelegationAction], _ report: inout DelegationReport) throws(DDEError) {
        let now = Int64(clamping: clock())
        for action in actions {
            switch action {
            case .success(let key, let latency):
                try store.reputation.recordSuccess(key, latencyMs: Int64(clamping: latency), now: now)
            case .failure(let key):
                try store.reputation.recordFailure(key, now: now)
            case .timeout(let key):
                try store.reputation.recordTimeout(key, now: now)
            case .evidence(let e):
                report.evidenceIds.append(try store.addEvidence(e))
            }
        }
    }

    private func route(_ m: Message, into session: inout DelegationSession, at now: UInt64) {
        guard sameScalars(m.topic, Topic.results(requester: identity.publicKey)) else {
            handleOutside(m)
            return
        }
        guard let envelope = try? Envelope.decode(m.payload) else {
            session.receive(result: .null, at: now)  // recorded as unattributed
            return
        }
        switch envelope.type {
        case .computeResult:
            if let id = taskId(of: envelope.payload), id != session.task.taskId {
                ignoredMessages += 1  // a late answer to an earlier task
                return
            }
            session.receive(result: envelope.payload, at: now)
        case .computeError:
            guard let e = try? ComputeErrorMessage(json: envelope.payload) else { ignoredMessages += 1; return }
            if e.taskId != session.task.taskId { ignoredMessages += 1; return }
            session.receive(error: e, at: now)
        default:
            ignoredMessages += 1
        }
    }

    private func taskId(of payload: JSON) -> Digest? {
        guard case .object(let o) = payload, case .string(let hex)? = o["taskId"] else { return nil }
        return try? Digest(hex: hex, field: "result.taskId")
    }

    /// Presence messages update the executor list; anything else is counted and dropped.
    private func handleOutside(_ m: Message) {
        guard m.topic.utf8.starts(with: "dde/v1/executors/".utf8) else { ignoredMessages += 1; return }
        if m.payload.isEmpty {
            executors.removeAll { sameScalars(Topic.executors($0.executorPublicKey), m.topic) }
            return
        }
        guard let envelope = try? Envelope.decode(m.payload), envelope.type == .presence,
              let presence = try? Presence(json: envelope.payload),
              sameScalars(Topic.executors(presence.executorPublicKey), m.topic) else {
            ignoredMessages += 1
            return
        }
        addExecutor(presence)
    }
}

extension DelegationReport {
    /// The report as JSON (what dde_client_delegate and `dde delegate --json` give):
    /// {"answers":[{"detail","executor","latencyMs","status","verdict"}],"asked":[pk],"evidenceIds":[…],
    ///  "failure":{"code","message"}|null,"mode","receipt":<receipt>|null,"result":<result>|null,"taskId"}.
    public var json: JSON {
        var answers: [JSON] = []
        for e in events {
            answers.append(.object(JSONObject(uniqueMembers: [
                .init("detail", .string(e.detail)),
                .init("executor", e.executor.map { .string($0.hex) } ?? .null),
                .init("latencyMs", .number(Double(e.latencyMs))),
                .init("status", .string(e.status.nameString)),
                .init("verdict", .string(e.kind.name)),
            ])))
        }
        return .object(JSONObject(uniqueMembers: [
            .init("answers", .array(answers)),
            .init("asked", .array(asked.map { .string($0.hex) })),
            .init("evidenceIds", .array(evidenceIds.map { .number(Double($0)) })),
            .init("failure", failure.map { f in .object(JSONObject(uniqueMembers: [
                .init("code", .string(f.status.nameString)), .init("message", .string(f.detail)),
            ])) } ?? .null),
            .init("mode", .string(mode.label)),
            .init("receipt", receipt.map { $0.json } ?? .null),
            .init("result", accepted.map { $0.result } ?? .null),
            .init("taskId", .string(task.taskId.hex)),
        ]))
    }
}

extension DelegationEvent.Kind {
    /// The verdict's name in reports: "accepted", "agreed", … "timeout".
    public var name: String {
        switch self {
        case .accepted: return "accepted"
        case .agreed: return "agreed"
        case .unresolved: return "unresolved"
        case .disagreed: return "disagreed"
        case .invalid: return "invalid"
        case .refused: return "refused"
        case .unattributed: return "unattributed"
        case .duplicate: return "duplicate"
        case .unsolicited: return "unsolicited"
        case .error: return "error"
        case .timeout: return "timeout"
        }
    }
}
