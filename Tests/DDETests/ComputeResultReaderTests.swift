import XCTest
@testable import DDE

/// The direct compute_result reader (ComputeResult.readPlain) against the generic parser and
/// FieldReader: whatever it accepts it must read to the same values and hashes; what it does not
/// handle it must leave to the generic path (nil), which then decides.
final class ComputeResultReaderTests: XCTestCase {
    /// A JSON writer with knobs the canonical one lacks: reversed member order, whitespace, and
    /// integers >= 10 written with a fraction and an exponent (48213 as 4821.3e1).
    private func write(_ v: JSON, reversed: Bool, spaced: Bool, exponents: Bool) -> String {
        let sep = spaced ? ", " : ",", colon = spaced ? " : " : ":"
        switch v {
        case .object(let o):
            let members = reversed ? o.members.reversed() : o.members
            let inner = members.map { m in
                JSON.string(m.key).canonicalString + colon + write(m.value, reversed: reversed, spaced: spaced, exponents: exponents)
            }
            return (spaced ? "{ " : "{") + inner.joined(separator: sep) + (spaced ? " }" : "}")
        case .array(let a):
            return "[" + a.map { write($0, reversed: reversed, spaced: spaced, exponents: exponents) }.joined(separator: sep) + "]"
        case .number(let d) where exponents && d >= 10 && d == d.rounded() && d < 1e15:
            let n = UInt64(d)
            return "\(n / 10).\(n % 10)e1"
        default:
            return v.canonicalString
        }
    }

    private func generic(_ bytes: [UInt8]) throws -> ComputeResult {
        try ComputeResult(json: try JSONParser.parse(bytes))
    }

    private func plain(_ bytes: [UInt8]) -> FastComputeResult? {
        bytes.withUnsafeBytes { ComputeResult.readPlain($0, limits: .default) }
    }

    func testPlainReaderMatchesGenericReader() throws {
        let proof = Fixture.proof()
        let r = Fixture.computeResult(proof: proof)
        let json = r.json
        var variants = [(String, [UInt8], Bool, Bool)]()  // name, bytes, expect signed hash, expect writes hash
        variants.append(("canonical", r.canonicalBytes, true, true))
        for reversed in [false, true] {
            for spaced in [false, true] {
                for exponents in [false, true] {
                    let text = write(json, reversed: reversed, spaced: spaced, exponents: exponents)
                    // Member order and whitespace between members do not stop the hashing from
                    // the input; whitespace inside a member or a non-canonical number do.
                    variants.append(("reversed \(reversed) spaced \(spaced) exponents \(exponents)", Array(text.utf8),
                                     !spaced && !exponents, !spaced && !reversed))
                }
            }
        }
        for (name, bytes, signedFromInput, writesFromInput) in variants {
            guard let fast = plain(bytes) else { XCTFail("\(name): the plain reader gave up"); continue }
            let slow = try generic(bytes)
            XCTAssertEqual(fast.result.canonicalBytes, slow.canonicalBytes, name)
            XCTAssertEqual(fast.result.stateWrites, slow.stateWrites, name)
            XCTAssertEqual(fast.result.proof.signedHash, slow.proof.signedHash, name)
            XCTAssertEqual(fast.proofSignedHash, signedFromInput ? slow.proof.signedHash : nil, name)
            XCTAssertEqual(fast.stateWritesHash, writesFromInput ? slow.stateWrites.hash : nil, name)
            // Only a canonical input says where its proof's canonical bytes are, and they hash to
            // H(proof), as the receipt names it.
            XCTAssertEqual(fast.inputIsCanonical, bytes == slow.canonicalBytes, name)
            if let range = fast.proofRange {
                XCTAssertTrue(fast.inputIsCanonical, name)
                XCTAssertEqual(Array(bytes[range]), slow.proof.canonicalBytes(signed: true), name)
                XCTAssertEqual(SHA256.hash(Array(bytes[range])), slow.proof.proofHash, name)
            } else {
                XCTAssertFalse(fast.inputIsCanonical, name)
            }
            XCTAssertNoThrow(try Verifier.verify(task: Fixture.task, resultBytes: bytes), name)
        }
    }

