// A structure-aware mutation for the JSON harnesses: the same JSON value, spelled another way
// (whitespace between tokens, members in another order, characters escaped, numbers written
// with fractions, exponents or a minus zero). Byte mutations rarely produce such spellings of a
// valid signed document, and they are exactly what the readers that work on the input text
// must get right: the direct compute_result reader hashes canonical parts of the input, and
// CanonicalFromInput writes the canonical form from it. Every harness must answer a respelled
// document as it answers the original.
@testable import DDE

/// xorshift32: deterministic from libFuzzer's seed, so a mutation can be replayed.
struct MutationRandom {
    var state: UInt32
    init(_ seed: UInt32) { state = seed == 0 ? 0x9E37_79B9 : seed }
    mutating func next() -> UInt32 {
        state ^= state << 13
        state ^= state >> 17
        state ^= state << 5
        return state
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt32(n)) }
    mutating func chance(_ oneIn: Int) -> Bool { below(oneIn) == 0 }
}

enum Respell {
    static func bytes(_ value: JSON, _ r: inout MutationRandom) -> [UInt8] {
        var out: [UInt8] = []
        // How often whitespace goes between tokens: sometimes never (only escapes or numbers
        // change), sometimes rarely (one space in a member), sometimes everywhere.
        let spaceOdds = [0, 2, 8, 64][r.below(4)]
        write(value, &out, &r, spaceOdds: spaceOdds, escapeOdds: [0, 8, 64][r.below(3)],
              shuffle: r.chance(3), numbers: r.chance(2))
        return out
    }

    private static func space(_ out: inout [UInt8], _ r: inout MutationRandom, _ odds: Int) {
        guard odds > 0, r.chance(odds) else { return }
        let choices: [[UInt8]] = [[0x20], [0x0A], [0x09], [0x0D, 0x0A], [0x20, 0x20]]
        out += choices[r.below(choices.count)]
    }

    private static func write(_ v: JSON, _ out: inout [UInt8], _ r: inout MutationRandom, spaceOdds: Int, escapeOdds: Int,
                              shuffle: Bool, numbers: Bool) {
        switch v {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .number(let d): number(d, &out, &r, respell: numbers)
        case .string(let s): string(s, &out, &r, escapeOdds)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { space(&out, &r, spaceOdds); out.append(UInt8(ascii: ",")) }
                space(&out, &r, spaceOdds)
                write(item, &out, &r, spaceOdds: spaceOdds, escapeOdds: escapeOdds, shuffle: shuffle, numbers: numbers)
                space(&out, &r, spaceOdds)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            var members = o.members
            if shuffle && members.count > 1 {
                for i in stride(from: members.count - 1, to: 0, by: -1) { members.swapAt(i, r.below(i + 1)) }
            }
            out.append(UInt8(ascii: "{"))
            for (i, m) in members.enumerated() {
                if i > 0 { space(&out, &r, spaceOdds); out.append(UInt8(ascii: ",")) }
                space(&out, &r, spaceOdds)
                string(m.key, &out, &r, escapeOdds)
                space(&out, &r, spaceOdds)
                out.append(UInt8(ascii: ":"))
                space(&out, &r, spaceOdds)
                write(m.value, &out, &r, spaceOdds: spaceOdds, escapeOdds: escapeOdds, shuffle: shuffle, numbers: numbers)
                space(&out, &r, spaceOdds)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The same double, maybe spelled `n.0`, `n0e-1`, `nE+0`, `-0`, or its ES6 form with a
    /// trailing zero in the fraction.
    private static func number(_ d: Double, _ out: inout [UInt8], _ r: inout MutationRandom, respell: Bool) {
        let es6 = ES6Number.format(d)
        guard respell, !es6.contains("e") else {
            out += Array(es6.utf8)
            return
        }
        if d == 0 {
            out += Array(["0", "-0", "0.0", "0e5", "-0.000E-3"][r.below(5)].utf8)
            return
        }
        let isInteger = !es6.contains(".")
        switch r.below(4) {
        case 0: out += Array((isInteger ? es6 + ".0" : es6 + "0").utf8)
        case 1: out += Array((es6 + "e0").utf8)
        case 2: out += Array((isInteger ? es6 + "0e-1" : es6 + "E+0").utf8)
        default: out += Array(es6.utf8)
        }
    }

    /// A JSON string for `s`, each scalar escaped with probability 1/odds (and what must be).
    private static func string(_ s: String, _ out: inout [UInt8], _ r: inout MutationRandom, _ odds: Int) {
        out.append(UInt8(ascii: "\""))
        for scalar in s.unicodeScalars {
            let v = scalar.value
            let must = v < 0x20 || v == 0x22 || v == 0x5C
            if must || (odds > 0 && r.chance(odds)) {
                let short: [UInt32: String] = [0x22: "\\\"", 0x5C: "\\\\", 0x2F: "\\/", 0x08: "\\b", 0x0C: "\\f",
                                               0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"]
                if let e = short[v], r.chance(2) {
                    out += Array(e.utf8)
                } else if v >= 0x10000 {
                    let x = v - 0x10000
                    hex(0xD800 + (x >> 10), &out, upper: r.chance(2))
                    hex(0xDC00 + (x & 0x3FF), &out, upper: r.chance(2))
                } else {
                    hex(v, &out, upper: r.chance(2))
                }
            } else {
                out += Array(String(scalar).utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func hex(_ v: UInt32, _ out: inout [UInt8], upper: Bool) {
        let digits = Array((upper ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        out += [UInt8(ascii: "\\"), UInt8(ascii: "u")]
        for shift in [12, 8, 4, 0] { out.append(digits[Int((v >> UInt32(shift)) & 0xF)]) }
    }
}

@_silgen_name("LLVMFuzzerMutate")
func LLVMFuzzerMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int) -> Int

/// One mutation in three respells a JSON input (for the harnesses that read one JSON document);
/// the rest are libFuzzer's own.
@_cdecl("LLVMFuzzerCustomMutator")
public func fuzzCustomMutator(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    var r = MutationRandom(seed)
    if let h = selected, h.readsJSON, r.chance(3),
       let value = try? JSONParser.parse(UnsafeRawBufferPointer(start: data, count: size)) {
        let respelled = Respell.bytes(value, &r)
        if respelled.count <= maxSize {
            respelled.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: $0.count) }
            return respelled.count
        }
    }
    return LLVMFuzzerMutate(data, size, maxSize)
}
