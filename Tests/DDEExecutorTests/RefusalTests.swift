import DDE
import DDEExecutor
import Foundation
import XCTest

/// Every refusal has its own status, and the sandbox runs the next task normally afterwards.
final class RefusalTests: XCTestCase {
    let sandbox = Sandbox()

    func request(_ source: String, action: String = "main", capabilities: [String] = [],
                 limits: ExecutionLimits = ExecutionLimits()) throws -> ExecutionRequest {
        ExecutionRequest(module: try wat(source), action: action, input: bytes("{}"), capabilities: capabilities, limits: limits)
    }

    /// Refused with `status`, then a normal counter run on the same sandbox.
    func assertRefusedThenHealthy(_ request: ExecutionRequest, _ status: Status, file: StaticString = #filePath, line: UInt = #line) throws {
        assertRefused(sandbox, request, status, file: file, line: line)
        let healthy = try sandbox.run(ExecutionRequest(
            module: try exampleModule("counter"), action: "increment", input: bytes("{}"),
            state: [bytes("count"): bytes("1")], capabilities: ["state.read", "state.write"]))
        XCTAssertEqual(text(healthy.result), #"{"count":2}"#, file: file, line: line)
    }

    static let output = #"(import "dde" "output_write" (func $out (param i32 i32) (result i32)))"#

    func testFloatSIMDAndAtomicsAreNondeterministic() throws {
        let sources = [
            #"(module (func (export "main") (result i32) (drop (f32.add (f32.const 1) (f32.const 2))) (i32.const 0)))"#,
            #"(module (func (export "main") (result i32) (i32.trunc_f64_s (f64.const 0))))"#,
            #"(module (func (export "main") (result i32) (local f64) (i32.const 0)))"#,
            #"(module (global f32 (f32.const 0)) (func (export "main") (result i32) (i32.const 0)))"#,
            #"(module (func $f (param f64)) (func (export "main") (result i32) (i32.const 0)))"#,
            #"(module (memory 1) (func (export "main") (result i32) (i32.reinterpret_f32 (f32.load (i32.const 0)))))"#,
            #"(module (func (export "main") (result i32) (drop (v128.const i32x4 0 0 0 0)) (i32.const 0)))"#,
            #"(module (memory 1 1 shared) (func (export "main") (result i32) (i32.atomic.load (i32.const 0))))"#,
            #"(module (memory 1) (func (export "main") (result i32) (i32.atomic.rmw.add (i32.const 0) (i32.const 1))))"#,
        ]
        for source in sources {
            try assertRefusedThenHealthy(try request(source), .codeNondeterministic)
        }
    }

    func testStartFunctionAndLaterProposalsAreInvalid() throws {
        try assertRefusedThenHealthy(try request(#"(module (func $s) (start $s) (func (export "main") (result i32) (i32.const 0)))"#), .codeInvalid)
        try assertRefusedThenHealthy(try request(#"(module (func (export "main") (result i32) (return_call $g)) (func $g (result i32) (i32.const 0)))"#), .codeInvalid)
        try assertRefusedThenHealthy(ExecutionRequest(module: [0, 0x61, 0x73, 0x6d, 1, 0, 0], action: "main", input: [], capabilities: []), .codeInvalid)
    }

    func testUndeclaredCapabilityIsDenied() throws {
        let source = #"(module (import "dde" "state_get" (func (param i32 i32 i32 i32) (result i32))) (memory (export "memory") 1) (func (export "main") (result i32) (i32.const 0)))"#
        try assertRefusedThenHealthy(try request(source, capabilities: ["state.write"]), .capabilityDenied)
        // Declared, it loads and runs (and then fails on its missing output).
        assertRefused(sandbox, try request(source, capabilities: ["state.read"]), .resultNotJSON)
    }

    func testUnknownImports() throws {
        for source in [
            #"(module (import "env" "f" (func (result i32))) (func (export "main") (result i32) (i32.const 0)))"#,
            #"(module (import "dde" "spawn" (func (result i32))) (func (export "main") (result i32) (i32.const 0)))"#,
            #"(module (import "dde" "input_size" (func (param i32) (result i32))) (func (export "main") (result i32) (i32.const 0)))"#,
            #"(module (import "dde" "memory" (memory 1)) (func (export "main") (result i32) (i32.const 0)))"#,
        ] {
            try assertRefusedThenHealthy(try request(source), .unknownImport)
        }
    }

    func testNoSuchActionAndActionFailed() throws {
        let source = #"(module (func (export "main") (result i32) (i32.const 7)) (func (export "takes") (param i32) (result i32) (i32.const 0)) (global (export "g") i32 (i32.const 0)))"#
        try assertRefusedThenHealthy(try request(source, action: "other"), .noSuchAction)
        try assertRefusedThenHealthy(try request(source, action: "takes"), .noSuchAction)
        try assertRefusedThenHealthy(try request(source, action: "g"), .noSuchAction)
        try assertRefusedThenHealthy(try request(source), .actionFailed)
    }

    func testFuelExhausted() throws {
        let source = #"(module (func (export "main") (result i32) (loop $l (br $l)) (i32.const 0)))"#
        try assertRefusedThenHealthy(try request(source, limits: ExecutionLimits(maxFuel: 100_000)), .outOfFuel)
    }

    func testTooManySteps() throws {
        let source = #"""
        (module (import "dde" "input_size" (func $size (result i32)))
          (func (export "main") (result i32) (local $i i32)
            (loop $l (drop (call $size)) (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
            (i32.const 0)))
        """#
        try assertRefusedThenHealthy(try request(source, limits: ExecutionLimits(maxExecutionSteps: 5)), .tooManySteps)
        // Six calls within a bound of six: no output, so the next refusal is about the result.
        assertRefused(sandbox, try request(source, limits: ExecutionLimits(maxExecutionSteps: 6)), .resultNotJSON)
    }

    func testMemoryOverTheBound() throws {
        let grow = #"(module (memory 1) (func (export "main") (result i32) (drop (memory.grow (i32.const 4))) (i32.const 0)))"#
        try assertRefusedThenHealthy(try request(grow, limits: ExecutionLimits(maxMemoryUsage: 2 * 65536)), .memoryLimit)
        let initial = #"(module (memory 8) (func (export "main") (result i32) (i32.const 0)))"#
        try assertRefusedThenHealthy(try request(initial, limits: ExecutionLimits(maxMemoryUsage: 4 * 65536)), .memoryLimit)
    }

    func testOutOfBoundsPointersToHostFunctions() throws {
        let sources = [
            // past the end of a one-page memory
            #"(module \#(RefusalTests.output) (memory (export "memory") 1) (func (export "main") (result i32) (call $out (i32.const 65530) (i32.const 7))))"#,
            // pointer + length overflows 32 bits
            #"(module \#(RefusalTests.output) (memory (export "memory") 1) (func (export "main") (result i32) (call $out (i32.const -1) (i32.const 2))))"#,
            // a write target out of bounds (sha256 out_ptr)
            #"(module (import "dde" "sha256" (func $h (param i32 i32 i32) (result i32))) (memory (export "memory") 1) (func (export "main") (result i32) (call $h (i32.const 0) (i32.const 4) (i32.const 65520))))"#,
        ]
        for source in sources {
            try assertRefusedThenHealthy(try request(source, capabilities: ["crypto.hash"]), .guestBounds)
        }
    }

    func testGuestTraps() throws {
        try assertRefusedThenHealthy(try request(#"(module (func (export "main") (result i32) unreachable))"#), .guestTrap)
        try assertRefusedThenHealthy(try request(#"(module (func (export "main") (result i32) (i32.div_u (i32.const 1) (i32.const 0))))"#), .guestTrap)
        try assertRefusedThenHealthy(try request(#"(module (memory 1) (func (export "main") (result i32) (i32.load (i32.const 70000))))"#), .guestTrap)
        try assertRefusedThenHealthy(try request(#"(module (func $r (result i32) (call $r)) (func (export "main") (result i32) (call $r)))"#), .guestTrap)
    }

    func testTimeout() throws {
        let source = #"(module (func (export "main") (result i32) (loop $l (br $l)) (i32.const 0)))"#
        let started = Date()
        try assertRefusedThenHealthy(try request(source, limits: ExecutionLimits(maxFuel: 1 << 50, maxExecutionTime: 100)), .timeout)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testResultMustBeOneJSONDocument() throws {
        for output in ["{", "1 2", ""] {
            let source = #"(module \#(RefusalTests.output) (memory (export "memory") 1) (data (i32.const 0) "\#(output)") (func (export "main") (result i32) (drop (call $out (i32.const 0) (i32.const \#(output.utf8.count)))) (i32.const 0)))"#
            try assertRefusedThenHealthy(try request(source), .resultNotJSON)
        }
    }

    func testUnknownDeclaredCapabilityIsAnArgumentError() throws {
        let source = #"(module (func (export "main") (result i32) (i32.const 0)))"#
        try assertRefusedThenHealthy(try request(source, capabilities: ["network"]), .argument)
    }
}
