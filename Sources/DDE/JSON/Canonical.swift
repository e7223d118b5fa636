// RFC 8785 (JSON Canonicalization Scheme) serialisation: no whitespace, object members sorted by
// the UTF-16 code units of their keys, strings escaped minimally, numbers in the ECMAScript
// Number::toString form. H(x) of the protocol is SHA-256 over these bytes, so they must match
// every other JCS implementation byte for byte.

extension JSON {
    /// The RFC 8785 canonical UTF-8 bytes of this value.
    public func canonicalBytes() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(512)
        writeCanonical(into: &out)
        return out
    }

    /// The canonical form as a String (same bytes as `canonicalBytes()`).
    public var canonicalString: String {
        String(decoding: canonicalBytes(), as: UTF8.self)
    }

    /// Appends the canonical bytes of this value to `out`.
    func writeCanonical(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let d): ES6Number.write(d, into: &out)
        case .string(let s): writeCanonicalString(s, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                element.writeCanonical(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            let members = object.members
            // Parsed canonical input is already in order: check before sorting.
            var sorted = true
            var i = 1
            while i < members.count {
                if !utf16Less(members[i - 1].key, members[i].key) {
                    sorted = false
                    break
                }
                i += 1
            }
            if sorted {
                for (index, member) in members.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    writeCanonicalString(member.key, into: &out)
                    out.append(UInt8(ascii: ":"))
                    member.value.writeCanonical(into: &out)
                }
            } else {
                var order = Array(members.indices)
                order.sort { utf16Less(members[$0].key, members[$1].key) }
                for (index, m) in order.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    writeCanonicalString(members[m].key, into: &out)
                    out.append(UInt8(ascii: ":"))
                    members[m].value.writeCanonical(into: &out)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}

/// True when `a` sorts before `b` by UTF-16 code units (RFC 8785 section 3.2.3), computed on the
/// UTF-8 bytes without converting. UTF-8 byte order is scalar order; UTF-16 order differs only
/// where a scalar in U+E000-U+FFFF (lead byte 0xEE/0xEF) meets one above U+FFFF (lead byte
/// 0xF0-0xF4): its surrogates (0xD800-0xDFFF) sort first. Equal prefixes end on a character
/// boundary in both strings, so the first differing bytes are either both lead bytes or both
/// continuation bytes of same-length characters.
func utf16Less(_ a: String, _ b: String) -> Bool {
    // Native strings are contiguous; the copies are only for bridged ones.
    let fast: Bool?? = a.utf8.withContiguousStorageIfAvailable { p in
        b.utf8.withContiguousStorageIfAvailable { q in utf16Less(p, q) }
    }
    if let fast, let fast { return fast }
    return Array(a.utf8).withUnsafeBufferPointer { p in Array(b.utf8).withUnsafeBufferPointer { q in utf16Less(p, q) } }
}

func utf16Less(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    let n = min(a.count, b.count)
    var i = 0
    while i < n {
        let x = a[i], y = b[i]
        if x != y {
            if x >= 0xF0 && (y == 0xEE || y == 0xEF) { return true }
            if y >= 0xF0 && (x == 0xEE || x == 0xEF) { return false }
            return x < y
        }
        i += 1
    }
    return a.count < b.count
}

/// A JCS string: '"', '\\', and U+0000-U+001F escaped (short forms where JSON has them,
/// else \u00xx in lowercase hex); everything else, including U+007F and non-ASCII, as UTF-8.
@inline(__always)
func writeCanonicalString(_ s: String, into out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    let done: Void? = s.utf8.withContiguousStorageIfAvailable { bytes in
        appendEscaped(bytes, into: &out)
    }
    if done == nil {
        Array(s.utf8).withUnsafeBufferPointer { appendEscaped($0, into: &out) }
    }
    out.append(UInt8(ascii: "\""))
}

private let ones: UInt64 = 0x0101_0101_0101_0101
private let highs: UInt64 = 0x8080_8080_8080_8080

/// True when one of the 8 bytes of `w` is below 0x20, '"' or '\\' (the bytes JCS escapes).
/// Word-at-a-time tests (exact as a yes/no): any byte < n is `(w - n*ones) & ~w & highs`, any
/// byte == b is "any byte of w ^ b*ones is zero".
@inline(__always)
private func needsEscape(_ w: UInt64) -> Bool {
    let control = (w &- 0x20 &* ones) & ~w & highs
    let q = w ^ (0x22 &* ones), b = w ^ (0x5C &* ones)
    let quote = (q &- ones) & ~q & highs
    let backslash = (b &- ones) & ~b & highs
    return (control | quote | backslash) != 0
}

private func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    guard let base = bytes.baseAddress else { return }
    let end = bytes.count
    var runStart = 0
    var i = 0
    while i < end {
        // Most strings escape nothing: skip clean 8-byte words without looking at each byte.
        if i + 8 <= end, !needsEscape(UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))) {
            i += 8
            continue
        }
        let c = base[i]
        if c >= 0x20 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") {
            i += 1
            continue
        }
        if runStart < i { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: i - runStart)) }
        out.append(UInt8(ascii: "\\"))
        switch c {
        case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
        case 0x08: out.append(UInt8(ascii: "b"))
        case 0x0C: out.append(UInt8(ascii: "f"))
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        default:
            let hex: StaticString = "0123456789abcdef"
            out.append(contentsOf: "u00".utf8)
            out.append(hex.utf8Start[Int(c >> 4)])
            out.append(hex.utf8Start[Int(c & 0xF)])
        }
        i += 1
        runStart = i
    }
    if runStart < end { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: end - runStart)) }
}

