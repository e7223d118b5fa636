// RFC 8785 bytes of a JSON value written straight from its (already parsed and checked) input
// text, without the tree, when the text is simple: strings without escapes (written as they are,
// which is their canonical form) and integers of at most 15 digits (their ES6 form is the digits).
// Object members are sorted by the UTF-16 order of their raw keys. Anything else gives nil and the
// caller serialises the tree. Verification uses it for H(result) (tests compare it with
// `JSON.canonicalBytes()`).
//
// The output is the input without its whitespace, reordered, so it never needs more bytes than
// the input: it is written through a pointer into a buffer of that size.
struct CanonicalFromInput {
    private let base: UnsafePointer<UInt8>
    private let end: Int
    private var pos: Int
    private let out: UnsafeMutablePointer<UInt8>
    private var written = 0

    /// `range` must hold exactly one JSON value the parser has accepted.
    static func bytes(_ base: UnsafePointer<UInt8>, _ range: Range<Int>) -> [UInt8]? {
        var ok = false
        let bytes = [UInt8](unsafeUninitializedCapacity: range.count) { buffer, initialised in
            initialised = 0
            guard let o = buffer.baseAddress else { return }
            var w = CanonicalFromInput(base: base, end: range.upperBound, pos: range.lowerBound, out: o)
            ok = w.value()
            initialised = ok ? w.written : 0
        }
        return ok ? bytes : nil
    }

    private init(base: UnsafePointer<UInt8>, end: Int, pos: Int, out: UnsafeMutablePointer<UInt8>) {
        self.base = base
        self.end = end
        self.pos = pos
        self.out = out
    }

    private mutating func put(_ c: UInt8) {
        out[written] = c
        written += 1
    }

    private mutating func put(_ r: Range<Int>) {
        (out + written).update(from: base + r.lowerBound, count: r.count)
        written += r.count
    }

    private mutating func skipSpace() {
        while pos < end, base[pos] == 0x20 || base[pos] == 0x0A || base[pos] == 0x0D || base[pos] == 0x09 { pos += 1 }
    }

    private func raw(_ r: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + r.lowerBound, count: r.count)
    }

    /// Writes the value at `pos` and moves past it; false when it is not simple.
    private mutating func value() -> Bool {
        skipSpace()
        guard pos < end else { return false }
        switch base[pos] {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["):
            pos += 1
            put(UInt8(ascii: "["))
            skipSpace()
            if pos < end && base[pos] == UInt8(ascii: "]") { pos += 1; put(UInt8(ascii: "]")); return true }
            while true {
                guard value() else { return false }
                skipSpace()
                guard pos < end else { return false }
                let c = base[pos]
                pos += 1
                if c == UInt8(ascii: "]") { put(c); return true }
                put(UInt8(ascii: ","))
            }
        case UInt8(ascii: "\""):
            guard let s = string() else { return false }
            put(UInt8(ascii: "\""))
            put(s)
            put(UInt8(ascii: "\""))
            return true
        case UInt8(ascii: "t"): return literal(4)
        case UInt8(ascii: "f"): return literal(5)
        case UInt8(ascii: "n"): return literal(4)
        default: return integer()
        }
    }

    private mutating func literal(_ n: Int) -> Bool {
        put(pos..<(pos + n))
        pos += n
        return true
    }

    /// At most 15 digits, optionally negative, no fraction or exponent; not "-0".
    private mutating func integer() -> Bool {
        let start = pos
        if base[pos] == UInt8(ascii: "-") { pos += 1 }
        let digits = pos
        while pos < end, base[pos] >= UInt8(ascii: "0"), base[pos] <= UInt8(ascii: "9") { pos += 1 }
        let n = pos - digits
        guard n >= 1, n <= 15 else { return false }
        if pos < end, base[pos] == UInt8(ascii: ".") || base[pos] == UInt8(ascii: "e") || base[pos] == UInt8(ascii: "E") {
            return false
        }
        if digits > start && n == 1 && base[digits] == UInt8(ascii: "0") { return false }
        put(start..<pos)
        return true
    }

    /// The content of the string at `pos` (a quote), moving past it; nil if it has an escape.
    private mutating func string() -> Range<Int>? {
        pos += 1
        let start = pos
        while pos < end {
            let c = base[pos]
            if c == UInt8(ascii: "\"") { pos += 1; return start..<(pos - 1) }
            if c == UInt8(ascii: "\\") { return nil }
            pos += 1
        }
        return nil
    }

    /// Members sorted by key: first their keys and value positions, then each value written.
    private mutating func object() -> Bool {
        pos += 1
        var members = [(key: Range<Int>, value: Int)]()
        members.reserveCapacity(8)  // temporary: one allocation instead of one per doubling
        skipSpace()
        if pos < end && base[pos] == UInt8(ascii: "}") {
            pos += 1
            put(UInt8(ascii: "{"))
            put(UInt8(ascii: "}"))
            return true
        }
        while true {
            skipSpace()
            guard pos < end, base[pos] == UInt8(ascii: "\""), let key = string() else { return false }
            skipSpace()
            pos += 1  // ':'
            skipSpace()
            members.append((key, pos))
            guard skipValue() else { return false }
            skipSpace()
            guard pos < end else { return false }
            let c = base[pos]
            pos += 1
            if c == UInt8(ascii: "}") { break }
        }
        let after = pos
        sortByIndex(&members) { utf16Less(raw($0.key), raw($1.key)) }
        put(UInt8(ascii: "{"))
        for (i, m) in members.enumerated() {
            if i > 0 { put(UInt8(ascii: ",")) }
            put(UInt8(ascii: "\""))
            put(m.key)
            put(UInt8(ascii: "\""))
            put(UInt8(ascii: ":"))
            pos = m.value
            guard value() else { return false }
        }
        put(UInt8(ascii: "}"))
        pos = after
        return true
    }

    /// Moves past the value at `pos` without writing it; false on a string with an escape.
    private mutating func skipValue() -> Bool {
        var depth = 0
        while pos < end {
            let c = base[pos]
            switch c {
            case UInt8(ascii: "\""):
                guard string() != nil else { return false }
                if depth == 0 { return true }
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return true }
                depth -= 1
                if depth == 0 { pos += 1; return true }
            case UInt8(ascii: ","), 0x20, 0x0A, 0x0D, 0x09:
                if depth == 0 { return true }
            default:
                break
            }
            pos += 1
        }
        return true
    }
}
