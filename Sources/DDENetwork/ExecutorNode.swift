// An executor node: the loop that serves compute tasks over any Transport (the in-process hub
// here, MQTT in `dde node`). It announces itself (retained presence), pulls offers from
// `Topic.tasks`, ignores offers not addressed to it, checks the task (id, requester signature,
// capabilities it grants), fetches missing code by hash, limits the tasks it runs at once per
// requester (`maxComputeTasksPerPeer`, the rest get a compute_error DDE_ERR_BUSY), runs
// `Executor.execute` and publishes the result envelope on the requester's results topic. One log
// line per task. It also serves code to peers: a `code_request` on `Topic.codeRequests` for a
// module in its code store is answered by publishing the module (retained) on `Topic.code(hash)`,
// so executors, embedded and demo nodes included, fetch code from each other.
//
// Threads (`run` with workers > 0): leader/follower. `workers` + 1 threads take turns receiving;
// the one that receives an offer runs it itself when another thread is idle to take over
// receiving, so a task goes from the transport to the executor without a thread hand-off (on a
// loaded 2-CPU device each hand-off can cost a scheduler wake-up, as much as the whole run).
// At most `workers` tasks run at once; when all are busy, offers wait in `pending` for the next
// thread that finishes. One thread always receives meanwhile, so busy refusals stay prompt.
import DDE
import DDEExecutor
import CDDE
import Foundation

/// What a node sends for an accepted task, as `ExecutorNode.Config.answer` decides it.
public enum NodeAnswer: Sendable {
    /// Publish this compute_result; `note` ends the task's log line.
    case result(ComputeResult, note: String)
    /// Publish nothing (the requester times the executor out); `note` ends the log line.
    case nothing(note: String)
}

/// Decides what the node sends for a task it accepted (checked, within its limits, code at
/// hand): given the task, the node's key and `execute`, which runs the task honestly (sandbox,
/// proof, signature) when called. It may replace the answer, delay it (by sleeping: it runs on
/// the thread that would publish), drop it, or never execute at all. A thrown error is sent as
/// the task's compute_error. Misbehaving executors for tests, the demo and the simulation are
/// such hooks (DDEAdversary); a real node has none and answers `.result(try execute(), note: "")`.
public typealias NodeAnswerHook = @Sendable (
    _ task: ComputeTask, _ keyPair: KeyPair, _ execute: () throws(DDEError) -> ComputeResult
) throws(DDEError) -> NodeAnswer

public final class ExecutorNode<T: Transport>: @unchecked Sendable {
    public struct Config: Sendable {
        /// Tasks of one requester in flight at once (queued or running); more are refused.
        public var maxComputeTasksPerPeer: UInt64 = 4
        /// Capabilities granted; tasks requiring others are refused (DDE_ERR_CAPABILITY_DENIED).
        public var capabilities: [String] = Capability.all
        /// Tasks run at once by `run`, on this many + 1 threads taking turns receiving; 0: one
        /// thread receives and runs each task in turn (for a transport that must not be used
        /// from several threads).
        public var workers: Int = 1
        /// How long a task waits for its code to arrive before DDE_ERR_CODE_NOT_FOUND.
        public var codeFetchTimeoutMs: Int = 2000
        /// What is sent for each accepted task; nil: the honest result (see `NodeAnswerHook`).
        public var answer: NodeAnswerHook? = nil
        /// Label in log lines.
        public var name: String = "node"
        /// How often the signed presence is published again (ms): requesters ignore presence
        /// older than their `presenceMaxAgeMs` (10 minutes by default).
        public var presenceIntervalMs: UInt64 = 60_000

        public init() {}
    }

