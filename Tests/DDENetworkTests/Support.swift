import DDE
import DDEExecutor
import DDENetwork
import Foundation
import XCTest

/// The repository root, found from this file's path.
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func exampleModule(_ name: String) throws -> [UInt8] {
    let text = try String(contentsOf: repoRoot.appendingPathComponent("examples/dapps/\(name).wat"), encoding: .utf8)
    return try CodeStore.compile(wat: text)
}

/// A temporary folder removed at the end of the test.
func temporaryDirectory(_ test: XCTestCase) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("dde-net-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}
