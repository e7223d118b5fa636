// Strict reading of protocol objects: every field has one type, unknown fields are refused
// (a signed object must not carry unsigned extras), and every failure names the field.

/// Largest integer a protocol object may carry: 2^53-1, exact in every JSON implementation.
public let maxSafeInteger: UInt64 = 9_007_199_254_740_991

/// The rule for a protocol integer that a JSON number did not bound already: at most 2^53-1.
func checkSafe(_ v: UInt64, _ name: @autoclosure () -> String) throws(DDEError) {
    guard v <= maxSafeInteger else { throw DDEError(.number, "\(name()) must be an integer in [0, 2^53-1]") }
}

/// The rule for a bounded string: at most `maxBytes` bytes of UTF-8.
func checkLength(_ s: String, _ maxBytes: Int, _ name: @autoclosure () -> String) throws(DDEError) {
    guard s.utf8.count <= maxBytes else { throw DDEError(.limit, "\(name()) is longer than \(maxBytes) bytes") }
}

struct FieldReader {
    let object: JSONObject
    /// Name of the object for messages, e.g. "task" or "proof".
    let context: String

    init(_ json: JSON, context: String) throws(DDEError) {
        guard case .object(let o) = json else { throw DDEError(.schema, "\(context): expected a JSON object") }
        self.object = o
        self.context = context
    }

    init(object: JSONObject, context: String) {
        self.object = object
        self.context = context
    }

    /// Refuses fields outside `allowed`.
    func only(_ allowed: [String]) throws(DDEError) {
        for m in object.members where !allowed.contains(where: { sameScalars($0, m.key) }) {
            throw DDEError(.schema, "\(context): unknown field \"\(m.key)\"")
        }
    }

    func value(_ key: String) throws(DDEError) -> JSON {
        guard let v = object[key] else { throw DDEError(.schema, "\(context).\(key) is missing") }
        return v
    }

    func has(_ key: String) -> Bool { object[key] != nil }

    func string(_ key: String, maxBytes: Int = 1024) throws(DDEError) -> String {
        guard case .string(let s) = try value(key) else {
            throw DDEError(.schema, "\(context).\(key) must be a string")
        }
        try checkLength(s, maxBytes, "\(context).\(key)")
        return s
    }

    func integer(_ key: String) throws(DDEError) -> UInt64 {
        guard case .number(let d) = try value(key) else {
            throw DDEError(.schema, "\(context).\(key) must be a number")
        }
        return try FieldReader.integer(d, "\(context).\(key)")
    }

    func optionalInteger(_ key: String) throws(DDEError) -> UInt64? {
        has(key) ? try integer(key) : nil
    }

    static func integer(_ d: Double, _ name: @autoclosure () -> String) throws(DDEError) -> UInt64 {
        guard d >= 0, d <= Double(maxSafeInteger), d == d.rounded(.towardZero) else {
            throw DDEError(.number, "\(name()) must be an integer in [0, 2^53-1]")
        }
        return UInt64(d)
    }

    @inline(never)  // one copy, not one per field in every reader (Embedded library size)
    func digest(_ key: String) throws(DDEError) -> Digest {
        try Digest(hex: try string(key), field: "\(context).\(key)")
    }

    func publicKey(_ key: String) throws(DDEError) -> PublicKey {
        try PublicKey(hex: try string(key), field: "\(context).\(key)")
    }

    func signature(_ key: String) throws(DDEError) -> Signature {
        try Signature(hex: try string(key), field: "\(context).\(key)")
    }

    func version(_ key: String, _ expected: UInt64) throws(DDEError) {
        let v = try integer(key)
        guard v == expected else {
            throw DDEError(.version, "\(context).\(key) is \(v); this dde understands \(expected)")
        }
    }

    /// An array of strings.
    func strings(_ key: String) throws(DDEError) -> [String] {
        guard case .array(let items) = try value(key) else {
            throw DDEError(.schema, "\(context).\(key) must be an array of strings")
        }
        var out = [String]()
        out.reserveCapacity(items.count)
        for item in items {
            guard case .string(let s) = item else {
                throw DDEError(.schema, "\(context).\(key) must hold only strings")
            }
            out.append(s)
        }
        return out
    }

    /// A sorted, duplicate-free array of known capability names (`Capability.check`).
    func capabilities(_ key: String) throws(DDEError) -> [String] {
        let names = try strings(key)
        try Capability.check(names, field: "\(context).\(key)")
        return names
    }
}

/// The capabilities a task may declare (PROTOCOL.md section 4). Input and output need none.
public enum Capability {
    /// Sorted by bytes: a list sorted by bytes has increasing indices in it.
    public static let all = ["crypto.hash", "crypto.verify", "log", "state.read", "state.write"]
    public static var allNames: String { commaSeparated(all) }
    public static func isKnown(_ name: String) -> Bool { index(name) != nil }

    static func index(_ name: String) -> Int? { all.firstIndex { sameScalars($0, name) } }

    /// Sorts and deduplicates a list of names (by bytes); refuses unknown ones.
    public static func normalise(_ names: [String]) throws(DDEError) -> [String] {
        var named: UInt32 = 0
        for n in names {
            guard let i = index(n) else { throw DDEError(.schema, "unknown capability \"\(n)\" (known: \(allNames))") }
            named |= 1 << UInt32(i)
        }
        return all.indices.filter { named & (1 << UInt32($0)) != 0 }.map { all[$0] }
    }

    /// The rule for a declared list (a task's, a proof's, an executor's): known names, sorted by
    /// bytes, each once. `field` names the list in the error.
    static func check(_ names: [String], field: @autoclosure () -> String) throws(DDEError) {
        var previous = -1
        for s in names {
            guard let i = index(s) else {
                throw DDEError(.schema, "\(field()): unknown capability \"\(s)\" (known: \(allNames))")
            }
            guard i > previous else { throw DDEError(.schema, "\(field()) must be sorted and free of duplicates") }
            previous = i
        }
    }
}

extension JSON {
    static func int(_ v: UInt64) -> JSON { .number(Double(v)) }
    static func strings(_ items: [String]) -> JSON { .array(items.map { .string($0) }) }
}
