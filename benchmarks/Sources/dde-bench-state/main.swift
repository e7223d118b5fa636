// dde-bench-state: the measurements behind the choice of the v2 state tree (docs/PROTOCOL.md
// section 6, issue 15). For wallets of n accounts ("balance/user<i>" -> decimal text) it measures
// the compact sparse Merkle tree dde implements (real code: proofs made, checked and used for the
// root after writes) and computes, from the tree's structure, the same quantities for the sorted
// RFC 6962 tree with adjacent-leaf absence proofs (the alternative):
//
//   proof bytes   for 1 present key, 1 absent key, and 2 present keys (one transfer), mean and max
//                 over the sampled keys; the base64 characters a task would carry
//   hashes        SHA-256 computations (leaves and nodes; not value hashes) for the root after an
//                 update, an insert, a delete, and a transfer, from the proof alone (SMT), or at
//                 best with every unchanged subtree cached (RFC 6962)
//   time          checking a transfer's proof and computing the root after its writes (SMT)
//
// swift build -c release --product dde-bench-state && .build/release/dde-bench-state [--max N] [--samples S]
import DDE
import Dispatch
import Foundation

func nowNs() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

struct Rng {
    var s: UInt64
    init(_ seed: UInt64) { s = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27
        return s &* 0x2545_F491_4F6C_DD1D
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

func key(_ i: Int) -> [UInt8] { Array("balance/user\(i)".utf8) }

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }

func fmt(_ x: Double, _ digits: Int = 1) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (x * p).rounded() / p
    var s = "\(r)"
    if digits == 0, s.hasSuffix(".0") { s.removeLast(2) }
    return s
}

func base64Length(_ bytes: Int) -> Int { (bytes + 2) / 3 * 4 }

/// The nodes a proof shows (its 0x01 items): the depth of a lone key's end.
func branches(_ proof: [UInt8]) -> Int {
    var i = 32, count = 0
    while i < proof.count {
        switch proof[i] {
        case 0: i += 1
        case 1: i += 1; count += 1
        case 3: i += 65
        default: i += 33
        }
    }
    return count
}

// MARK: the RFC 6962 tree, by structure

/// The RFC 6962 tree over n sorted leaves: a node is a range [start, start+size); its left child
/// has the largest power of two below size.
enum RFC6962 {
    static func split(_ size: Int) -> Int {
        var k = 1
        while k << 1 < size { k <<= 1 }
        return k
    }

    /// Siblings of the multiproof of leaves `indices` (sorted): the subtrees beside the paths.
    static func siblings(_ indices: ArraySlice<Int>, start: Int, size: Int) -> Int {
        if indices.isEmpty { return 1 }
        if size == 1 { return 0 }
        let k = split(size)
        let mid = indices.firstIndex { $0 >= start + k } ?? indices.endIndex
        return siblings(indices[..<mid], start: start, size: k) + siblings(indices[mid...], start: start + k, size: size - k)
    }

    /// Every internal node (start, size) of the tree over [start, start+size).
    static func nodes(start: Int, size: Int, into set: inout Set<UInt64>) {
        if size <= 1 { return }
        set.insert(UInt64(start) << 32 | UInt64(size))
        let k = split(size)
        nodes(start: start, size: k, into: &set)
        nodes(start: start + k, size: size - k, into: &set)
    }

    /// Internal nodes of the new tree (n+1 leaves, leaf inserted at `at`) whose hash is not the
    /// hash of an old node: the hashes an insert costs when every old subtree is cached. A new
    /// node holds the same leaves as an old one when it lies wholly before `at`, or wholly after
    /// it (shifted by one), and the old tree had a node over exactly those leaves (a subtree's
    /// shape depends on its size alone).
    static func insertCost(n: Int, at: Int, old: Set<UInt64>) -> Int {
        var cost = 0
        func walk(_ start: Int, _ size: Int) {
            if size <= 1 { return }
            let end = start + size
            let reused: Bool
            if end <= at { reused = old.contains(UInt64(start) << 32 | UInt64(size)) }
            else if start > at { reused = old.contains(UInt64(start - 1) << 32 | UInt64(size)) }
            else { reused = false }
            if reused { return }
            cost += 1
            let k = split(size)
            walk(start, k)
            walk(start + k, size - k)
        }
        walk(0, n + 1)
        return cost + 1  // and the new leaf
    }
}

// MARK: main

