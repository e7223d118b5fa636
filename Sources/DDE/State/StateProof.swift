// Proofs against a state tree root (PROTOCOL.md section 6, StateTree.swift): one multiproof for a
// set of keys, present or absent, that also lets anyone compute the root after writes to those
// keys (sets, inserts and deletes) without the rest of the tree.
//
// A proof is the part of the tree that the keys' paths run through, in pre-order (node, then its
// left subtree, then its right subtree), after the 32 bytes of the root it was made for:
//
//   proof = root(32) item
//   item  = 0x00                       an empty subtree
//         | 0x01 item item             a node on a proven key's path: its left, then right subtree
//         | 0x02 valueHash(32)         the leaf of the one proven key whose path leads here
//         | 0x03 path(32) valueHash(32) a leaf where a proven path ends that is not that key's
//                                      (another key's leaf: the proven key is absent), or where
//                                      two proven keys or more lead
//         | 0x04 hash(32)              a subtree off every proven path, holding one leaf
//         | 0x05 hash(32)              a subtree off every proven path, holding two leaves or more
//
// Every proof has one spelling: a node is expanded exactly when a proven path runs through it,
// subtrees off the paths are summarised, 0x02 is used wherever it can be, and the tree is
// compact (no node has an empty child beside a one-leaf child, or two empty children).
//
// Checking (`ProvenState.init`), each failure with its own status:
//   DDE_ERR_STATE_PROOF_MALFORMED   bytes that are no proof of these keys: an unknown item, a node
//                                   below depth 255, bytes after the tree, a spelling that is not
//                                   the canonical one
//   DDE_ERR_STATE_PROOF_INCOMPLETE  a part is missing: the bytes end before the tree is whole, or
//                                   a key's path runs into a summarised subtree
//   DDE_ERR_STATE_PROOF_VALUE       the proof shows another value for a key than the one claimed,
//                                   or shows it present where it is claimed absent, or the reverse
//   DDE_ERR_STATE_PROOF_ROOT        the proof was made for another root
//   DDE_ERR_STATE_PROOF_HASH        its nodes do not hash to the root it names: a hash was altered

/// The part of a tree a proof shows.
indirect enum PartialNode: Sendable, Equatable {
    case empty
    /// A leaf whose key path and value hash are known.
    case leaf(path: Digest, valueHash: Digest)
    /// A subtree known by its kind (`.leaf` or `.node`) and hash only.
    case opaque(Subtree)
    /// A node whose two subtrees are shown.
    case branch(PartialNode, PartialNode)
}

/// A state proof: the root it was made for and the part of the tree it shows, for a set of
/// proven key paths.
public struct StateProof: Sendable {
    public let root: Digest
    let tree: PartialNode
    /// SHA-256 of each proven key, sorted, unique.
    let proven: [Digest]

    init(root: Digest, tree: PartialNode, proven: [Digest]) {
        self.root = root
        self.tree = tree
        self.proven = proven
    }

    static let tagEmpty: UInt8 = 0x00, tagBranch: UInt8 = 0x01, tagOwnLeaf: UInt8 = 0x02, tagLeaf: UInt8 = 0x03
    static let tagOpaqueLeaf: UInt8 = 0x04, tagOpaqueNode: UInt8 = 0x05
    /// How a proof of no keys writes a non-empty tree: 0x05 and the root, one leaf or more. Below
    /// the root a summarised subtree's kind is in its parent's hash, so 0x04 and 0x05 cannot be
    /// swapped; the root has no parent, and nothing but a fixed choice would make the spelling one.
    static let wholeTreeTag: UInt8 = tagOpaqueNode

    /// The sorted, unique paths of `keys`.
    static func provenPaths(_ keys: [[UInt8]]) -> [Digest] {
        var paths = keys.map { StateTreeHash.path($0) }
        sortByIndex(&paths) { Digest.bytesLess($0, $1) }
        var unique = [Digest]()
        unique.reserveCapacity(paths.count)
        for p in paths where unique.last != p { unique.append(p) }
        return unique
    }

    /// The proof's bytes (the canonical spelling).
    public var bytes: [UInt8] {
        var out = root.bytes
        StateProof.encode(tree, proven[...], depth: 0, into: &out)
        return out
    }

