import DDE
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

    /// The per-task benchmark runs the wallet's transfer as a node does, to a result the verifier
    /// accepts (a failing run would throw), and times the first task and the kept module's.
    func testPerTaskRunsTheWalletsTransfer() throws {
        let source = try String(contentsOf: repoRoot.appendingPathComponent("examples/dapps/wallet.wat"), encoding: .utf8)
        let (first, p50) = try ExecutorBenchmark.perTask(
            wat: source, action: "send", capabilities: ["state.read", "state.write"],
            state: [Array("balance/bob".utf8): Array("100".utf8)],
            payload: try JSONParser.parse(Array(#"{"to":"alice","from":"bob","amount":5}"#.utf8)), rounds: 3)
        XCTAssertGreaterThan(first, 0)
        XCTAssertGreaterThan(p50, 0)
    }
}
