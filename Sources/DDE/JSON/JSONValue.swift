// The JSON data model of the core. Objects keep their members in document order (the parser has
// already refused duplicate keys); canonical form (RFC 8785) sorts them when serialising.
//
// Strings are compared by their Unicode scalars, never by Swift's String `==`, which treats
// canonically equivalent strings ("é" and "e\u{301}") as equal: in JSON they are different keys.

// Not `indirect`: arrays and objects already hold their children out of line, and boxing every
// value would cost an allocation per number and string.
public enum JSON: Sendable {
    case null
    case bool(Bool)
    /// Every JSON number is an IEEE-754 double, as RFC 8785 requires.
    case number(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)
}

/// A JSON object: members in insertion order, keys unique by their Unicode scalars.
public struct JSONObject: Sendable {
    public struct Member: Sendable {
        public var key: String
        public var value: JSON
        public init(_ key: String, _ value: JSON) {
            self.key = key
            self.value = value
        }
    }

    public private(set) var members: [Member]

    public init() { members = [] }

    /// Builds an object from members the caller guarantees to have unique keys.
    public init(uniqueMembers: [Member]) { members = uniqueMembers }

    public var count: Int { members.count }

    /// The value under `key`, or nil.
    public subscript(key: String) -> JSON? {
        get {
            for m in members where sameScalars(m.key, key) { return m.value }
            return nil
        }
        set {
            if let i = members.firstIndex(where: { sameScalars($0.key, key) }) {
                if let v = newValue { members[i].value = v } else { members.remove(at: i) }
            } else if let v = newValue {
                members.append(Member(key, v))
            }
        }
    }

    /// Appends without checking for an existing key; the parser checks duplicates itself.
    mutating func appendUnchecked(_ key: String, _ value: JSON) {
        members.append(Member(key, value))
    }

    /// A copy without the given keys (used to hash "the task without taskId and signature").
    public func removing(_ keys: String...) -> JSONObject {
        JSONObject(uniqueMembers: members.filter { m in !keys.contains { sameScalars($0, m.key) } })
    }
}

/// True when both strings hold the same Unicode scalars (byte-equal UTF-8).
public func sameScalars(_ a: String, _ b: String) -> Bool {
    let x = a.utf8, y = b.utf8
    // Lengths first (O(1) for native strings): most keys a lookup compares differ in length.
    guard x.count == y.count else { return false }
    let equal: Bool?? = x.withContiguousStorageIfAvailable { p in
        y.withContiguousStorageIfAvailable { q in sameBytes(p, q) }
    }
    if let equal, let equal { return equal }
    // Only a string without contiguous UTF-8 (a bridged one; never in Embedded) gets here: the
    // arrays' == is compiled in anyway, a UTF8View elementsEqual would be 664 more bytes.
    return Array(x) == Array(y)
}

/// True when `bytes` are well-formed UTF-8 (what String(decoding:) would keep as it is).
func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var it = bytes.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&it) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}

/// Byte equality of two buffers of the same length.
@inline(__always)
func sameBytes(_ p: UnsafeBufferPointer<UInt8>, _ q: UnsafeBufferPointer<UInt8>) -> Bool {
    var i = 0
    while i < p.count {
        if p[i] != q[i] { return false }
        i += 1
    }
    return true
}

extension JSON: Equatable {
    /// Structural equality: scalar-exact strings, numbers by value, objects regardless of order.
    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return sameScalars(a, b)
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            for m in a.members {
                guard let other = b[m.key], other == m.value else { return false }
            }
            return true
        default: return false
        }
    }
}

extension JSON {
    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    public var arrayValue: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var numberValue: Double? { if case .number(let n) = self { return n } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }
}
