import XCTest
import Foundation
import CDDE
@testable import DDE

/// A fresh directory per test, removed afterwards.
final class TempDir {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("dde-store-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// A deterministic key for tests.
func testKey(_ n: UInt8) -> PublicKey {
    let seed = [UInt8](repeating: n, count: 32)
    return seed.withUnsafeBytes { (try? KeyPair.fromSeed($0))! }.publicKey
}

func testKeyPair(_ n: UInt8) -> KeyPair {
    let seed = [UInt8](repeating: n, count: 32)
    return seed.withUnsafeBytes { (try? KeyPair.fromSeed($0))! }
}

/// Asserts that `body` throws a DDEError with `status`; returns the error.
@discardableResult
func assertThrows<R>(_ status: Status, file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws(DDEError) -> R) -> DDEError? {
    do {
        _ = try body()
        XCTFail("expected \(status.name), got success", file: file, line: line)
        return nil
    } catch {
        XCTAssertEqual(error.status, status, "\(error.message)", file: file, line: line)
        return error
    }
}
