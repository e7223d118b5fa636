import XCTest
@testable import DDE

/// The canonical string writer skips clean 8-byte words at a time; every byte JCS escapes must
/// still be found wherever it sits relative to those words.
final class CanonicalStringTests: XCTestCase {
    /// Byte by byte, the rule as RFC 8785 states it.
    private func reference(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for c in bytes {
            switch c {
            case UInt8(ascii: "\""): out += Array("\\\"".utf8)
            case UInt8(ascii: "\\"): out += Array("\\\\".utf8)
            case 0x08: out += Array("\\b".utf8)
            case 0x0C: out += Array("\\f".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(c >> 4)], hex[Int(c & 0xF)]]
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    private func written(_ bytes: [UInt8]) -> [UInt8] {
        JSON.string(String(decoding: bytes, as: UTF8.self)).canonicalBytes()
    }

    func testEveryEscapedByteAtEveryOffsetOfTwoWords() {
        var specials: [UInt8] = Array(0..<0x20)
        specials += [UInt8(ascii: "\""), UInt8(ascii: "\\")]
        // Fillers next to the specials: plain ASCII, DEL and bytes of a multi-byte character,
        // whose high bits must not hide a special byte in the same word.
        let fillers: [[UInt8]] = [Array("a".utf8), [0x7F], Array("é".utf8), Array("😀".utf8)]
        var checked = 0
        for filler in fillers {
            for length in 0...20 {
                let plain = Array((0..<length).flatMap { _ in filler })
                XCTAssertEqual(written(plain), reference(plain))
                // At every character boundary, so the string stays valid UTF-8.
                for offset in stride(from: 0, through: plain.count, by: filler.count) {
                    for c in specials {
                        var s = plain
                        s.insert(c, at: offset)
                        XCTAssertEqual(written(s), reference(s), "byte \(c) at \(offset) of \(s.count)")
                        checked += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 2_000)
    }

    func testLongCleanRunsAroundOneEscape() {
        for n in [7, 8, 9, 15, 16, 17, 63, 64, 65, 4096] {
            let run = [UInt8](repeating: UInt8(ascii: "x"), count: n)
            let s = run + [UInt8(ascii: "\"")] + run + [0x01] + run
            XCTAssertEqual(written(s), reference(s), "runs of \(n)")
        }
    }
}
