// Work that may wait until the CPU has nothing better to do: one thread of the lowest priority
// (Linux SCHED_IDLE) runs it in order.
//
// Why: what an executor does right after publishing a result (formatting and writing the task's
// log line, freeing the task and its result) is on the result's way to the requester whenever
// the broker that must forward it shares that CPU. Seen with perf sched (BENCHMARKS.md, Network,
// session 9): on the 2-vCPU benchmark machine the kernel packed requester, broker and executor
// onto one vCPU, and the broker ran only after those ~25 us. A SCHED_IDLE thread runs only when
// no other thread wants the CPU and gives way at once when one wakes, so that work now waits for
// the requester's disk instead of delaying the answer. Under load it still gets a small share of
// the CPU, and past `maxQueued` jobs the caller runs its job itself: the queue stays bounded.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

final class IdleWork: @unchecked Sendable {
    /// Jobs waiting at most; past it `later` runs the job in the caller's thread.
    static let maxQueued = 256

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var running = false  // a job taken from `jobs` is running
    private var started = false
    private let name: String

    init(name: String) { self.name = name }

    /// Runs `job` later on the idle-priority thread (started when none runs).
    func later(_ job: @escaping () -> Void) {
        condition.lock()
        if jobs.count >= IdleWork.maxQueued {
            condition.unlock()
            job()
            return
        }
        jobs.append(job)
        if !started {
            started = true
            let thread = Thread { [self] in loop() }
            thread.name = name
            thread.start()
        }
        condition.signal()
        condition.unlock()
    }

    /// Returns once every job queued before the call has run (at the caller's priority: the jobs
    /// left are run here, not waited for).
    func drain() {
        while true {
            condition.lock()
            if jobs.isEmpty {
                while running { condition.wait() }
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }

    private func loop() {
        #if os(Linux)
        // SCHED_IDLE (5 in <sched.h>; Glibc's Swift module does not export the macro). Lowering
        // one's own priority needs no privilege; if it fails the jobs run at normal priority.
        var param = sched_param()
        param.sched_priority = 0
        _ = pthread_setschedparam(pthread_self(), 5, &param)
        #endif
        while true {
            condition.lock()
            // A thread idle for a second ends (a node that stopped answering keeps none); the
            // next job starts another.
            let until = Date(timeIntervalSinceNow: 1)
            while jobs.isEmpty {
                if !condition.wait(until: until) && jobs.isEmpty {
                    started = false
                    condition.unlock()
                    return
                }
            }
            let job = jobs.removeFirst()
            running = true
            condition.unlock()
            job()
            condition.lock()
            running = false
            condition.broadcast()
            condition.unlock()
        }
    }
}
