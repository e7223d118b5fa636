// An executor node: the loop that serves compute tasks over any Transport (the in-process hub
// here, MQTT in `dde node`). It announces itself (retained presence), pulls offers from
// `Topic.tasks`, ignores offers not addressed to it, checks the task (id, requester signature,
// capabilities it grants), fetches missing code by hash, limits the tasks it runs at once per
// requester (`maxComputeTasksPerPeer`, the rest get a compute_error DDE_ERR_BUSY), runs
// `Executor.execute` and publishes the result envelope on the requester's results topic. One log
// line per task.
import DDE
import DDEExecutor
import Foundation

public final class ExecutorNode<T: Transport>: @unchecked Sendable {
    /// How the node answers. Everything but `.honest` is for tests and the demo.
    public enum Behaviour: Sendable, Equatable {
        case honest
        /// Alters the result after signing: the proof fails check 7 (resultHash).
        case forge
        /// Signs a consistent but wrong result: it verifies; only quorum or audit catch it.
        case lie
        /// Answers honestly after waiting this many milliseconds.
        case slow(ms: Int)
        /// Runs nothing and answers nothing.
        case silent
    }

    public struct Config: Sendable {
        /// Tasks of one requester in flight at once (queued or running); more are refused.
        public var maxComputeTasksPerPeer: UInt64 = 4
        /// Capabilities granted; tasks requiring others are refused (DDE_ERR_CAPABILITY_DENIED).
        public var capabilities: [String] = Capability.all
        /// Worker threads running tasks; 0 runs each task inline in `step` (for a transport that
        /// must not be used from several threads).
        public var workers: Int = 1
        /// How long a task waits for its code to arrive before DDE_ERR_CODE_NOT_FOUND.
        public var codeFetchTimeoutMs: Int = 2000
        public var behaviour: Behaviour = .honest
        /// Label in log lines.
        public var name: String = "node"

        public init() {}
    }

    public let keyPair: KeyPair
    public let config: Config
    public let transport: T
    public let codeStore: CodeStore
    private let sandbox = Sandbox()
    private let log: @Sendable (String) -> Void
    private let lock = NSLock()
    private var inFlight: [PublicKey: UInt64] = [:]
    private var recentTasks: [Digest] = []
    private var recentSet = Set<Digest>()
    private var waitingForCode: [Digest: [(offer: TaskOffer, since: Date)]] = [:]
    private let workQueue: OperationQueue?
    /// Counters, for reports and tests.
    public private(set) var answered = 0
    public private(set) var refused = 0

    public init(transport: T, keyPair: KeyPair, codeStore: CodeStore, config: Config = Config(),
                log: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.transport = transport
        self.keyPair = keyPair
        self.codeStore = codeStore
        self.config = config
        self.log = log
        if config.workers > 0 {
            let q = OperationQueue()
            q.maxConcurrentOperationCount = config.workers
            q.name = "dde.executor.\(config.name)"
            workQueue = q
        } else {
            workQueue = nil
        }
    }

    public var publicKey: PublicKey { keyPair.publicKey }

    public var presence: Presence {
        Presence(executorPublicKey: keyPair.publicKey, capabilities: (try? Capability.normalise(config.capabilities)) ?? [],
                 maxComputeTasksPerPeer: config.maxComputeTasksPerPeer)
    }

    /// Subscribes to tasks and publishes the retained presence message.
    public func start() throws(DDEError) {
        try transport.subscribe(Topic.tasks)
        try transport.publish(topic: Topic.executors(keyPair.publicKey), payload: presence.envelope.canonicalBytes,
                              retain: true)
    }

    /// Clears the presence message (an empty retained payload) and waits for running tasks.
    public func stop() {
        try? transport.publish(topic: Topic.executors(keyPair.publicKey), payload: [], retain: true)
        workQueue?.waitUntilAllOperationsAreFinished()
    }

    /// Runs until `shouldStop` says so, handling one message at a time.
    public func run(pollMs: Int = 50, until shouldStop: () -> Bool) {
        while !shouldStop() {
            do {
                _ = try step(timeoutMs: pollMs)
            } catch {
                if error.status == .closed { return }
                log("\(config.name): transport: \(error.message)")
            }
        }
    }

