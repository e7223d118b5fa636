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
        bytes.withUnsafeBytes { append($0, to: &out) }
    }

    /// The same from bytes in place (inline digests, keys, signatures).
    static func append(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        // Through a stack buffer, 64 input bytes at a time: appending digit by digit (a capacity
        // check each) was the largest single cost of writing a receipt.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { buffer in
            var start = 0
            while start < bytes.count {
                let end = min(start + 64, bytes.count)
                var i = 0
                for j in start..<end {
                    let b = bytes[j]
                    buffer[i] = digit(b >> 4)
                    buffer[i + 1] = digit(b & 0x0f)
                    i += 2
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<i]))
                start = end
            }
        }
    }

    /// Writes the lowercase hex of `bytes` over `out` from `start` (signed objects serialised
    /// before their hash and signature are known, with room left for them).
    static func write(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8], at start: Int) {
        for j in 0..<bytes.count {
            out[start + 2 * j] = digit(bytes[j] >> 4)
            out[start + 2 * j + 1] = digit(bytes[j] & 0x0f)
        }
    }

    /// Decodes exactly `count` bytes of lowercase hex; upper case, odd lengths and other
    /// characters are refused with `Status.encoding`. `field` names the field in the message.
    public static func decode(_ text: String, count: Int, field: @autoclosure () -> ErrorDetail) throws(DDEError) -> [UInt8] {
        let utf8 = text.utf8
        guard utf8.count == count * 2 else {
            throw DDEError(.encoding, "\(field()): expected \(count * 2) lowercase hex characters, got \(utf8.count)")
        }
        // Parsed strings are native and contiguous; the iterator path is for bridged ones.
        let fast: [UInt8]?? = utf8.withContiguousStorageIfAvailable { (chars: UnsafeBufferPointer<UInt8>) -> [UInt8]? in
            decode(chars, count: count)
        }
        let decoded = fast ?? decode(Array(utf8)[...], count: count)
        guard let decoded else { throw DDEError(.encoding, "\(field()): not lowercase hex") }
        return decoded
    }

    /// nil when a character is not lowercase hex; `chars` has 2 * count elements.
    static func decode<C: RandomAccessCollection>(_ chars: C, count: Int) -> [UInt8]?
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

    /// The same on bytes, eight characters at a time (verification decodes a dozen digests per
    /// proof); nil when a character is not lowercase hex.
    static func decode(_ chars: UnsafeBufferPointer<UInt8>, count: Int) -> [UInt8]? {
        guard chars.count == 2 * count, let p = chars.baseAddress else { return nil }
        var valid = true
        let out = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialised in
            guard let o = buffer.baseAddress else { initialised = 0; return }
            valid = decode(p, count: count, into: UnsafeMutableRawPointer(o))
            initialised = count
        }
        return valid ? out : nil
    }

    /// Decodes the 2 * `count` characters at `p` into the `count` bytes at `out`, eight
    /// characters at a time; false when a character is not lowercase hex (`out` then holds junk).
    @inline(__always)
    static func decode(_ p: UnsafePointer<UInt8>, count: Int, into out: UnsafeMutableRawPointer) -> Bool {
        var valid = true
        let raw = UnsafeRawPointer(p)
        var k = 0
        while k + 4 <= count {
            let (four, ok) = decode8(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt64.self)))
            valid = valid && ok
            out.storeBytes(of: four.littleEndian, toByteOffset: k, as: UInt32.self)
            k += 4
        }
        while k < count {
            let hi = value(p[2 * k]), lo = value(p[2 * k + 1])
            valid = valid && hi | lo < 16
            out.storeBytes(of: hi << 4 | (lo & 0x0f), toByteOffset: k, as: UInt8.self)
            k += 1
        }
        return valid
    }

    /// Four bytes from eight characters (little-endian lanes: the first character is the lowest
    /// byte), and whether all eight are lowercase hex digits. Range checks per byte lane: with
    /// every byte below 0x80, adding (0x80 - lo) sets a lane's top bit exactly when it is >= lo,
    /// and no lane carries into the next.
    @inline(__always)
    static func decode8(_ x: UInt64) -> (UInt32, Bool) {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let top: UInt64 = 0x8080_8080_8080_8080
        let atLeastDigit = (x &+ (0x80 - 0x30) &* ones) & top   // >= '0'
        let aboveDigit = (x &+ (0x7F - 0x39) &* ones) & top     // > '9'
        let atLeastLetter = (x &+ (0x80 - 0x61) &* ones) & top  // >= 'a'
        let aboveLetter = (x &+ (0x7F - 0x66) &* ones) & top    // > 'f'
        let letter = atLeastLetter & ~aboveLetter
        let ok = x & top == 0 && ((atLeastDigit & ~aboveDigit) | letter) == top
        // Digit values: the low nibble; letters a-f: the low nibble (1-6) plus 9.
        let v = (x & 0x0F0F_0F0F_0F0F_0F0F) &+ (letter >> 7) &* 9
        let pairs = ((v & 0x000F_000F_000F_000F) << 4) | ((v >> 8) & 0x000F_000F_000F_000F)
        let halves = (pairs | (pairs >> 8)) & 0x0000_FFFF_0000_FFFF
        return (UInt32(truncatingIfNeeded: halves | (halves >> 16)), ok)
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
