import DDE
@testable import DDEExecutor
import Foundation
import XCTest

/// The sandbox keeps checked and parsed modules by hash (Sandbox.module): a run must give the
/// same outcome, proof and refusal whether the module came from the cache or not.
final class ModuleCacheTests: XCTestCase {
    var store: CodeStore!
    let requester = KeyPair.generate()
    let executor = KeyPair.generate()

    override func setUpWithError() throws {
        store = try CodeStore(directory: temporaryDirectory(self))
    }

    func task(_ module: [UInt8], action: String, caps: [String], state: [[UInt8]: [UInt8]] = [:],
              payload: String = "{}", limits: ExecutionLimits = ExecutionLimits()) throws -> ComputeTask {
        let hash = try store.add(module)
        return try ComputeTask.create(TaskSpec(dappId: "d", dappCodeHash: hash, action: action, payload: try JSONParser.parse(bytes(payload)),
                                               requiredCapabilities: caps, state: StateMap(values: state), limits: limits,
                                               timestamp: 1_700_000_000_000), requester: requester)
    }

    func assertSame(_ a: ExecutionOutcome, _ b: ExecutionOutcome, _ what: String, line: UInt = #line) {
        XCTAssertEqual(a.result, b.result, what, line: line)
        XCTAssertEqual(a.resultDocument, b.resultDocument, what, line: line)
        XCTAssertEqual(a.stateWrites, b.stateWrites, what, line: line)
        XCTAssertEqual(a.nextState, b.nextState, what, line: line)
        XCTAssertEqual(a.nextStateRoot, b.nextStateRoot, what, line: line)
        XCTAssertEqual(a.capabilitiesUsed, b.capabilitiesUsed, what, line: line)
        XCTAssertEqual(a.executionTraceHash, b.executionTraceHash, what, line: line)
        XCTAssertEqual(a.traceLength, b.traceLength, what, line: line)
        XCTAssertEqual(a.fuelUsed, b.fuelUsed, what, line: line)
        XCTAssertEqual(a.logs, b.logs, what, line: line)
    }