    private static func encode(_ node: PartialNode, _ proven: ArraySlice<Digest>, depth: Int, into out: inout [UInt8]) {
        if proven.isEmpty {
            // Off every proven path: summarised, whatever the tree it came from holds there.
            var hashes = 0
            let s = node.fold(&hashes)
            switch s.kind {
            case .empty: out.append(tagEmpty)
            // A proof of no keys: a one-leaf tree is written 0x05 too (`wholeTreeTag`).
            case .leaf where depth > 0: out.append(tagOpaqueLeaf); out.append(contentsOf: s.hash.bytes)
            case .leaf, .node: out.append(tagOpaqueNode); out.append(contentsOf: s.hash.bytes)
            }
            return
        }
        switch node {
        case .empty:
            out.append(tagEmpty)
        case .branch(let l, let r):
            out.append(tagBranch)
            let k = splitIndex(proven, depth: depth)
            encode(l, proven[..<k], depth: depth + 1, into: &out)
            encode(r, proven[k...], depth: depth + 1, into: &out)
        case .leaf(let path, let valueHash):
            if proven.count == 1 && proven[proven.startIndex] == path {
                out.append(tagOwnLeaf)
            } else {
                out.append(tagLeaf)
                out.append(contentsOf: path.bytes)
            }
            out.append(contentsOf: valueHash.bytes)
        case .opaque(let s):
            out.append(s.kind == .leaf ? tagOpaqueLeaf : tagOpaqueNode)
            out.append(contentsOf: s.hash.bytes)
        }
    }

    /// The first index of `proven` (sorted) whose bit `depth` is set.
    static func splitIndex(_ proven: ArraySlice<Digest>, depth: Int) -> Int {
        var k = proven.startIndex
        while k < proven.endIndex && !proven[k].pathBit(depth) { k += 1 }
        return k
    }

    /// Decodes `bytes` as a proof of `keys` (any order, repeats ignored), checking its structure:
    /// `.stateProofMalformed` or `.stateProofIncomplete`. Values and hashes are checked by
    /// `ProvenState`.
    public init(bytes: [UInt8], keys: [[UInt8]]) throws(DDEError) {
        try self.init(bytes: bytes, proven: StateProof.provenPaths(keys), keys: keys)
    }