    /// Escapes, duplicates, unknown fields and wrong types are left to the generic path, which
    /// refuses or accepts them as before.
    func testPlainReaderLeavesTheRestToTheGenericPath() throws {
        let canonical = String(decoding: Fixture.bytes(Fixture.computeResult()), as: UTF8.self)
        func variant(_ from: String, _ to: String) -> [UInt8] {
            XCTAssertTrue(canonical.contains(from), from)
            return Array(canonical.replacingOccurrences(of: from, with: to).utf8)
        }
        // Valid, but with an escape: the generic path accepts it.
        let escaped = variant(#""dappId":"counter""#, #""dappId":"c\u006funter""#)
        XCTAssertNil(plain(escaped))
        XCTAssertNoThrow(try Verifier.verify(task: Fixture.task, resultBytes: escaped))
        // Invalid ones: nil here, the generic status there.
        let cases: [([UInt8], Status)] = [
            (variant(#""executionLatency":7"#, #""executionLatency":7,"executionLatency":7"#), .duplicateKey),
            (variant(#""executionLatency":7"#, #""executionLatency":7,"extra":1"#), .schema),
            (variant(#""traceLength":3"#, #""traceLength":"3""#), .schema),
            (variant(#""traceLength":3"#, #""traceLength":3.5"#), .number),
            (variant(#""proofVersion":1"#, #""proofVersion":2"#), .version),
            (variant(#""count":"NDI=""#, #""count":"NDI=","count":null"#), .duplicateKey),
            (variant(#""count":"NDI=""#, #""count":"NDI""#), .encoding),
            (variant(#""executionLatency":7"#, #""executionLatency":7 x"#), .json),
            (variant(#""dappId":"counter""#, "\"dappId\":\"coun\tter\""), .json),          // raw control character
            (variant(#""dappId":"counter""#, "\"dappId\":\"counter\u{1}x\""), .json),
            (variant(#""dappId":"counter""#, #""dappId":"Xounter""#).map { $0 == UInt8(ascii: "X") ? 0xFF : $0 }, .json),  // invalid UTF-8
        ]
        for (bytes, status) in cases {
            XCTAssertNil(plain(bytes), String(decoding: bytes, as: UTF8.self))
            XCTAssertStatus(status) { () throws(DDEError) in try Verifier.verify(task: Fixture.task, resultBytes: bytes) }
        }
        // An outer copy that differs from the proof's: resultMismatch from the generic path.
        let otherKey = Fixture.other.publicKey.hex
        var outer = canonical
        if let range = outer.range(of: Fixture.executor.publicKey.hex, options: .backwards) {
            outer.replaceSubrange(range, with: otherKey)
        }
        XCTAssertNil(plain(Array(outer.utf8)))
        XCTAssertStatus(.resultMismatch) { () throws(DDEError) in
            try Verifier.verify(task: Fixture.task, resultBytes: Array(outer.utf8))
        }
    }

    /// Non-ASCII keys and values take the byte loop of the string scanner; the values must match.
    func testNonASCIIStringsReadTheSame() throws {
        let writes = StateWrites([Array("clé/ü".utf8): Array("v".utf8), Array("k".utf8): nil])
        let result: JSON = try JSONParser.parse(#"{"msg":"grüße 😀","n":1}"#)
        let p = Fixture.proof(result: result, writes: writes) { $0.dappId = "counter" }
        let bytes = Fixture.bytes(Fixture.computeResult(proof: p, result: result, writes: writes))
        guard let fast = plain(bytes) else { return XCTFail("the plain reader gave up on non-ASCII text") }
        XCTAssertEqual(fast.result.canonicalBytes, try generic(bytes).canonicalBytes)
        XCTAssertEqual(fast.stateWritesHash, writes.hash)
    }

    /// Canonical bytes written from the input text agree with the tree's serialiser on random
    /// documents (keys whose UTF-8 and UTF-16 orders differ, whitespace, nesting), and give up on
    /// what they do not handle (escapes, fractions, exponents, long integers, -0).
    func testCanonicalFromInputMatchesTree() throws {
        var seed: UInt64 = 0x2545_F491_4F6C_DD1D
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        let keys = ["a", "b", "B", "ab", "\u{e9}", "\u{FF61}", "\u{1F600}", "z", "", "aa", "\u{E000}", "\u{10000}", "a b"]
        let scalars = ["0", "-1", "5", "123456789012345", "true", "false", "null", "\"x\"", "\"caf\u{e9} \u{1F600}\"", "\"\""]
        let odd = ["1234567890123456", "-0", "1.5", "1e3", "2.0", "\"a\\nb\"", "\"\\u00e9\""]
        func space() -> String { ["", "", " ", "\n\t "][next(4)] }
        func gen(_ depth: Int) -> String {
            switch next(depth > 3 ? 3 : 5) {
            case 0, 1: return scalars[next(scalars.count)]
            case 2: return next(8) == 0 ? odd[next(odd.count)] : scalars[next(scalars.count)]
            case 3:
                var chosen = [String]()
                for _ in 0..<next(5) { let k = keys[next(keys.count)]; if !chosen.contains(k) { chosen.append(k) } }
                let members = chosen.map { space() + JSON.string($0).canonicalString + space() + ":" + space() + gen(depth + 1) + space() }
                return "{" + members.joined(separator: ",") + "}"
            default:
                return "[" + (0..<next(4)).map { _ in space() + gen(depth + 1) + space() }.joined(separator: ",") + "]"
            }
        }
        var simple = 0, declined = 0
        for _ in 0..<3000 {
            let doc = space() + gen(0) + space()
            let bytes = Array(doc.utf8)
            let tree = try JSONParser.parse(bytes)
            let fromInput = bytes.withUnsafeBufferPointer { CanonicalFromInput.bytes($0.baseAddress!, 0..<$0.count) }
            if let fromInput {
                XCTAssertEqual(String(decoding: fromInput, as: UTF8.self), tree.canonicalString, doc)
                simple += 1
            } else {
                declined += 1
                XCTAssertTrue(odd.contains { doc.contains($0) }, "declined a simple document: \(doc)")
            }
        }
        XCTAssertGreaterThan(simple, 1500)
        XCTAssertGreaterThan(declined, 50)
        for doc in odd {
            let bytes = Array(doc.utf8)
            XCTAssertNil(bytes.withUnsafeBufferPointer { CanonicalFromInput.bytes($0.baseAddress!, 0..<$0.count) }, doc)
        }
    }

    func testCapabilityNamesMatch() {
        XCTAssertEqual(capabilityNames.map { String(decoding: UnsafeBufferPointer(start: $0.utf8Start, count: $0.utf8CodeUnitCount), as: UTF8.self) },
                       Capability.all)
    }

    /// The eight-at-a-time hex decoder against a per-character reference: every byte value at
    /// every position, in the vectorised part and in the tail.
    func testHexDecoderAcceptsExactlyLowercaseHex() {
        func reference(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        let digits = Array("0123456789abcdef".utf8)
        for count in [5, 32] {
            var base = (0..<(2 * count)).map { digits[($0 * 7) % 16] }
            for position in 0..<base.count {
                let saved = base[position]
                for c in 0...255 {
                    base[position] = UInt8(c)
                    let decoded = base.withUnsafeBufferPointer { Hex.decode($0, count: count) }
                    if reference(UInt8(c)) == nil {
                        XCTAssertNil(decoded, "byte \(c) at \(position)")
                    } else {
                        var expected = [UInt8]()
                        for k in 0..<count { expected.append(reference(base[2 * k])! << 4 | reference(base[2 * k + 1])!) }
                        XCTAssertEqual(decoded, expected, "byte \(c) at \(position)")
                    }
                }
                base[position] = saved
            }
        }
    }
}
