// One cell of the simulation (one mode against one strategy): the simulated network, clock and
// executors. Requesters are real `Delegator`s over `SimTransport`; what an executor answers is
// computed inside the transport when an offer is published, so 1,000 executors need no threads.
import DDE
import DDEExecutor
import Foundation

/// One executor identity (a liar that rejoins gets a new one).
final class SimExecutor {
    let id: Int
    let liar: Bool
    let key: KeyPair
    /// Its own latency (ms): honest executors compute, liars need not.
    let baseLatency: UInt64
    /// Withdrawn (its attacker moved to a fresh key): it no longer answers.
    var retired = false
    /// Cell task count when it joined and when a requester first blacklisted or convicted it.
    let joinedAt: Int
    var caughtAt: Int?
    /// Answers it signed, and lies among them.
    var answers = 0
    var lies = 0
    /// Distinct requesters that pin it (honest executors only).
    var pinnedBy = 0

    init(id: Int, liar: Bool, key: KeyPair, baseLatency: UInt64, joinedAt: Int) {
        self.id = id
        self.liar = liar
        self.key = key
        self.baseLatency = baseLatency
        self.joinedAt = joinedAt
    }
}

/// The honest executions, at most once per distinct task: the only cost the simulation caches
/// (determinism: the same task gives the same result). FIFO-bounded; an evicted task that is
/// needed again (late evidence) is executed again.
final class HonestCache {
    private var map: [Digest: ComputeResult] = [:]
    private var order: [Digest] = []
    private var head = 0
    let capacity: Int
    let codeStore: CodeStore
    let sandbox = Sandbox()
    /// Whose key signs the template (each executor re-signs it with its own).
    let templateKey: KeyPair
    private(set) var executions = 0

    init(codeStore: CodeStore, templateKey: KeyPair, capacity: Int = 8192) {
        self.codeStore = codeStore
        self.templateKey = templateKey
        self.capacity = capacity
    }

    /// The honest compute_result of `task` (signed by the template key), or the refusal.
    func result(_ task: ComputeTask) throws(DDEError) -> ComputeResult {
        if let hit = map[task.taskId] { return hit }
        let r = try Executor.execute(task: task, keyPair: templateKey, codeStore: codeStore, sandbox: sandbox, now: 0)
        executions += 1
        map[task.taskId] = r
        order.append(task.taskId)
        if order.count - head > capacity {
            map[order[head]] = nil
            head += 1
            if head > 4 * capacity {
                order.removeFirst(head)
                head = 0
            }
        }
        return r
    }
}

final class World {
    let config: SimConfig
    let strategy: Strategy
    let cellSeed: UInt64
    /// Simulated Unix ms: every requester's clock (`Delegator(clock:)`); the transports move it.
    var now: UInt64 = 1_700_000_000_000
    var executors: [SimExecutor] = []
    private var byKey: [PublicKey: SimExecutor] = [:]
    var transports: [SimTransport] = []
    private var transportByRequester: [PublicKey: SimTransport] = [:]
    let honest: HonestCache
    /// Task ids already offered (what anyone reading the task topic sees).
    private var offered = Set<Digest>()
    /// Sybil: whether the attacker lied on a task it answered.
    private var attackerLied: [Digest: Bool] = [:]
    /// Jitter of latencies, and fresh keys for rejoining liars.
    let rng: Xoshiro
    private let keyRng: Xoshiro
    /// Delegations done in this cell (all requesters).
    var tasksDone = 0
    /// Offers published, answers computed, evidence messages delivered.
    var offers = 0
    var evidencePublished = 0

    init(config: SimConfig, strategy: Strategy, cellSeed: UInt64, codeStore: CodeStore) throws {
        self.config = config
        self.strategy = strategy
        self.cellSeed = cellSeed
        rng = Xoshiro(seed: config.seed, "latency")
        keyRng = Xoshiro(seed: cellSeed, "rejoin-keys")
        honest = HonestCache(codeStore: codeStore, templateKey: try KeyPair.fromSeed(Xoshiro(seed: config.seed, "template").bytes32()))
        // The same executors (keys, latencies, who lies) in every cell of a run.
        let liarCount = Int((Double(config.executors) * config.liarShare).rounded())
        let pick = Xoshiro(seed: config.seed, "liars")
        var isLiar = [Bool](repeating: false, count: config.executors)
        var slots = Array(0..<config.executors)
        for i in 0..<liarCount {  // partial Fisher-Yates: the first liarCount slots drawn
            let j = i + pick.below(config.executors - i)
            slots.swapAt(i, j)
            isLiar[slots[i]] = true
        }
        let lat = Xoshiro(seed: config.seed, "base-latency")
        for i in 0..<config.executors {
            let key = try KeyPair.fromSeed(Xoshiro(seed: config.seed, "executor-key", i).bytes32())
            // Honest: 20-200 ms (they run the task); liars: 2-10 ms (they answer fastest).
            let latency = isLiar[i] ? 2 + UInt64(lat.below(9)) : 20 + UInt64(lat.below(181))
            add(SimExecutor(id: i, liar: isLiar[i], key: key, baseLatency: latency, joinedAt: 0))
        }
    }

