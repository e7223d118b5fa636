import XCTest
@testable import DDE

final class JSONParserTests: XCTestCase {
    private func parse(_ text: String, limits: JSONLimits = .default) throws -> JSON {
        try JSONParser.parse(text, limits: limits)
    }

    private func assertStatus(_ text: String, _ status: Status, limits: JSONLimits = .default,
                              file: StaticString = #filePath, line: UInt = #line) {
        do {
            let value = try JSONParser.parse(text, limits: limits)
            XCTFail("accepted \(text.prefix(80)) as \(value.canonicalString.prefix(80))", file: file, line: line)
        } catch {
            XCTAssertEqual(error.status, status, error.message, file: file, line: line)
        }
    }

    private func detail(_ text: String) -> String {
        do {
            _ = try JSONParser.parse(text)
            return "accepted"
        } catch {
            return error.detail
        }
    }

    // MARK: Grammar

    func testParsesEveryKindOfValue() throws {
        let value = try parse(#" { "a" : [1, -2.5e3, true, false, null, "x\ty"], "b": {} } "#)
        XCTAssertEqual(value, .object(JSONObject(uniqueMembers: [
            .init("a", .array([.number(1), .number(-2500), .bool(true), .bool(false), .null, .string("x\ty")])),
            .init("b", .object(JSONObject())),
        ])))
        XCTAssertEqual(try parse("42"), .number(42))
        XCTAssertEqual(try parse("\"\""), .string(""))
        XCTAssertEqual(try JSONParser.parse([UInt8]("[]".utf8)), .array([]))
    }

    func testRefusesWhatRFC8259Refuses() {
        for text in ["", " ", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "+1", "0x10",
                     "NaN", "Infinity", "'a'", "[1] 2", "tru", "nul", "\"a", "\"\\x\"", "\"\\u12G4\"",
                     "[1\u{0C}]", "\u{A0}1", "/* c */ 1", "{\"a\" 1}", "{1:2}", "\"a\u{01}b\""] {
            assertStatus(text, .json)
        }
    }

    func testRefusesByteOrderMarkAndInvalidUTF8() {
        assertStatus("\u{FEFF}{}", .json)
        for bytes: [UInt8] in [[0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
                               [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22],
                               [0x22, 0x80, 0x22], [0x22, 0xFF, 0x22]] {
            XCTAssertThrowsError(try JSONParser.parse(bytes), "\(bytes)") { error in
                XCTAssertEqual((error as? DDEError)?.status, .json)
            }
        }
        // The largest scalar and a 4-byte character are fine.
        XCTAssertEqual(try JSONParser.parse([0x22, 0xF4, 0x8F, 0xBF, 0xBF, 0x22]), .string("\u{10FFFF}"))
    }

    func testEscapesAndSurrogates() throws {
        XCTAssertEqual(try parse(#""\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC""#), .string("\"\\/\u{08}\u{0C}\n\r\tAé€"))
        XCTAssertEqual(try parse(#""\ud83d\ude02""#), .string("😂"))
        XCTAssertEqual(try parse(#""\u0000""#), .string("\u{0}"))
        assertStatus(#""\ud800""#, .json)
        assertStatus(#""\udc00\ud800""#, .json)
        assertStatus(#""\ud800\u0041""#, .json)
        assertStatus(#""\ud800x""#, .json)
        XCTAssertTrue(detail(#""\ud800""#).contains("unpaired surrogate"), detail(#""\ud800""#))
    }

    // MARK: Numbers

    func testNumbersRoundCorrectly() throws {
        func number(_ s: String) throws -> Double? { try parse(s).numberValue }
        XCTAssertEqual(try number("-0")?.sign, .minus)
        XCTAssertEqual(try number("0.1"), 0.1)
        XCTAssertEqual(try number("9007199254740993"), 9007199254740992)  // tie, to even
        XCTAssertEqual(try number("9007199254740995"), 9007199254740996)  // tie, to even
        XCTAssertEqual(try number("1e-400"), 0)
        XCTAssertEqual(try number("4.9e-324"), Double.leastNonzeroMagnitude)
        XCTAssertEqual(try number("1.7976931348623157e308"), Double.greatestFiniteMagnitude)
        XCTAssertEqual(try number("1.7976931348623158e308"), Double.greatestFiniteMagnitude)
        assertStatus("1.7976931348623159e308", .number)
        assertStatus("-1e309", .number)
        assertStatus("[1e99999999999999999999]", .number)
        XCTAssertEqual(try number("0e99999999999999999999"), 0)

        // Exact midpoint between 1 and its successor: ties to even (1); a hair above rounds up,
        // including a hair hidden beyond 800 significant digits.
        let mid = "1.00000000000000011102230246251565404236316680908203125"
        XCTAssertEqual(try number(mid), 1)
        XCTAssertEqual(try number(mid + "1"), 1.0.nextUp)
        XCTAssertEqual(try number(mid + String(repeating: "0", count: 1000) + "1"), 1.0.nextUp)
        XCTAssertEqual(try number("1.00000000000000011102230246251565404236316680908203124999"), 1)

        // Exactly half the smallest subnormal: ties to even (0); above it: the smallest subnormal.
        let halfTiny = "2.4703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332927834338409351978015531246597263579574622766465272827220056374006485499977096599470454020828166226237857393450736339007967761930577506740176324673600968951340535537458516661134223766678604162159680461914467291840300530057530849048765391711386591646239524912623653881879636239373280423891018672348497668235089863388587925628302755995657524455507255189313690836254779186948667994968324049705821028513185451396213837722826145437693412532098591327667236328125e-324"
        XCTAssertEqual(try number(halfTiny), 0)
        XCTAssertEqual(try number(halfTiny.replacingOccurrences(of: "e-324", with: "1e-324")), Double.leastNonzeroMagnitude)

        // Exactly halfway between the largest double and 2^1024 rounds to 2^1024: overflow.
        let overflowTie = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792"
        assertStatus(overflowTie, .number)
        XCTAssertEqual(try number(String(overflowTie.dropLast()) + "1"), Double.greatestFiniteMagnitude)
    }

    /// Random decimal strings, short and very long, against the host's strtod-based Double(String).
    func testNumbersAgreeWithHostConversion() throws {
        var rng = SplitMix64(seed: 0x5EED)
        for i in 0..<4000 {
            let length = i % 10 == 0 ? 750 + Int(rng.next() % 100) : 1 + Int(rng.next() % 25)
            var digits = String(Character(Unicode.Scalar(UInt8(ascii: "1") + UInt8(rng.next() % 9))))
            for _ in 1..<length { digits.append(Character(Unicode.Scalar(UInt8(ascii: "0") + UInt8(rng.next() % 10)))) }
            let point = Int(rng.next() % UInt64(length))
            var text = String(digits.prefix(point == 0 ? 1 : point))
            if point > 0 && point < length { text += "." + digits.dropFirst(point) }
            let exponent = Int(rng.next() % 700) - 360 - (length > 100 ? length / 2 : 0)
            text += "e\(exponent)"
            guard let host = Double(text) else { XCTFail("host refused \(text)"); continue }
            if host.isInfinite {
                assertStatus(text, .number)
            } else {
                XCTAssertEqual(try parse(text).numberValue?.bitPattern, host.bitPattern, text)
            }
        }
    }

    // MARK: Limits

    func testEachLimitGivesLimitStatus() throws {
        var limits = JSONLimits()
        limits.maxBytes = 9
        XCTAssertNoThrow(try parse("[1,2,3,4]", limits: limits))
        assertStatus("[1,2,3,45]", .limit, limits: limits)

        limits = JSONLimits(maxDepth: 3)
        XCTAssertNoThrow(try parse("[[{\"a\":1}]]", limits: limits))
        assertStatus("[[[[1]]]]", .limit, limits: limits)
        assertStatus("{\"a\":{\"b\":{\"c\":{}}}}", .limit, limits: limits)

        limits = JSONLimits(maxStringBytes: 3)
        XCTAssertNoThrow(try parse("\"abc\"", limits: limits))
        XCTAssertNoThrow(try parse("\"\\u0061bc\"", limits: limits))  // 3 bytes once unescaped
        XCTAssertNoThrow(try parse("\"€\"", limits: limits))  // 3 UTF-8 bytes
        assertStatus("\"abcd\"", .limit, limits: limits)
        assertStatus("\"\\u0061bcd\"", .limit, limits: limits)
        assertStatus("\"a€\"", .limit, limits: limits)
        assertStatus("{\"abcd\":1}", .limit, limits: limits)

        limits = JSONLimits(maxObjectKeys: 2)
        XCTAssertNoThrow(try parse("{\"a\":1,\"b\":2}", limits: limits))
        assertStatus("{\"a\":1,\"b\":2,\"c\":3}", .limit, limits: limits)

        limits = JSONLimits(maxArrayElements: 2)
        XCTAssertNoThrow(try parse("[1,[2,3]]", limits: limits))
        assertStatus("[1,2,3]", .limit, limits: limits)

        // Default depth: 64 levels parse, 65 do not; 100,000 do not overflow the stack.
        XCTAssertNoThrow(try parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
        assertStatus(String(repeating: "[", count: 65) + String(repeating: "]", count: 65), .limit)
        assertStatus(String(repeating: "[", count: 100_000), .limit)
    }

    // MARK: Duplicate keys

    func testDuplicateKeysComparedByScalarsAfterUnescaping() throws {
        assertStatus(#"{"a":1,"a":2}"#, .duplicateKey)
        assertStatus(#"{"a":1,"\u0061":2}"#, .duplicateKey)
        assertStatus(#"[{"x":{"k":1,"k":1}}]"#, .duplicateKey)
        // NFC-equivalent but different scalars: two keys.
        let value = try parse(#"{"\u00e9":1,"e\u0301":2}"#)
        XCTAssertEqual(value.objectValue?.count, 2)
        // The same key in different objects is fine.
        XCTAssertNoThrow(try parse(#"[{"a":1},{"a":2}]"#))
        // Large objects use the sorting path.
        var members = (0..<40).map { "\"k\($0)\":\($0)" }
        XCTAssertNoThrow(try parse("{" + members.joined(separator: ",") + "}"))
        members.append("\"k\\u0031\\u0037\":0")
        assertStatus("{" + members.joined(separator: ",") + "}", .duplicateKey)
        XCTAssertTrue(detail("{" + members.joined(separator: ",") + "}").contains("\"k17\""))
    }

    // MARK: Error messages

    func testErrorDetailNamesThePosition() {
        XCTAssertEqual(detail("{\"a\":1 x"),
                       "line 1, column 8 (byte offset 7): expected ',' or '}' after object member, found 'x'")
        XCTAssertEqual(detail("[\n  1,\n  2 3]"),
                       "line 3, column 5 (byte offset 11): expected ',' or ']' after array element, found '3'")
        XCTAssertEqual(detail("[\"é\" x]"),
                       "line 1, column 6 (byte offset 6): expected ',' or ']' after array element, found 'x'")
        XCTAssertTrue(detail("[1] x").hasPrefix("line 1, column 5 (byte offset 4): unexpected 'x' after the end"), detail("[1] x"))
    }

    // MARK: Canonical form

    func testCanonicalForm() throws {
        let value = try parse(#"{"b":[1.0,-0,1e21,1e-7,0.000001,123456789012345680000],"a":"\u001f\"\\\n/é","":null}"#)
        XCTAssertEqual(value.canonicalString,
                       #"{"":null,"a":"\u001f\"\\\n/é","b":[1,0,1e+21,1e-7,0.000001,123456789012345680000]}"#)
        // UTF-16 order: U+10000 (surrogates D800 DC00) sorts before U+E000, unlike scalar order.
        let keys = try parse("{\"\u{E000}\":1,\"\u{10000}\":2,\"z\":3}")
        XCTAssertEqual(keys.canonicalString, "{\"z\":3,\"\u{10000}\":2,\"\u{E000}\":1}")
        XCTAssertEqual(ES6Number.format(.infinity), "null")
        XCTAssertEqual(ES6Number.format(-1.5e-300), "-1.5e-300")
        XCTAssertEqual(ES6Number.format(-123.25), "-123.25")
        XCTAssertEqual(ES6Number.format(1e20), "100000000000000000000")
    }

    func testRoundTripThroughCanonicalForm() throws {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<300 {
            let value = randomJSON(&rng, depth: 0)
            let canonical = value.canonicalBytes()
            let back = try JSONParser.parse(canonical)
            XCTAssertEqual(back, value, value.canonicalString)
            XCTAssertEqual(back.canonicalBytes(), canonical)
        }
    }

    private func randomJSON(_ rng: inout SplitMix64, depth: Int) -> JSON {
        switch rng.next() % (depth > 3 ? 4 : 6) {
        case 0: return .null
        case 1: return .bool(rng.next() % 2 == 0)
        case 2:
            let d = Double(bitPattern: rng.next())
            return .number(d.isFinite ? d : Double(Int64(bitPattern: rng.next()) >> 11))
        case 3:
            let pool: [Unicode.Scalar] = ["a", "Z", "\u{0}", "\u{1F}", "\"", "\\", "/", "\u{7F}", "é", "\u{E000}", "\u{FFFF}", "😂", "\u{10FFFF}"]
            var s = ""
            for _ in 0..<(rng.next() % 6) { s.unicodeScalars.append(pool[Int(rng.next() % UInt64(pool.count))]) }
            return .string(s)
        case 4:
            return .array((0..<(rng.next() % 4)).map { _ in randomJSON(&rng, depth: depth + 1) })
        default:
            var object = JSONObject()
            for i in 0..<(rng.next() % 5) {
                let key = ["k", "é", "\u{E000}", "😂", "a\u{0}"][Int(rng.next() % 5)] + String(i)
                object[key] = randomJSON(&rng, depth: depth + 1)
            }
            return .object(object)
        }
    }
}

/// A small deterministic generator so failures reproduce.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
