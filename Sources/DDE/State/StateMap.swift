// A dApp's key-value state: UTF-8 keys, byte values. In JSON (a task's `state`) it is an object
// mapping each key to the base64 of its value; keys are compared by bytes, never by Swift's
// canonical-equivalence String equality.

/// Largest key in bytes; larger keys are refused (state writes, task state, host calls).
public let maxStateKeyBytes = ABILimits.maxStateKeyBytes
/// Largest value in bytes.
public let maxStateValueBytes = ABILimits.maxStateValueBytes

public struct StateMap: Sendable, Equatable {
    /// Key bytes (UTF-8) to value bytes.
    public private(set) var values: [[UInt8]: [UInt8]]

    public init() { values = [:] }
    public init(values: [[UInt8]: [UInt8]]) { self.values = values }

    public var isEmpty: Bool { values.isEmpty }
    public var count: Int { values.count }

    public subscript(key: String) -> [UInt8]? { values[Array(key.utf8)] }
    public subscript(keyBytes key: [UInt8]) -> [UInt8]? { values[key] }

    public mutating func set(_ key: [UInt8], _ value: [UInt8]?) {
        values[key] = value
    }

    /// Entries sorted by key bytes: the order of the Merkle leaves.
    public var sortedEntries: [(key: [UInt8], value: [UInt8])] {
        sortedByIndex(values.map { (key: $0.key, value: $0.value) }) { bytesLess($0.key, $1.key) }
    }

    /// The RFC 6962 state root (PROTOCOL.md section 6).
    public var root: Digest { StateRoot.root(sortedEntries: sortedEntries) }

    /// The root of `applying(writes)`, without copying the map (see StateLeaves; a task keeps
    /// its StateLeaves, so verification does not rebuild them for every result).
    public func root(applying writes: StateWrites) -> Digest {
        StateLeaves(self).root(applying: writes)
    }

    /// Applies `writes` in place (a nil value deletes the key): O(writes), where `applying`
    /// copies the whole map first.
    public mutating func apply(_ writes: StateWrites) {
        for w in writes.entries { values[w.key] = w.value }
    }

    /// A copy with `writes` applied (a nil value deletes the key).
    public func applying(_ writes: StateWrites) -> StateMap {
        var copy = self
        copy.apply(writes)
        return copy
    }

    /// `{"key": "base64", …}`.
    public var json: JSON {
        var members = [JSONObject.Member]()
        for e in sortedEntries {
            members.append(JSONObject.Member(String(decoding: e.key, as: UTF8.self), .string(Base64.encode(e.value))))
        }
        return .object(JSONObject(uniqueMembers: members))
    }

    public init(json: JSON, field: String) throws(DDEError) {
        guard case .object(let o) = json else { throw DDEError(.schema, "\(field) must be an object of base64 strings") }
        var values = [[UInt8]: [UInt8]]()
        for m in o.members {
            let key = try checkedKey(m.key, field: "\(field)")
            guard case .string(let s) = m.value else {
                throw DDEError(.schema, "\(field).\(m.key) must be a base64 string")
            }
            values[key] = try checkedValue(Base64.decode(s, field: "\(field).\(m.key)"), field: "\(field).\(m.key)")
        }
        self.values = values
    }
}

/// The state writes of one execution: key to new value, or to nil for a delete.
/// JSON: `{"key": "base64" | null, …}`; `stateWritesHash` = H(that object).
public struct StateWrites: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var key: [UInt8]
        public var value: [UInt8]?
        public init(key: [UInt8], value: [UInt8]?) { self.key = key; self.value = value }
    }

    /// Sorted by key bytes, keys unique.
    public private(set) var entries: [Entry]

    public init() { entries = [] }

    /// Builds from a map; the order is normalised.
    public init(_ map: [[UInt8]: [UInt8]?]) {
        entries = sortedByIndex(map.map { Entry(key: $0.key, value: $0.value) }) { bytesLess($0.key, $1.key) }
    }

    /// From entries the caller has sorted by key bytes, keys unique (the compute_result reader).
    init(sortedUniqueEntries: [Entry]) { entries = sortedUniqueEntries }

    public var isEmpty: Bool { entries.isEmpty }

    public var json: JSON {
        .object(JSONObject(uniqueMembers: entries.map { e in
            JSONObject.Member(String(decoding: e.key, as: UTF8.self), e.value.map { .string(Base64.encode($0)) } ?? .null)
        }))
    }

    public var hash: Digest { json.hash }

    public init(json: JSON, field: String) throws(DDEError) {
        guard case .object(let o) = json else {
            throw DDEError(.schema, "\(field) must be an object of base64 strings or null")
        }
        var read = [Entry]()
        for m in o.members {
            let key = try checkedKey(m.key, field: "\(field)")
            switch m.value {
            case .null: read.append(Entry(key: key, value: nil))
            case .string(let s):
                read.append(Entry(key: key, value: try checkedValue(Base64.decode(s, field: "\(field).\(m.key)"), field: "\(field).\(m.key)")))
            default: throw DDEError(.schema, "\(field).\(m.key) must be a base64 string or null")
            }
        }
        // Sorted by key (stably); of a key given twice (only an object built in code can: the
        // parser refuses repeated keys) the last one counts, as in a map. Without a Dictionary
        // of optional values, whose Embedded specialisation is this reader's alone.
        let sorted = sortedByIndex(read) { bytesLess($0.key, $1.key) }
        var unique = [Entry]()
        unique.reserveCapacity(sorted.count)
        for i in sorted.indices where i + 1 == sorted.count || sorted[i + 1].key != sorted[i].key { unique.append(sorted[i]) }
        entries = unique
    }
}

func checkedKey(_ key: String, field: @autoclosure () -> ErrorDetail) throws(DDEError) -> [UInt8] {
    let bytes = Array(key.utf8)
    try checkKeyLength(bytes, field: field())  // a String's bytes are UTF-8 already
    return bytes
}

/// The rule for a state key: 1 to maxStateKeyBytes bytes of UTF-8 (a JSON string's are).
func checkKey(_ key: [UInt8], field: @autoclosure () -> ErrorDetail) throws(DDEError) {
    try checkKeyLength(key, field: field())
    guard key.withUnsafeBufferPointer(isValidUTF8) else { throw DDEError(.encoding, "\(field()): a state key must be UTF-8") }
}

private func checkKeyLength(_ key: [UInt8], field: @autoclosure () -> ErrorDetail) throws(DDEError) {
    guard !key.isEmpty, key.count <= maxStateKeyBytes else {
        throw DDEError(.limit, "\(field()): a state key must have 1 to \(maxStateKeyBytes) bytes")
    }
}

func checkedValue(_ value: [UInt8], field: @autoclosure () -> ErrorDetail) throws(DDEError) -> [UInt8] {
    try checkValue(value, field: field())
    return value
}

/// The rule for a state value: at most maxStateValueBytes bytes.
func checkValue(_ value: [UInt8], field: @autoclosure () -> ErrorDetail) throws(DDEError) {
    guard value.count <= maxStateValueBytes else {
        throw DDEError(.limit, "\(field()): a state value may have at most \(maxStateValueBytes) bytes")
    }
}