    private func add(_ e: SimExecutor) {
        executors.append(e)
        byKey[e.key.publicKey] = e
    }

    func executor(_ key: PublicKey) -> SimExecutor? { byKey[key] }

    /// Signers of evidence published since the last `takeEvidenceSigners`, per requester.
    private var evidenceSigners: [[PublicKey]] = []

    func takeEvidenceSigners() -> [(Int, [PublicKey])] {
        var out: [(Int, [PublicKey])] = []
        for i in evidenceSigners.indices where !evidenceSigners[i].isEmpty {
            out.append((i, evidenceSigners[i]))
            evidenceSigners[i] = []
        }
        return out
    }

    func attach(_ t: SimTransport) {
        evidenceSigners.append([])
        transports.append(t)
        transportByRequester[t.requester] = t
    }

    // MARK: the network

    /// An offer was published on the task topic: every executor it names answers now; the
    /// answers reach the requester after each one's latency.
    func offer(_ payload: [UInt8]) {
        guard let envelope = try? Envelope.decode(payload), envelope.type == .computeTask,
              let offer = try? TaskOffer(json: envelope.payload),
              let to = transportByRequester[offer.task.requesterPublicKey] else { return }
        offers += 1
        let task = offer.task
        let first = offered.insert(task.taskId).inserted
        var template: ComputeResult? = nil
        var refusal: DDEError? = nil
        do throws(DDEError) { template = try honest.result(task) } catch { refusal = error }
        // Sybil: the attacker lies on a first offer only when it holds every seat.
        if first, strategy == .sybil {
            let all = !offer.executors.isEmpty && offer.executors.allSatisfy { k in
                byKey[k].map { $0.liar && !$0.retired } ?? false
            }
            attackerLied[task.taskId] = all
        }
        for key in offer.executors {
            guard let e = byKey[key], !e.retired else { continue }
            let latency = max(1, e.baseLatency * UInt64(90 + rng.below(21)) / 100)
            let bytes: [UInt8]
            if let template {
                let answer = answer(e, task: task, template: template, first: first, alone: offer.executors.count == 1,
                                    latency: latency)
                bytes = SimTransport.resultEnvelope(answer)
            } else {
                let m = ComputeErrorMessage(taskId: task.taskId, executor: e.key, code: refusal!.status,
                                            message: refusal!.detail)
                bytes = m.envelope.canonicalBytes
            }
            e.answers += 1
            to.enqueue(Message(topic: to.resultsTopic, payload: bytes), at: now + latency)
        }
    }

    /// What executor `e` signs for `task`.
    private func answer(_ e: SimExecutor, task: ComputeTask, template: ComputeResult, first: Bool, alone: Bool,
                        latency: UInt64) -> ComputeResult {
        var lie = false
        var shared = false
        if e.liar {
            switch strategy {
            case .always, .rejoin: lie = true
            case .probQ:
                lie = Stream.coin(cellSeed, UInt64(e.id), taskBits(task)) < config.q
            case .untilTrusted: lie = first && alone
            case .colluding: lie = true; shared = true
            case .sybil: lie = attackerLied[task.taskId] ?? false; shared = true
            }
        }
        guard lie else { return Lie.honest(template, key: e.key, timestamp: now, latency: latency) }
        e.lies += 1
        return Lie.sign(template, tag: shared ? "attacker" : "liar-\(e.id)", key: e.key, timestamp: now, latency: latency)
    }

    private func taskBits(_ task: ComputeTask) -> UInt64 {
        var v: UInt64 = 0
        task.taskId.hex.utf8.prefix(16).forEach { v = v &* 31 &+ UInt64($0) }
        return v
    }

