import DDE
import DDEExecutor
import DDENetwork
import Foundation
import XCTest

/// Found by running the MQTT tests under AddressSanitizer (docs/FUZZING.md): the node published a
/// task's result before it gave the task's slot back (maxComputeTasksPerPeer), so a requester
/// that sent its next task as soon as it had the answer could be refused DDE_ERR_BUSY
/// (NodeEndToEndTests' flood test failed that way once, the ASan build being slower). Here the
/// transport makes the race certain: when the node publishes the first result, it offers the
/// next task and holds that publish until the node's receiving thread has handled the offer.
final class ExecutorNodeSlotTests: XCTestCase {
    final class HandOffTransport: Transport, @unchecked Sendable {
        let condition = NSCondition()
        var inbox: [Message] = []
        var published: [Message] = []
        /// Offered while the first result is being published.
        var nextOffer: Message? {
            didSet { if let m = nextOffer { nextPayload = m.payload } }
        }
        var nextPayload: [UInt8] = []
        var nextTaken = false
        var nextHandled = false

        func publish(topic: String, payload: [UInt8], retain: Bool) throws(DDEError) {
            condition.lock()
            defer { condition.unlock() }
            published.append(Message(topic: topic, payload: payload))
            condition.broadcast()
            guard let offer = nextOffer, let e = try? Envelope.decode(payload), e.type == .computeResult else { return }
            nextOffer = nil
            inbox.append(offer)
            condition.broadcast()
            // Hold this publish until the receiver comes back for more after taking the offer.
            let deadline = Date(timeIntervalSinceNow: 10)
            while !nextHandled && condition.wait(until: deadline) {}
        }

        func subscribe(_ filter: String) throws(DDEError) {}
        func unsubscribe(_ filter: String) throws(DDEError) {}

        func receive(timeoutMs: Int) throws(DDEError) -> Message? {
            condition.lock()
            defer { condition.unlock() }
            if nextTaken && !nextHandled {
                nextHandled = true  // back for more: the offer taken last time has been handled
                condition.broadcast()
            }
            if inbox.isEmpty { _ = condition.wait(until: Date(timeIntervalSinceNow: Double(max(timeoutMs, 1)) / 1000)) }
            guard !inbox.isEmpty else { return nil }
            let m = inbox.removeFirst()
            if m.payload == nextPayload { nextTaken = true }
            return m
        }

        /// Results and errors published for `task`.
        func answers(_ task: ComputeTask) -> (results: Int, busy: Int) {
            condition.lock()
            defer { condition.unlock() }
            var results = 0, busy = 0
            for m in published {
                guard let e = try? Envelope.decode(m.payload) else { continue }
                if e.type == .computeResult, let r = try? ComputeResult(json: e.payload), r.taskId == task.taskId { results += 1 }
                if e.type == .computeError, let c = try? ComputeErrorMessage(json: e.payload), c.taskId == task.taskId, c.code == .busy {
                    busy += 1
                }
            }
            return (results, busy)
        }
    }

    /// A code store holding the counter module and two counter tasks of one requester.
    func twoTasks() throws -> (code: CodeStore, first: ComputeTask, second: ComputeTask) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dde-slot-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let code = try CodeStore(directory: dir.appendingPathComponent("code"))
        let counter = try code.add(try exampleModule("counter"))
        let requester = KeyPair.generate()
        func task(_ n: Int) throws -> ComputeTask {
            try ComputeTask.create(TaskSpec(dappId: "counter", dappCodeHash: counter, action: "increment", payload: .number(Double(n)),
                                            requiredCapabilities: ["state.read", "state.write"], timestamp: 1_764_000_000_000),
                                   requester: requester)
        }
        return (code, try task(1), try task(2))
    }

    func offer(_ t: ComputeTask) -> Message {
        Message(topic: Topic.tasks, payload: TaskOffer(task: t, executors: []).envelope.canonicalBytes)
    }

    /// Runs a node of one worker, at most one task per requester, on `transport` until `done`
    /// (or 20 s), each task answered by `answer` (nil: the result).
    func run(_ transport: HandOffTransport, code: CodeStore, answer: NodeAnswerHook? = nil,
             until done: @escaping () -> Bool) throws {
        var config = ExecutorNode<HandOffTransport>.Config()
        config.maxComputeTasksPerPeer = 1
        config.workers = 1
        config.answer = answer
        let node = ExecutorNode(transport: transport, keyPair: KeyPair.generate(), codeStore: code, config: config, log: { _ in })
        try node.start()
        let deadline = Date(timeIntervalSinceNow: 20)
        node.run(pollMs: 10) { done() || Date() > deadline }
    }

    func testTheSlotIsFreeWhenTheResultLeaves() throws {
        let (code, first, second) = try twoTasks()
        let transport = HandOffTransport()
        transport.inbox = [offer(first)]
        transport.nextOffer = offer(second)

        try run(transport, code: code) {
            let a = transport.answers(second)
            return a.results + a.busy > 0
        }
        XCTAssertEqual(transport.answers(first).results, 1)
        XCTAssertTrue(transport.nextHandled, "the second offer was never handled")
        let answer = transport.answers(second)
        XCTAssertEqual(answer.busy, 0, "the second task was refused busy: the first one's slot was still taken when its result left")
        XCTAssertEqual(answer.results, 1)
    }

    /// A task answered with nothing (an answer hook's `.nothing`: a silent executor) is over too:
    /// its slot must come back, or its requester is refused busy for good.
    func testTheSlotIsFreeAfterASilentAnswer() throws {
        let (code, first, second) = try twoTasks()
        let transport = HandOffTransport()
        transport.inbox = [offer(first), offer(second)]

        let silent = first.taskId
        try run(transport, code: code, answer: { task, _, execute throws(DDEError) -> NodeAnswer in
            task.taskId == silent ? .nothing(note: "silent") : .result(try execute(), note: "")
        }) {
            let a = transport.answers(second)
            return a.results + a.busy > 0
        }
        XCTAssertEqual(transport.answers(first).results, 0)
        let answer = transport.answers(second)
        XCTAssertEqual(answer.busy, 0, "the second task was refused busy: the silent task kept its slot")
        XCTAssertEqual(answer.results, 1)
    }

    /// The thread that received a task runs it while an idle thread takes over receiving, so a
    /// long task does not hold up the next offer ("busy refusals stay prompt"): here that offer is
    /// refused busy (one task per requester) while the first task still runs.
    func testAnOfferDuringALongTaskIsHandledWhileItRuns() throws {
        let (code, first, second) = try twoTasks()
        let transport = HandOffTransport()
        transport.inbox = [offer(first), offer(second)]

        let slow = first.taskId
        try run(transport, code: code, answer: { task, _, execute throws(DDEError) -> NodeAnswer in
            if task.taskId == slow { Thread.sleep(forTimeInterval: 0.5) }
            return .result(try execute(), note: "")
        }) { transport.answers(first).results > 0 }
        XCTAssertEqual(transport.answers(first).results, 1)
        XCTAssertEqual(transport.answers(second).busy, 1)
        // In the order published: the refusal left while the first task ran.
        let kinds = transport.published.compactMap { try? Envelope.decode($0.payload).type }
        XCTAssertEqual(kinds.filter { $0 == .computeResult || $0 == .computeError }, [.computeError, .computeResult],
                       "the second offer was handled only after the long task had ended")
    }
}