    func testColdAndWarmCacheGiveTheSameOutcomeAndProof() throws {
        let wallet = try task(try exampleModule("wallet"), action: "send", caps: ["state.read", "state.write"],
                              state: [bytes("balance/bob"): bytes("100")], payload: #"{"to":"alice","from":"bob","amount":5}"#)
        let counter = try task(try exampleModule("counter"), action: "increment", caps: ["state.read", "state.write"],
                               state: [bytes("count"): bytes("41")])
        // Many blocks and calls (SHA-256 in guest code): fuel is counted per instruction, so a
        // lazily compiled function must be metered exactly as an eagerly compiled one.
        let hashchain = try task(try exampleModule("hashchain"), action: "run", caps: [], payload: "300")
        for t in [wallet, counter, hashchain] {
            // Without the cache: the module read and hashed from the store, fully checked, parsed.
            let uncached = try Sandbox().run(try Executor.request(for: t, codeStore: store))
            let sandbox = Sandbox()
            XCTAssertEqual(sandbox.cachedModules, 0)
            let coldRequest = try Executor.request(for: t, codeStore: store, sandbox: sandbox)
            XCTAssertEqual(sandbox.cachedModules, 1)
            let cold = try sandbox.run(coldRequest)
            let warm = try sandbox.run(try Executor.request(for: t, codeStore: store, sandbox: sandbox))
            assertSame(uncached, cold, "uncached vs cold")
            assertSame(uncached, warm, "uncached vs warm")
            XCTAssertEqual(sandbox.cachedModules, 1)

            // The signed proof, result and writes byte for byte (Ed25519 signatures are
            // deterministic); only the unsigned executionLatency is wall clock.
            let fresh = Sandbox()
            let first = try Executor.execute(task: t, keyPair: executor, codeStore: store, sandbox: fresh, now: 1_700_000_000_100)
            let second = try Executor.execute(task: t, keyPair: executor, codeStore: store, sandbox: fresh, now: 1_700_000_000_100)
            XCTAssertTrue(first.proof.json.canonicalBytes() == second.proof.json.canonicalBytes(), "proofs differ")
            XCTAssertEqual(first.result, second.result)
            XCTAssertEqual(first.stateWrites, second.stateWrites)
            XCTAssertEqual(first.proof.fuelUsed, uncached.fuelUsed)
            XCTAssertEqual(first.proof.executionTraceHash, uncached.executionTraceHash)
            _ = try Verifier.verify(task: t, result: second)
        }
    }

    func testRefusalsAreTheSameWithAndWithoutTheCache() throws {
        let counter = try exampleModule("counter")
        let float = try wat("""
            (module (import "dde" "state_set" (func (param i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1)
              (func (export "run") (result i32) (drop (f32.const 1)) (i32.const 0)))
            """)
        let cases: [(String, ComputeTask, Status)] = [
            ("undeclared capability", try task(counter, action: "increment", caps: ["state.read"]), .capabilityDenied),
            ("no capabilities", try task(counter, action: "increment", caps: []), .capabilityDenied),
            ("no such action", try task(counter, action: "nope", caps: ["state.read", "state.write"]), .noSuchAction),
            // Undeclared import and a missing action: the import is named first, as before.
            ("both", try task(counter, action: "nope", caps: ["log"]), .capabilityDenied),
            ("out of fuel", try task(counter, action: "increment", caps: ["state.read", "state.write"],
                                     limits: ExecutionLimits(maxFuel: 20)), .outOfFuel),
            // Refused by the task-independent check: never cached, refused the same way each time.
            ("float", try task(float, action: "run", caps: ["state.write"]), .codeNondeterministic),
            ("float and undeclared import", try task(float, action: "run", caps: []), .capabilityDenied),
        ]
        for (name, t, status) in cases {
            func refusal(_ run: () throws -> ExecutionOutcome) -> DDEError? {
                do {
                    _ = try run()
                    return nil
                } catch {
                    return error as? DDEError
                }
            }
            let uncached = refusal { try Sandbox().run(try Executor.request(for: t, codeStore: store)) }
            let sandbox = Sandbox()
            let cold = refusal { try sandbox.run(try Executor.request(for: t, codeStore: store, sandbox: sandbox)) }
            let warm = refusal { try sandbox.run(try Executor.request(for: t, codeStore: store, sandbox: sandbox)) }
            XCTAssertEqual(uncached?.status, status, "\(name): \(uncached?.detail ?? "no refusal")")
            for (label, other) in [("cold", cold), ("warm", warm)] {
                XCTAssertEqual(other?.status, uncached?.status, "\(name), \(label)")
                XCTAssertEqual(other?.detail, uncached?.detail, "\(name), \(label)")
            }
            XCTAssertEqual(sandbox.cachedModules, status == .codeNondeterministic || name.hasPrefix("float") ? 0 : 1, name)
        }
    }

    /// A kept module's first run is eager (WasmKit validates and compiles every function, under
    /// the task's limits) and validates it; later runs compile lazily. A function that no action
    /// calls but that WasmKit refuses (here one returning an i64 where its type says i32, which no
    /// instruction rule of ModuleCheck catches) fails every eager run, so the module is never
    /// validated and every run of it is refused as without the cache.
    func testAModuleWasmKitRefusesInAFunctionNoActionCallsIsNeverRunLazily() throws {
        let invalid = try wat("""
            (module (memory (export "memory") 1)
              (func $unused (result i32) (i64.const 1))
              (func (export "run") (result i32) (i32.const 0)))
            """)
        let t = try task(invalid, action: "run", caps: [])
        let sandbox = Sandbox()
        for _ in 0..<3 {
            XCTAssertThrowsError(try sandbox.run(try Executor.request(for: t, codeStore: store, sandbox: sandbox))) { error in
                XCTAssertEqual((error as? DDEError)?.status, .codeInvalid, "\(error)")
            }
        }
        XCTAssertEqual(sandbox.cachedModules, 1)
        XCTAssertEqual(sandbox.validatedModules, 0)
        XCTAssertThrowsError(try Sandbox().run(try Executor.request(for: t, codeStore: store))) { error in
            XCTAssertEqual((error as? DDEError)?.status, .codeInvalid)
        }
        // A valid module is validated by its first run; a first run refused at instantiation (a
        // memory cap below the module's initial memory) validates nothing.
        let counter = try exampleModule("counter")
        let small = try task(counter, action: "increment", caps: ["state.read", "state.write"],
                             limits: ExecutionLimits(maxMemoryUsage: 1024))
        XCTAssertThrowsError(try sandbox.run(try Executor.request(for: small, codeStore: store, sandbox: sandbox))) { error in
            XCTAssertEqual((error as? DDEError)?.status, .memoryLimit)
        }
        XCTAssertEqual(sandbox.validatedModules, 0)
        let fine = try task(counter, action: "increment", caps: ["state.read", "state.write"])
        _ = try sandbox.run(try Executor.request(for: fine, codeStore: store, sandbox: sandbox))
        XCTAssertEqual(sandbox.validatedModules, 1)
    }

    /// Fuel is fixed when WasmKit translates a function, lazily or eagerly: a lazy run given
    /// exactly the fuel an eager run used succeeds with it all used, and one unit less runs out.
    func testALazyRunUsesExactlyTheFuelOfAnEagerOne() throws {
        let wallet = try exampleModule("wallet")
        let hashchain = try exampleModule("hashchain")
        let cases: [(String, [UInt8], String, [String], [[UInt8]: [UInt8]], String)] = [
            ("wallet", wallet, "send", ["state.read", "state.write"], [bytes("balance/bob"): bytes("100")],
             #"{"to":"alice","from":"bob","amount":5}"#),
            ("hashchain", hashchain, "run", [], [:], "50"),
        ]
        for (name, module, action, caps, state, payload) in cases {
            let unlimited = try task(module, action: action, caps: caps, state: state, payload: payload)
            let eager = try Sandbox().run(try Executor.request(for: unlimited, codeStore: store))
            let fuel = eager.fuelUsed
            for (limit, succeeds) in [(fuel, true), (fuel - 1, false)] {
                let t = try task(module, action: action, caps: caps, state: state, payload: payload,
                                 limits: ExecutionLimits(maxFuel: limit))
                let sandbox = Sandbox()
                _ = try sandbox.run(try Executor.request(for: unlimited, codeStore: store, sandbox: sandbox))
                XCTAssertEqual(sandbox.validatedModules, 1, name)
                do {
                    let lazy = try sandbox.run(try Executor.request(for: t, codeStore: store, sandbox: sandbox))
                    XCTAssertTrue(succeeds, "\(name): ran with \(limit) fuel, one less than it needs")
                    assertSame(eager, lazy, name)
                } catch {
                    XCTAssertFalse(succeeds, "\(name): \(error)")
                    XCTAssertEqual((error as? DDEError)?.status, .outOfFuel, name)
                }
            }
        }
    }

    /// Calls through a table and a recursion that exhausts the stack: the same outcome, fuel and
    /// refusal eager (uncached, and the first run of a kept module) and lazy (the later runs).
    func testIndirectCallsAndStackExhaustionAreTheSameLazily() throws {
        let module = try wat("""
            (module
              (import "dde" "output_write" (func $out (param i32 i32) (result i32)))
              (memory (export "memory") 1)
              (data (i32.const 0) "42")
              (type $t (func (param i32) (result i32)))
              (table 2 funcref)
              (elem (i32.const 0) $double $recurse)
              (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
              (func $recurse (type $t) (call_indirect (type $t) (i32.add (local.get 0) (i32.const 1)) (i32.const 1)))
              (func (export "indirect") (result i32)
                (drop (call_indirect (type $t) (i32.const 21) (i32.const 0)))
                (drop (call $out (i32.const 0) (i32.const 2)))
                (i32.const 0))
              (func (export "deep") (result i32) (drop (call $recurse (i32.const 0))) (i32.const 0)))
            """)
        let indirect = try task(module, action: "indirect", caps: [])
        let deep = try task(module, action: "deep", caps: [])
        let uncached = try Sandbox().run(try Executor.request(for: indirect, codeStore: store))
        let sandbox = Sandbox()
        for _ in 0..<3 {
            assertSame(uncached, try sandbox.run(try Executor.request(for: indirect, codeStore: store, sandbox: sandbox)), "indirect")
        }
        XCTAssertEqual(sandbox.validatedModules, 1)
        func refusal(_ s: Sandbox, cached: Bool) -> DDEError? {
            do {
                _ = try s.run(try Executor.request(for: deep, codeStore: store, sandbox: cached ? s : nil))
                return nil
            } catch {
                return error as? DDEError
            }
        }
        let eagerly = refusal(Sandbox(), cached: false)
        let lazily = refusal(sandbox, cached: true)
        XCTAssertEqual(eagerly?.status, .guestTrap)
        XCTAssertEqual(lazily?.status, eagerly?.status)
        XCTAssertEqual(lazily?.detail, eagerly?.detail)
        // One line, the reason without WasmKit's backtrace of code addresses (which differ from
        // run to run, and ran to 700 KB here: more than a compute_error's message may hold).
        XCTAssertEqual(eagerly?.detail, "the module trapped: Trap: call stack exhausted")
    }

    /// Messages are clipped at a character: the result is at most the limit in UTF-8 bytes.
    func testClippedKeepsWholeCharactersWithinTheLimit() {
        XCTAssertEqual(clipped("short", toBytes: 10), "short")
        XCTAssertEqual(clipped("0123456789", toBytes: 10), "0123456789")
        XCTAssertEqual(clipped("0123456789A", toBytes: 10), "0123456…")
        // "é" is 2 bytes: six (12) are over 10; four (8) and the ellipsis (3) are too, three fit.
        XCTAssertEqual(clipped("éééééé", toBytes: 10), "ééé…")
        let long = clipped(String(repeating: "x\n", count: 400_000), toBytes: 4096)
        XCTAssertLessThanOrEqual(long.utf8.count, 4096)
        XCTAssertTrue(long.hasSuffix("…"))
    }

    /// Runner threads share one sandbox (ExecutorNode): concurrent lazy runs of one kept module
    /// give the same outcome as an eager run.
    func testConcurrentLazyRunsOfAKeptModuleAgree() throws {
        let t = try task(try exampleModule("hashchain"), action: "run", caps: [], payload: "20")
        let eager = try Sandbox().run(try Executor.request(for: t, codeStore: store))
        let sandbox = Sandbox()
        _ = try sandbox.run(try Executor.request(for: t, codeStore: store, sandbox: sandbox))
        XCTAssertEqual(sandbox.validatedModules, 1)
        let lock = NSLock()
        var outcomes: [ExecutionOutcome] = []
        var failures: [String] = []
        let codeStore = store!
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                let outcome = try sandbox.run(try Executor.request(for: t, codeStore: codeStore, sandbox: sandbox))
                lock.withLock { outcomes.append(outcome) }
            } catch {
                lock.withLock { failures.append("\(error)") }
            }
        }
        XCTAssertEqual(failures, [])
        XCTAssertEqual(outcomes.count, 8)
        for o in outcomes { assertSame(eager, o, "concurrent") }
    }