    /// `keys`: the keys whose paths are `proven`, to name one in a message (found by hashing them
    /// again then, rather than mapped for every proof read).
    init(bytes: [UInt8], proven: [Digest], keys: [[UInt8]]) throws(DDEError) {
        guard bytes.count >= Digest.byteCount + 1 else {
            throw DDEError(.stateProofIncomplete, "a state proof has a 32-byte root and at least one item; got \(bytes.count) bytes")
        }
        // 1. The shape alone, without recursion: the items must make one whole tree, no node
        // deeper than 255, no byte after it.
        var offset = Digest.byteCount
        var open = [Int]()  // per node being read: subtrees still to come
        repeat {
            guard offset < bytes.count else {
                throw DDEError(.stateProofIncomplete, "the state proof ends before its tree is whole (a subtree at depth \(open.count) is missing)")
            }
            let tag = bytes[offset]
            let size: Int
            switch tag {
            case StateProof.tagEmpty: size = 1
            case StateProof.tagBranch: size = 1
            case StateProof.tagOwnLeaf, StateProof.tagOpaqueLeaf, StateProof.tagOpaqueNode: size = 33
            case StateProof.tagLeaf: size = 65
            default:
                throw DDEError(.stateProofMalformed, "state proof byte \(offset): unknown item \(tag)")
            }
            guard bytes.count - offset >= size else {
                throw DDEError(.stateProofIncomplete, "the state proof ends inside its item at byte \(offset)")
            }
            offset += size
            if tag == StateProof.tagBranch {
                guard open.count < StateTreeHash.depth else {
                    throw DDEError(.stateProofMalformed, "state proof byte \(offset - 1): a node at depth \(open.count); two paths always part by depth 255")
                }
                open.append(2)
            } else {
                while let last = open.last {
                    if last > 1 { open[open.count - 1] = last - 1; break }
                    open.removeLast()
                }
            }
        } while !open.isEmpty
        guard offset == bytes.count else {
            throw DDEError(.stateProofMalformed, "the state proof's tree ends at byte \(offset) of \(bytes.count)")
        }
        // 2. Each item against the paths that lead to it.
        root = Digest(unchecked: Array(bytes[0..<Digest.byteCount]))
        var reader = Reader(bytes: bytes, offset: Digest.byteCount, keys: keys)
        tree = try reader.node(proven[...], depth: 0)
        self.proven = proven
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset: Int
        let keys: [[UInt8]]

        mutating func digest() -> Digest {
            let d = bytes.withUnsafeBytes { Digest(copying: $0.baseAddress! + offset) }
            offset += Digest.byteCount
            return d
        }

        /// Reads the item at `depth` that the paths `proven` (sorted) lead to. The shape was checked.
        mutating func node(_ proven: ArraySlice<Digest>, depth: Int) throws(DDEError) -> PartialNode {
            let at = offset
            let tag = bytes[offset]
            offset += 1
            func malformed(_ why: ErrorDetail) -> DDEError {
                DDEError(.stateProofMalformed, "state proof byte \(at), depth \(depth): \(why)")
            }
            switch tag {
            case StateProof.tagEmpty:
                return .empty
            case StateProof.tagBranch:
                guard !proven.isEmpty else { throw malformed("a node off every proven path is shown (it must be summarised)") }
                let k = StateProof.splitIndex(proven, depth: depth)
                let l = try node(proven[..<k], depth: depth + 1)
                let r = try node(proven[k...], depth: depth + 1)
                if l.holdsAtMostOneLeaf && r.holdsAtMostOneLeaf && (l == .empty || r == .empty) {
                    throw malformed("a node with \(l == .empty && r == .empty ? "two empty subtrees" : "one leaf") is not compact")
                }
                return .branch(l, r)
            case StateProof.tagOwnLeaf:
                guard proven.count == 1 else {
                    throw malformed(proven.isEmpty ? "a leaf off every proven path is shown (it must be summarised)"
                                                   : "\(proven.count) proven keys lead here: the leaf must name its path")
                }
                return .leaf(path: proven[proven.startIndex], valueHash: digest())
            case StateProof.tagLeaf:
                let path = digest()
                let valueHash = digest()
                guard let first = proven.first else { throw malformed("a leaf off every proven path is shown (it must be summarised)") }
                guard Digest.commonPrefix(path, first) >= depth else {
                    throw malformed("the leaf's path \(path.hex) does not lead here")
                }
                if proven.count == 1 && first == path { throw malformed("the proven key's own leaf must be written 0x02") }
                return .leaf(path: path, valueHash: valueHash)
            default:  // opaque: the shape check admitted only 0x04 and 0x05 here
                let hash = digest()
                if hash == StateTreeHash.empty { throw malformed("a summarised subtree with the empty subtree's hash is written 0x00") }
                if let first = proven.first {
                    let key = keys.first(where: { StateTreeHash.path($0) == first }).map { "key \"\(String(decoding: $0, as: UTF8.self))\"" } ?? "the key with path \(first.hex)"
                    throw DDEError(.stateProofIncomplete, "the state proof does not reach \(key): its path runs into a summarised subtree at depth \(depth)")
                }
                if depth == 0 && tag != StateProof.wholeTreeTag {
                    throw malformed("a proof of no keys writes a non-empty tree 0x05 (one leaf or more)")
                }
                return .opaque(Subtree(kind: tag == StateProof.tagOpaqueLeaf ? .leaf : .node, hash: hash))
            }
        }
    }
}

/// A tree with the subtree (kind and hash) of each leaf and branch, as folding computed them:
/// check 8's work (`Verifier`), which a store writes without hashing again (`StoredTree.store`).
indirect enum FoldedNode: Sendable {
    case empty
    case leaf(path: Digest, valueHash: Digest, hash: Digest)
    case opaque(Subtree)
    case branch(FoldedNode, FoldedNode, Subtree)

    var subtree: Subtree {
        switch self {
        case .empty: return .empty
        case .leaf(_, _, let hash): return Subtree(kind: .leaf, hash: hash)
        case .opaque(let s), .branch(_, _, let s): return s
        }
    }
}

