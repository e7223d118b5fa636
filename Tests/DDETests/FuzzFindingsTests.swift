import XCTest
@testable import DDE

/// What the fuzz harnesses found (docs/FUZZING.md, "Findings"), kept as tests. The inputs are
/// also in fuzz/corpus/<harness>/, so every fuzz run replays them.
final class FuzzFindingsTests: XCTestCase {
    /// `result` harness, 600 s run: a compute_result with two malformed state writes was refused
    /// as DDE_ERR_ENCODING, and the same document with its members in another order as
    /// DDE_ERR_SCHEMA. State maps are read in member order, so the first malformed member names
    /// the status; JSON objects are unordered, so which one is reported may differ, but the
    /// document must be refused as malformed (check 1) either way, through both readers, and the
    /// same way from the bytes and from the parsed value.
    func testSeveralMalformedStateWritesAreRefusedAsMalformedInEveryOrder() throws {
        let canonical = String(decoding: Fixture.bytes(Fixture.computeResult()), as: UTF8.self)
        let writes = #""stateWrites":{"count":"NDI=","gone":null}"#
        XCTAssertTrue(canonical.contains(writes))
        for members in [#""a":5,"count":"N""#, #""count":"N","a":5"#, #""gone":[],"count":"!!!!""#, #""count":"!!!!","gone":[]"#] {
            let bytes = Array(canonical.replacingOccurrences(of: writes, with: "\"stateWrites\":{\(members)}").utf8)
            var fromBytes = Status.ok
            do throws(DDEError) {
                _ = try Verifier.verify(task: Fixture.task, resultBytes: bytes)
            } catch {
                fromBytes = error.status
            }
            XCTAssertTrue([.schema, .encoding].contains(fromBytes), "\(members): \(fromBytes.name)")
            XCTAssertNil(bytes.withUnsafeBytes { ComputeResult.readPlain($0, limits: .default) }, members)
            XCTAssertStatus(fromBytes) { () throws(DDEError) in _ = try ComputeResult(json: try JSONParser.parse(bytes)) }
        }
    }
}
