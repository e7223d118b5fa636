// The delegating client (docs/PROTOCOL.md section 11) over any Transport: builds and signs the
// task from the store's current dApp state, picks executors by reputation among those that
// announced themselves, publishes the offer, pulls answers until the session decides or the
// deadline passes, commits the accepted result, scores everyone, and reports what happened.
// Single-threaded and pull-based: it runs inside the caller's loop.
import CDDE

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
    public internal(set) var evidenceReceived: [(id: Digest, result: EvidenceOutcome)] = []
    /// Documents checked on arrival, waiting to be judged by `processEvidence`.
    var pendingEvidence: [EvidenceDocument] = []
    /// This requester's results topic, made once (every answer is routed by it).
    private let resultsTopic: String

    /// Subscribes to this requester's results, executors' presence and shared evidence.
    public init(transport: T, store: Store, identity: KeyPair,
                clock: @escaping () -> UInt64 = { cdde_now_ms() },
                random: @escaping () -> UInt64 = { SecureRandom.next() }) throws(DDEError) {
        self.transport = transport
        self.store = store
        self.identity = identity
        self.clock = clock
        self.random = random
        resultsTopic = Topic.results(requester: identity.publicKey)
        try transport.subscribe(resultsTopic)
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
            ignoredMessages += 1  // anyone can make keys and sign presence: a flood must not grow this
        }
    }

    /// Oldest presence taken (ms): executors republish theirs every minute
    /// (`ExecutorNode.Config.presenceIntervalMs`), so one older than this is from an executor that
    /// stopped, or a replay.
    public var presenceMaxAgeMs: UInt64 = 10 * 60_000
    /// How far in the future a presence may be dated (clocks differ).
    public var presenceMaxSkewMs: UInt64 = 60_000
    /// When each withdrawn executor withdrew (its signed timestamp).
    private var withdrawals: [PublicKey: UInt64] = [:]

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
    /// The requester also answers `code_request`s for the modules it published (at most
    /// `maxCodeAnswers` times for each call, while it receives): on a broker whose retained
    /// messages do not reach every subscriber (a RabbitMQ cluster keeps them on the node they
    /// were published to) an executor elsewhere asks, and the answer reaches it live.
    @discardableResult
    public func publishCode(_ module: [UInt8]) throws(DDEError) -> Digest {
        guard module.count <= CodeMessage.maxModuleBytes else {
            throw DDEError(.limit, "the module is \(module.count) bytes, over the \(CodeMessage.maxModuleBytes)-byte module limit")
        }
        let code = CodeMessage(module: module)
        let payload = code.envelope.canonicalBytes
        try transport.publish(topic: Topic.code(code.codeHash), payload: payload, retain: true)
        if servedCode.isEmpty { try transport.subscribe(Topic.codeRequests) }
        // At most one entry per hash (this is the only append): remove(at:), no removeAll(where:)
        // specialisation.
        if let i = servedCode.firstIndex(where: { $0.hash == code.codeHash }) { servedCode.remove(at: i) }
        if servedCode.count >= Delegator.maxServedModules { servedCode.remove(at: 0) }  // remove(at:) is compiled already
        servedCode.append((code.codeHash, payload, Delegator.maxCodeAnswers))
        return code.codeHash
    }

    /// Modules published by `publishCode` that this requester still answers requests for, with
    /// the answers left (the latest `maxServedModules`).
    private var servedCode: [(hash: Digest, payload: [UInt8], answersLeft: Int)] = []
    /// Answers to `code_request`s a requester gives for one `publishCode` call: anyone can ask,
    /// and each answer is a whole module, so they are bounded (an executor asks once for a
    /// module it lacks, then keeps it in its code store).
    public static var maxCodeAnswers: Int { 32 }
    /// Most modules a requester answers requests for at once.
    public static var maxServedModules: Int { 8 }
    /// `code_request`s answered with a module this requester published.
    public private(set) var codeRequestsAnswered = 0

    /// A `code_request`: answered (not retained: the broker keeps the retained copy
    /// `publishCode` made, where it can) when it names a module this requester published and
    /// has answers left for; anything else is ignored.
    private func answerCodeRequest(_ m: Message) {
        guard let envelope = try? Envelope.decode(m.payload), envelope.type == .codeRequest,
              let request = try? CodeRequest(json: envelope.payload),
              let i = servedCode.firstIndex(where: { $0.hash == request.codeHash }), servedCode[i].answersLeft > 0 else {
            ignoredMessages += 1
            return
        }
        servedCode[i].answersLeft -= 1
        // Best effort: a transport failure must not end the delegation in progress.
        if (try? transport.publish(topic: Topic.code(request.codeHash), payload: servedCode[i].payload, retain: false)) != nil {
            codeRequestsAnswered += 1
        }
    }


    /// Keys declared per action (`declareKeys`), by dApp id and action.
    private var declaredKeys: [[UInt8]: (TaskSpec) -> [[UInt8]]] = [:]

    /// The `declaredKeys` key of an action: bytes, since a String key would be compared with
    /// Unicode normalisation, which the Embedded builds leave out.
    private static func actionKey(_ dappId: String, _ action: String) -> [UInt8] {
        Array(dappId.utf8) + [0] + Array(action.utf8)
    }

    /// Declares the state keys a task of `action` on `dappId` may touch, computed from its spec
    /// (a wallet's transfer: the two balances its payload names). Used when a spec names no
    /// `stateKeys`; a key the execution reads beyond them costs one retry (`delegate`).
    public func declareKeys(dappId: String, action: String, _ keys: @escaping (TaskSpec) -> [[UInt8]]) {
        declaredKeys[Delegator.actionKey(dappId, action)] = keys
    }

    /// Delegates one task as a taskVersion 2 task: it carries the store's entries for the
    /// spec's `stateKeys` (or the keys declared for its action; or, with neither, every key of a
    /// dApp holding at most `options.carryAllKeysUpTo`; else none) with their proof against
    /// the dApp's current root, so the receipt chain can take the result. When the first try
    /// accepts nothing and asked executors refused it with a signed `DDE_ERR_STATE_KEY_OUTSIDE`
    /// (the execution read a key the task does not carry; the error's message is the key), the
    /// task is built and delegated once more with every such key added (`retriedWithKeys`; the
    /// report's events then hold both tries' answers, the first try's first). Returns the report;
    /// a delegation that got no acceptable result has `failure` set (`.noResult`,
    /// `.quorumNotReached`) and a result that could not be committed has the commit's error.
    /// Throws for what stops it from starting: `.noExecutor`, task creation, the transport, the
    /// store.
    public func delegate(_ spec: TaskSpec, options: DelegationOptions = DelegationOptions()) throws(DDEError) -> DelegationReport {
        cdde_trace(CDDE_TRACE_DELEGATE_START)
        let given = spec.stateKeys ?? declaredKeys[Delegator.actionKey(spec.dappId, spec.action)].map({ $0(spec) })
        // Without keys given, every key of a small dApp, listed in the snapshot it is read from.
        let state = try store.partialState(spec.dappId, keys: given, everyKeyUpTo: options.carryAllKeysUpTo)
        let keys = given ?? state.keys
        var report = try run(Delegator.carrying(spec, state), options: options, commits: true)
        let named = report.accepted == nil ? Delegator.keysOutside(report, carried: keys) : []
        if !named.isEmpty {
            let first = report
            let more = try store.partialState(spec.dappId, keys: keys + named)
            report = try run(Delegator.carrying(spec, more), options: options, commits: true)
            report.retriedWithKeys = named
            // The report tells the whole delegation: the first try's answers come first.
            report.events = first.events + report.events
            report.evidenceIds = first.evidenceIds + report.evidenceIds
        }
        try processEvidence()
        return report
    }

    /// `spec` carrying `state`, the store's entries of its keys and their proof (taskVersion 2).
    private static func carrying(_ spec: TaskSpec, _ state: PartialState) -> TaskSpec {
        var spec = spec
        // Checked once, when the task built on it is created (ComputeTask.create).
        spec.partialState = state
        spec.state = nil
        spec.stateKeys = nil
        return spec
    }

    /// The keys a retry adds: every distinct key named by a signed `DDE_ERR_STATE_KEY_OUTSIDE`
    /// from an executor asked (the session records only those as `.error`), in the order they
    /// came, that is a valid state key and not carried already. Not only the first: a liar that
    /// answers fastest with another key would otherwise choose the retry's keys, and honest
    /// executors would refuse it again. A refusal naming a carried or invalid key is false and
    /// adds nothing. At most one key per executor asked, each at most `maxStateKeyBytes`.
    static func keysOutside(_ report: DelegationReport, carried: [[UInt8]]) -> [[UInt8]] {
        var named: [[UInt8]] = []
        for e in report.events where e.kind == .error && e.status == .stateKeyOutside {
            let key = Array(e.detail.utf8)
            guard !key.isEmpty, key.count <= maxStateKeyBytes, !carried.contains(key), !named.contains(key) else { continue }
            named.append(key)
        }
        return named
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
            let chosen = try chooseReading(for: task.requiredCapabilities, options: options, now: start)
            asked = chosen.keys
            trust = trustView(of: asked, known: chosen.known, options: options, policy: AuditPolicy())
        }
        // Check 10: only executors neither banned nor blacklisted are asked (choose, plan), and
        // answers from anyone else are ignored, so the session's policy at sending time is
        // empty; the commit checks the policy again, after this delegation's scores.
        let policy = VerifyPolicy()

        let offer = TaskOffer(task: task, executors: asked).envelopeBytes
        // Set up before the offer leaves, so that this thread waits for the answers as soon as it
        // has sent it: work done right after the publish competes for the CPUs with the broker and
        // the executor that the offer wakes (seen with perf sched on 2 CPUs). So `sentAt`, where
        // the deadline and the latencies scored start, is just before the publish call.
        let sentAt = clock()
        var session = DelegationSession(task: task, mode: options.mode, asked: asked, sentAt: sentAt,
                                        deadline: sentAt + options.deadlineMs, policy: policy, trust: trust,
                                        auditDraw: SecureRandom.unit(random()))
        var report = DelegationReport(task: task, mode: options.mode, asked: asked, events: [], accepted: nil,
                                      receipt: nil, failure: nil, evidenceIds: [])
        report.caveats = caveats
        cdde_trace(CDDE_TRACE_OFFER_PUBLISH)
        try transport.publish(topic: Topic.tasks, payload: offer, retain: false)
        onSent?(task, asked)
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
                try transport.publish(topic: Topic.tasks, payload: TaskOffer(task: task, executors: keys).envelopeBytes,
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
        guard sameScalars(m.topic, resultsTopic) else {
            handleOutside(m)
            return
        }
        // A compute_result as dde's executors send it, read straight from the bytes; anything else
        // (another message, another spelling, a malformed one) through Envelope.decode.
        if let plain = ComputeResult.readPlain(envelope: m.payload) {
            if plain.result.taskId != session.task.taskId {
                ignoredMessages += 1  // a late answer to an earlier task
                return
            }
            session.receive(plain: plain, at: now)
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
    /// once proven); code requests for modules this requester published are answered; anything
    /// else is counted and dropped.
    private func handleOutside(_ m: Message) {
        if sameScalars(m.topic, Topic.codeRequests) {
            answerCodeRequest(m)
            return
        }
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
        // What is left of the subscriptions is presence (Topic.allExecutors): the topic must be the
        // one of the key the signed presence names, checked below (no separate prefix test).
        // An empty retained payload clears the broker's copy; it is unsigned, so it removes
        // nobody here (a forged one would hide honest executors and leave the work to others).
        guard let envelope = try? Envelope.decode(m.payload), envelope.type == .presence,
              let presence = try? Presence(json: envelope.payload),
              sameScalars(Topic.executors(presence.executorPublicKey), m.topic) else {
            ignoredMessages += 1
            return
        }
        _ = receivePresence(presence, at: clock())
    }

    /// Takes an announcement from the network: kept only when its signature verifies for the key
    /// it names, it is at most `presenceMaxAgeMs` old (and not more than `presenceMaxSkewMs` in
    /// the future), and it is newer than the one held for that key; one with no capabilities
    /// withdraws the executor. Whether it was taken.
    @discardableResult
    public func receivePresence(_ presence: Presence, at now: UInt64) -> Bool {
        let key = presence.executorPublicKey
        let latest = executors.first { $0.executorPublicKey == key }?.timestamp ?? withdrawals[key]
        guard presence.timestamp + presenceMaxAgeMs >= now, presence.timestamp <= now + presenceMaxSkewMs,
              latest.map({ presence.timestamp > $0 }) ?? true,
              presence.hasValidSignature else {
            ignoredMessages += 1
            return false
        }
        if presence.capabilities.isEmpty {
            // At most one entry per key (addExecutor replaces), as in servedCode.
            if let i = executors.firstIndex(where: { $0.executorPublicKey == key }) { executors.remove(at: i) }
            // Remembered, so a replay of an older announcement cannot bring it back.
            if withdrawals.count >= Delegator.maxExecutors { withdrawals.removeAll() }
            withdrawals[key] = presence.timestamp
        } else {
            withdrawals[key] = nil
            addExecutor(presence)
        }
        return true
    }
}
