import DDE
@testable import DDEExecutor
import XCTest

/// `ModuleCheck.inspect` (what `dde code check` prints): every refusal, in the order a run meets
/// them, each with its function index and the byte offset of the instruction in the module.
final class ModuleFindingTests: XCTestCase {
    /// Where `pattern` starts in `bytes` (exactly once).
    func offset(of pattern: [UInt8], in bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> Int {
        let hits = (0...(bytes.count - pattern.count)).filter { Array(bytes[$0..<($0 + pattern.count)]) == pattern }
        XCTAssertEqual(hits.count, 1, "pattern \(pattern) found \(hits.count) times", file: file, line: line)
        return hits.first ?? -1
    }

    func testFloatInstructionIsNamedWithItsFunctionAndOffset() throws {
        // One import, so the first defined function is function 1.
        let module = try wat(#"""
            (module (import "dde" "input_size" (func $size (result i32)))
              (func (export "main") (result i32)
                (drop (f64.add (f64.const 1) (f64.const 2))) (i32.const 0)))
            """#)
        // f64.const 1, f64.const 2, f64.add
        let constants: [UInt8] = [0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x44, 0, 0, 0, 0, 0, 0, 0, 0x40, 0xa0]
        let at = offset(of: constants, in: module)
        let findings = ModuleCheck.inspect(module, declared: [], action: "main").findings
        XCTAssertEqual(findings.map(\.offset), [at, at + 9, at + 18])
        XCTAssertEqual(findings.map(\.function), [1, 1, 1])
        XCTAssertTrue(findings.allSatisfy { $0.status == .codeNondeterministic })
        XCTAssertEqual(findings[2].message, "float instruction f64.add in function 1 at byte 0x\(String(at + 18, radix: 16)): dApps must use integer arithmetic (scaled integers, not float/double in C or Float/Double in Swift, whose Dictionary and Set use Double inside)")
        XCTAssertTrue(findings[0].message.hasPrefix("float instruction f64.const in function 1 at byte 0x"))
    }

    func testEveryRefusalIsCollectedInRunOrderAndTheFirstIsWhatARunReports() throws {
        let module = try wat(#"""
            (module (import "dde" "state_get" (func (param i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1)
              (func $a (result i32) (i32.trunc_f32_s (f32.const 1)))
              (func $b (drop (v128.const i32x4 0 0 0 0)))
              (func (export "main") (param i32) (result i32) (i32.const 0)))
            """#)
        let findings = ModuleCheck.inspect(module, declared: ["state.write"], action: "main").findings
        XCTAssertEqual(findings.map(\.status), [.capabilityDenied, .codeNondeterministic, .codeNondeterministic,
                                                .codeNondeterministic, .noSuchAction])
        XCTAssertEqual(findings.map(\.function), [nil, 1, 1, 2, nil])
        XCTAssertTrue(findings[0].message.contains("dde task create --cap state.read"), findings[0].message)
        XCTAssertTrue(findings[1].message.contains("f32.const in function 1"), findings[1].message)
        XCTAssertTrue(findings[2].message.contains("i32.trunc_f32_s in function 1"), findings[2].message)
        XCTAssertTrue(findings[3].message.contains("SIMD instruction v128.const in function 2"), findings[3].message)
        XCTAssertTrue(findings[4].message.contains("DDE_ACTION(main)"), findings[4].message)
        // A run reports the first, with the same status and message.
        do {
            _ = try ModuleCheck.check(module, declared: ["state.write"], action: "main")
            XCTFail("checked")
        } catch {
            XCTAssertEqual(error.status, findings[0].status)
            XCTAssertEqual(error.detail, findings[0].message)
        }
        // Without capabilities or an action to check, only the module's own refusals are left.
        let own = ModuleCheck.inspect(module, declared: nil, action: nil)
        XCTAssertEqual(own.findings.map(\.function), [1, 1, 2])
        XCTAssertEqual(own.info?.capabilitiesImported, ["state.read"])
    }

    /// call_indirect as clang's default wasm32 CPU writes it (table index LEB padded to five
    /// bytes) against the one reserved byte of WebAssembly 1.0 (handmade modules, byte for byte).
    func callIndirectModule(table: [UInt8]) -> [UInt8] {
        let body1: [UInt8] = [0x00, 0x41, 0x00, 0x11, 0x00] + table + [0x0b]
        let code: [UInt8] = [0x02, 0x04, 0x00, 0x41, 0x07, 0x0b, UInt8(body1.count)] + body1
        return [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
                0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,              // type 0: () -> i32
                0x03, 0x03, 0x02, 0x00, 0x00,                          // two functions of type 0
                0x04, 0x04, 0x01, 0x70, 0x00, 0x01,                    // table funcref, min 1
                0x07, 0x08, 0x01, 0x04, 0x6d, 0x61, 0x69, 0x6e, 0x00, 0x01,  // export "main" = function 1
                0x09, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x00,  // table[0] = function 0
                0x0a, UInt8(code.count)] + code
    }

    func testReferenceTypesCallIndirectIsNamedAndTheMVPFormRuns() throws {
        let overlong = callIndirectModule(table: [0x80, 0x80, 0x80, 0x80, 0x00])
        let findings = ModuleCheck.inspect(overlong, declared: [], action: "main").findings
        XCTAssertEqual(findings.count, 1)
        XCTAssertEqual(findings.first?.status, .codeInvalid)
        XCTAssertEqual(findings.first?.function, 1)
        XCTAssertEqual(findings.first?.offset, offset(of: [0x11, 0x00, 0x80], in: overlong))
        XCTAssertTrue(findings.first?.message.contains("-mcpu=mvp") ?? false)
        // The executor refused it before this rule too (WasmKit's parser without reference
        // types): the rule only names the place and the fix; the status is the same.
        let sandbox = Sandbox()
        assertRefused(sandbox, ExecutionRequest(module: overlong, action: "main", input: bytes("{}"), capabilities: []), .codeInvalid)
        XCTAssertEqual(sandbox.inspect(module: overlong, declared: nil, action: "main").findings.first?.offset, findings.first?.offset)

        // It comes after every other finding, as WasmKit's refusal did: a run reports what it
        // reported before the rule (here the missing action).
        XCTAssertEqual(ModuleCheck.inspect(overlong, declared: [], action: "other").findings.map(\.status), [.noSuchAction, .codeInvalid])
        assertRefused(sandbox, ExecutionRequest(module: overlong, action: "other", input: bytes("{}"), capabilities: []), .noSuchAction)

        let mvp = callIndirectModule(table: [0x00])
        XCTAssertEqual(ModuleCheck.inspect(mvp, declared: [], action: "main").findings, [])
        XCTAssertEqual(sandbox.inspect(module: mvp, declared: [], action: "main").findings, [])
        // It loads; it then fails only because it writes no result (its action returns 7).
        assertRefused(sandbox, ExecutionRequest(module: mvp, action: "main", input: bytes("{}"), capabilities: []), .actionFailed)
    }

    func testSwiftCallingConventionExportGetsAHint() throws {
        let module = try wat(#"(module (func (export "send") (param i32 i32) (result i32) (i32.const 0)))"#)
        let findings = ModuleCheck.inspect(module, declared: [], action: "send").findings
        XCTAssertEqual(findings.map(\.status), [.noSuchAction])
        XCTAssertTrue(findings[0].message.contains("@_cdecl(\"dde_action_send\")"), findings[0].message)
    }

    func testWhatOnlyWasmKitRefusesIsAFindingToo() throws {
        // An active data segment past the memory's end: ModuleCheck passes it, instantiation traps.
        let module = try wat(#"(module (memory 1) (data (i32.const 65535) "ab") (func (export "main") (result i32) (i32.const 0)))"#)
        XCTAssertEqual(ModuleCheck.inspect(module, declared: [], action: "main").findings, [])
        let findings = Sandbox().inspect(module: module, declared: [], action: "main").findings
        XCTAssertEqual(findings.count, 1)
        XCTAssertNil(findings.first?.function)
        assertRefused(Sandbox(), ExecutionRequest(module: module, action: "main", input: bytes("{}"), capabilities: []), findings.first?.status ?? .ok)
    }

    func testInstructionsAreNamedAsInTheTextFormat() throws {
        let module = try wat(#"(module (func (export "main") (result i32) (i32.trunc_sat_f64_s (f64.promote_f32 (f32.demote_f64 (f64.const 0))))))"#)
        let messages = ModuleCheck.inspect(module, declared: [], action: "main").findings.map(\.message)
        XCTAssertEqual(messages.map { $0.components(separatedBy: " in function")[0] },
                       ["float instruction f64.const", "float instruction f32.demote_f64",
                        "float instruction f64.promote_f32", "float instruction i32.trunc_sat_f64_s"])
    }

    /// Multivalue (in clang's default CPU too) is deterministic and runs: only reference types
    /// are refused of what that CPU turns on (docs/DAPPS.md says so).
    func testMultivalueLoadsAndRuns() throws {
        let module = try wat(#"""
            (module (import "dde" "output_write" (func $out (param i32 i32) (result i32)))
              (memory (export "memory") 1) (data (i32.const 0) "7")
              (func $two (result i32 i32) (i32.const 0) (i32.const 1))
              (func (export "main") (result i32)
                (drop (call $out (call $two)))
                (block (result i32 i32) (i32.const 1) (i32.const 2)) (drop) (drop)
                (i32.const 0)))
            """#)
        XCTAssertEqual(Sandbox().inspect(module: module, declared: [], action: "main").findings, [])
        let outcome = try Sandbox().run(ExecutionRequest(module: module, action: "main", input: bytes("{}"), capabilities: []))
        XCTAssertEqual(text(outcome.result), "7")
    }
}
