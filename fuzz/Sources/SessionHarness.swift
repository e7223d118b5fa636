// session: the answers to a real delegation. A Delegator with three executors known (added by
// hand) delegates the fixture spec over a transport that hands out the fuzzed messages as the
// answers, then the deadline passes. What the network can send decides nothing it should not:
// the delegation never throws because of an answer (only NO_EXECUTOR before any, from the options), a committed result verifies against the
// task and its chain verifies, quorum(2) commits only what two executors signed.
//
// The input: one byte of options (bits 0-1 the mode: first_valid, quorum(k), audited with the
// first executor pinned, audited with none; bits 2-3 k - 2 for quorum(k); bits 4-5 the fanout
// 3, 1, 2, 3; bit 6 critical; bit 7 allowFallback), then NUL-separated `topic\npayload` records
// as in the presence harness.
@testable import DDE

/// A clock that advances one millisecond per reading, and jumps past any deadline once the
/// transport has handed out every message.
final class FuzzClock {
    var now: UInt64 = Fixture.now
    func read() -> UInt64 {
        now += 1
        return now
    }
}

final class AnsweringTransport: Transport {
    var inbox: [Message] = []
    var next = 0
    let clock: FuzzClock
    var offers = 0

    init(clock: FuzzClock) { self.clock = clock }

    func publish(topic: String, payload: [UInt8], retain: Bool) throws(DDEError) {
        if sameScalars(topic, Topic.tasks) { offers += 1 }
    }
    func subscribe(_ filter: String) throws(DDEError) {}
    func unsubscribe(_ filter: String) throws(DDEError) {}
    func receive(timeoutMs: Int) throws(DDEError) -> Message? {
        guard next < inbox.count else {
            clock.now += 3_600_000
            return nil
        }
        next += 1
        return inbox[next - 1]
    }
}

extension Fixture {
    static let third = try! KeyPair.fromSeed(seed(4))
    static let executors = [executor, other, third]

    /// The keys the session harness declares for the counter's increment (the fixture's writes).
    static let sessionKeys = [Array("count".utf8), Array("gone".utf8)]

    /// The task the session harness's delegation builds: the fixture spec as a taskVersion 2
    /// task carrying `sessionKeys` of the store's (empty) state, signed by the requester.
    static let sessionTask: ComputeTask = {
        var s = spec(state: nil)
        s.partialState = PartialState(map: StateMap(), keys: sessionKeys)
        return try! ComputeTask.create(s, requester: requester)
    }()
}

enum FuzzSessionStore {
    static func reset() {
        let s = FuzzStore.store
        for table in ["compute_results", "receipts", "dapp_state", "dapp_roots", "state_nodes", "reputation", "evidence"] {
            try! s.database.execute("DELETE FROM \(table)")
        }
        try! s.database.execute("DELETE FROM meta WHERE key = 'identity'")
        s.headCache = nil
    }
}

func fuzzSession(_ data: UnsafeRawBufferPointer) {
    guard data.count >= 1 else { return }
    FuzzSessionStore.reset()
    let clock = FuzzClock()
    let transport = AnsweringTransport(clock: clock)
    transport.inbox = messages(UnsafeRawBufferPointer(rebasing: data[1...]), max: 32)
    let delegator: Delegator<AnsweringTransport>
    do throws(DDEError) {
        delegator = try Delegator(transport: transport, store: FuzzStore.store, identity: Fixture.requester,
                                  clock: { clock.read() }, random: { 0x9E37_79B9_7F4A_7C15 })
    } catch {
        fatalError("Delegator: \(error.message)")
    }
    for k in Fixture.executors { delegator.addExecutor(Presence(executorPublicKey: k.publicKey)) }
    delegator.declareKeys(dappId: "counter", action: "increment") { _ in Fixture.sessionKeys }
    let bits = data[0]
    let fanouts = [3, 1, 2, 3]
    var options = DelegationOptions(fanout: fanouts[Int(bits >> 4 & 3)], deadlineMs: 10_000)
    options.lingerMs = 100
    options.critical = bits & 0x40 != 0
    options.allowFallback = bits & 0x80 != 0
    let modeByte = bits & 3
    let k = 2 + Int(bits >> 2 & 3)
    switch modeByte {
    case 0: options.mode = .firstValid
    case 1: options.mode = .quorum(k)
    case 2:
        options.mode = .audited(AuditPolicy())
        options.pinned = [Fixture.executor.publicKey]
    default:
        options.mode = .audited(AuditPolicy())
    }

    let report: DelegationReport
    do throws(DDEError) {
        report = try delegator.delegate(Fixture.spec(state: StateMap()), options: options)
    } catch {
        // The options alone may leave nobody to ask (critical without fallback on a fresh store,
        // quorum(k) with k over the three executors): NO_EXECUTOR, decided before any answer is
        // read. A throw after an answer was read is one the network caused.
        expect(error.status == .noExecutor && transport.next == 0,
               "a delegation threw on the network's answers (\(transport.next) read): \(error.message)")
        return
    }
    // A signed DDE_ERR_STATE_KEY_OUTSIDE among the answers makes a second task with that key.
    expect(report.task.taskId == Fixture.sessionTask.taskId || !report.retriedWithKeys.isEmpty,
           "the delegation built another task than the seeds answer")

    if let receipt = report.receipt {
        guard let accepted = report.accepted else { fatalError("a receipt without an accepted result") }
        do throws(DDEError) {
            _ = try Verifier.verify(task: report.task, result: accepted)
        } catch {
            fatalError("committed a result that does not verify: \(error.message)")
        }
        expect(receipt.resultHash == accepted.proof.resultHash, "the receipt names another result")
        if modeByte == 1 {
            let confirmed = report.assurance?.confirmedBy ?? []
            expect(confirmed.filter { $0 != accepted.proof.executorPublicKey }.count >= k - 1,
                   "quorum(\(k)) committed a result only \(confirmed.count) others confirmed")
        }
        do throws(DDEError) {
            _ = try FuzzStore.store.verifyChain()
        } catch {
            fatalError("the chain does not verify after a delegation: \(error.message)")
        }
    }
    if verbose {
        let asked: [Int] = report.asked.map { key in Fixture.executors.firstIndex { $0.publicKey == key } ?? -1 }
        let events: [String] = report.events.map { String("\($0)".prefix(200)) }
        print("session: mode \(modeByte), \(transport.inbox.count) messages, \(transport.offers) offers, asked \(asked), "
              + "receipt \(report.receipt != nil), failure \(report.failure?.status.name ?? "none"), ignored \(delegator.ignoredMessages)")
        for e in events { print("  \(e)") }
    }
}
