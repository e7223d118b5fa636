// Lowercase hex, the only form the protocol accepts (PROTOCOL.md section 2).
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes exactly `count` bytes of lowercase hex; upper case, odd lengths and other
    /// characters are refused with `Status.encoding`. `field` names the field in the message.
    public static func decode(_ text: String, count: Int, field: String) throws(DDEError) -> [UInt8] {
        let utf8 = text.utf8
        guard utf8.count == count * 2 else {
            throw DDEError(.encoding, "\(field): expected \(count * 2) lowercase hex characters, got \(utf8.count)")
        }
        var out = [UInt8]()
        out.reserveCapacity(count)
        var high: UInt8 = 0
        var odd = false
        for c in utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c &- UInt8(ascii: "a") &+ 10
            default:
                throw DDEError(.encoding, "\(field): not lowercase hex")
            }
            if odd { out.append(high << 4 | v) } else { high = v }
            odd.toggle()
        }
        return out
    }
}
