// json: the parser, the canonical serialiser and the canonical-from-input writer.
// number: JSON number text against the C library's strtod, and ES6 formatting round trips.
@testable import DDE
import Glibc

/// Tight limits: what they accept, the defaults must accept to the same tree.
private let tight = JSONLimits(maxBytes: 4096, maxDepth: 4, maxStringBytes: 16, maxObjectKeys: 4, maxArrayElements: 4)

func fuzzJSON(_ data: UnsafeRawBufferPointer) {
    let tree: JSON
    do throws(DDEError) {
        tree = try JSONParser.parse(data)
    } catch {
        expect([.json, .limit, .duplicateKey, .number].contains(error.status), "parser refused with \(error.message)")
        // Whatever the defaults refuse, tighter limits refuse too.
        expect((try? JSONParser.parse(data, limits: tight)) == nil, "tight limits accept what the defaults refuse")
        return
    }
    if let small = try? JSONParser.parse(data, limits: tight) {
        expect(small == tree, "tight limits read another tree")
    }

    // The canonical form parses to the same tree and is its own canonical form.
    let canonical = tree.canonicalBytes()
    do throws(DDEError) {
        let again = try JSONParser.parse(canonical)
        expect(again == tree, "canonical form reads back to another tree: \(text(canonical))")
        expect(again.canonicalBytes() == canonical, "canonical form is not a fixed point: \(text(canonical))")
    } catch {
        // Numbers can grow (1e20 is written as 21 digits): only the size limit may refuse it.
        expect(error.status == .limit && canonical.count > JSONLimits.default.maxBytes,
               "canonical form refused: \(error.message): \(text(canonical))")
    }
    _ = tree.hash

    // The writer that works on the input text, without the tree: when it answers, it answers
    // the canonical form byte for byte.
    if let base = data.baseAddress {
        let fast = CanonicalFromInput.bytes(base.assumingMemoryBound(to: UInt8.self), 0..<data.count)
        if let fast {
            expect(fast == canonical, "CanonicalFromInput wrote \(text(fast)), the tree \(text(canonical))")
        }
    }
    // And from the same value spelled otherwise (Respell.swift).
    var r = MutationRandom(UInt32(truncatingIfNeeded: data.count &* 2_654_435_761) ^ (data.count > 0 ? UInt32(data[0]) : 0))
    let other = Respell.bytes(tree, &r)
    guard other.count <= JSONLimits.default.maxBytes else { return }
    do throws(DDEError) {
        let back = try JSONParser.parse(other)
        expect(back == tree, "a respelling reads as another tree: \(text(other))")
    } catch {
        fatalError("a respelling is refused: \(error.message): \(text(other))")
    }
    let fast = other.withUnsafeBufferPointer { CanonicalFromInput.bytes($0.baseAddress!, 0..<$0.count) }
    if let fast {
        expect(fast == canonical, "CanonicalFromInput wrote \(text(fast)) for \(text(other)), the tree \(text(canonical))")
    }
}

private func isJSONSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

func fuzzNumber(_ data: UnsafeRawBufferPointer) {
    // 1. The input as number text: when the parser reads one number, it is strtod's double
    // (correctly rounded, C locale) bit for bit; when the parser refuses it as too large,
    // strtod overflows too.
    if data.count <= 2048 {
        var lo = 0, hi = data.count
        while lo < hi && isJSONSpace(data[lo]) { lo += 1 }
        while hi > lo && isJSONSpace(data[hi - 1]) { hi -= 1 }
        let body = Array(data[lo..<hi])
        let looksNumeric = !body.isEmpty && body.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: ".")
                || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E")
        }
        if looksNumeric {
            let reference: Double = body.withUnsafeBufferPointer { b in
                var z = Array(b) + [0]
                return z.withUnsafeMutableBufferPointer { p in
                    p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { strtod($0, nil) }
                }
            }
            do throws(DDEError) {
                if case .number(let d) = try JSONParser.parse(data) {
                    expect(d.bitPattern == reference.bitPattern,
                           "\(text(body)) parsed to \(d) (\(d.bitPattern)), strtod gives \(reference) (\(reference.bitPattern))")
                }
            } catch {
                if error.status == .number { expect(reference.isInfinite, "\(text(body)) refused as too large, strtod gives \(reference)") }
            }
        }
    }
    // 2. The first 8 bytes as a double: its ES6 form is JSON that reads back to the same double.
    if data.count >= 8 {
        let bits = data.loadUnaligned(as: UInt64.self)
        let d = Double(bitPattern: bits)
        guard d.isFinite else { return }
        let s = ES6Number.format(d)
        do throws(DDEError) {
            guard case .number(let back) = try JSONParser.parse(s) else { fatalError("\(s) is not a number") }
            expect(back == d && (d != 0 || back.bitPattern == 0), "\(d.bitPattern) formats as \(s), which reads back as \(back)")
        } catch {
            fatalError("ES6Number.format(\(bits)) = \(s) does not parse: \(error.message)")
        }
        expect(JSON.number(d).canonicalString == s, "canonical form of a number is not ES6Number.format")
    }
}