extension PartialNode {
    /// This tree with every leaf's and branch's subtree, each hashed once (as `fold`).
    func folded() -> FoldedNode {
        switch self {
        case .empty: return .empty
        case .leaf(let path, let valueHash): return .leaf(path: path, valueHash: valueHash, hash: StateTreeHash.leaf(path: path, valueHash: valueHash))
        case .opaque(let s): return .opaque(s)
        case .branch(let l, let r):
            let a = l.folded(), b = r.folded()
            return .branch(a, b, StateTreeHash.combine(a.subtree, b.subtree))
        }
    }

    /// Empty, or one leaf: what a compact node may not have beside an empty subtree.
    var holdsAtMostOneLeaf: Bool {
        switch self {
        case .empty, .leaf: return true
        case .opaque(let s): return s.kind != .node
        case .branch: return false
        }
    }

    /// The subtree's kind and hash (the compact rule); `hashes` counts the node hashes computed.
    func fold(_ hashes: inout Int) -> Subtree {
        switch self {
        case .empty: return .empty
        case .leaf(let path, let valueHash):
            hashes += 1
            return .leaf(path: path, valueHash: valueHash)
        case .opaque(let s): return s
        case .branch(let l, let r):
            let s = StateTreeHash.combine(l.fold(&hashes), r.fold(&hashes))
            if s.kind == .node { hashes += 1 }
            return s
        }
    }

    /// The same subtree spelled canonically: a node left with one leaf (or none) beside empty
    /// subtrees after deletes becomes that leaf (or empty), so every leaf sits where the compact
    /// tree has it. Hashes are unchanged (the compact rule folds the same way); the store writes
    /// this form.
    func normalized() -> PartialNode {
        guard case .branch(let l, let r) = self else { return self }
        let a = l.normalized(), b = r.normalized()
        if a.holdsAtMostOneLeaf && b.holdsAtMostOneLeaf {
            if a == .empty { return b }
            if b == .empty { return a }
        }
        return .branch(a, b)
    }

    /// Where `path` ends: the value hash of its leaf, or nil when the key is absent.
    /// The path must be one the proof covers.
    func lookup(_ path: Digest, depth: Int = 0) -> Digest? {
        switch self {
        case .empty, .opaque: return nil
        case .leaf(let p, let v): return p == path ? v : nil
        case .branch(let l, let r):
            return path.pathBit(depth) ? r.lookup(path, depth: depth + 1) : l.lookup(path, depth: depth + 1)
        }
    }

    /// This subtree (at `depth`, on `path`'s way) with the leaf of `path` set to `valueHash`, or
    /// removed when it is nil.
    func writing(_ path: Digest, _ valueHash: Digest?, depth: Int) -> PartialNode {
        switch self {
        case .empty:
            guard let valueHash else { return .empty }
            return .leaf(path: path, valueHash: valueHash)
        case .leaf(let p, let v):
            if p == path {
                guard let valueHash else { return .empty }
                return .leaf(path: path, valueHash: valueHash)
            }
            guard let valueHash else { return self }  // deleting an absent key
            // Another key's leaf: both go down to where their paths part.
            let mine = PartialNode.leaf(path: path, valueHash: valueHash)
            let other = PartialNode.leaf(path: p, valueHash: v)
            let part = Digest.commonPrefix(path, p)
            var node: PartialNode = path.pathBit(part) ? .branch(other, mine) : .branch(mine, other)
            var d = part
            while d > depth {
                d -= 1
                node = path.pathBit(d) ? .branch(.empty, node) : .branch(node, .empty)
            }
            return node
        case .opaque:
            return self  // not reached: writes are checked to be on proven paths
        case .branch(let l, let r):
            if path.pathBit(depth) { return .branch(l, r.writing(path, valueHash, depth: depth + 1)) }
            return .branch(l.writing(path, valueHash, depth: depth + 1), r)
        }
    }
}

/// Entries of a state, proven against a root: what a v2 task carries for the keys an execution
/// may touch. Made only by checking a proof, so its root is the root of the whole state.
public struct ProvenState: Sendable {
    public let root: Digest
    let tree: PartialNode
    /// Paths of the proven keys, sorted.
    let proven: [Digest]

