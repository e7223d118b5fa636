import XCTest
@testable import DDE

/// The v2 state tree and its proofs (PROTOCOL.md section 6): roots, presence and absence proofs,
/// every refusal with its own status, and the root after writes from a proof alone against the
/// root rebuilt from scratch.
final class StateTreeTests: XCTestCase {
    /// A deterministic generator (xorshift64*), so every failure replays.
    struct Rng {
        var s: UInt64
        init(_ seed: UInt64) { s = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
        mutating func next() -> UInt64 {
            s ^= s >> 12; s ^= s << 25; s ^= s >> 27
            return s &* 0x2545_F491_4F6C_DD1D
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
    }

    static func key(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func map(_ n: Int, _ rng: inout Rng) -> StateMap {
        var values = [[UInt8]: [UInt8]]()
        for i in 0..<n { values[key("k\(i)")] = rng.bytes(rng.below(9)) }
        return StateMap(values: values)
    }

    /// Entries as a task carries them: each key with its value in `map`, or nil.
    static func entries(_ keys: [[UInt8]], in map: StateMap) -> [(key: [UInt8], value: [UInt8]?)] {
        keys.map { (key: $0, value: map[keyBytes: $0]) }
    }

    static func proven(_ map: StateMap, _ keys: [[UInt8]]) throws(DDEError) -> ProvenState {
        let tree = StateTree(map)
        return try ProvenState(proof: tree.proof(keys: keys).bytes, entries: entries(keys, in: map), root: tree.root)
    }

    /// Offsets of the items of a proof, with their tags (test helper: walks the item sizes).
    static func items(_ proof: [UInt8]) -> [(offset: Int, tag: UInt8)] {
        var out = [(offset: Int, tag: UInt8)]()
        var i = 32
        while i < proof.count {
            let tag = proof[i]
            out.append((i, tag))
            switch tag {
            case 0, 1: i += 1
            case 3: i += 65
            default: i += 33
            }
        }
        return out
    }

    // MARK: roots

    func testEmptyAndOneLeafRoots() throws {
        XCTAssertEqual(StateTree(StateMap()).root, SHA256.hash([UInt8]()))
        XCTAssertEqual(StateTree(StateMap()).root, StateMap().root, "the empty state has one root in v1 and v2")
        let one = StateMap(values: [Self.key("count"): Self.key("41")])
        // A tree of one key is that key's leaf: SHA-256(0x02 || SHA-256(key) || SHA-256(value)).
        var preimage: [UInt8] = [0x02]
        preimage += SHA256.hash(Self.key("count")).bytes
        preimage += SHA256.hash(Self.key("41")).bytes
        XCTAssertEqual(StateTree(one).root, SHA256.hash(preimage))
        XCTAssertNotEqual(StateTree(one).root, one.root, "v2 leaves are separated from v1 leaves")
    }

    /// verifyChain's streaming rebuild (leaves one at a time, in path order) gives the root the
    /// tree built in memory gives: random states, and paths made to share long prefixes (down to
    /// a node at depth 255); leaves out of order or repeated are refused.
    func testRootFromLeavesInPathOrderIsTheTreeRoot() throws {
        func streamed(_ leaves: [(path: Digest, valueHash: Digest)]) throws(DDEError) -> Digest {
            var i = 0
            return try StateTreeHash.root { () throws(DDEError) -> (path: Digest, valueHash: Digest)? in
                defer { i += 1 }
                return i < leaves.count ? leaves[i] : nil
            }
        }
        func sorted(_ leaves: [(path: Digest, valueHash: Digest)]) -> [(path: Digest, valueHash: Digest)] {
            leaves.sorted { Digest.bytesLess($0.path, $1.path) }
        }
        var rng = Rng(21)
        for n in [0, 1, 2, 3, 5, 17, 64, 300, 2000] {
            let map = Self.map(n, &rng)
            let leaves = sorted(map.values.map { (StateTreeHash.path($0.key), SHA256.hash($0.value)) })
            XCTAssertEqual(try streamed(leaves), StateTree(map).root, "n=\(n)")
        }
        // Paths that part late: a base path and copies differing in one of its last bits.
        let base = SHA256.hash(Self.key("base"))
        for bits in [[255], [254, 255], [200, 201, 255], [0, 128, 255], [7, 64, 65, 191, 192, 255]] {
            var leaves = [(path: base, valueHash: SHA256.hash([0]))]
            for (j, b) in bits.enumerated() { leaves.append((base.flippingPathBit(b), SHA256.hash([UInt8(j + 1)]))) }
            leaves = sorted(leaves)
            XCTAssertEqual(try streamed(leaves), StateTree(leaves: leaves).root, "bits \(bits)")
        }
        let three = sorted(Self.map(3, &rng).values.map { (StateTreeHash.path($0.key), SHA256.hash($0.value)) })
        XCTAssertStatus(.internalError) { () throws(DDEError) in try streamed(three.reversed()) }
        XCTAssertStatus(.internalError) { () throws(DDEError) in try streamed([three[0], three[0], three[1]]) }
    }

    func testTwoLeavesHashWithTheirKinds() throws {
        // Two keys: the root is the node where their paths part, with empty subtrees above it.
        let a = Self.key("a"), b = Self.key("b")
        let map = StateMap(values: [a: [1], b: [2]])
        let pa = SHA256.hash(a), pb = SHA256.hash(b)
        let part = Digest.commonPrefix(pa, pb)
        let la = Subtree(kind: .leaf, hash: StateTreeHash.leaf(path: pa, valueHash: SHA256.hash([1])))
        let lb = Subtree(kind: .leaf, hash: StateTreeHash.leaf(path: pb, valueHash: SHA256.hash([2])))
        var node = pa.pathBit(part) ? StateTreeHash.combine(lb, la) : StateTreeHash.combine(la, lb)
        var d = part
        while d > 0 {
            d -= 1
            node = pa.pathBit(d) ? StateTreeHash.combine(.empty, node) : StateTreeHash.combine(node, .empty)
        }
        XCTAssertEqual(StateTree(map).root, node.hash)
        // The node preimage: 0x03 || kind(l) || kind(r) || l || r.
        var pre: [UInt8] = [0x03, 1, 1]
        pre += la.hash.bytes + lb.hash.bytes
        XCTAssertEqual(StateTreeHash.node(la, lb), SHA256.hash(pre))
    }

    // MARK: proofs that hold

    func testPresenceAndAbsenceProofsHold() throws {
        var rng = Rng(1)
        for n in [1, 2, 3, 10, 200] {
            let map = Self.map(n, &rng)
            for i in stride(from: 0, to: n, by: max(1, n / 7)) {
                let k = Self.key("k\(i)")
                XCTAssertNoThrow(try Self.proven(map, [k]), "n=\(n) present k\(i)")
                XCTAssertNoThrow(try Self.proven(map, [Self.key("absent\(i)")]), "n=\(n) absent")
                XCTAssertNoThrow(try Self.proven(map, [k, Self.key("absent\(i)"), Self.key("k\((i + 1) % n)")]))
            }
        }
    }

    /// Absent keys whose paths sort below every present path, between two, and above every one,
    /// and in the empty tree.
    func testAbsenceBelowBetweenAboveAndInTheEmptyTree() throws {
        var rng = Rng(2)
        let map = Self.map(8, &rng)
        let tree = StateTree(map)
        let lowest = tree.paths.first!, highest = tree.paths.last!
        var below: [UInt8]?, between: [UInt8]?, above: [UInt8]?
        var i = 0
        while below == nil || between == nil || above == nil {
            let k = Self.key("absent-\(i)")
            let p = SHA256.hash(k)
            if Digest.bytesLess(p, lowest) { below = below ?? k }
            else if Digest.bytesLess(highest, p) { above = above ?? k }
            else { between = between ?? k }
            i += 1
        }
        for k in [below!, between!, above!] {
            let proof = tree.proof(keys: [k]).bytes
            XCTAssertNoThrow(try ProvenState(proof: proof, entries: [(k, nil)], root: tree.root))
            XCTAssertStatus(.stateProofValue) { () throws(DDEError) in try ProvenState(proof: proof, entries: [(k, [1])], root: tree.root) }
        }
        // All three at once, beside two present keys.
        let keys = [below!, between!, above!, Self.key("k0"), Self.key("k7")]
        XCTAssertNoThrow(try Self.proven(map, keys))

        // The empty tree: the proof is its root and one empty item.
        let empty = StateTree(StateMap())
        let proof = empty.proof(keys: [Self.key("x")]).bytes
        XCTAssertEqual(proof, SHA256.hash([UInt8]()).bytes + [0x00])
        XCTAssertNoThrow(try ProvenState(proof: proof, entries: [(Self.key("x"), nil)], root: empty.root))
        XCTAssertStatus(.stateProofValue) { () throws(DDEError) in try ProvenState(proof: proof, entries: [(Self.key("x"), [7])], root: empty.root) }
    }

    // MARK: refusals, each with its own status

    func testWrongValueIsRefused() throws {
        var rng = Rng(3)
        let map = Self.map(50, &rng)
        let tree = StateTree(map)
        let k = Self.key("k3")
        let proof = tree.proof(keys: [k, Self.key("k4")]).bytes
        XCTAssertStatus(.stateProofValue) { () throws(DDEError) in
            try ProvenState(proof: proof, entries: [(k, [9, 9, 9]), (Self.key("k4"), map[keyBytes: Self.key("k4")])], root: tree.root)
        }
        // Claimed absent while present.
        XCTAssertStatus(.stateProofValue) { () throws(DDEError) in
            try ProvenState(proof: proof, entries: [(k, nil), (Self.key("k4"), map[keyBytes: Self.key("k4")])], root: tree.root)
        }
        // The value hash inside the proof altered: the value claimed no longer matches.
        var altered = proof
        let own = Self.items(proof).first { $0.tag == 2 }!
        altered[own.offset + 5] ^= 1
        XCTAssertStatus(.stateProofValue) { () throws(DDEError) in try ProvenState(proof: altered, entries: Self.entries([k, Self.key("k4")], in: map), root: tree.root) }
    }

    func testMissingSiblingIsRefused() throws {
        var rng = Rng(4)
        let map = Self.map(100, &rng)
        let tree = StateTree(map)
        let keys = [Self.key("k10"), Self.key("nope")]
        let proof = tree.proof(keys: keys).bytes
        let siblings = Self.items(proof).filter { $0.tag == 4 || $0.tag == 5 || $0.tag == 0 }
        XCTAssertGreaterThan(siblings.count, 3)
        for s in siblings {
            var cut = proof
            cut.removeSubrange(s.offset..<(s.offset + (s.tag == 0 ? 1 : 33)))
            XCTAssertStatus(.stateProofIncomplete) { () throws(DDEError) in try ProvenState(proof: cut, entries: Self.entries(keys, in: map), root: tree.root) }
        }
        // Cut short anywhere: incomplete.
        for end in [0, 31, 32, 33, proof.count / 2, proof.count - 1] {
            XCTAssertStatus(.stateProofIncomplete) { () throws(DDEError) in try ProvenState(proof: Array(proof[..<end]), entries: Self.entries(keys, in: map), root: tree.root) }
        }
        // A proof of other keys does not reach this one.
        let other = tree.proof(keys: [Self.key("k10")]).bytes
        XCTAssertStatus(.stateProofIncomplete) { () throws(DDEError) in try ProvenState(proof: other, entries: Self.entries([Self.key("k11")], in: map), root: tree.root) }
        // The message names the key it does not reach.
        do {
            _ = try StateProof(bytes: other, keys: [Self.key("k11")])
            XCTFail("a proof of k10 read as one of k11")
        } catch {
            XCTAssertTrue(error.detail.hasPrefix("the state proof does not reach key \"k11\": its path runs into a summarised subtree at depth "), error.detail)
        }
    }

    func testAlteredSiblingIsRefused() throws {
        var rng = Rng(5)
        let map = Self.map(100, &rng)
        let tree = StateTree(map)
        let keys = [Self.key("k20"), Self.key("k21")]
        let proof = tree.proof(keys: keys).bytes
        for s in Self.items(proof) where s.tag == 4 || s.tag == 5 {
            var altered = proof
            altered[s.offset + 1 + 17] ^= 0x40
            XCTAssertStatus(.stateProofHash) { () throws(DDEError) in try ProvenState(proof: altered, entries: Self.entries(keys, in: map), root: tree.root) }
            // A sibling's kind is bound by its parent's hash: claiming one leaf for many, or the
            // reverse, is an altered proof too (it would steer the root after a delete).
            var kind = proof
            kind[s.offset] = s.tag == 4 ? 5 : 4
            XCTAssertStatus(.stateProofHash) { () throws(DDEError) in try ProvenState(proof: kind, entries: Self.entries(keys, in: map), root: tree.root) }
        }
    }

    func testProofForAnotherRootIsRefused() throws {
        var rng = Rng(6)
        let map = Self.map(60, &rng)
        var otherValues = map.values
        otherValues[Self.key("k59")] = [0xff]
        let other = StateTree(StateMap(values: otherValues))
        let tree = StateTree(map)
        let k = Self.key("k1")
        // Made for the other tree, where k holds the same value: it names the other root.
        let proof = other.proof(keys: [k]).bytes
        XCTAssertNoThrow(try ProvenState(proof: proof, entries: Self.entries([k], in: map), root: other.root))
        XCTAssertStatus(.stateProofRoot) { () throws(DDEError) in try ProvenState(proof: proof, entries: Self.entries([k], in: map), root: tree.root) }
        // The same with its named root replaced: its hashes then lead elsewhere.
        var renamed = proof
        renamed.replaceSubrange(0..<32, with: tree.root.bytes)
        XCTAssertStatus(.stateProofHash) { () throws(DDEError) in try ProvenState(proof: renamed, entries: Self.entries([k], in: map), root: tree.root) }
    }

    func testMalformedProofsAreRefused() throws {
        var rng = Rng(7)
        let map = Self.map(30, &rng)
        let tree = StateTree(map)
        let keys = [Self.key("k2")]
        let entries = Self.entries(keys, in: map)
        let proof = tree.proof(keys: keys).bytes
        XCTAssertNoThrow(try ProvenState(proof: proof, entries: entries, root: tree.root))

        XCTAssertStatus(.stateProofMalformed) { () throws(DDEError) in try ProvenState(proof: proof + [0], entries: entries, root: tree.root) }
        var unknown = proof
        unknown[32] = 9
        XCTAssertStatus(.stateProofMalformed) { () throws(DDEError) in try ProvenState(proof: unknown, entries: entries, root: tree.root) }
        // Deeper than any two paths can share: refused before any recursion.
        let deep = tree.root.bytes + [UInt8](repeating: 1, count: 100_000)
        XCTAssertStatus(.stateProofMalformed) { () throws(DDEError) in try ProvenState(proof: deep, entries: entries, root: tree.root) }
        // The own leaf spelled with its path (0x03): not the canonical spelling.
        let own = Self.items(proof).first { $0.tag == 2 }!
        var spelled = proof
        spelled.replaceSubrange(own.offset..<(own.offset + 1), with: [3] + SHA256.hash(keys[0]).bytes)
        XCTAssertStatus(.stateProofMalformed) { () throws(DDEError) in try ProvenState(proof: spelled, entries: entries, root: tree.root) }
        // A summarised subtree expanded although no proven path runs through it.
        let wide = tree.proof(keys: keys + [Self.key("k3"), Self.key("k4"), Self.key("k5")]).bytes
        XCTAssertStatus(.stateProofMalformed) { () throws(DDEError) in try ProvenState(proof: wide, entries: entries, root: tree.root) }
        // A node with an empty subtree beside one leaf is not compact.
        let single = StateTree(StateMap(values: [Self.key("k2"): [1]]))
        let p = SHA256.hash(Self.key("k2"))
        var loose = single.root.bytes + [1]
        loose += p.pathBit(0) ? [0, 2] + SHA256.hash([1]).bytes : [2] + SHA256.hash([1]).bytes + [0]
        XCTAssertStatus(.stateProofMalformed) { () throws(DDEError) in try ProvenState(proof: loose, entries: [(Self.key("k2"), [1])], root: single.root) }
    }

    /// A proof of no keys has one spelling: 0x00 for the empty tree, else 0x05 and the root,
    /// whether the tree holds one leaf or more (at the root no parent's hash fixes the kind).
    func testAProofOfNoKeysHasOneSpelling() throws {
        let empty = StateTree(StateMap())
        XCTAssertEqual(empty.proof(keys: []).bytes, empty.root.bytes + [0])
        XCTAssertNoThrow(try ProvenState(proof: empty.root.bytes + [0], entries: [], root: empty.root))
        XCTAssertStatus(.stateProofMalformed) { () throws(DDEError) in
            try ProvenState(proof: empty.root.bytes + [5] + empty.root.bytes, entries: [], root: empty.root)
        }
        var rng = Rng(11)
        for tree in [StateTree(StateMap(values: [Self.key("only"): [1]])), StateTree(Self.map(20, &rng))] {
            let proof = tree.proof(keys: []).bytes
            XCTAssertEqual(proof, tree.root.bytes + [5] + tree.root.bytes)
            XCTAssertNoThrow(try ProvenState(proof: proof, entries: [], root: tree.root))
            XCTAssertStatus(.stateProofMalformed) { () throws(DDEError) in
                try ProvenState(proof: tree.root.bytes + [4] + tree.root.bytes, entries: [], root: tree.root)
            }
        }
    }

    /// Two paths that share 255 bits part at a node of depth 255: the deepest a proof may show.
    /// (No such pair of SHA-256 paths is known; the proof is built by hand for one key's path,
    /// its sibling leaf summarised.)
    func testANodeAtDepth255IsRead() throws {
        let key = Self.key("deep")
        let path = SHA256.hash(key)
        func items(depth: Int) -> [UInt8] {
            if depth == 256 { return [2] + SHA256.hash([1]).bytes }
            let below = depth == 255 ? [UInt8]([4]) + SHA256.hash([9]).bytes : [0]
            // The proven path's side is expanded; the other side is empty, or at depth 255 the
            // summarised leaf of the path that differs in the last bit.
            return [1] + (path.pathBit(depth) ? below + items(depth: depth + 1) : items(depth: depth + 1) + below)
        }
        let bytes = [UInt8](repeating: 0, count: 32) + items(depth: 0)
        XCTAssertNoThrow(try StateProof(bytes: bytes, keys: [key]))
        // One level deeper is more than two 256-bit paths can share.
        var deeper = bytes
        let own = Self.items(bytes).first { $0.tag == 2 }!
        deeper.replaceSubrange(own.offset..<(own.offset + 33), with: [1, 2] + SHA256.hash([1]).bytes + [0])
        XCTAssertStatus(.stateProofMalformed) { () throws(DDEError) in try StateProof(bytes: deeper, keys: [key]) }
    }

    func testWriteOutsideTheProvenKeysIsRefused() throws {
        var rng = Rng(8)
        let map = Self.map(10, &rng)
        let state = try Self.proven(map, [Self.key("k1")])
        XCTAssertStatus(.stateProofIncomplete) { () throws(DDEError) in try state.root(applying: StateWrites([Self.key("k2"): [1]])) }
    }

    // MARK: the root after writes, from proofs alone

    /// Random states and writes (seeded): updates, inserts and deletes of proven keys; the root
    /// from the proof must equal the root of the state rebuilt from scratch.
    func testRootFromProofAndWritesEqualsRootFromScratch() throws {
        var rng = Rng(9)
        for round in 0..<300 {
            let n = [0, 1, 2, 3, 5, 17, 64, 300][round % 8]
            let map = Self.map(n, &rng)
            let tree = StateTree(map)
            var keys = [[UInt8]]()
            var writes = [[UInt8]: [UInt8]?]()
            for _ in 0..<(1 + rng.below(6)) {
                let k = rng.below(3) == 0 ? Self.key("new\(rng.below(1000))") : Self.key("k\(rng.below(max(n, 1)))")
                keys.append(k)
                switch rng.below(4) {
                case 0: break  // read only
                case 1: writes[k] = .some(nil)  // delete (no-op when absent)
                default: writes[k] = .some(rng.bytes(rng.below(5)))
                }
            }
            let w = StateWrites(writes)
            let state = try ProvenState(proof: tree.proof(keys: keys).bytes, entries: Self.entries(keys, in: map), root: tree.root)
            XCTAssertEqual(try state.root(applying: w), StateTree(map.applying(w)).root, "round \(round), n=\(n)")
        }
    }

    /// Deleting every key, from one proof of all of them, gives the empty root; so does deleting
    /// them one task at a time.
    func testDeletingEveryKeyGivesTheEmptyRoot() throws {
        var rng = Rng(10)
        for n in [1, 2, 3, 40] {
            var map = Self.map(n, &rng)
            let keys = Array(map.values.keys)
            let all = try Self.proven(map, keys)
            var deletes = [[UInt8]: [UInt8]?]()
            for k in keys { deletes[k] = .some(nil) }
            XCTAssertEqual(try all.root(applying: StateWrites(deletes)), StateTreeHash.empty)
            for k in keys {
                let w = StateWrites([k: nil])
                let next = try Self.proven(map, [k]).root(applying: w)
                map = map.applying(w)
                XCTAssertEqual(next, StateTree(map).root)
            }
            XCTAssertEqual(StateTree(map).root, StateTreeHash.empty)
        }
        // And filling the empty tree from its proof of absence.
        let empty = try Self.proven(StateMap(), [Self.key("a"), Self.key("b")])
        let filled = StateWrites([Self.key("a"): [1], Self.key("b"): [2]])
        XCTAssertEqual(try empty.root(applying: filled), StateTree(StateMap().applying(filled)).root)
    }

    /// A proof's bytes decode back to the same proof (one spelling).
    func testProofBytesRoundTrip() throws {
        var rng = Rng(11)
        let map = Self.map(500, &rng)
        let tree = StateTree(map)
        let keys = [Self.key("k1"), Self.key("k2"), Self.key("zz"), Self.key("k499")]
        let proof = tree.proof(keys: keys)
        let decoded = try StateProof(bytes: proof.bytes, keys: keys)
        XCTAssertEqual(decoded.bytes, proof.bytes)
        XCTAssertEqual(decoded.root, tree.root)
    }
}
