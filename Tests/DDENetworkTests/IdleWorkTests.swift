@testable import DDENetwork
import Foundation
import XCTest

/// IdleWork: the executor node's after-answer work (its log line) at idle priority.
final class IdleWorkTests: XCTestCase {
    /// Jobs run in the order given; the idle thread runs them under SCHED_IDLE; `drain` returns
    /// only when every job queued before it has run (the ones still queued it runs itself).
    func testJobsRunInOrderAtIdlePriorityAndDrainWaitsForThem() {
        let work = IdleWork(name: "test.after")
        let lock = NSCondition()
        var order: [Int] = []
        var firstPolicy: Int32 = -1
        for i in 0..<50 {
            work.later {
                var policy: Int32 = -1
                var param = sched_param()
                pthread_getschedparam(pthread_self(), &policy, &param)
                lock.lock()
                if i == 0 { firstPolicy = policy }
                order.append(i)
                lock.broadcast()
                lock.unlock()
            }
            if i == 0 {
                // The first job is the idle thread's (drain could otherwise run them all).
                lock.lock()
                let deadline = Date(timeIntervalSinceNow: 10)
                while order.isEmpty && lock.wait(until: deadline) {}
                lock.unlock()
            }
        }
        work.drain()
        lock.lock()
        defer { lock.unlock() }
        XCTAssertEqual(order, Array(0..<50))
        XCTAssertEqual(firstPolicy, 5, "the idle thread's policy is not SCHED_IDLE (5)")
    }

    /// Past `maxQueued` jobs waiting, `later` runs the job in the caller's thread: the queue stays
    /// bounded when the idle thread gets no CPU.
    func testAFullQueueRunsTheJobInTheCaller() {
        let work = IdleWork(name: "test.full")
        let gate = NSCondition()
        var taken = false
        var open = false
        // The first job holds the idle thread until the queue has been filled.
        work.later {
            gate.lock()
            taken = true
            gate.broadcast()
            while !open { gate.wait() }
            gate.unlock()
        }
        gate.lock()
        let deadline = Date(timeIntervalSinceNow: 10)
        while !taken && gate.wait(until: deadline) {}
        gate.unlock()
        XCTAssertTrue(taken)
        let caller = Thread.current
        let ranLock = NSLock()
        var ranOn: [Bool] = []  // job ran in the caller's thread
        for _ in 0...IdleWork.maxQueued {
            work.later { ranLock.lock(); ranOn.append(Thread.current == caller); ranLock.unlock() }
        }
        // maxQueued wait; the one past them ran at once, here.
        ranLock.lock()
        XCTAssertEqual(ranOn, [true])
        ranLock.unlock()
        gate.lock(); open = true; gate.broadcast(); gate.unlock()
        work.drain()
        ranLock.lock()
        XCTAssertEqual(ranOn.count, IdleWork.maxQueued + 1)
        ranLock.unlock()
    }
}
