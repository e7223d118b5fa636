import XCTest
@testable import DDE

/// ErrorDetail builds a DDEError's text with out-of-line appends (for the Embedded library's
/// size); the text must be exactly what String interpolation gives for the same pieces.
final class ErrorDetailTests: XCTestCase {
    func testInterpolatedPiecesGiveTheStringInterpolationText() {
        let name = "task.nonce"
        let sub: Substring = "abc".dropFirst()
        let status: StaticString = "DDE_ERR_SCHEMA"
        let int = -42, u64 = UInt64.max, i64 = Int64.min
        let i32: Int32 = -2_147_483_648, u8: UInt8 = 255, u16: UInt16 = 65535, u32: UInt32 = 4_000_000_000
        let double = 0.1, tiny = 1e-7, big = 3e20
        let inner: ErrorDetail = "inner \(int)"
        let e = DDEError(.schema, "\(name) \(sub) \(status) \(int) \(u64) \(i64) \(i32) \(u8) \(u16) \(u32) \(double) \(tiny) \(big) [\(inner)]")
        let expected = "\(name) \(sub) \(status) \(int) \(u64) \(i64) \(i32) \(u8) \(u16) \(u32) \(double) \(tiny) \(big) [inner \(int)]"
        XCTAssertEqual(e.detail, expected)
        XCTAssertEqual(e.status, .schema)
        XCTAssertEqual(e.message, "DDE_ERR_SCHEMA: " + expected)
    }

    func testPlainLiteralsAndTextsMadeElsewhere() {
        XCTAssertEqual(DDEError(.io, "plain").detail, "plain")
        XCTAssertEqual(DDEError(.io, "").detail, "")
        XCTAssertEqual(DDEError(.io, "ünïcödé \("ß")").detail, "ünïcödé ß")
        let made = String(repeating: "x", count: 100)
        XCTAssertEqual(DDEError(.io, ErrorDetail(made)).detail, made)
    }

    func testHelpersThatTakeAnErrorDetail() throws {
        // A field name built by interpolation reaches the message unchanged.
        XCTAssertThrowsError(try Digest(hex: "zz", field: "proof.\("taskId")")) { error in
            guard let e = error as? DDEError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.status, .encoding)
            XCTAssertTrue(e.detail.hasPrefix("proof.taskId: "), e.detail)
        }
    }
}
