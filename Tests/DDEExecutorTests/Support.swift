import DDE
import DDEExecutor
import Foundation
import XCTest

/// The repository root, found from this file's path.
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func exampleModule(_ name: String) throws -> [UInt8] {
    let text = try String(contentsOf: repoRoot.appendingPathComponent("examples/dapps/\(name).wat"), encoding: .utf8)
    return try CodeStore.compile(wat: text)
}

func wat(_ text: String) throws -> [UInt8] { try CodeStore.compile(wat: text) }

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

/// Runs and expects a refusal with `status`.
func assertRefused(_ sandbox: Sandbox, _ request: ExecutionRequest, _ status: Status,
                   file: StaticString = #filePath, line: UInt = #line) {
    do {
        let outcome = try sandbox.run(request)
        XCTFail("expected \(status.name), got result \(text(outcome.result))", file: file, line: line)
    } catch {
        XCTAssertEqual(error.status, status, "detail: \(error.detail)", file: file, line: line)
        XCTAssertFalse(error.detail.isEmpty, file: file, line: line)
    }
}

/// A temporary folder removed at the end of the test.
func temporaryDirectory(_ test: XCTestCase) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("dde-exec-\(UUID().uuidString)")
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}
