// The state tree of protocol v2 (PROTOCOL.md section 6): a compact sparse Merkle tree. Each key
// sits on the path SHA-256(key), read bit by bit from the most significant bit of the first byte
// (0 = left); the tree has depth 256, but it is compact:
//
//   an empty subtree          hashes to EMPTY = SHA-256("")         (kind 0)
//   a subtree with one leaf   hashes to that leaf's hash             (kind 1)
//     leaf(key, value) = SHA-256(0x02 || SHA-256(key) || SHA-256(value))
//   any other subtree         (kind 2)
//     node(l, r)       = SHA-256(0x03 || kind(l) || kind(r) || l || r)
//
// so a tree of n keys has n leaves and n - 1 nodes where paths part, plus the nodes of the stretches
// where all of a subtree's paths go one way (about 0.44 n for random paths; measured: 1.44 n nodes
// in all), and a key's path ends, after about log2(n) + 1 nodes, at its leaf, at another key's leaf
// or at an empty subtree: that end is the proof of presence or of absence (StateProof.swift).
//
// Why the kinds go into a node's hash: deleting a key folds its sibling upwards when that
// sibling holds one leaf (it then IS the subtree), and not when it holds more. A proof names
// each sibling by its hash only; with the kinds inside the parent's preimage, the kind a proof
// claims for a sibling is bound by the parent's hash, so the root after a delete can be computed
// from the proof alone and cannot be steered by a false kind.
//
// Domain separation: the prefixes 0x02 and 0x03 differ from the RFC 6962 tree's 0x00 and 0x01
// (the v1 state root and the node root over dApps), and every preimage is 65 or 67 bytes, never
// empty, so no leaf or node of one tree is a leaf, node or empty root of another. The empty
// state keeps the root it has in v1, SHA-256(""), so "no state" means one thing in both.

/// What a subtree holds: nothing, one leaf, or more (the kind byte of a node's preimage).
public enum SubtreeKind: UInt8, Sendable {
    case empty = 0
    case leaf = 1
    case node = 2
}

/// A subtree as its parent sees it: its kind and hash.
public struct Subtree: Sendable, Equatable {
    public var kind: SubtreeKind
    public var hash: Digest

    public init(kind: SubtreeKind, hash: Digest) {
        self.kind = kind
        self.hash = hash
    }

    public static let empty = Subtree(kind: .empty, hash: StateTreeHash.empty)

    /// The one-leaf subtree of a key's path and value hash.
    static func leaf(path: Digest, valueHash: Digest) -> Subtree {
        Subtree(kind: .leaf, hash: StateTreeHash.leaf(path: path, valueHash: valueHash))
    }
}

public enum StateTreeHash {
    /// The empty subtree, and the root of the empty state: SHA-256(""), as in v1.
    public static let empty: Digest = StateRoot.empty
    static let leafPrefix: UInt8 = 0x02
    static let nodePrefix: UInt8 = 0x03
    /// Tree depth: a path has 256 bits.
    public static let depth = 256

    /// The path of a key: SHA-256(key).
    public static func path(_ key: [UInt8]) -> Digest { SHA256.hash(key) }

    /// leaf = SHA-256(0x02 || path || valueHash).
    public static func leaf(path: Digest, valueHash: Digest) -> Digest {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 65) { b in
            let p = b.baseAddress!
            p[0] = leafPrefix
            path.copyBytes(to: p + 1)
            valueHash.copyBytes(to: p + 33)
            return SHA256.hash(UnsafeRawBufferPointer(b))
        }
    }

    /// The leaf of (key, value).
    public static func leaf(key: [UInt8], value: [UInt8]) -> Digest {
        leaf(path: path(key), valueHash: SHA256.hash(value))
    }

    /// node = SHA-256(0x03 || kind(l) || kind(r) || l || r).
    static func node(_ l: Subtree, _ r: Subtree) -> Digest {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 67) { b in
            let p = b.baseAddress!
            p[0] = nodePrefix
            p[1] = l.kind.rawValue
            p[2] = r.kind.rawValue
            l.hash.copyBytes(to: p + 3)
            r.hash.copyBytes(to: p + 35)
            return SHA256.hash(UnsafeRawBufferPointer(b))
        }
    }

    /// The compact rule: the subtree made of a left and a right subtree.
    public static func combine(_ l: Subtree, _ r: Subtree) -> Subtree {
        switch (l.kind, r.kind) {
        case (.empty, .empty): return .empty
        case (.empty, .leaf): return r
        case (.leaf, .empty): return l
        default: return Subtree(kind: .node, hash: node(l, r))
        }
    }
}

extension Digest {
    /// Bit `i` of the digest read as a path (0 = the most significant bit of the first byte).
    @inline(__always)
    func pathBit(_ i: Int) -> Bool {
        let w: UInt64
        switch i >> 6 {
        case 0: w = storage.words.0
        case 1: w = storage.words.1
        case 2: w = storage.words.2
        default: w = storage.words.3
        }
        return (UInt64(bigEndian: w) >> UInt64(63 - (i & 63))) & 1 == 1
    }

