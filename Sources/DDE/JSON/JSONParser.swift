// A strict RFC 8259 parser with the extra rules of I-JSON (RFC 7493) that RFC 8785 relies on:
// no duplicate keys (compared by Unicode scalars after unescaping), no unpaired surrogates, no
// invalid UTF-8, numbers that fit a double. Limits are checked while parsing, so an oversized
// or hostile message is refused before it costs much memory or time (PROTOCOL.md section 2).
//
// Nesting is parsed by recursion, one frame per level, bounded by `JSONLimits.maxDepth`.

public enum JSONParser {
    /// Parses one JSON document (any value at top level).
    ///
    /// Throws `Status.limit` when a `JSONLimits` bound is exceeded, `Status.duplicateKey` when an
    /// object repeats a key, `Status.number` when a number is too large for a double, and
    /// `Status.json` for anything else malformed. The detail names line, column and byte offset.
    public static func parse(_ bytes: UnsafeRawBufferPointer,
                             limits: JSONLimits = .default) throws(DDEError) -> JSON {
        guard bytes.count <= limits.maxBytes else {
            throw DDEError(.limit, "document is \(bytes.count) bytes, over the limit of \(limits.maxBytes) (JSONLimits.maxBytes); send a smaller document or raise the limit")
        }
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw DDEError(.json, "empty document: expected a JSON value")
        }
        var parser = Parser(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count,
                            limits: limits)
        return try parser.parseDocument()
    }

    public static func parse(_ bytes: [UInt8], limits: JSONLimits = .default) throws(DDEError) -> JSON {
        let result: Result<JSON, DDEError> = bytes.withUnsafeBytes { raw in
            do throws(DDEError) {
                return .success(try parse(raw, limits: limits))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    public static func parse(_ text: String, limits: JSONLimits = .default) throws(DDEError) -> JSON {
        var text = text
        let result: Result<JSON, DDEError> = text.withUTF8 { buffer in
            do throws(DDEError) {
                return .success(try parse(UnsafeRawBufferPointer(buffer), limits: limits))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

private enum ASCII {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
}

/// The parser's state; internal so that the direct compute_result reader
/// (Protocol/ComputeResultReader.swift) can reuse its scanners.
struct Parser {
    let base: UnsafePointer<UInt8>
    let count: Int
    let limits: JSONLimits
    var pos = 0
    /// Reused buffer for strings that contain escapes.
    var scratch: [UInt8] = []

    init(base: UnsafePointer<UInt8>, count: Int, limits: JSONLimits) {
        self.base = base
        self.count = count
        self.limits = limits
    }

    mutating func parseDocument() throws(DDEError) -> JSON {
        if count >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF {
            throw error(.json, at: 0, "byte order mark (U+FEFF) before the document; JSON text must start with a value (remove the BOM)")
        }
        let value = try parseValue(depth: 0)
        skipWhitespace()
        if pos < count {
            throw error(.json, at: pos, "unexpected \(describe(pos)) after the end of the document (one JSON value per document)")
        }
        return value
    }

    // MARK: Values

    mutating func parseValue(depth: Int) throws(DDEError) -> JSON {
        skipWhitespace()
        guard pos < count else {
            throw error(.json, at: pos, "unexpected end of input: expected a value")
        }
        switch base[pos] {
        case ASCII.openBrace: return try parseObject(depth: depth + 1)
        case ASCII.openBracket: return try parseArray(depth: depth + 1)
        case ASCII.quote: return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case ASCII.minus, ASCII.zero...ASCII.nine:
            return .number(try parseNumber())
        default:
            throw error(.json, at: pos, "unexpected \(describe(pos)): expected a value (object, array, string, number, true, false or null)")
        }
    }

    mutating func expectLiteral(_ word: StaticString) throws(DDEError) {
        let start = pos
        let n = word.utf8CodeUnitCount
        let w = word.utf8Start
        var i = 0
        while i < n {
            guard pos + i < count, base[pos + i] == w[i] else {
                throw error(.json, at: start, "invalid literal: expected '\(word)'")
            }
            i += 1
        }
        pos += n
    }

    mutating func parseObject(depth: Int) throws(DDEError) -> JSON {
        let start = pos
        guard depth <= limits.maxDepth else {
            throw error(.limit, at: pos, "nesting deeper than \(limits.maxDepth) (JSONLimits.maxDepth); flatten the document or raise the limit")
        }
        pos += 1  // '{'
        var object = JSONObject()
        skipWhitespace()
        if pos < count && base[pos] == ASCII.closeBrace {
            pos += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard pos < count, base[pos] == ASCII.quote else {
                throw error(.json, at: pos, "expected '\"' to begin an object key, found \(describe(pos))")
            }
            let key = try parseString()
            skipWhitespace()
            guard pos < count, base[pos] == ASCII.colon else {
                throw error(.json, at: pos, "expected ':' after object key, found \(describe(pos))")
            }
            pos += 1
            let value = try parseValue(depth: depth)
            guard object.count < limits.maxObjectKeys else {
                throw error(.limit, at: start, "object has more than \(limits.maxObjectKeys) members (JSONLimits.maxObjectKeys); send fewer keys or raise the limit")
            }
            object.appendUnchecked(key, value)
            skipWhitespace()
            guard pos < count else {
                throw error(.json, at: pos, "unexpected end of input: expected ',' or '}' after object member")
            }
            if base[pos] == ASCII.comma {
                pos += 1
                continue
            }
            if base[pos] == ASCII.closeBrace {
                pos += 1
                break
            }
            throw error(.json, at: pos, "expected ',' or '}' after object member, found \(describe(pos))")
        }
        if let duplicate = object.firstDuplicateKey() {
            throw error(.duplicateKey, at: start, "object repeats the key \"\(printable(duplicate))\" (keys must be unique, compared after unescaping)")
        }
        return .object(object)
    }

    mutating func parseArray(depth: Int) throws(DDEError) -> JSON {
        let start = pos
        guard depth <= limits.maxDepth else {
            throw error(.limit, at: pos, "nesting deeper than \(limits.maxDepth) (JSONLimits.maxDepth); flatten the document or raise the limit")
        }
        pos += 1  // '['
        var elements: [JSON] = []
        skipWhitespace()
        if pos < count && base[pos] == ASCII.closeBracket {
            pos += 1
            return .array(elements)
        }
        while true {
            let value = try parseValue(depth: depth)
            guard elements.count < limits.maxArrayElements else {
                throw error(.limit, at: start, "array has more than \(limits.maxArrayElements) elements (JSONLimits.maxArrayElements); send fewer or raise the limit")
            }
            elements.append(value)
            skipWhitespace()
            guard pos < count else {
                throw error(.json, at: pos, "unexpected end of input: expected ',' or ']' after array element")
            }
            if base[pos] == ASCII.comma {
                pos += 1
                continue
            }
            if base[pos] == ASCII.closeBracket {
                pos += 1
                return .array(elements)
            }
            throw error(.json, at: pos, "expected ',' or ']' after array element, found \(describe(pos))")
        }
    }

    // MARK: Strings

    /// Parses a string starting at its opening quote.
    mutating func parseString() throws(DDEError) -> String {
        let start = pos
        pos += 1  // '"'
        let contentStart = pos
        // Fast path: printable ASCII and valid UTF-8 without escapes is copied straight from the input.
        while pos < count {
            let c = base[pos]
            if c == ASCII.quote {
                let length = pos - contentStart
                try checkStringLength(length, start: start)
                pos += 1
                return String(decoding: UnsafeBufferPointer(start: base + contentStart, count: length),
                              as: UTF8.self)
            }
            if c == ASCII.backslash { break }
            if c < 0x20 { throw controlCharacter(c) }
            if c < 0x80 {
                pos += 1
            } else {
                try skipUTF8Sequence()
            }
        }
        guard pos < count else {
            throw error(.json, at: start, "unterminated string: missing closing '\"'")
        }
        // Escapes: unescape into the scratch buffer.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(start: base + contentStart, count: pos - contentStart))
        while pos < count {
            let c = base[pos]
            if c == ASCII.quote {
                try checkStringLength(scratch.count, start: start)
                pos += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if c == ASCII.backslash {
                try parseEscape()
            } else if c < 0x20 {
                throw controlCharacter(c)
            } else if c < 0x80 {
                scratch.append(c)
                pos += 1
            } else {
                let from = pos
                try skipUTF8Sequence()
                scratch.append(contentsOf: UnsafeBufferPointer(start: base + from, count: pos - from))
            }
            if scratch.count > limits.maxStringBytes { try checkStringLength(scratch.count, start: start) }
        }
        throw error(.json, at: start, "unterminated string: missing closing '\"'")
    }

    func checkStringLength(_ length: Int, start: Int) throws(DDEError) {
        guard length <= limits.maxStringBytes else {
            throw error(.limit, at: start, "string longer than \(limits.maxStringBytes) bytes (JSONLimits.maxStringBytes); send a shorter string or raise the limit")
        }
    }

    func controlCharacter(_ c: UInt8) -> DDEError {
        error(.json, at: pos, "control character U+00\(hexByte(c)) in a string must be escaped (e.g. \\n or \\u00\(hexByte(c)))")
    }

    /// Parses one escape sequence at `pos` (a backslash) and appends its UTF-8 to `scratch`.
    mutating func parseEscape() throws(DDEError) {
        let start = pos
        guard pos + 1 < count else {
            throw error(.json, at: start, "unterminated escape sequence at end of input")
        }
        let c = base[pos + 1]
        pos += 2
        switch c {
        case ASCII.quote: scratch.append(ASCII.quote)
        case ASCII.backslash: scratch.append(ASCII.backslash)
        case ASCII.slash: scratch.append(ASCII.slash)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4(escapeStart: start)
            if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw error(.json, at: start, "unpaired surrogate escape \\u\(hex16(scalar)): a low surrogate must follow a high one (RFC 8785 forbids lone surrogates)")
            }
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                guard pos + 1 < count, base[pos] == ASCII.backslash, base[pos + 1] == UInt8(ascii: "u") else {
                    throw error(.json, at: start, "unpaired surrogate escape \\u\(hex16(scalar)): a high surrogate must be followed by a \\uDC00-\\uDFFF escape (RFC 8785 forbids lone surrogates)")
                }
                let lowStart = pos
                pos += 2
                let low = try hex4(escapeStart: lowStart)
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw error(.json, at: start, "unpaired surrogate escape \\u\(hex16(scalar)) followed by \\u\(hex16(low)), which is not a low surrogate (RFC 8785 forbids lone surrogates)")
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            appendUTF8(scalar)
        default:
            throw error(.json, at: start, "invalid escape sequence \\\(printableByte(c)); allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX")
        }
    }

    /// Reads the four hex digits of a \u escape at `pos`.
    mutating func hex4(escapeStart: Int) throws(DDEError) -> UInt32 {
        guard pos + 4 <= count else {
            throw error(.json, at: escapeStart, "truncated \\u escape: expected four hex digits")
        }
        var v: UInt32 = 0
        for i in 0..<4 {
            let c = base[pos + i]
            let d: UInt32
            switch c {
            case ASCII.zero...ASCII.nine: d = UInt32(c - ASCII.zero)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default:
                throw error(.json, at: escapeStart, "invalid \\u escape: expected four hex digits, found \(describe(pos + i))")
            }
            v = v << 4 | d
        }
        pos += 4
        return v
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (scalar >> 6)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (scalar >> 12)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (scalar >> 18)))
            scratch.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    /// Checks one multi-byte UTF-8 sequence at `pos` (Unicode Table 3-7: no overlong forms, no
    /// surrogates, nothing above U+10FFFF) and moves past it.
    mutating func skipUTF8Sequence() throws(DDEError) {
        let lead = base[pos]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default:
            throw error(.json, at: pos, "invalid UTF-8: byte 0x\(hexByte(lead)) cannot start a character (text must be UTF-8)")
        }
        guard pos + length <= count else {
            throw error(.json, at: pos, "invalid UTF-8: truncated \(length)-byte sequence (text must be UTF-8)")
        }
        let second = base[pos + 1]
        guard second >= low && second <= high else {
            throw error(.json, at: pos, "invalid UTF-8: byte 0x\(hexByte(second)) after 0x\(hexByte(lead)) (overlong, surrogate or out-of-range sequence; text must be UTF-8)")
        }
        var i = 2
        while i < length {
            let c = base[pos + i]
            guard c & 0xC0 == 0x80 else {
                throw error(.json, at: pos, "invalid UTF-8: byte 0x\(hexByte(c)) where a continuation byte was expected (text must be UTF-8)")
            }
            i += 1
        }
        pos += length
    }

    // MARK: Numbers

    /// number = [ minus ] int [ frac ] [ exp ]  (RFC 8259 section 6)
    mutating func parseNumber() throws(DDEError) -> Double {
        let start = pos
        let negative = base[pos] == ASCII.minus
        if negative { pos += 1 }
        let digitsStart = pos
        guard pos < count, isDigit(base[pos]) else {
            throw error(.json, at: start, "invalid number: expected a digit after '-'")
        }
        if base[pos] == ASCII.zero {
            pos += 1
            if pos < count && isDigit(base[pos]) {
                throw error(.json, at: start, "invalid number: leading zeros are not allowed")
            }
        } else {
            while pos < count && isDigit(base[pos]) { pos += 1 }
        }
        var fractionDigits = 0
        if pos < count && base[pos] == ASCII.dot {
            pos += 1
            let fractionStart = pos
            while pos < count && isDigit(base[pos]) { pos += 1 }
            fractionDigits = pos - fractionStart
            guard fractionDigits > 0 else {
                throw error(.json, at: start, "invalid number: expected a digit after '.'")
            }
        }
        let digitsEnd = pos
        var exponent = 0
        if pos < count && (base[pos] == UInt8(ascii: "e") || base[pos] == UInt8(ascii: "E")) {
            pos += 1
            var exponentNegative = false
            if pos < count && (base[pos] == ASCII.plus || base[pos] == ASCII.minus) {
                exponentNegative = base[pos] == ASCII.minus
                pos += 1
            }
            let exponentStart = pos
            while pos < count && isDigit(base[pos]) {
                // Saturate: anything this large is already far outside the double range.
                if exponent < 100_000_000 { exponent = exponent * 10 + Int(base[pos] - ASCII.zero) }
                pos += 1
            }
            guard pos > exponentStart else {
                throw error(.json, at: start, "invalid number: expected a digit in the exponent")
            }
            if exponentNegative { exponent = -exponent }
        }
        let digits = UnsafeBufferPointer(start: base + digitsStart, count: digitsEnd - digitsStart)
        guard let value = ES6Number.parseDecimal(digits, exponent: exponent - fractionDigits,
                                                 negative: negative) else {
            throw error(.number, at: start, "number too large for a double (beyond +/-1.7976931348623157e308); JSON numbers here are IEEE-754 doubles (RFC 8785)")
        }
        return value
    }

    @inline(__always)
    func isDigit(_ c: UInt8) -> Bool { c >= ASCII.zero && c <= ASCII.nine }

    // MARK: Whitespace and errors

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < count {
            let c = base[pos]
            guard c == ASCII.space || c == ASCII.newline || c == ASCII.carriageReturn || c == ASCII.tab else { return }
            pos += 1
        }
    }

    /// "line L, column C (byte offset B): message". Lines and columns count from 1 (columns in
    /// characters); the byte offset counts from 0.
    func error(_ status: Status, at offset: Int, _ message: ErrorDetail) -> DDEError {
        var line = 1
        var column = 1
        var i = 0
        while i < offset && i < count {
            let c = base[i]
            if c == ASCII.newline {
                line += 1
                column = 1
            } else if c & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return DDEError(status, "line \(line), column \(column) (byte offset \(offset)): \(message)")
    }

    /// What is at `offset`, for an error message: "'x'", "byte 0xNN" or "end of input".
    func describe(_ offset: Int) -> String {
        guard offset < count else { return "end of input" }
        let c = base[offset]
        if c >= 0x21 && c < 0x7F { return "'\(printableByte(c))'" }
        return "byte 0x\(hexByte(c))"
    }
}

private func printableByte(_ c: UInt8) -> String {
    if c >= 0x20 && c < 0x7F { return String(decoding: CollectionOfOne(c), as: UTF8.self) }
    return "\\x" + hexByte(c)
}

private func hexByte(_ c: UInt8) -> String {
    let digits: StaticString = "0123456789ABCDEF"
    let p = digits.utf8Start
    return String(decoding: [p[Int(c >> 4)], p[Int(c & 0xF)]], as: UTF8.self)
}

private func hex16(_ v: UInt32) -> String {
    hexByte(UInt8(truncatingIfNeeded: v >> 8)) + hexByte(UInt8(truncatingIfNeeded: v))
}

/// A key for an error message: control characters and quotes shown escaped, long keys cut.
private func printable(_ key: String) -> String {
    var out = ""
    var n = 0
    for scalar in key.unicodeScalars {
        if n == 64 {
            out += "..."
            break
        }
        if scalar.value < 0x20 || scalar == "\"" || scalar == "\\" {
            out += "\\u00" + hexByte(UInt8(truncatingIfNeeded: scalar.value))
        } else {
            out.unicodeScalars.append(scalar)
        }
        n += 1
    }
    return out
}

extension JSONObject {
    /// The first key that occurs twice (by Unicode scalars), or nil.
    func firstDuplicateKey() -> String? {
        let n = members.count
        if n < 2 { return nil }
        if n <= 16 {
            for i in 1..<n {
                for j in 0..<i where sameScalars(members[i].key, members[j].key) {
                    return members[i].key
                }
            }
            return nil
        }
        // Larger objects: sort by UTF-8 bytes and look at neighbours.
        var order = Array(0..<n)
        order.sort { utf8Less(members[$0].key, members[$1].key) }
        for i in 1..<n where sameScalars(members[order[i]].key, members[order[i - 1]].key) {
            return members[order[i]].key
        }
        return nil
    }
}

/// Byte order of UTF-8, which is Unicode scalar order.
func utf8Less(_ a: String, _ b: String) -> Bool {
    var ia = a.utf8.makeIterator()
    var ib = b.utf8.makeIterator()
    while true {
        guard let x = ia.next() else { return ib.next() != nil }
        guard let y = ib.next() else { return false }
        if x != y { return x < y }
    }
}