    /// Checks `proof` (bytes) for `entries` (each key with its value, or nil for a key claimed
    /// absent; keys unique) against `root`. Throws, in this order: `.stateProofMalformed`,
    /// `.stateProofIncomplete` (the bytes), `.stateProofValue` (an entry), `.stateProofRoot` (the
    /// root it names is not `root`), `.stateProofHash` (its hashes do not give that root).
    public init(proof: [UInt8], entries: [(key: [UInt8], value: [UInt8]?)], root: Digest) throws(DDEError) {
        let decoded = try StateProof(bytes: proof, keys: entries.map { $0.key })
        try self.init(decoded, entries: entries, root: root)
    }

    /// The same with a proof decoded for exactly the keys of `entries` (not public: a proof
    /// decoded for fewer keys would leave the others unchecked).
    private init(_ proof: StateProof, entries: [(key: [UInt8], value: [UInt8]?)], root: Digest) throws(DDEError) {
        for e in entries {
            let path = StateTreeHash.path(e.key)
            let found = proof.tree.lookup(path)
            let name = String(decoding: e.key, as: UTF8.self)
            switch (e.value, found) {
            case (nil, nil): break
            case (let v?, let h?):
                guard SHA256.hash(v) == h else {
                    throw DDEError(.stateProofValue, "the state proof shows another value for key \"\(name)\"")
                }
            case (nil, _?):
                throw DDEError(.stateProofValue, "the state proof shows key \"\(name)\" present, it is claimed absent")
            case (_?, nil):
                throw DDEError(.stateProofValue, "the state proof shows key \"\(name)\" absent, it is claimed present")
            }
        }
        guard proof.root == root else {
            throw DDEError(.stateProofRoot, "the state proof was made for root \(proof.root.hex), not \(root.hex)")
        }
        var hashes = 0
        let folded = proof.tree.fold(&hashes).hash
        guard folded == root else {
            throw DDEError(.stateProofHash, "the state proof's nodes hash to \(folded.hex), not to the root it names (\(root.hex)): a hash in it was altered")
        }
        self.root = root
        self.tree = proof.tree
        self.proven = proof.proven
    }

    /// A proof this process made from the whole tree (`StateTree.proof`), taken as it is.
    init(unchecked proof: StateProof) {
        root = proof.root
        tree = proof.tree
        proven = proof.proven
    }

    /// True when the proof covers `key`.
    public func covers(_ key: [UInt8]) -> Bool { covers(path: StateTreeHash.path(key)) }

    func covers(path: Digest) -> Bool {
        var lo = 0, hi = proven.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if Digest.bytesLess(proven[mid], path) { lo = mid + 1 } else { hi = mid }
        }
        return lo < proven.count && proven[lo] == path
    }

    /// The root of the whole state after `writes` (a nil value deletes), from the proof alone.
    /// Every written key must be a proven one (`.stateProofIncomplete` otherwise).
    public func root(applying writes: StateWrites) throws(DDEError) -> Digest {
        try rootCountingHashes(applying: writes).root
    }

    /// The proof's tree with `writes` applied (keys checked to be proven): what a store writes
    /// back (`StoredTree.store`).
    func tree(applying writes: StateWrites) throws(DDEError) -> PartialNode {
        var tree = self.tree
        for w in writes.entries {
            let path = StateTreeHash.path(w.key)
            guard covers(path: path) else {
                throw DDEError(.stateProofIncomplete, "the write to key \"\(String(decoding: w.key, as: UTF8.self))\" is outside the proven keys")
            }
            tree = tree.writing(path, w.value.map { SHA256.hash($0) }, depth: 0)
        }
        return tree
    }

    /// The same, with the number of SHA-256 computations of leaves and nodes it took (the
    /// benchmarks' "hashes per update"; value hashes not included).
    public func rootCountingHashes(applying writes: StateWrites) throws(DDEError) -> (root: Digest, hashes: Int) {
        if writes.isEmpty { return (root, 0) }
        let tree = try self.tree(applying: writes)
        var hashes = 0
        let s = tree.fold(&hashes)
        return (s.hash, hashes)
    }
}