    /// The first `depth` path bits of this digest, the others zero: a position's prefix.
    func pathPrefix(_ depth: Int) -> Digest {
        func mask(_ w: UInt64, _ word: Int) -> UInt64 {
            let keep = depth - 64 * word
            if keep >= 64 { return w }
            if keep <= 0 { return 0 }
            return (UInt64(bigEndian: w) & ~(UInt64.max >> UInt64(keep))).bigEndian
        }
        var out = self
        out.storage.words = (mask(storage.words.0, 0), mask(storage.words.1, 1), mask(storage.words.2, 2), mask(storage.words.3, 3))
        return out
    }

    /// This digest with path bit `i` flipped.
    func flippingPathBit(_ i: Int) -> Digest {
        let bit = (UInt64(1) << UInt64(63 - (i & 63))).bigEndian
        var out = self
        switch i >> 6 {
        case 0: out.storage.words.0 ^= bit
        case 1: out.storage.words.1 ^= bit
        case 2: out.storage.words.2 ^= bit
        default: out.storage.words.3 ^= bit
        }
        return out
    }

    /// This digest with path bit `i` set.
    func settingPathBit(_ i: Int) -> Digest {
        let bit = (UInt64(1) << UInt64(63 - (i & 63))).bigEndian
        var out = self
        switch i >> 6 {
        case 0: out.storage.words.0 |= bit
        case 1: out.storage.words.1 |= bit
        case 2: out.storage.words.2 |= bit
        default: out.storage.words.3 |= bit
        }
        return out
    }

    /// How many leading path bits two digests share (256 when they are equal).
    static func commonPrefix(_ a: Digest, _ b: Digest) -> Int {
        let x = (a.storage.words.0 ^ b.storage.words.0, a.storage.words.1 ^ b.storage.words.1,
                 a.storage.words.2 ^ b.storage.words.2, a.storage.words.3 ^ b.storage.words.3)
        if x.0 != 0 { return UInt64(bigEndian: x.0).leadingZeroBitCount }
        if x.1 != 0 { return 64 + UInt64(bigEndian: x.1).leadingZeroBitCount }
        if x.2 != 0 { return 128 + UInt64(bigEndian: x.2).leadingZeroBitCount }
        if x.3 != 0 { return 192 + UInt64(bigEndian: x.3).leadingZeroBitCount }
        return 256
    }
}

extension StateTreeHash {
    /// The root of the tree over leaves read one at a time in path order (`next` gives nil after
    /// the last), holding two leaves and one root-to-leaf path at a time: how verifyChain rebuilds
    /// a state of a million keys without holding it. The tree is built as `StateTree` builds it,
    /// by splitting the leaves at each depth, here by their paths' prefixes rather than by index;
    /// leaves out of path order or repeated are an `.internalError`.
    static func root(pathOrdered next: () throws(DDEError) -> (path: Digest, valueHash: Digest)?) throws(DDEError) -> Digest {
        var first = try next()
        var second = first == nil ? nil : try next()
        // Whether `leaf` lies in the subtree at `depth` whose paths share `template`'s prefix.
        func inside(_ leaf: (path: Digest, valueHash: Digest)?, _ template: Digest, _ depth: Int) -> Bool {
            guard let leaf else { return false }
            return Digest.commonPrefix(leaf.path, template) >= depth
        }
        func build(_ template: Digest, _ depth: Int) throws(DDEError) -> Subtree {
            guard let leaf = first, inside(leaf, template, depth) else { return .empty }
            guard depth < StateTreeHash.depth, inside(second, template, depth) else {
                first = second
                second = first == nil ? nil : try next()
                return .leaf(path: leaf.path, valueHash: leaf.valueHash)
            }
            let left = template.pathBit(depth) ? template.flippingPathBit(depth) : template
            let l = try build(left, depth + 1)
            let r = try build(left.flippingPathBit(depth), depth + 1)
            return StateTreeHash.combine(l, r)
        }
        let top = try build(first?.path ?? StateTreeHash.empty, 0)
        guard first == nil else { throw DDEError(.internalError, "state tree: leaves not in path order, or a path twice") }
        return top.hash
    }
}

/// The whole state tree of a key-value map in memory: the leaves sorted by path, and the hash of
/// every node (so proofs cost O(keys x log n), not a rehash of the tree). For a requester that
/// holds its state in memory, the tests, and the benchmarks; the store keeps its tree in SQLite.
public struct StateTree: Sendable {
    /// Leaf paths, sorted by bytes (so by path bits), unique.
    public let paths: [Digest]
    /// The value hash of each leaf, in the same order.
    public let valueHashes: [Digest]
    /// Every node with two leaves or more, by `NodeIndex` (first leaf, depth).
    private var nodes: [UInt64: Digest]
    public let root: Digest