    /// Waits at most `timeoutMs` for one message and handles it; expires tasks whose code never
    /// came. Returns whether a message was handled.
    @discardableResult
    public func step(timeoutMs: Int) throws(DDEError) -> Bool {
        expireCodeWaits()
        guard let message = try transport.receive(timeoutMs: timeoutMs) else { return false }
        let isCode = message.topic.utf8.starts(with: "dde/v1/code/".utf8)
        let envelope: Envelope
        do throws(DDEError) {
            envelope = try Envelope.decode(message.payload, limits: isCode ? CodeMessage.limits : .default)
        } catch {
            log("\(config.name): dropped a message on \(message.topic): \(error.message)")
            return true
        }
        switch envelope.type {
        case .computeTask: handleOffer(envelope.payload)
        case .code: handleCode(envelope.payload)
        default: break  // results, presence and requests of others are not the executor's business
        }
        return true
    }

    // MARK: tasks

    private func handleOffer(_ payload: JSON) {
        let offer: TaskOffer
        do throws(DDEError) {
            offer = try TaskOffer(json: payload)
        } catch {
            // No checked task, so no requester to answer: a forged or corrupt offer is dropped.
            log("\(config.name): refused an offer: \(error.message)")
            return
        }
        guard offer.isAddressed(to: keyPair.publicKey) else { return }
        let task = offer.task
        // QoS 1 may deliver an offer twice: run each task once.
        lock.lock()
        let seen = !recentSet.insert(task.taskId).inserted
        if !seen {
            recentTasks.append(task.taskId)
            if recentTasks.count > 4096 { recentSet.remove(recentTasks.removeFirst()) }
        }
        lock.unlock()
        if seen { return }
        if config.behaviour == .silent {
            log("\(config.name): task \(short(task.taskId)) from \(short(task.requesterPublicKey)): silent (test mode)")
            return
        }
        let granted = presence.capabilities
        for need in task.requiredCapabilities where !granted.contains(where: { sameScalars($0, need) }) {
            refuse(task, DDEError(.capabilityDenied, "this executor does not grant \(need)"))
            return
        }
        lock.lock()
        let running = inFlight[task.requesterPublicKey, default: 0]
        let busy = running >= config.maxComputeTasksPerPeer
        if !busy { inFlight[task.requesterPublicKey] = running + 1 }
        lock.unlock()
        if busy {
            refuse(task, DDEError(.busy, "\(running) tasks of this requester are in flight (maxComputeTasksPerPeer \(config.maxComputeTasksPerPeer)); retry later"))
            return
        }
        if codeStore.contains(task.dappCodeHash) {
            dispatch(offer)
        } else {
            fetchCode(for: offer)
        }
    }

    private func dispatch(_ offer: TaskOffer) {
        if let workQueue {
            workQueue.addOperation { [self] in execute(offer.task) }
        } else {
            execute(offer.task)
        }
    }

    private func execute(_ task: ComputeTask) {
        defer {
            lock.lock()
            let n = inFlight[task.requesterPublicKey, default: 1]
            inFlight[task.requesterPublicKey] = n > 1 ? n - 1 : nil
            lock.unlock()
        }
        let label = "\(config.name): task \(short(task.taskId)) from \(short(task.requesterPublicKey)) \(task.dappId).\(task.intent.action)"
        var result: ComputeResult
        do throws(DDEError) {
            result = try Executor.execute(task: task, keyPair: keyPair, codeStore: codeStore, sandbox: sandbox)
        } catch {
            refuse(task, error, label: label)
            return
        }
        var note = ""
        switch config.behaviour {
        case .forge:
            result.result = ExecutorNode.altered(result.result)
            note = " (FORGED after signing)"
        case .lie:
            let wrong = ExecutorNode.altered(result.result)
            var proof = result.proof
            proof.resultHash = wrong.hash
            proof.sign(with: keyPair)
            result = ComputeResult(proof: proof, result: wrong, stateWrites: result.stateWrites,
                                   executionLatency: result.executionLatency)
            note = " (LIE, signed)"
        case .slow(let ms):
            Thread.sleep(forTimeInterval: Double(ms) / 1000)
            note = " (slowed \(ms) ms)"
        case .honest, .silent:
            break
        }
        let envelope = Envelope(type: .computeResult, payload: result.json)
        do throws(DDEError) {
            try transport.publish(topic: Topic.results(requester: task.requesterPublicKey),
                                  payload: envelope.canonicalBytes, retain: false)
            lock.lock(); answered += 1; lock.unlock()
            log("\(label): ok, result \(short(result.resultHash)), fuel \(result.proof.fuelUsed), \(result.executionLatency) ms\(note)")
        } catch {
            log("\(label): could not publish the result: \(error.message)")
        }
    }

