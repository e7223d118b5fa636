import DDE
import DDEExecutor
import Foundation
import XCTest

final class SandboxTests: XCTestCase {
    let sandbox = Sandbox()
    let stateCaps = ["state.read", "state.write"]

    func counterRequest(_ state: [[UInt8]: [UInt8]]) throws -> ExecutionRequest {
        ExecutionRequest(module: try exampleModule("counter"), action: "increment", input: bytes("{}"),
                         state: state, capabilities: stateCaps)
    }

    func testCounterIncrements() throws {
        let first = try sandbox.run(try counterRequest([:]))
        XCTAssertEqual(text(first.result), #"{"count":1}"#)
        XCTAssertEqual(first.stateWrites, [StateWrite(key: bytes("count"), value: bytes("1"))])
        XCTAssertEqual(first.nextStateRoot, StateRoot.root(sortedEntries: [(bytes("count"), bytes("1"))]))
        XCTAssertEqual(first.capabilitiesUsed, ["state.read", "state.write"])
        // state_get, state_set, output_write x3.
        XCTAssertEqual(first.traceLength, 5)
        XCTAssertGreaterThan(first.fuelUsed, 0)

        let state = [bytes("count"): bytes("41"), bytes("other"): bytes("x")]
        let next = try sandbox.run(try counterRequest(state))
        XCTAssertEqual(text(next.result), #"{"count":42}"#)
        XCTAssertEqual(next.stateWrites, [StateWrite(key: bytes("count"), value: bytes("42"))])
        XCTAssertEqual(next.nextState, [bytes("count"): bytes("42"), bytes("other"): bytes("x")])
        XCTAssertEqual(next.nextStateRoot, StateRoot.root(sortedEntries: [(bytes("count"), bytes("42")), (bytes("other"), bytes("x"))]))
        XCTAssertNotEqual(next.executionTraceHash, first.executionTraceHash)

        // A stored count that is not decimal makes the action fail.
        assertRefused(sandbox, try counterRequest([bytes("count"): bytes("4x")]), .actionFailed)
    }

    func testSameTaskTwiceGivesTheSameOutcome() throws {
        let request = try counterRequest([bytes("count"): bytes("7")])
        let a = try sandbox.run(request)
        let b = try Sandbox().run(request)
        XCTAssertEqual(a.result, b.result)
        XCTAssertEqual(a.stateWrites, b.stateWrites)
        XCTAssertEqual(a.nextStateRoot, b.nextStateRoot)
        XCTAssertEqual(a.executionTraceHash, b.executionTraceHash)
        XCTAssertEqual(a.traceLength, b.traceLength)
        XCTAssertEqual(a.fuelUsed, b.fuelUsed)
        XCTAssertEqual(a.capabilitiesUsed, b.capabilitiesUsed)
    }

    func testFuelIsExact() throws {
        var request = try counterRequest([:])
        let used = try sandbox.run(request).fuelUsed
        request.limits.maxFuel = used
        XCTAssertEqual(try sandbox.run(request).fuelUsed, used)
        request.limits.maxFuel = used - 1
        assertRefused(sandbox, request, .outOfFuel)
    }

    func walletRequest(_ payload: String, _ state: [[UInt8]: [UInt8]]) throws -> ExecutionRequest {
        ExecutionRequest(module: try exampleModule("wallet"), action: "send", input: bytes(payload),
                         state: state, capabilities: stateCaps)
    }

    func testWalletSendsAndRefusesOverdrafts() throws {
        let state = [bytes("balance/bob"): bytes("100")]
        let sent = try sandbox.run(try walletRequest(#"{"amount":5,"from":"bob","to":"alice"}"#, state))
        XCTAssertEqual(text(sent.result), #"{"from":95,"ok":true,"to":5}"#)
        XCTAssertEqual(sent.stateWrites, [StateWrite(key: bytes("balance/alice"), value: bytes("5")),
                                          StateWrite(key: bytes("balance/bob"), value: bytes("95"))])
        XCTAssertEqual(sent.nextState, [bytes("balance/alice"): bytes("5"), bytes("balance/bob"): bytes("95")])

        let overdraft = try sandbox.run(try walletRequest(#"{"amount":101,"from":"bob","to":"alice"}"#, state))
        XCTAssertEqual(text(overdraft.result), #"{"error":"insufficient funds","ok":false}"#)
        XCTAssertEqual(overdraft.stateWrites, [])
        XCTAssertEqual(overdraft.nextStateRoot, StateRoot.root(sortedEntries: [(bytes("balance/bob"), bytes("100"))]))

        // Sending to oneself changes nothing, so there is no write.
        let selfSend = try sandbox.run(try walletRequest(#"{"amount":30,"from":"bob","to":"bob"}"#, state))
        XCTAssertEqual(text(selfSend.result), #"{"from":100,"ok":true,"to":100}"#)
        XCTAssertEqual(selfSend.stateWrites, [])

        for bad in [#"{"amount":5,"to":"alice"}"#, #"{"amount":-5,"from":"bob","to":"alice"}"#,
                    #"{"amount":5,"from":"b\"o","to":"alice"}"#, #"{"amount":5,"from":"bob","to":"alice"} "#, "null"] {
            assertRefused(sandbox, try walletRequest(bad, state), .actionFailed)
        }
    }

    func testHashchainMatchesSHA256() throws {
        let module = try exampleModule("hashchain")
        for n in [1, 3, 100] {
            let outcome = try sandbox.run(ExecutionRequest(module: module, action: "run", input: bytes(String(n)), capabilities: []))
            var digest = [UInt8](repeating: 0, count: 32)
            for _ in 0..<n { digest = SHA256.hash(digest).bytes }
            XCTAssertEqual(text(outcome.result), #"{"hash":"\#(Hex.encode(digest))","n":\#(n)}"#)
            XCTAssertEqual(outcome.capabilitiesUsed, [])
            XCTAssertEqual(outcome.stateWrites, [])
        }
        let zero = try sandbox.run(ExecutionRequest(module: module, action: "run", input: bytes("0"), capabilities: []))
        XCTAssertEqual(text(zero.result), #"{"hash":"\#(String(repeating: "0", count: 64))","n":0}"#)
        // (A payload that is not an integer of 1 to 9 digits means the default N = 4000; too slow
        // for a debug-build test, the benchmark runs it.)
    }

    /// docs/EXECUTION.md's trace test vector, recomputed here from the definition.
    func testTraceVector() throws {
        let module = try wat("""
        (module
          (import "dde" "input_size" (func $size (result i32)))
          (import "dde" "output_write" (func $out (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "true")
          (func (export "main") (result i32)
            (drop (call $size))
            (drop (call $out (i32.const 0) (i32.const 4)))
            (i32.const 0)))
        """)
        let outcome = try sandbox.run(ExecutionRequest(module: module, action: "main", input: bytes("{}"), capabilities: []))
        XCTAssertEqual(text(outcome.result), "true")
        XCTAssertEqual(outcome.traceLength, 2)

        func step(_ previous: [UInt8], _ i: UInt32, _ capability: String, _ function: String, _ args: [UInt8], _ returned: [UInt8]) -> [UInt8] {
            var message = previous
            message += [UInt8(i >> 24), UInt8(i >> 16 & 0xff), UInt8(i >> 8 & 0xff), UInt8(i & 0xff)]
            message += bytes(capability) + [0] + bytes(function) + [0]
            message += SHA256.hash(args).bytes + SHA256.hash(returned).bytes
            return SHA256.hash(message).bytes
        }
        let h0 = SHA256.hash(bytes("dde/v1/trace")).bytes
        let h1 = step(h0, 1, "io", "input_size", [], [0, 0, 0, 2])
        let h2 = step(h1, 2, "io", "output_write", [0, 0, 0, 0, 0, 0, 0, 4] + bytes("true"), [0, 0, 0, 0])
        XCTAssertEqual(outcome.executionTraceHash.hex, Hex.encode(h2))
        XCTAssertEqual(Hex.encode(h0), "caf1d2f48cc761ce94b5f1a61422497cbba91a68dbbbfad8a918f58443d7d7de")

        // The page's vector (computed with Python hashlib) is what the code produces.
        let doc = try String(contentsOf: repoRoot.appendingPathComponent("docs/EXECUTION.md"), encoding: .utf8)
        let documented = doc.split(separator: "\n").last { $0.hasPrefix("executionTraceHash = ") }  // the vector, after the definition
        XCTAssertEqual(documented.map { String($0.dropFirst("executionTraceHash = ".count)) }, outcome.executionTraceHash.hex)
    }

    func testStateWriteRules() throws {
        let module = try wat("""
        (module
          (import "dde" "state_set" (func $set (param i32 i32 i32 i32) (result i32)))
          (import "dde" "state_delete" (func $del (param i32 i32) (result i32)))
          (import "dde" "state_get" (func $get (param i32 i32 i32 i32) (result i32)))
          (import "dde" "output_write" (func $out (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "abcdefgh")
          (data (i32.const 100) "1")
          (func (export "main") (result i32)
            ;; a: set to its current value -> no write
            (drop (call $set (i32.const 0) (i32.const 1) (i32.const 100) (i32.const 1)))
            ;; b: deleted (present) -> null write; returns 1
            (if (i32.ne (call $del (i32.const 1) (i32.const 1)) (i32.const 1)) (then (return (i32.const 9))))
            ;; c: set then deleted, absent before -> no write
            (drop (call $set (i32.const 2) (i32.const 1) (i32.const 100) (i32.const 1)))
            (if (i32.ne (call $del (i32.const 2) (i32.const 1)) (i32.const 1)) (then (return (i32.const 8))))
            ;; d: deleted while absent -> no write; returns 0
            (if (i32.ne (call $del (i32.const 3) (i32.const 1)) (i32.const 0)) (then (return (i32.const 7))))
            ;; e: new key -> write
            (drop (call $set (i32.const 4) (i32.const 1) (i32.const 100) (i32.const 1)))
            ;; reads see the run's own writes: b is now absent (-1), e is "1"
            (if (i32.ne (call $get (i32.const 1) (i32.const 1) (i32.const 200) (i32.const 8)) (i32.const -1)) (then (return (i32.const 6))))
            (if (i32.ne (call $get (i32.const 4) (i32.const 1) (i32.const 200) (i32.const 8)) (i32.const 1)) (then (return (i32.const 5))))
            ;; a value longer than the buffer: its length, nothing copied
            (if (i32.ne (call $get (i32.const 5) (i32.const 1) (i32.const 200) (i32.const 2)) (i32.const 3)) (then (return (i32.const 4))))
            (drop (call $out (i32.const 100) (i32.const 1)))
            (i32.const 0)))
        """)
        let state = [bytes("a"): bytes("1"), bytes("b"): bytes("2"), bytes("f"): bytes("xyz")]
        let outcome = try sandbox.run(ExecutionRequest(module: module, action: "main", input: [], state: state, capabilities: stateCaps))
        XCTAssertEqual(outcome.stateWrites, [StateWrite(key: bytes("b"), value: nil), StateWrite(key: bytes("e"), value: bytes("1"))])
        XCTAssertEqual(outcome.nextState, [bytes("a"): bytes("1"), bytes("e"): bytes("1"), bytes("f"): bytes("xyz")])
    }

    func testCryptoAndLogHostFunctions() throws {
        let pair = KeyPair.generate()
        let digest = SHA256.hash(bytes("msg"))
        let signature = pair.sign(.proof, digest)
        let message = SignatureKind.proof.message(for: digest)
        // Memory: 0 sig (64), 64 pk (32), 96 msg, 512 sha256 out.
        let module = try wat("""
        (module
          (import "dde" "input_read" (func $in (param i32 i32) (result i32)))
          (import "dde" "input_size" (func $size (result i32)))
          (import "dde" "ed25519_verify" (func $verify (param i32 i32 i32 i32) (result i32)))
          (import "dde" "sha256" (func $sha (param i32 i32 i32) (result i32)))
          (import "dde" "log" (func $log (param i32 i32) (result i32)))
          (import "dde" "output_write" (func $out (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 1000) "01")
          (func (export "main") (result i32)
            (local $ok i32)
            (drop (call $in (i32.const 0) (call $size)))
            (local.set $ok (call $verify (i32.const 0) (i32.const 96) (i32.sub (call $size) (i32.const 96)) (i32.const 64)))
            (drop (call $sha (i32.const 96) (i32.sub (call $size) (i32.const 96)) (i32.const 512)))
            (drop (call $log (i32.const 512) (i32.const 32)))
            (drop (call $out (i32.add (i32.const 1000) (local.get $ok)) (i32.const 1)))
            (i32.const 0)))
        """)
        let caps = ["crypto.hash", "crypto.verify", "log"]
        let good = try sandbox.run(ExecutionRequest(module: module, action: "main", input: signature.bytes + pair.publicKey.bytes + message, capabilities: caps))
        XCTAssertEqual(text(good.result), "1")
        XCTAssertEqual(good.logs, [SHA256.hash(message).bytes])
        XCTAssertEqual(good.capabilitiesUsed, ["crypto.hash", "crypto.verify", "log"])
        var forged = signature.bytes
        forged[0] ^= 1
        let bad = try sandbox.run(ExecutionRequest(module: module, action: "main", input: forged + pair.publicKey.bytes + message, capabilities: caps))
        XCTAssertEqual(text(bad.result), "0")
        XCTAssertNotEqual(bad.executionTraceHash, good.executionTraceHash)
    }
}