/// Writes one object in canonical form member by member, for protocol objects with fixed ASCII
/// keys: no JSON tree, no hex Strings in between. The caller gives the members in canonical
/// order (for ASCII keys, byte order); debug builds check it. Tests compare the output with
/// the generic `JSON.canonicalBytes()`.
struct CanonicalObjectWriter {
    private(set) var bytes: [UInt8] = []
    private var previousKey: StaticString?

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    private mutating func key(_ k: StaticString) {
        if let previousKey {
            assert(utf16Less(buffer(previousKey), buffer(k)), "members out of canonical order")
            bytes.append(UInt8(ascii: ","))
        }
        previousKey = k
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: buffer(k))
        bytes.append(contentsOf: "\":".utf8)
    }

    private func buffer(_ s: StaticString) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
    }

    @inline(never)
    mutating func string(_ k: StaticString, _ value: String) {
        key(k)
        writeCanonicalString(value, into: &bytes)
    }

    /// Lowercase hex needs no escaping.
    mutating func hex(_ k: StaticString, _ value: UnsafeRawBufferPointer) {
        key(k)
        bytes.append(UInt8(ascii: "\""))
        Hex.append(value, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Inline digests, keys and signatures, without an array.
    @inline(never)
    mutating func hex(_ k: StaticString, _ value: Digest) { value.withUnsafeBytes { hex(k, $0) } }
    @inline(never)
    mutating func hex(_ k: StaticString, _ value: PublicKey) { value.withUnsafeBytes { hex(k, $0) } }
    @inline(never)
    mutating func hex(_ k: StaticString, _ value: Signature) { value.withUnsafeBytes { hex(k, $0) } }

    @inline(never)
    mutating func integer(_ k: StaticString, _ value: UInt64) {
        key(k)
        ES6Number.write(Double(value), into: &bytes)
    }

    mutating func null(_ k: StaticString) {
        key(k)
        bytes.append(contentsOf: "null".utf8)
    }

    /// A member whose value is already canonical JSON (a nested object's `finish()`).
    @inline(never)
    mutating func canonical(_ k: StaticString, _ value: [UInt8]) {
        key(k)
        bytes.append(contentsOf: value)
    }

    mutating func bool(_ k: StaticString, _ value: Bool) {
        key(k)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// An array of lowercase hex keys.
    mutating func hexList(_ k: StaticString, _ values: [PublicKey]) {
        key(k)
        bytes.append(UInt8(ascii: "["))
        for (i, v) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            v.withUnsafeBytes { Hex.append($0, to: &bytes) }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func strings(_ k: StaticString, _ values: [String]) {
        key(k)
        bytes.append(UInt8(ascii: "["))
        for (i, v) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            writeCanonicalString(v, into: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}
