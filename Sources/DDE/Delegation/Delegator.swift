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
    /// Executors the caller trusts (its own PC, an operator's machine): in the audited mode they
    /// audit and break ties first, and their word decides a disagreement.
    public var pinned: [PublicKey] = []
    /// Publish the portable evidence of every disagreement on `Topic.evidence` for other
    /// requesters (they check it before acting on it).
    public var shareEvidence: Bool = true
    /// Executors never asked for this task (the signers of evidence being checked).
    public var exclude: [PublicKey] = []

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
    /// How the accepted result was assured (also in the receipt).
    public var assurance: Assurance?
    /// Guarantees the mode could not give for this task, in words (empty: none missing). For
    /// example: no pinned or validated executor was known, so agreement among fresh identities
    /// (possibly one attacker's) was all there was.
    public var caveats: [String] = []

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
    /// 64 random bits for the audit draw and for ties among executors with equal records:
    /// libsodium's CSPRNG (a simulation injects a seeded generator to be reproducible).
    public let random: () -> UInt64
    /// Re-executes the task of an evidence document (host builds with an executor): the outcome,
    /// or nil when it cannot run it. Without it, evidence that needs re-execution is kept but
    /// acted on only when it is self-evident (PROTOCOL.md section 12).
    public var judge: ((EvidenceDocument) -> EvidenceDocument.Outcome?)?
    /// Evidence documents received from other requesters, and what came of each (the latest
    /// `maxPendingEvidence`).
    public private(set) var evidenceReceived: [(id: Digest, result: EvidenceOutcome)] = []
    /// Documents checked on arrival, waiting to be judged by `processEvidence`.
    private var pendingEvidence: [EvidenceDocument] = []

    /// Subscribes to this requester's results, executors' presence and shared evidence.
    public init(transport: T, store: Store, identity: KeyPair,
                clock: @escaping () -> UInt64 = { cdde_now_ms() },
                random: @escaping () -> UInt64 = { SecureRandom.next() }) throws(DDEError) {
        self.transport = transport
        self.store = store
        self.identity = identity
        self.clock = clock
        self.random = random
        try transport.subscribe(Topic.results(requester: identity.publicKey))
        try transport.subscribe(Topic.allExecutors)
        try transport.subscribe(Topic.evidence)
    }

    /// Adds (or replaces) an executor by hand, for links without presence messages.
    public func addExecutor(_ presence: Presence) {
        if let i = executors.firstIndex(where: { $0.executorPublicKey == presence.executorPublicKey }) {
            executors[i] = presence
        } else if executors.count < Delegator.maxExecutors {
            executors.append(presence)
        } else {
            ignoredMessages += 1  // presence is unsigned: a flood of made-up keys must not grow this
        }
    }

    /// Most executors kept from presence messages.
    public static var maxExecutors: Int { 4096 }
    /// Most evidence documents waiting for a judge, and outcomes remembered.
    public static var maxPendingEvidence: Int { 64 }

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
        try processEvidence()
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
        let fitting = executors.filter { $0.grants(requiredCapabilities) && !options.exclude.contains($0.executorPublicKey) }
            .map { $0.executorPublicKey }
        let t = Int64(clamping: now)
        var usable: [PublicKey] = []
        var proven: [PublicKey] = []
        let known = try store.reputation.records(fitting, now: t)
        for key in try store.reputation.routingOrder(fitting, now: t, random: random) {
            let record = known[key]
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
        let report = try run(spec, options: options, commits: true)
        try processEvidence()
        return report
    }

    /// One delegation of `spec` as given (its state included); the accepted result is committed
    /// only when `commits` (a check of someone else's evidence commits nothing).
    func run(_ spec: TaskSpec, options: DelegationOptions, commits: Bool) throws(DDEError) -> DelegationReport {
        let task = try ComputeTask.create(spec, requester: identity)
        cdde_trace(CDDE_TRACE_TASK_SIGNED)
        let start = clock()
        var asked: [PublicKey]
        var trust = TrustView()
        var caveats: [String] = []
        if case .audited(let audit) = options.mode {
            try audit.validate()
            (asked, trust, caveats) = try plan(for: task.requiredCapabilities, audit: audit, options: options, now: start)
        } else {
            asked = try choose(for: task.requiredCapabilities, options: options, now: start)
            trust = try trustView(of: asked, options: options, policy: AuditPolicy(), now: start)
        }
        // Check 10: only executors neither banned nor blacklisted are asked (choose, plan), and
        // answers from anyone else are ignored, so the session's policy at sending time is
        // empty; the commit checks the policy again, after this delegation's scores.
        let policy = VerifyPolicy()

        cdde_trace(CDDE_TRACE_OFFER_PUBLISH)
        try transport.publish(topic: Topic.tasks, payload: TaskOffer(task: task, executors: asked).envelope.canonicalBytes,
                              retain: false)
        onSent?(task, asked)
        let sentAt = clock()
        var session = DelegationSession(task: task, mode: options.mode, asked: asked, sentAt: sentAt,
                                        deadline: sentAt + options.deadlineMs, policy: policy, trust: trust,
                                        auditDraw: SecureRandom.unit(random()))
        var report = DelegationReport(task: task, mode: options.mode, asked: asked, events: [], accepted: nil,
                                      receipt: nil, failure: nil, evidenceIds: [])
        report.caveats = caveats
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
                try commit(&session, &report, at: now, options: options, commits: commits)
                continue
            }
            let limit = decidedAt.map { $0 + options.lingerMs } ?? session.deadline
            let wait = Int(min(limit > now ? limit - now : 0, UInt64(max(options.pollMs, 1))))
            guard let m = try transport.receive(timeoutMs: wait) else { continue }
            cdde_trace(CDDE_TRACE_ANSWER_TAKEN)
            route(m, into: &session, at: clock())
            cdde_trace(CDDE_TRACE_ANSWER_JUDGED)
            // Once decided, the scores go into the commit's transaction (one fsync, not two).
            if decidedAt != nil || !session.isDecided { try apply(session.takeActions(), &report, task: task, options: options) }
        }
        if decidedAt == nil, session.isDecided { try commit(&session, &report, at: clock(), options: options, commits: commits) }
        try apply(session.takeActions(), &report, task: task, options: options)
        cdde_trace(CDDE_TRACE_DELEGATE_END)
        report.events = session.events
        report.asked = session.asked
        if session.accepted != nil {
            report.assurance = session.assurance
            if case .audited = options.mode, session.assurance.how != .unaudited, !session.assurance.validated,
               report.caveats.isEmpty {
                report.caveats.append("no pinned or validated executor confirmed this result: it rests on agreement among executors this requester has not validated, which a Sybil attacker can fake")
            }
        }
        if case .failed(let error) = session.state, report.failure == nil { report.failure = error }
        return report
    }

    private func commit(_ session: inout DelegationSession, _ report: inout DelegationReport, at now: UInt64,
                        options: DelegationOptions, commits: Bool) throws(DDEError) {
        // Scores, evidence and receipt in one transaction: one durable commit (fsync) per
        // delegation. A refused commit (stale, duplicate, policy) leaves the scores in place.
        if let verified = session.verified { report.accepted = verified.result }
        try apply(session.takeActions(), &report, task: session.task, options: options,
                  committing: commits ? session.verified : nil, assurance: session.assurance)
        cdde_trace(CDDE_TRACE_COMMIT_DURABLE)
    }

    /// Sends what goes to the network (more offers, shared evidence) and hands the rest to the
    /// store in one transaction, with the accepted result to commit if any.
    private func apply(_ actions: [DelegationAction], _ report: inout DelegationReport, task: ComputeTask,
                       options: DelegationOptions, committing accepted: VerifiedResult? = nil,
                       assurance: Assurance = Assurance(how: .direct)) throws(DDEError) {
        var scores: [ReputationEvent] = []
        var evidence: [Evidence] = []
        for action in actions {
            switch action {
            case .success(let key, let latency): scores.append(.success(key, latencyMs: latency))
            case .failure(let key): scores.append(.failure(key))
            case .timeout(let key): scores.append(.timeout(key))
            case .validated(let key): scores.append(.validated(key))
            case .convict(let key): scores.append(.convict(key))
            case .demote(let key): scores.append(.demote(key))
            case .evidence(let e): evidence.append(e)
            case .ask(let keys):
                try transport.publish(topic: Topic.tasks, payload: TaskOffer(task: task, executors: keys).envelope.canonicalBytes,
                                      retain: false)
                onSent?(task, keys)
            }
        }
        let written = try store.record(scores: scores, evidence: evidence, accepted: accepted, assurance: assurance,
                                       identity: identity, now: clock())
        cdde_trace(CDDE_TRACE_SCORES_WRITTEN)
        report.evidenceIds += written.evidenceIds
        if let receipt = written.receipt { report.receipt = receipt }
        if let refused = written.refused { report.failure = refused }
        for e in evidence {
            // A requester that can re-execute judges its own disagreements too (after the
            // delegation, in processEvidence): that convicts the liar whoever outvoted whom.
            if !e.convicted, judge != nil, let bytes = e.document, pendingEvidence.count < Delegator.maxPendingEvidence,
               let doc = try? EvidenceDocument(bytes: bytes), !pendingEvidence.contains(where: { $0.id == doc.id }) {
                pendingEvidence.append(doc)
            }
            if options.shareEvidence, let document = e.document {
                // Best effort, after the store has it: a transport failure must not lose the
                // delegation's commit.
                try? transport.publish(topic: Topic.evidence,
                                       payload: Envelope(type: .evidence, payload: try JSONParser.parse(document)).canonicalBytes,
                                       retain: false)
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

    /// Presence messages update the executor list; shared evidence is checked (and acted on only
    /// once proven); anything else is counted and dropped.
    private func handleOutside(_ m: Message) {
        if sameScalars(m.topic, Topic.evidence) {
            guard let envelope = try? Envelope.decode(m.payload), envelope.type == .evidence else {
                ignoredMessages += 1
                return
            }
            // Checked now (signatures, one task, disagreement); judged later, outside any
            // delegation, and only when it concerns an executor this requester knows: anyone
            // can post documents about keys of their own making.
            guard let doc = try? EvidenceDocument(json: envelope.payload),
                  doc.signers.contains(where: { k in executors.contains { $0.executorPublicKey == k } }),
                  pendingEvidence.count < Delegator.maxPendingEvidence,
                  !pendingEvidence.contains(where: { $0.id == doc.id }) else {
                ignoredMessages += 1
                return
            }
            pendingEvidence.append(doc)
            return
        }
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

extension Delegator {
    /// Judges the evidence received since the last call (`receiveEvidence` on each): called at
    /// the end of `discover` and of `delegate`, never while a delegation waits for answers.
    public func processEvidence() throws(DDEError) {
        let docs = pendingEvidence
        pendingEvidence = []
        for doc in docs {
            let outcome = try receiveEvidence(doc)
            evidenceReceived.append((doc.id, outcome))
        }
        if evidenceReceived.count > Delegator.maxPendingEvidence {
            evidenceReceived.removeFirst(evidenceReceived.count - Delegator.maxPendingEvidence)
        }
    }

    /// Acts on a checked evidence document (its signatures and disagreement were checked when it
    /// was parsed): convicts the liars it names by itself (equivocation, signed fields) or by a
    /// re-execution through `judge`; otherwise keeps it unjudged and convicts nobody.
    @discardableResult
    public func receiveEvidence(_ doc: EvidenceDocument) throws(DDEError) -> EvidenceOutcome {
        let verdict = doc.selfEvidentVerdict ?? judge?(doc).map { doc.verdict(reexecuted: $0) }
        return try store.importEvidence(doc, verdict: verdict, now: Int64(clamping: clock()))
    }

    /// Checks a document and acts on it, asking the network when it must: a liar named by the
    /// document itself, or by `judge` (local re-execution), is convicted at once; otherwise the
    /// task is run again by executors this requester trusts (`judgeByExecutors`) and the liar
    /// is convicted only when a pinned executor confirmed the outcome. Else the document is kept
    /// unjudged.
    @discardableResult
    public func checkEvidence(_ doc: EvidenceDocument, options: DelegationOptions) throws(DDEError) -> EvidenceOutcome {
        var verdict = doc.selfEvidentVerdict ?? judge?(doc).map { doc.verdict(reexecuted: $0) }
        if verdict == nil { verdict = try judgeByExecutors(doc, options: options) }
        return try store.importEvidence(doc, verdict: verdict, now: Int64(clamping: clock()))
    }

    /// Has executors re-run the task of `doc`, neither of its signers among them: a copy of the
    /// task under this requester's key (execution depends only on the code, action, payload,
    /// state and limits, so the outcome is the same), delegated with `options` (the audited mode
    /// by default) and committed nowhere. The verdict, when a pinned executor stood behind the
    /// outcome; nil otherwise.
    public func judgeByExecutors(_ doc: EvidenceDocument, options: DelegationOptions) throws(DDEError) -> EvidenceDocument.Verdict? {
        let t = doc.task
        var o = options
        o.exclude += doc.signers
        o.shareEvidence = false
        // Every answer audited: one executor's word convicts nobody.
        var audit = AuditPolicy()
        if case .audited(let p) = o.mode { audit = p }
        audit.auditFloor = 1
        o.mode = .audited(audit)
        let spec = TaskSpec(dappId: t.dappId, dappCodeHash: t.dappCodeHash, action: t.intent.action, payload: t.intent.payload,
                            raw: t.intent.raw, requiredCapabilities: t.requiredCapabilities, state: t.state, limits: t.limits,
                            timestamp: clock())
        let report = try run(spec, options: o, commits: false)
        guard let accepted = report.accepted, let assurance = report.assurance else { return nil }
        // As in a delegation, only a pinned executor's word convicts: validated keys may all be
        // one patient attacker's (PROTOCOL.md section 11).
        for k in [accepted.proof.executorPublicKey] + assurance.confirmedBy where o.pinned.contains(k) {
            return doc.verdict(reexecuted: EvidenceDocument.Outcome(accepted.proof))
        }
        return nil
    }

    /// Plans an audited delegation: the primary, drawn at random among the usable executors that
    /// are not pinned (pinned ones audit); a replica when the primary is on probation (a strong
    /// one when there is one); the reserve for audits and escalations.
    func plan(for requiredCapabilities: [String], audit: AuditPolicy, options: DelegationOptions,
              now: UInt64) throws(DDEError) -> ([PublicKey], TrustView, [String]) {
        let t = Int64(clamping: now)
        var usable: [PublicKey] = []
        var seen = Set(options.exclude)
        // Pinned executors are usable without presence (presence is unsigned: a forged one must
        // not hide them); the others must have announced the capabilities.
        let candidates = options.pinned + executors.filter { $0.grants(requiredCapabilities) }.map { $0.executorPublicKey }
        let known = try store.reputation.records(candidates, now: t)
        for key in candidates where seen.insert(key).inserted {
            if let r = known[key], r.isBanned(at: t) || r.isBlacklisted(store.reputation.config) { continue }
            usable.append(key)
        }
        var trust = TrustView(pinned: Set(options.pinned), policy: audit)
        var pinned: [PublicKey] = [], strong: [PublicKey] = [], fresh: [PublicKey] = []
        for key in usable {
            let n = known[key]?.validated ?? 0
            if trust.pinned.contains(key) { pinned.append(key) } else if audit.isTrusted(validated: n) { strong.append(key) } else { fresh.append(key) }
        }
        let anyStrong = !pinned.isEmpty || !strong.isEmpty
        // The primary: uniform among the usable executors that are not pinned.
        let others = strong.count + fresh.count
        let primary: PublicKey
        if others > 0 {
            let i = Int(random() % UInt64(others))
            primary = i < strong.count ? strong.remove(at: i) : fresh.remove(at: i - strong.count)
        } else if !pinned.isEmpty {
            primary = pinned.remove(at: Int(random() % UInt64(pinned.count)))
        } else {
            throw DDEError(.noExecutor, "\(audit.label) needs an executor granting [\(requiredCapabilities.joined(separator: ", "))]; known: \(executors.count), none usable (not banned or blacklisted)")
        }
        // The reserve, in the order it is asked: pinned, then strong, then fresh, each a random
        // sample of what a session can use (a replica, an audit, the escalations).
        let room = audit.maxEscalation + 2
        var reserve = shuffled(pinned) + sample(strong, room) + sample(fresh, room)
        for key in [primary] + reserve { trust.validated[key] = known[key]?.validated ?? 0 }
        var asked = [primary]
        var caveats: [String] = []
        if !trust.isStrong(primary) {
            let i = reserve.firstIndex { trust.isStrong($0) } ?? (reserve.isEmpty ? nil : 0)
            guard let i else {
                throw DDEError(.noExecutor, "\(audit.label): executor \(primary.hex) is on probation (\(trust.validated[primary] ?? 0) of \(audit.validatedAfter) validated results) and no other usable executor can confirm it: nothing sent")
            }
            asked.append(reserve.remove(at: i))
        }
        if !anyStrong {
            caveats.append("no pinned or validated executor known: agreement among fresh identities decides, and a Sybil majority cannot be told from honest peers (pin an executor you run, or build a record first)")
        }
        trust.reserve = reserve
        return (asked, trust, caveats)
    }

    func trustView(of keys: [PublicKey], options: DelegationOptions, policy: AuditPolicy,
                   now: UInt64) throws(DDEError) -> TrustView {
        var view = TrustView(pinned: Set(options.pinned), policy: policy)
        let known = try store.reputation.records(keys, now: Int64(clamping: now))
        for key in keys { view.validated[key] = known[key]?.validated ?? 0 }
        return view
    }

    /// `count` keys drawn uniformly without replacement, in random order (a partial
    /// Fisher-Yates over the CSPRNG: O(count), not O(keys)).
    func sample(_ keys: [PublicKey], _ count: Int) -> [PublicKey] {
        var pool = keys
        let n = min(count, pool.count)
        for i in 0..<n {
            let j = i + Int(random() % UInt64(pool.count - i))
            pool.swapAt(i, j)
        }
        return Array(pool.prefix(n))
    }

    /// A uniformly random order (Fisher-Yates over the CSPRNG).
    func shuffled(_ keys: [PublicKey]) -> [PublicKey] {
        var out = keys
        var i = out.count
        while i > 1 {
            let j = Int(random() % UInt64(i))
            i -= 1
            out.swapAt(i, j)
        }
        return out
    }
}

extension DelegationReport {
    /// The report as JSON (what dde_client_delegate and `dde delegate --json` give):
    /// {"answers":[{"detail","executor","latencyMs","status","verdict"}],"asked":[pk],
    ///  "assurance":{"confirmedBy","how","validated"}|null,"caveats":[…],"evidenceIds":[…],
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
            .init("assurance", assurance.map { $0.json } ?? .null),
            .init("caveats", .array(caveats.map { .string($0) })),
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
