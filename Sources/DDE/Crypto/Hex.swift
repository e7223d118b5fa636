// Lowercase hex, the only form the protocol accepts (PROTOCOL.md section 2).
public enum Hex {
    @inline(__always)
    static func digit(_ v: UInt8) -> UInt8 { v < 10 ? v &+ UInt8(ascii: "0") : v &+ (UInt8(ascii: "a") &- 10) }

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            var i = 0
            for b in bytes {
                out[i] = digit(b >> 4)
                out[i + 1] = digit(b & 0x0f)
                i += 2
            }
            return i
        }
    }

    /// Appends the lowercase hex of `bytes` to `out` (canonical writers, no String in between).
    static func append(_ bytes: [UInt8], to out: inout [UInt8]) {
        for b in bytes {
            out.append(digit(b >> 4))
            out.append(digit(b & 0x0f))
        }
    }

    /// Decodes exactly `count` bytes of lowercase hex; upper case, odd lengths and other
    /// characters are refused with `Status.encoding`. `field` names the field in the message.
    public static func decode(_ text: String, count: Int, field: @autoclosure () -> String) throws(DDEError) -> [UInt8] {
        let utf8 = text.utf8
        guard utf8.count == count * 2 else {
            throw DDEError(.encoding, "\(field()): expected \(count * 2) lowercase hex characters, got \(utf8.count)")
        }
        // Parsed strings are native and contiguous; the iterator path is for bridged ones.
        let fast: [UInt8]?? = utf8.withContiguousStorageIfAvailable { decode($0, count: count) }
        let decoded = fast ?? decode(Array(utf8)[...], count: count)
        guard let decoded else { throw DDEError(.encoding, "\(field()): not lowercase hex") }
        return decoded
    }

    /// nil when a character is not lowercase hex; `chars` has 2 * count elements.
    private static func decode<C: RandomAccessCollection>(_ chars: C, count: Int) -> [UInt8]?
    where C.Element == UInt8, C.Index == Int {
        var bad = false
        let out = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialised in
            var i = chars.startIndex
            for k in 0..<count {
                let hi = value(chars[i]), lo = value(chars[i + 1])
                if hi > 15 || lo > 15 { bad = true; break }
                buffer[k] = hi << 4 | lo
                i += 2
            }
            initialised = bad ? 0 : count
        }
        return bad ? nil : out
    }

    /// 0-15 for a lowercase hex digit, 0xFF otherwise.
    @inline(__always)
    private static func value(_ c: UInt8) -> UInt8 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
        default: return 0xFF
        }
    }
}