    func testTheHashIsCheckedOnTheFirstLoadAndTheCacheKeepsTheGoodBytes() throws {
        let module = try exampleModule("counter")
        let t = try task(module, action: "increment", caps: ["state.read", "state.write"])
        let sandbox = Sandbox()
        let before = try sandbox.run(try Executor.request(for: t, codeStore: store, sandbox: sandbox))
        var tampered = module
        tampered[tampered.count - 1] ^= 1
        try Data(tampered).write(to: store.path(for: t.dappCodeHash))
        // A sandbox that never loaded it reads the file and refuses it.
        XCTAssertThrowsError(try Executor.request(for: t, codeStore: store, sandbox: Sandbox())) { error in
            XCTAssertEqual((error as? DDEError)?.status, .codeHash)
        }
        // The one that did runs the bytes it checked then, which are the module the hash names.
        let after = try sandbox.run(try Executor.request(for: t, codeStore: store, sandbox: sandbox))
        assertSame(before, after, "cached after tampering")
    }

    func testPreparedModuleIsIgnoredWhenTheBytesWereReplaced() throws {
        let counter = try exampleModule("counter")
        let t = try task(counter, action: "increment", caps: ["state.read", "state.write"])
        let sandbox = Sandbox()
        var request = try Executor.request(for: t, codeStore: store, sandbox: sandbox)
        request.module = try wat("(module (func (export \"increment\") (result i32) (f32.const 1) (drop) (i32.const 0)))")
        XCTAssertThrowsError(try sandbox.run(request)) { error in
            XCTAssertEqual((error as? DDEError)?.status, .codeNondeterministic)
        }
    }
}