    public let keyPair: KeyPair
    public let config: Config
    public let transport: T
    public let codeStore: CodeStore
    private let sandbox = Sandbox()
    private let log: @Sendable (String) -> Void
    /// The capabilities granted (config.capabilities normalised once; unknown ones grant nothing).
    private let granted: [String]
    private let lock = NSLock()
    private var inFlight: [PublicKey: UInt64] = [:]
    private var lastAnnounced: UInt64 = 0
    /// The tasks run lately (RecentSet.swift), to run each once.
    private var recentTasks = RecentSet<Digest>(capacity: 4096)
    private var waitingForCode: [Digest: [(offer: TaskOffer, since: Date)]] = [:]
    /// Modules published for peers (retained: once is enough).
    private var servedCode = Set<Digest>()
    /// Modules found in the code store: asking it builds a path and asks the file system (about
    /// 20 us, on the path of every offer). A module found missing when a task runs is forgotten.
    private var presentCode = Set<Digest>()
    // The thread pool of `run` (guarded by `pool`): tasks accepted but not started, whether a
    // thread is receiving, threads waiting for a turn, pool threads alive, stop requested.
    private let pool = NSCondition()
    private var pending: [ComputeTask] = []
    private var receiving = false
    private var idle = 0
    private var executing = 0
    private var poolThreads = 0
    private var stopping = false
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
        granted = (try? Capability.normalise(config.capabilities)) ?? []
    }

    public var publicKey: PublicKey { keyPair.publicKey }

    /// This node's presence, signed now.
    public var presence: Presence {
        Presence(executor: keyPair, capabilities: granted, maxComputeTasksPerPeer: config.maxComputeTasksPerPeer,
                 timestamp: cdde_now_ms())
    }

    /// Subscribes to tasks and code requests and publishes the retained, signed presence
    /// message (again every `presenceIntervalMs` while `run` runs).
    public func start() throws(DDEError) {
        try transport.subscribe(Topic.tasks)
        try transport.subscribe(Topic.codeRequests)
        try announce(presence)
    }

    /// Withdraws the node: a signed presence with no capabilities, retained in place of the
    /// announcement (an empty payload would be unsigned, and requesters ignore those). Tasks
    /// accepted by `run` have finished when `run` returns.
    public func stop() {
        try? announce(Presence(executor: keyPair, capabilities: [], maxComputeTasksPerPeer: config.maxComputeTasksPerPeer,
                               timestamp: cdde_now_ms()))
    }

    private func announce(_ p: Presence) throws(DDEError) {
        lock.lock(); lastAnnounced = p.timestamp; lock.unlock()
        try transport.publish(topic: Topic.executors(keyPair.publicKey), payload: p.envelope.canonicalBytes, retain: true)
    }

    /// Publishes the presence again when `presenceIntervalMs` has passed (from the receiving
    /// thread).
    private func announceIfDue() {
        let now = cdde_now_ms()
        lock.lock()
        let due = now >= lastAnnounced &+ config.presenceIntervalMs
        lock.unlock()
        if due {
            do { try announce(presence) } catch { log("\(config.name): could not publish presence: \(error.message)") }
        }
    }

    /// Runs until `shouldStop` (checked in the calling thread only) says so, with `workers`
    /// more threads (see the top of the file); returns once every accepted task has run.
    public func run(pollMs: Int = 50, until shouldStop: () -> Bool) {
        guard config.workers > 0 else {
            while !shouldStop() {
                guard let tasks = receiveOne(timeoutMs: pollMs) else { return }
                for task in tasks { execute(task) }
            }
            return
        }
        pool.lock()
        stopping = false
        poolThreads = config.workers
        pool.unlock()
        for i in 0..<config.workers {
            let t = Thread { [self] in
                serve(pollMs: pollMs, decides: false, shouldStop: { false })
                pool.lock(); poolThreads -= 1; pool.broadcast(); pool.unlock()
            }
            t.name = "dde.executor.\(config.name).\(i)"
            t.start()
        }
        serve(pollMs: pollMs, decides: true, shouldStop: shouldStop)
        pool.lock()
        stopping = true
        pool.broadcast()
        while poolThreads > 0 { pool.wait() }
        pool.unlock()
    }

    /// One of the `workers` + 1 pool threads: run a pending task if fewer than `workers` run,
    /// else take the receiver's turn if free, else wait. The thread given `shouldStop` decides
    /// when the pool stops (`decides`); the others follow `stopping`. Pending tasks run before anyone leaves.
    private func serve(pollMs: Int, decides: Bool, shouldStop: () -> Bool) {
        let wait = Double(max(1, pollMs)) / 1000
        pool.lock()
        while true {
            if !pending.isEmpty && executing < config.workers {
                let task = pending.removeFirst()
                executing += 1
                pool.unlock()
                execute(task)
                pool.lock()
                executing -= 1
                continue
            }
            if stopping {
                if pending.isEmpty { break }
                _ = pool.wait(until: Date(timeIntervalSinceNow: wait))
                continue
            }
            if decides {
                pool.unlock()
                let stop = shouldStop()
                pool.lock()
                if stop { stopping = true; pool.broadcast(); continue }
            }
            if receiving {
                idle += 1
                _ = pool.wait(until: Date(timeIntervalSinceNow: wait))
                idle -= 1
                continue
            }
            receiving = true
            pool.unlock()
            let tasks = receiveOne(timeoutMs: pollMs)
            pool.lock()
            receiving = false
            guard let tasks else { stopping = true; pool.broadcast(); continue }
            if tasks.count == 1 && executing < config.workers {
                // Run it here, now; an idle thread takes over receiving meanwhile. Woken after
                // the unlock: woken under it, that thread ran only to block on `pool` and be woken
                // again, two more switches before the task ran (seen with perf sched).
                executing += 1
                let wake = idle > 0
                pool.unlock()
                if wake { pool.signal() }
                execute(tasks[0])
                pool.lock()
                executing -= 1
            } else if !tasks.isEmpty {
                pending += tasks
                pool.broadcast()
            }
        }
        pool.unlock()
    }

    /// Receives and handles at most one message; returns the tasks it accepted to run (nil once
    /// the transport is closed). Transport errors are logged.
    private func receiveOne(timeoutMs: Int) -> [ComputeTask]? {
        announceIfDue()
        do {
            return try receiveAndHandle(timeoutMs: timeoutMs)
        } catch {
            if error.status == .closed { return nil }
            log("\(config.name): transport: \(error.message)")
            return []
        }
    }

    /// Waits at most `timeoutMs` for one message and handles it (expiring tasks whose code never
    /// came first); returns the tasks it accepted to run.
    private func receiveAndHandle(timeoutMs: Int) throws(DDEError) -> [ComputeTask] {
        expireCodeWaits()
        guard let message = try transport.receive(timeoutMs: timeoutMs) else { return [] }
        cdde_trace(CDDE_TRACE_NODE_TAKEN)
        // Each topic carries its own messages, within its own limits: offers only on the tasks
        // topic (a task on a code topic would get a module's limits), modules only on code topics.
        let isCode = message.topic.utf8.starts(with: "dde/v1/code/".utf8)
        let isTasks = message.topic.utf8.elementsEqual(Topic.tasks.utf8)
        // An offer as dde's requesters send it is read straight from the bytes; anything else
        // (another message, another spelling, a malformed offer) goes through Envelope.decode,
        // which refuses what is wrong with its own status. An offer for other executors is
        // dropped before its task's checks (the state proof, the signature).
        if isTasks, let plain = PlainOffer(envelope: message.payload) {
            guard plain.isAddressed(to: keyPair.publicKey) else { return [] }
            let offer: TaskOffer
            do throws(DDEError) {
                offer = try plain.checked()
            } catch {
                log("\(config.name): refused an offer: \(error.message)")
                return []
            }
            return handleOffer(offer)
        }
        let envelope: Envelope
        do throws(DDEError) {
            envelope = try Envelope.decode(message.payload, limits: isCode ? CodeMessage.limits : .default)
        } catch {
            log("\(config.name): dropped a message on \(message.topic): \(error.message)")
            return []
        }
        switch envelope.type {
        case .computeTask where isTasks: return handleOffer(envelope.payload)
        case .code where isCode: return handleCode(envelope.payload)
        case .codeRequest: serveCode(envelope.payload); return []
        case .computeTask, .code:
            log("\(config.name): dropped a \(envelope.type.name) message on \(message.topic)")
            return []
        default: return []  // results, presence and requests of others are not the executor's business
        }
    }

    // MARK: tasks

    private func handleOffer(_ payload: JSON) -> [ComputeTask] {
        // For other executors: dropped before the task is read and checked.
        // (A malformed list is left to TaskOffer(json:), which refuses it with its own message.)
        if case .object(let o) = payload, let named = o["executors"], let executors = try? TaskOffer.executors(named),
           !TaskOffer.isAddressed(executors, to: keyPair.publicKey) { return [] }
        let offer: TaskOffer
        do throws(DDEError) {
            offer = try TaskOffer(json: payload)
        } catch {
            // No checked task, so no requester to answer: a forged or corrupt offer is dropped.
            log("\(config.name): refused an offer: \(error.message)")
            return []
        }
        return handleOffer(offer)
    }

    /// An offer whose task is checked (id, requester signature, state proof), addressed to this
    /// executor (both callers drop the others first).
    private func handleOffer(_ offer: TaskOffer) -> [ComputeTask] {
        let task = offer.task
        // QoS 1 may deliver an offer twice: run each task once.
        lock.lock()
        let seen = !recentTasks.insert(task.taskId)
        lock.unlock()
        if seen { return [] }
        for need in task.requiredCapabilities where !granted.contains(where: { sameScalars($0, need) }) {
            refuse(task, DDEError(.capabilityDenied, "this executor does not grant \(need)"))
            return []
        }
        lock.lock()
        let running = inFlight[task.requesterPublicKey, default: 0]
        let busy = running >= config.maxComputeTasksPerPeer
        if !busy { inFlight[task.requesterPublicKey] = running + 1 }
        lock.unlock()
        if busy {
            refuse(task, DDEError(.busy, "\(running) tasks of this requester are in flight (maxComputeTasksPerPeer \(config.maxComputeTasksPerPeer)); retry later"))
            return []
        }
        if hasCode(task.dappCodeHash) {
            cdde_trace(CDDE_TRACE_NODE_TASK_CHECKED)
            return [task]
        }
        fetchCode(for: offer)
        return []
    }

    /// Whether the code store holds `hash` (remembered once found: `presentCode`).
    private func hasCode(_ hash: Digest) -> Bool {
        lock.lock()
        let known = presentCode.contains(hash)
        lock.unlock()
        if known { return true }
        guard codeStore.contains(hash) else { return false }
        lock.lock(); presentCode.insert(hash); lock.unlock()
        return true
    }

    private func execute(_ task: ComputeTask) {
        // The executor's own time for the task (sandbox run, proof, signature), in the log line
        // at microsecond resolution: the result's executionLatency is whole milliseconds. When
        // the answer hook runs nothing, the time the hook took.
        var executionUs: UInt64? = nil
        let run = { [self] () throws(DDEError) -> ComputeResult in
            let started = DispatchTime.now().uptimeNanoseconds
            let result = try Executor.execute(task: task, keyPair: keyPair, codeStore: codeStore, sandbox: sandbox)
            executionUs = (DispatchTime.now().uptimeNanoseconds &- started) / 1000
            return result
        }
        let outcome: Result<NodeAnswer, DDEError>
        let started = DispatchTime.now().uptimeNanoseconds
        do throws(DDEError) {
            if let hook = config.answer {
                outcome = .success(try hook(task, keyPair, run))
            } else {
                outcome = .success(.result(try run(), note: ""))
            }
        } catch {
            outcome = .failure(error)
        }
        // The task is over, however it ended: its slot is given back before anything leaves (a
        // requester that sends its next task as soon as it has the answer must not find this one
        // still counted and be refused busy), and after silence too.
        release(task)
        let answer: NodeAnswer
        switch outcome {
        case .success(let a): answer = a
        case .failure(let failure):
            if failure.status == .codeNotFound {
                // Gone from the code store since it was found: the next offer fetches it again.
                lock.lock(); presentCode.remove(task.dappCodeHash); lock.unlock()
            }
            refuse(task, failure)
            return
        }
        let us = executionUs ?? (DispatchTime.now().uptimeNanoseconds &- started) / 1000
        cdde_trace(CDDE_TRACE_NODE_EXECUTED)
        guard case .result(let result, let note) = answer else {
            if case .nothing(let note) = answer { log("\(label(task)): \(note)") }
            return
        }
        // The result's own canonical writer, not the JSON tree.
        let payload = Envelope.canonicalBytes(type: .computeResult, payload: result.canonicalBytes)
        do throws(DDEError) {
            cdde_trace(CDDE_TRACE_NODE_RESULT_PUBLISH)
            try transport.publish(topic: Topic.results(requester: task.requesterPublicKey),
                                  payload: payload, retain: false)
            lock.lock(); answered += 1; lock.unlock()
            log("\(label(task)): ok, result \(short(result.resultHash)), fuel \(result.proof.fuelUsed), executed in \(us) us\(note)")
        } catch {
            log("\(label(task)): could not publish the result: \(error.message)")
        }
    }

    /// Answers a task with a compute_error.
    private func refuse(_ task: ComputeTask, _ error: DDEError) {
        // A requester reads at most 4,096 bytes of message: a longer one would make the whole
        // signed answer unreadable, so it is cut (at a character) instead.
        let message = ComputeErrorMessage(taskId: task.taskId, executor: keyPair, code: error.status,
                                          message: clipped(error.detail, toBytes: 4096))
        try? transport.publish(topic: Topic.results(requester: task.requesterPublicKey),
                               payload: message.envelope.canonicalBytes, retain: false)
        lock.lock(); refused += 1; lock.unlock()
        log("\(label(task)): refused, \(error.message)")
    }

    /// How the log names a task: made only when a line is written, after the answer has left
    /// (building it before the run cost the task's path a few microseconds).
    private func label(_ task: ComputeTask) -> String {
        "\(config.name): task \(short(task.taskId)) from \(short(task.requesterPublicKey)) \(task.dappId).\(task.intent.action)"
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

    private func handleCode(_ payload: JSON) -> [ComputeTask] {
        let code: CodeMessage
        do throws(DDEError) {
            code = try CodeMessage(json: payload)
        } catch {
            log("\(config.name): dropped a code message: \(error.message)")
            return []
        }
        lock.lock()
        let waiting = waitingForCode.removeValue(forKey: code.codeHash) ?? []
        lock.unlock()
        guard !waiting.isEmpty else { return [] }
        try? transport.unsubscribe(Topic.code(code.codeHash))
        do throws(DDEError) {
            _ = try codeStore.add(code.module, expecting: code.codeHash)
            log("\(config.name): code \(short(code.codeHash)) fetched (\(code.module.count) bytes)")
        } catch {
            for w in waiting { refuse(w.offer.task, error); release(w.offer.task) }
            return []
        }
        return waiting.map { $0.offer.task }
    }

    /// Answers a peer's code_request for a module this node holds: published retained on
    /// `Topic.code(hash)`, where every later asker finds it too (so once per module).
    private func serveCode(_ payload: JSON) {
        let request: CodeRequest
        do throws(DDEError) {
            request = try CodeRequest(json: payload)
        } catch {
            log("\(config.name): dropped a message on \(Topic.codeRequests): \(error.message)")
            return
        }
        let hash = request.codeHash
        lock.lock()
        let served = servedCode.contains(hash)
        lock.unlock()
        guard !served, codeStore.contains(hash) else { return }
        do throws(DDEError) {
            let module = try codeStore.module(for: hash)
            try transport.publish(topic: Topic.code(hash), payload: CodeMessage(module: module).envelope.canonicalBytes, retain: true)
            lock.lock(); servedCode.insert(hash); lock.unlock()
            log("\(config.name): code \(short(hash)) published for a peer (\(module.count) bytes)")
        } catch {
            log("\(config.name): code \(short(hash)): cannot publish it: \(error.message)")
        }
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