    public init(_ map: StateMap) {
        var leaves = [(path: Digest, valueHash: Digest)]()
        leaves.reserveCapacity(map.count)
        for (k, v) in map.values { leaves.append((StateTreeHash.path(k), SHA256.hash(v))) }
        self.init(leaves: leaves)
    }

    /// From (path, value hash) pairs in any order, paths unique.
    public init(leaves: [(path: Digest, valueHash: Digest)]) {
        let sorted = sortedByIndex(leaves) { Digest.bytesLess($0.path, $1.path) }
        paths = sorted.map { $0.path }
        valueHashes = sorted.map { $0.valueHash }
        nodes = [:]
        nodes.reserveCapacity(paths.count * 3 / 2)
        var memo = [UInt64: Digest]()
        memo.reserveCapacity(paths.count * 3 / 2)
        let top = StateTree.build(paths, valueHashes, 0..<paths.count, depth: 0, into: &memo)
        nodes = memo
        root = top.hash
    }

    public var count: Int { paths.count }

    /// Nodes of kind `node` (for the benchmarks: the tree's size beyond its leaves).
    public var nodeCount: Int { nodes.count }

    @inline(__always)
    static func nodeIndex(_ lo: Int, _ depth: Int) -> UInt64 { UInt64(lo) << 9 | UInt64(depth) }

    /// The first index in `range` whose path has bit `depth` set.
    static func split(_ paths: [Digest], _ range: Range<Int>, depth: Int) -> Int {
        var lo = range.lowerBound, hi = range.upperBound
        while lo < hi {
            let mid = (lo + hi) >> 1
            if paths[mid].pathBit(depth) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    private static func build(_ paths: [Digest], _ values: [Digest], _ range: Range<Int>, depth: Int,
                              into memo: inout [UInt64: Digest]) -> Subtree {
        switch range.count {
        case 0: return .empty
        case 1:
            let i = range.lowerBound
            return .leaf(path: paths[i], valueHash: values[i])
        default:
            let mid = split(paths, range, depth: depth)
            let l = build(paths, values, range.lowerBound..<mid, depth: depth + 1, into: &memo)
            let r = build(paths, values, mid..<range.upperBound, depth: depth + 1, into: &memo)
            let s = StateTreeHash.combine(l, r)
            memo[nodeIndex(range.lowerBound, depth)] = s.hash
            return s
        }
    }

    /// The subtree over `range` at `depth`, from the stored hashes.
    func subtree(_ range: Range<Int>, depth: Int) -> Subtree {
        switch range.count {
        case 0: return .empty
        case 1:
            let i = range.lowerBound
            return .leaf(path: paths[i], valueHash: valueHashes[i])
        default:
            return Subtree(kind: .node, hash: nodes[StateTree.nodeIndex(range.lowerBound, depth)]!)
        }
    }

    /// The value hash stored under `key`, nil when the key is absent.
    public func valueHash(key: [UInt8]) -> Digest? {
        let p = StateTreeHash.path(key)
        var lo = 0, hi = paths.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if Digest.bytesLess(paths[mid], p) { lo = mid + 1 } else { hi = mid }
        }
        return lo < paths.count && paths[lo] == p ? valueHashes[lo] : nil
    }

    /// The whole tree as a partial tree that hides nothing (leaves and nodes where the compact
    /// tree has them): what a store writes when it builds a tree from scratch.
    func fullTree() -> PartialNode { full(0..<paths.count, depth: 0) }

    private func full(_ range: Range<Int>, depth: Int) -> PartialNode {
        switch range.count {
        case 0: return .empty
        case 1: return .leaf(path: paths[range.lowerBound], valueHash: valueHashes[range.lowerBound])
        default:
            let mid = StateTree.split(paths, range, depth: depth)
            return .branch(full(range.lowerBound..<mid, depth: depth + 1), full(mid..<range.upperBound, depth: depth + 1))
        }
    }

    /// The multiproof of `keys` (present or absent, any order, repeats ignored): the paths to
    /// their ends and the subtrees beside them (StateProof.swift).
    public func proof(keys: [[UInt8]]) -> StateProof {
        let proven = StateProof.provenPaths(keys)
        let tree = partial(proven[...], 0..<paths.count, depth: 0)
        return StateProof(root: root, tree: tree, proven: proven)
    }

    private func partial(_ proven: ArraySlice<Digest>, _ range: Range<Int>, depth: Int) -> PartialNode {
        if proven.isEmpty {
            let s = subtree(range, depth: depth)
            return s.kind == .empty ? .empty : .opaque(s)
        }
        switch range.count {
        case 0: return .empty
        case 1: return .leaf(path: paths[range.lowerBound], valueHash: valueHashes[range.lowerBound])
        default:
            let mid = StateTree.split(paths, range, depth: depth)
            var k = proven.startIndex
            while k < proven.endIndex && !proven[k].pathBit(depth) { k += 1 }
            return .branch(partial(proven[..<k], range.lowerBound..<mid, depth: depth + 1),
                           partial(proven[k...], mid..<range.upperBound, depth: depth + 1))
        }
    }
}