var maxN = 1_000_000
var samples = 200
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--max": maxN = Int(args.popFirst() ?? "") ?? maxN
    case "--samples": samples = Int(args.popFirst() ?? "") ?? samples
    default:
        print("usage: dde-bench-state [--max N] [--samples S]")
        exit(2)
    }
}

let sizes = [10, 1_000, 100_000, 1_000_000].filter { $0 <= maxN }
print("dde-bench-state: wallets of n accounts, \(samples) sampled keys or pairs per n")
print("")
print("compact sparse Merkle tree (dde v2), measured on the real code")
print("\(pad("n", 9)) \(pad("nodes/n", 8)) \(pad("depth", 6)) \(pad("1 in B", 7)) \(pad("1 out B", 8)) \(pad("2 in B", 7)) \(pad("2 in max", 9)) \(pad("2 in b64", 9)) \(pad("h upd", 6)) \(pad("h ins", 6)) \(pad("h del", 6)) \(pad("h xfer", 7)) \(pad("xfer us", 8))")
var rfcRows = [String]()
var taskBytes = [String]()
for n in sizes {
    var rng = Rng(UInt64(n))
    var leaves = [(path: Digest, valueHash: Digest)]()
    leaves.reserveCapacity(n)
    for i in 0..<n { leaves.append((SHA256.hash(key(i)), SHA256.hash(Array("\(i % 1000)".utf8)))) }
    let tree = StateTree(leaves: leaves)
    let root = tree.root

    func valueOf(_ i: Int) -> [UInt8] { Array("\(i % 1000)".utf8) }
    func check(_ keys: [[UInt8]], _ values: [[UInt8]?]) -> (ProvenState, Int) {
        let proof = tree.proof(keys: keys).bytes
        let entries = (0..<keys.count).map { (key: keys[$0], value: values[$0]) }
        return (try! ProvenState(proof: proof, entries: entries, root: root), proof.count)
    }

    var oneIn = 0, oneOut = 0, twoIn = 0, twoMax = 0
    var hUpd = 0, hIns = 0, hDel = 0, hXfer = 0
    var depthSum = 0
    var xferNs = [UInt64]()
    for s in 0..<samples {
        let a = rng.below(n), b = (a + 1 + rng.below(n - 1)) % n
        let absent = Array("balance/new\(s)".utf8)
        let (pa, la) = check([key(a)], [valueOf(a)])
        oneIn += la
        depthSum += branches(tree.proof(keys: [key(a)]).bytes)
        let (pn, ln) = check([absent], [nil])
        oneOut += ln
        hUpd += try! pa.rootCountingHashes(applying: StateWrites([key(a): Array("7".utf8)])).hashes
        hDel += try! pa.rootCountingHashes(applying: StateWrites([key(a): nil])).hashes
        hIns += try! pn.rootCountingHashes(applying: StateWrites([absent: Array("7".utf8)])).hashes
        // One transfer: both proofs' bytes, check and root after, timed.
        let keys = [key(a), key(b)]
        let proof = tree.proof(keys: keys).bytes
        twoIn += proof.count
        twoMax = max(twoMax, proof.count)
        let writes = StateWrites([key(a): Array("1".utf8), key(b): Array("2".utf8)])
        let t0 = nowNs()
        let state = try! ProvenState(proof: proof, entries: [(keys[0], valueOf(a)), (keys[1], valueOf(b))], root: root)
        let after = try! state.rootCountingHashes(applying: writes)
        xferNs.append(nowNs() - t0)
        hXfer += after.hashes
    }
    // The v2 task of one transfer (alice -> bob style): its canonical bytes, worst over the samples.
    var taskMax = 0
    let requester = try! KeyPair.fromSeed([UInt8](repeating: 1, count: 32))
    for s in 0..<min(samples, 50) {
        let a = (s * 7919) % n, b = (a + 1 + s % (n - 1)) % n
        let keys = [key(a), key(b)]
        let partial = try! PartialState(entries: [(keys[0], valueOf(a)), (keys[1], valueOf(b))],
                                        proof: tree.proof(keys: keys).bytes, root: root)
        let spec = TaskSpec(dappId: "wallet", dappCodeHash: SHA256.hash(Array("wallet module".utf8)), action: "send",
                            payload: try! JSONParser.parse(Array("{\"amount\":5,\"from\":\"user\(a)\",\"to\":\"user\(b)\"}".utf8)),
                            requiredCapabilities: ["state.read", "state.write"], partialState: partial,
                            timestamp: 1_767_225_600_000)
        taskMax = max(taskMax, try! ComputeTask.create(spec, requester: requester).canonicalBytes.count)
    }
    taskBytes.append("\(n): \(taskMax)")
    let d = Double(samples)
    print("\(pad("\(n)", 9)) \(pad(fmt(Double(n + tree.nodeCount) / Double(n), 2), 8)) \(pad(fmt(Double(depthSum) / d), 6)) \(pad(fmt(Double(oneIn) / d, 0), 7)) \(pad(fmt(Double(oneOut) / d, 0), 8)) \(pad(fmt(Double(twoIn) / d, 0), 7)) \(pad("\(twoMax)", 9)) \(pad("\(base64Length(twoMax))", 9)) \(pad(fmt(Double(hUpd) / d), 6)) \(pad(fmt(Double(hIns) / d), 6)) \(pad(fmt(Double(hDel) / d), 6)) \(pad(fmt(Double(hXfer) / d), 7)) \(pad(fmt(Double(xferNs.sorted()[xferNs.count / 2]) / 1000), 8))")

    // The RFC 6962 alternative over the same keys, sorted by key bytes.
    let sortedKeys = (0..<n).map { key($0) }.sorted { $0.lexicographicallyPrecedes($1) }
    var old = Set<UInt64>()
    RFC6962.nodes(start: 0, size: n, into: &old)
    var rIn = 0, rOut = 0, rTwo = 0, rTwoMax = 0, rIns = 0, rUpd = 0
    let insertTrials = n >= 1_000_000 ? 20 : samples
    for s in 0..<samples {
        let i = rng.below(n), j = (i + 1 + rng.below(n - 1)) % n
        // A proof names the tree size and the leaf index (8 bytes each), the leaf's key (4-byte
        // length + bytes) when it is not the key asked for, its value hash, and the siblings.
        let sib1 = RFC6962.siblings([i][...], start: 0, size: n)
        rIn += 16 + 32 * sib1 + 32
        rUpd += sib1 + 1
        // Absence: the two adjacent leaves around the missing key (one at either end).
        let g = rng.below(n + 1)
        let neighbours = [g - 1, g].filter { $0 >= 0 && $0 < n }
        let sibA = RFC6962.siblings(neighbours[...], start: 0, size: n)
        rOut += 16 + 32 * sibA + neighbours.reduce(0) { $0 + 8 + 4 + sortedKeys[$1].count + 32 }
        let pair = [min(i, j), max(i, j)]
        let sib2 = RFC6962.siblings(pair[...], start: 0, size: n)
        let two = 16 + 32 * sib2 + 8 + 2 * 32
        rTwo += two
        rTwoMax = max(rTwoMax, two)
        if s < insertTrials { rIns += RFC6962.insertCost(n: n, at: rng.below(n + 1), old: old) }
    }
    rfcRows.append("\(pad("\(n)", 9)) \(pad(fmt(Double(rIn) / d, 0), 7)) \(pad(fmt(Double(rOut) / d, 0), 8)) \(pad(fmt(Double(rTwo) / d, 0), 7)) \(pad("\(rTwoMax)", 9)) \(pad(fmt(Double(rUpd) / d), 6)) \(pad(fmt(Double(rIns) / Double(insertTrials), 0), 9)) \(pad(fmt(Double(RFC6962.insertCost(n: n, at: 0, old: old)), 0), 10)) \(pad(fmt(Double(RFC6962.insertCost(n: n, at: n, old: old)), 0), 8))")
}
print("")
print("sorted RFC 6962 tree with adjacent-leaf absence proofs, from its structure (same keys)")
print("\(pad("n", 9)) \(pad("1 in B", 7)) \(pad("1 out B", 8)) \(pad("2 in B", 7)) \(pad("2 in max", 9)) \(pad("h upd", 6)) \(pad("h ins", 9)) \(pad("h ins@0", 10)) \(pad("h ins@n", 8))")
for r in rfcRows { print(r) }
print("")
print("v2 task of one transfer (canonical bytes, largest of 50): " + taskBytes.joined(separator: ", "))
print("")
print("columns: nodes/n = (leaves + nodes) / n stored; depth = nodes above a present key's leaf; 1 in / 1 out / 2 in = proof bytes")
print("for one present key, one absent key, two present keys (mean; max and base64 chars of the max);")
print("h = SHA-256 computations (leaves and nodes) for the root after an update, insert, delete, transfer")
print("(RFC 6962: insert at a random position, at the front, at the end, every unchanged subtree cached);")
print("xfer us = checking a transfer's proof and computing the root after its two writes, microseconds (median)")