    /// Evidence published on the evidence topic reaches every subscribed requester (the
    /// publisher too, as on MQTT and the in-process hub).
    func evidence(_ payload: [UInt8]) {
        evidencePublished += 1
        // The signers it names, for the table (who may be convicted by whom): read off the
        // proofs' executorPublicKey, nothing checked (the requesters check it).
        if case .object(let o)? = (try? Envelope.decode(payload))?.payload, case .array(let proofs)? = o["proofs"] {
            var keys: [PublicKey] = []
            for p in proofs {
                if case .object(let po) = p, case .string(let hex)? = po["executorPublicKey"],
                   let k = try? PublicKey(hex: hex, field: "executorPublicKey") { keys.append(k) }
            }
            for i in transports.indices { evidenceSigners[i].append(contentsOf: keys) }
        }
        for t in transports { t.enqueue(Message(topic: Topic.evidence, payload: payload), at: now + 1) }
    }

    /// The honest outcome of a task, for the requesters' `judge` (re-execution by whoever
    /// receives evidence) and for scoring the table.
    func honestOutcome(_ task: ComputeTask) -> EvidenceDocument.Outcome? {
        guard let r = try? honest.result(task) else { return nil }
        return EvidenceDocument.Outcome(r.proof)
    }

    // MARK: rejoining

    /// A liar identity was blacklisted or convicted by a requester. A rejoining strategy
    /// withdraws it (an empty retained presence) and announces a fresh key (presence); a real
    /// attacker sees this as its key no longer being asked, or its proof in evidence on the
    /// evidence topic.
    func rejoin(_ old: SimExecutor) -> SimExecutor? {
        guard strategy.rejoins, old.liar, !old.retired else { return nil }
        old.retired = true
        let key = try! KeyPair.fromSeed(keyRng.bytes32())
        let fresh = SimExecutor(id: executors.count, liar: true, key: key, baseLatency: old.baseLatency, joinedAt: tasksDone)
        add(fresh)
        for t in transports {
            t.enqueue(Message(topic: Topic.executors(old.key.publicKey),
                              payload: Presence(executor: old.key, capabilities: [], timestamp: now).envelope.canonicalBytes), at: now)
            t.enqueue(Message(topic: Topic.executors(key.publicKey),
                              payload: Presence(executor: key, timestamp: now).envelope.canonicalBytes), at: now)
        }
        return fresh
    }
}

/// A requester's link: publishing an offer makes the named executors answer at once (queued
/// with their latency); `receive` hands out what has arrived by the simulated clock and moves
/// that clock forward as a real wait would.
final class SimTransport: Transport {
    unowned let world: World
    let requester: PublicKey
    let resultsTopic: String
    private var queue: [(at: UInt64, seq: UInt64, message: Message)] = []
    private var seq: UInt64 = 0

    init(world: World, requester: PublicKey) {
        self.world = world
        self.requester = requester
        resultsTopic = Topic.results(requester: requester)
    }

    func enqueue(_ m: Message, at time: UInt64) {
        seq += 1
        queue.append((time, seq, m))
    }

    func publish(topic: String, payload: [UInt8], retain: Bool) throws(DDEError) {
        if sameScalars(topic, Topic.tasks) {
            world.offer(payload)
        } else if sameScalars(topic, Topic.evidence) {
            world.evidence(payload)
        }
        // Code (retained): every simulated executor already holds the module.
    }

    func subscribe(_ filter: String) throws(DDEError) {}
    func unsubscribe(_ filter: String) throws(DDEError) {}

    func receive(timeoutMs: Int) throws(DDEError) -> Message? {
        var best = -1
        for i in queue.indices {
            if best < 0 || queue[i].at < queue[best].at || (queue[i].at == queue[best].at && queue[i].seq < queue[best].seq) {
                best = i
            }
        }
        let limit = world.now + UInt64(max(0, timeoutMs))
        guard best >= 0, queue[best].at <= limit else {
            world.now = limit
            return nil
        }
        let item = queue.remove(at: best)
        if item.at > world.now { world.now = item.at }
        return item.message
    }

    /// `{"payload":<compute_result>,"type":"compute_result","v":1}`: the envelope's canonical
    /// bytes (members already in RFC 8785 order), with the result's fast canonical form.
    static func resultEnvelope(_ r: ComputeResult) -> [UInt8] {
        var out: [UInt8] = Array(#"{"payload":"#.utf8)
        out.append(contentsOf: r.canonicalBytes)
        out.append(contentsOf: #","type":"compute_result","v":1}"#.utf8)
        return out
    }
}