    /// Answers a task with a compute_error.
    private func refuse(_ task: ComputeTask, _ error: DDEError, label: String? = nil) {
        let message = ComputeErrorMessage(taskId: task.taskId, executorPublicKey: keyPair.publicKey,
                                          code: error.status, message: error.detail)
        try? transport.publish(topic: Topic.results(requester: task.requesterPublicKey),
                               payload: message.envelope.canonicalBytes, retain: false)
        lock.lock(); refused += 1; lock.unlock()
        let prefix = label ?? "\(config.name): task \(short(task.taskId)) from \(short(task.requesterPublicKey)) \(task.dappId).\(task.intent.action)"
        log("\(prefix): refused, \(error.message)")
    }

    /// The result made wrong: an object gets `"forged": true`, anything else is wrapped in one.
    static func altered(_ result: JSON) -> JSON {
        if case .object(var o) = result {
            o["forged"] = .bool(true)
            return .object(o)
        }
        return .object(JSONObject(uniqueMembers: [.init("forged", result)]))
    }

    // MARK: code by hash

    private func fetchCode(for offer: TaskOffer) {
        let hash = offer.task.dappCodeHash
        lock.lock()
        let first = waitingForCode[hash] == nil
        waitingForCode[hash, default: []].append((offer, Date()))
        lock.unlock()
        guard first else { return }
        // The code topic is retained: subscribing is usually enough; the request asks holders
        // that did not publish it yet.
        do throws(DDEError) {
            try transport.subscribe(Topic.code(hash))
            try transport.publish(topic: Topic.codeRequests, payload: CodeRequest(codeHash: hash).envelope.canonicalBytes,
                                  retain: false)
        } catch {
            log("\(config.name): code \(short(hash)): cannot ask for it: \(error.message)")
        }
    }

    private func handleCode(_ payload: JSON) {
        let code: CodeMessage
        do throws(DDEError) {
            code = try CodeMessage(json: payload)
        } catch {
            log("\(config.name): dropped a code message: \(error.message)")
            return
        }
        lock.lock()
        let waiting = waitingForCode.removeValue(forKey: code.codeHash) ?? []
        lock.unlock()
        guard !waiting.isEmpty else { return }
        try? transport.unsubscribe(Topic.code(code.codeHash))
        do throws(DDEError) {
            _ = try codeStore.add(code.module, expecting: code.codeHash)
            log("\(config.name): code \(short(code.codeHash)) fetched (\(code.module.count) bytes)")
        } catch {
            for w in waiting { refuse(w.offer.task, error); release(w.offer.task) }
            return
        }
        for w in waiting { dispatch(w.offer) }
    }

    private func expireCodeWaits() {
        let now = Date()
        var expired: [(offer: TaskOffer, since: Date)] = []
        lock.lock()
        for (hash, list) in waitingForCode {
            let (old, fresh) = (list.filter { now.timeIntervalSince($0.since) * 1000 >= Double(config.codeFetchTimeoutMs) },
                                list.filter { now.timeIntervalSince($0.since) * 1000 < Double(config.codeFetchTimeoutMs) })
            expired += old
            waitingForCode[hash] = fresh.isEmpty ? nil : fresh
        }
        lock.unlock()
        for w in expired {
            refuse(w.offer.task, DDEError(.codeNotFound, "module \(w.offer.task.dappCodeHash.hex) did not arrive on \(Topic.code(w.offer.task.dappCodeHash)) within \(config.codeFetchTimeoutMs) ms; publish it there (retained)"))
            release(w.offer.task)
        }
    }

    private func release(_ task: ComputeTask) {
        lock.lock()
        let n = inFlight[task.requesterPublicKey, default: 1]
        inFlight[task.requesterPublicKey] = n > 1 ? n - 1 : nil
        lock.unlock()
    }
}

/// The first 8 hex characters, for log lines.
public func short(_ d: Digest) -> String { String(d.hex.prefix(8)) }
public func short(_ k: PublicKey) -> String { String(k.hex.prefix(8)) }
