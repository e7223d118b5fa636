// Standard base64 (RFC 4648 section 4) with padding, decoded strictly: one canonical encoding per
// byte string, so equal state values always have equal text and equal hashes.
public enum Base64 {
    /// The 64 symbols, in order (a StaticString: read in place, no array to initialise).
    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    public static func encode(_ bytes: [UInt8]) -> String {
        // Written in place, as Hex.encode does: twelve Array appends (a capacity check each)
        // were 1.7 KB of Embedded code.
        String(unsafeUninitializedCapacity: (bytes.count + 2) / 3 * 4) { out in
            let symbols = alphabet.utf8Start
            var i = 0, o = 0
            while i < bytes.count {
                let left = bytes.count - i
                let n = UInt32(bytes[i]) << 16 | (left > 1 ? UInt32(bytes[i + 1]) << 8 : 0) | (left > 2 ? UInt32(bytes[i + 2]) : 0)
                out[o] = symbols[Int(n >> 18 & 63)]
                out[o + 1] = symbols[Int(n >> 12 & 63)]
                out[o + 2] = left > 1 ? symbols[Int(n >> 6 & 63)] : UInt8(ascii: "=")
                out[o + 3] = left > 2 ? symbols[Int(n & 63)] : UInt8(ascii: "=")
                i += 3
                o += 4
            }
            return o
        }
    }

    private static func value(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(c - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(c - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }

    /// Decodes canonical padded base64; anything else is `Status.encoding`.
    public static func decode(_ text: String, field: @autoclosure () -> ErrorDetail) throws(DDEError) -> [UInt8] {
        let utf8 = text.utf8
        let fast: Result<[UInt8], DDEError>? = utf8.withContiguousStorageIfAvailable { s in
            do throws(DDEError) { return .success(try decode(s, field: field())) } catch { return .failure(error) }
        }
        if let fast { return try fast.get() }
        return try Array(utf8).withUnsafeBufferPointer { s throws(DDEError) in try decode(s, field: field()) }
    }

    /// The same on UTF-8 bytes (the direct compute_result reader decodes from its input).
    static func decode(_ s: UnsafeBufferPointer<UInt8>, field: @autoclosure () -> ErrorDetail) throws(DDEError) -> [UInt8] {
        guard s.count % 4 == 0 else {
            throw DDEError(.encoding, "\(field()): base64 length must be a multiple of 4")
        }
        var out = [UInt8]()
        out.reserveCapacity(s.count / 4 * 3)
        var i = 0
        while i < s.count {
            let last = i + 4 == s.count
            let pad = last ? (s[i + 3] == UInt8(ascii: "=") ? (s[i + 2] == UInt8(ascii: "=") ? 2 : 1) : 0) : 0
            var n: UInt32 = 0
            for j in 0..<(4 - pad) {
                guard let v = value(s[i + j]) else {
                    throw DDEError(.encoding, "\(field()): invalid base64 character")
                }
                n |= v << UInt32(18 - 6 * j)
            }
            out.append(UInt8(n >> 16 & 0xff))
            if pad < 2 { out.append(UInt8(n >> 8 & 0xff)) }
            if pad < 1 { out.append(UInt8(n & 0xff)) }
            // Non-zero bits under the padding would give a second spelling of the same bytes.
            if (pad == 1 && n & 0xff != 0) || (pad == 2 && n & 0xffff != 0) {
                throw DDEError(.encoding, "\(field()): non-canonical base64 padding bits")
            }
            i += 4
        }
        return out
    }
}
