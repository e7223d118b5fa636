import Foundation
import XCTest
@testable import DDE

/// Conformance data lives in the repository, with its licences: `Tests/Conformance` (see its
/// README.md for the sources). Missing data is a failure, not a skip.
enum ConformanceData {
    static var conformance: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // DDETests
            .deletingLastPathComponent()  // Tests
            .appendingPathComponent("Conformance")
    }

    static func files(_ folder: String, file: StaticString = #filePath, line: UInt = #line) throws -> [URL] {
        let dir = conformance.appendingPathComponent(folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertFalse(names.isEmpty, "no conformance files in \(dir.path)", file: file, line: line)
        return names.sorted().map { dir.appendingPathComponent($0) }
    }

    static func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }
}

final class JSONConformanceTests: XCTestCase {
    /// RFC 8785 appendix vectors (cyberphone/json-canonicalization testdata): byte-exact output.
    func testJCSVectorsCanonicaliseByteExact() throws {
        let inputs = try ConformanceData.files("jcs/input")
        XCTAssertEqual(inputs.count, 6)
        for input in inputs {
            let expectedURL = ConformanceData.conformance.appendingPathComponent("jcs/output")
                .appendingPathComponent(input.lastPathComponent)
            let expected = try ConformanceData.bytes(expectedURL)
            let value = try JSONParser.parse(ConformanceData.bytes(input))
            let canonical = value.canonicalBytes()
            XCTAssertEqual(canonical, expected, "\(input.lastPathComponent): got \(value.canonicalString)")
            // Canonical output parses back to the same value and is a fixed point.
            let again = try JSONParser.parse(canonical)
            XCTAssertEqual(again, value, input.lastPathComponent)
            XCTAssertEqual(again.canonicalBytes(), canonical, input.lastPathComponent)
        }
    }

    /// 100,000 doubles (hex bits) with their ECMAScript shortest string: format gives the string,
    /// and parsing the string gives back the exact bits.
    func testES6NumbersFormatAndParseBackExactly() throws {
        let url = ConformanceData.conformance.appendingPathComponent("es6numbers/numbers-100k.txt")
        let text = String(decoding: try ConformanceData.bytes(url), as: UTF8.self)
        var lines = 0
        var formatFailures = 0
        var parseFailures = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            lines += 1
            guard let comma = line.firstIndex(of: ","),
                  let bits = UInt64(line[line.startIndex..<comma], radix: 16) else {
                XCTFail("malformed line \(lines): \(line)")
                continue
            }
            let expected = String(line[line.index(after: comma)...])
            let value = Double(bitPattern: bits)
            XCTAssertTrue(value.isFinite, "line \(lines) holds a non-finite value; the test assumes none")
            let formatted = ES6Number.format(value)
            if formatted != expected {
                formatFailures += 1
                if formatFailures <= 10 { XCTFail("line \(lines): format(\(line.prefix(16))) = \(formatted), expected \(expected)") }
            }
            do {
                let parsed = try JSONParser.parse(expected)
                // -0 is written "0" (ECMAScript and RFC 8785), so it parses back as +0.
                let wanted = value == 0 ? 0.0 : value
                if parsed.numberValue?.bitPattern != wanted.bitPattern {
                    parseFailures += 1
                    if parseFailures <= 10 { XCTFail("line \(lines): parse(\(expected)) = \(String(describing: parsed.numberValue)), expected bits \(line.prefix(16))") }
                }
            } catch {
                parseFailures += 1
                if parseFailures <= 10 { XCTFail("line \(lines): parse(\(expected)) threw \(error.message)") }
            }
        }
        XCTAssertEqual(lines, 100_000)
        XCTAssertEqual(formatFailures, 0)
        XCTAssertEqual(parseFailures, 0)
    }

    /// JSONTestSuite (nst/JSONTestSuite) test_parsing: y_ accepted, n_ refused, i_ as decided below.
    func testJSONTestSuite() throws {
        let files = try ConformanceData.files("jsontestsuite/test_parsing")
        var accepted = 0, refused = 0, implementationDefined = 0
        // RFC 8259 allows duplicate keys; dde refuses them (PROTOCOL.md section 2).
        let duplicateKeyFiles: Set<String> = ["y_object_duplicated_key.json", "y_object_duplicated_key_and_value.json"]
        // i_ numbers: underflow and big integers round; overflow to infinity is Status.number.
        let acceptedNumbers: Set<String> = [
            "i_number_double_huge_neg_exp.json", "i_number_real_underflow.json",
            "i_number_too_big_neg_int.json", "i_number_too_big_pos_int.json",
            "i_number_very_big_negative_int.json",
        ]
        for url in files {
            let name = url.lastPathComponent
            let bytes = try ConformanceData.bytes(url)
            var outcome: Result<JSON, DDEError>
            do { outcome = .success(try JSONParser.parse(bytes)) } catch { outcome = .failure(error) }
            switch name.prefix(2) {
            case "y_":
                accepted += 1
                if duplicateKeyFiles.contains(name) {
                    XCTAssertEqual(status(outcome), .duplicateKey, name)
                } else if case .failure(let error) = outcome {
                    XCTFail("\(name) refused: \(error.message)")
                }
            case "n_":
                refused += 1
                if case .success(let value) = outcome {
                    XCTFail("\(name) accepted as \(value.canonicalString)")
                }
            case "i_":
                implementationDefined += 1
                if acceptedNumbers.contains(name) {
                    XCTAssertNil(status(outcome), name)
                } else if name.hasPrefix("i_number_") {
                    XCTAssertEqual(status(outcome), .number, name)
                } else if name == "i_structure_500_nested_arrays.json" {
                    XCTAssertEqual(status(outcome), .limit, name)
                } else {
                    // Invalid UTF-8, UTF-16, lone surrogates, BOM.
                    XCTAssertEqual(status(outcome), .json, name)
                }
            default:
                XCTFail("unexpected file \(name)")
            }
        }
        XCTAssertEqual(accepted + refused + implementationDefined, files.count)
        XCTAssertEqual(accepted, 95)
        XCTAssertEqual(refused, 188)
        XCTAssertEqual(implementationDefined, 35)
    }

    private func status(_ outcome: Result<JSON, DDEError>) -> Status? {
        if case .failure(let error) = outcome { return error.status }
        return nil
    }
}
