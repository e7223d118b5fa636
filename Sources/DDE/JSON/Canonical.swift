// RFC 8785 canonical serialisation. (Placeholder until the JSON work lands: numbers are only
// right for integers here.)
extension JSON {
    public func canonicalBytes() -> [UInt8] {
        var out = [UInt8]()
        write(into: &out)
        return out
    }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let d): out.append(contentsOf: String(Int64(d)).utf8)
        case .string(let s): out.append(UInt8(ascii: "\"")); out.append(contentsOf: s.utf8); out.append(UInt8(ascii: "\""))
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() { if i > 0 { out.append(UInt8(ascii: ",")) }; v.write(into: &out) }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            let sorted = o.members.sorted { Array($0.key.utf16).lexicographicallyPrecedes(Array($1.key.utf16)) }
            for (i, m) in sorted.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.string(m.key).write(into: &out); out.append(UInt8(ascii: ":")); m.value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}
