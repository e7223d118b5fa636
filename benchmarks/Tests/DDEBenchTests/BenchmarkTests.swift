import DDEBench
import Foundation
import XCTest

/// The repository root, found from this file's path (benchmarks/Tests/DDEBenchTests/...).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

final class BenchmarkTests: XCTestCase {
    func testBenchmarkRunsBothModesToTheSameResult() throws {
        let source = try String(contentsOf: repoRoot.appendingPathComponent("examples/dapps/hashchain.wat"), encoding: .utf8)
        let report = try ExecutorBenchmark.run(hashchainWAT: source, n: 20, repeats: 1)
        XCTAssertGreaterThan(report.meteredNanoseconds, 0)
        XCTAssertGreaterThan(report.fuelUsed, 20 * 1000)
        print(report)
    }
}
