// The state a v2 task carries (PROTOCOL.md section 3): only the entries its execution may touch,
// each key with its value or marked absent, and one proof of all of them against the task's
// previousStateRoot (StateProof.swift). In JSON: `state` maps each key to the base64 of its value
// or to null (absent), and `stateProof` is the base64 of the proof's bytes.

public struct PartialState: Sendable {
    /// Every key carried, sorted by bytes, with its value or nil when the proof shows it absent.
    public let entries: [(key: [UInt8], value: [UInt8]?)]
    /// The proof's bytes.
    public let proof: [UInt8]
    /// The checked proof.
    let proven: ProvenState

    /// Checks `proof` for `entries` (keys unique, any order) against `root`: the state-proof
    /// statuses of PROTOCOL.md section 6.2.
    public init(entries: [(key: [UInt8], value: [UInt8]?)], proof: [UInt8], root: Digest) throws(DDEError) {
        let sorted = sortedByIndex(entries) { bytesLess($0.key, $1.key) }
        for i in sorted.indices.dropFirst() where sorted[i - 1].key == sorted[i].key {
            throw DDEError(.schema, "state key \"\(String(decoding: sorted[i].key, as: UTF8.self))\" appears twice")
        }
        self.entries = sorted
        self.proof = proof
        proven = try ProvenState(proof: proof, entries: sorted, root: root)
    }

    /// The state of `map` (the whole state, in memory) for `keys`: their entries and proof.
    public init(map: StateMap, keys: [[UInt8]]) {
        let tree = StateTree(map)
        let entries = firstOccurrences(keys).map { k in (key: k, value: map[keyBytes: k]) }
        // Made from the map itself: it holds without being checked again.
        let proof = tree.proof(keys: keys)
        self.entries = sortedByIndex(entries) { bytesLess($0.key, $1.key) }
        self.proof = proof.bytes
        proven = ProvenState(unchecked: proof)
    }

    /// A proof read from a store, taken as it is (a task built on it checks it when parsed).
    init(unchecked entries: [(key: [UInt8], value: [UInt8]?)], proof: StateProof) {
        self.entries = sortedByIndex(entries) { bytesLess($0.key, $1.key) }
        self.proof = proof.bytes
        proven = ProvenState(unchecked: proof)
    }

    /// The root the entries are proven against (the whole state's).
    public var root: Digest { proven.root }

    /// True when the state carries `key` (present or absent).
    public func carries(_ key: [UInt8]) -> Bool {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if bytesLess(entries[mid].key, key) { lo = mid + 1 } else { hi = mid }
        }
        return lo < entries.count && entries[lo].key == key
    }

    /// The carried keys.
    public var keys: [[UInt8]] { entries.map { $0.key } }

    /// The present entries, as a map (what the execution reads).
    public var values: [[UInt8]: [UInt8]] {
        var out = [[UInt8]: [UInt8]]()
        for e in entries { if let v = e.value { out[e.key] = v } }
        return out
    }

    /// The root of the whole state after `writes`, from the proof alone. A write to a key the
    /// state does not carry is refused (`.stateKeyOutside`, naming the key).
    /// (The executor's and a verification that commits nothing: no folded tree is kept, and no
    /// writes, no work.)
    public func root(applying writes: StateWrites) throws(DDEError) -> Digest {
        try checkCarried(writes)
        return try proven.root(applying: writes)
    }

    /// The proof's tree with `writes` applied, folded: its root, and what a store writes back
    /// (`Verifier.verified`, whose result is committed).
    func applied(_ writes: StateWrites) throws(DDEError) -> FoldedNode {
        try checkCarried(writes)
        return try proven.tree(applying: writes).folded()
    }

    private func checkCarried(_ writes: StateWrites) throws(DDEError) {
        for w in writes.entries where !carries(w.key) {
            throw DDEError(.stateKeyOutside, ErrorDetail(String(decoding: w.key, as: UTF8.self)))
        }
    }

    /// `{"key": "base64" | null, …}`.
    public var json: JSON {
        .object(JSONObject(uniqueMembers: entries.map { e in
            JSONObject.Member(String(decoding: e.key, as: UTF8.self), e.value.map { .string(Base64.encode($0)) } ?? .null)
        }))
    }

    /// Reads a v2 task's `state` and `stateProof` (schema and encodings; `ComputeTask.Fields.validate`
    /// checks the keys' and values' lengths, `init(entries:proof:root:)` the proof).
    static func read(state: JSON, proof: JSON, field: String) throws(DDEError) -> (entries: [(key: [UInt8], value: [UInt8]?)], proof: [UInt8]) {
        guard case .object(let o) = state else {
            throw DDEError(.schema, "\(field).state must be an object of base64 strings or null")
        }
        var entries = [(key: [UInt8], value: [UInt8]?)]()
        for m in o.members {
            let key = Array(m.key.utf8)
            switch m.value {
            case .null: entries.append((key, nil))
            case .string(let s):
                entries.append((key, try Base64.decode(s, field: "\(field).state.\(m.key)")))
            default: throw DDEError(.schema, "\(field).state.\(m.key) must be a base64 string or null")
            }
        }
        guard case .string(let p) = proof else { throw DDEError(.schema, "\(field).stateProof must be a base64 string") }
        return (entries, try Base64.decode(p, field: "\(field).stateProof"))
    }
}
