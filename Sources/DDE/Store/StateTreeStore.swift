// Each dApp's v2 state tree (PROTOCOL.md section 6.2) kept in SQLite, so that a commit reads and
// writes only the rows on the written keys' paths: O(written keys x log n) rows, never O(n).
//
// Table `state_nodes` (docs/STORE.md): the compact tree cut into chunks of four levels, one row
// each (as Diem's Jellyfish Merkle tree stores 16-ary nodes), so a path of a million-key tree is
// about 6 rows, not 21. A chunk at depth D (a multiple of 4) holds the part of the tree from D down
// to D + 4 below one position: its 31 slots, a perfect binary tree numbered from 1 (slot i's
// children are 2i and 2i + 1; slots 16-31 are at depth D + 4), each an empty subtree, a leaf (its
// path and value hash) or a node (its hash; a node in slots 16-31 is the top of the next chunk).
// A chunk exists at depth 0 when the tree is not empty, and deeper where its parent's slot is a
// node (two leaves or more below). The row's key is its position: 0x00, then the path prefix's
// depth / 4 nibbles, one per byte (TreePosition: a chunk sorts right before the chunks below it);
// its body the slots in pre-order (TreeChunk). `dapp_roots.root` holds each dApp's root.
//
// The chunks above depth 12 that hold no leaf are not stored (`StoredTree.storedFrom`): they are
// a function of the chunks below them, derived when a dApp's tree is first read (at most 4,369
// point queries) and kept in memory for the root they belong to (`DerivedChunks`). A million-key tree's
// top 12 levels are full and change at every commit; stored, they were about 5 of the pages each
// commit wrote (BENCHMARKS.md, Scaling). A crash cannot leave them stale: they are not on disk.
//
// The same functions run on a TEMP table for `verifyChain`, which replays the chain's writes into
// a tree of its own and compares it with the stored one: the replay has the structure the
// commits have.

/// Which table holds the tree: the store's, or verifyChain's replay.
struct TreeTable: Sendable {
    let name: String
    // The statements, made once (a commit runs them several times).
    let select: String
    let upsert: String
    let delete: String

    // Spelled out for each table: built by interpolation, each `static let` carried its own
    // copy of the string-building code (2.4 KB each in the Embedded builds).
    static let live = TreeTable(
        name: "state_nodes",
        select: "SELECT body FROM state_nodes WHERE dapp_id = ?1 AND position = ?2",
        upsert: "INSERT OR REPLACE INTO state_nodes(dapp_id, position, body) VALUES (?1, ?2, ?3)",
        delete: "DELETE FROM state_nodes WHERE dapp_id = ?1 AND position = ?2")
    static let replay = TreeTable(
        name: "temp.replay_nodes",
        select: "SELECT body FROM temp.replay_nodes WHERE dapp_id = ?1 AND position = ?2",
        upsert: "INSERT OR REPLACE INTO temp.replay_nodes(dapp_id, position, body) VALUES (?1, ?2, ?3)",
        delete: "DELETE FROM temp.replay_nodes WHERE dapp_id = ?1 AND position = ?2")

    var columns: String { "(dapp_id BLOB NOT NULL, position BLOB NOT NULL, body BLOB NOT NULL, PRIMARY KEY (dapp_id, position)) WITHOUT ROWID" }
}

/// One stored chunk: four levels of the tree below one position.
struct TreeChunk {
    enum Slot: Equatable {
        /// Below a leaf or an empty subtree: not part of the tree.
        case none
        case empty
        case leaf(path: Digest, valueHash: Digest)
        case node(Digest)
    }

    /// Levels per chunk, and the first slot at the chunk's bottom depth.
    static let levels = 4
    static let bottom = 1 << levels
    static let slotCount = 2 * bottom

    var slots: [Slot]

    init() { slots = [Slot](repeating: .none, count: TreeChunk.slotCount) }

    static let tagEmpty: UInt64 = 0, tagLeaf: UInt64 = 1, tagNode: UInt64 = 2
    /// The tags' bytes at the front of a body.
    static let tagBytes = 8

    /// The body (schema 4): the 31 slots' tags, two bits each (slot i at bits 2(i - 1), a
    /// little-endian UInt64; 0 empty or below a leaf or an empty subtree, 1 leaf, 2 node), then
    /// the slots in pre-order from slot 1: a leaf's path and value hash, a node's hash (a node
    /// above the bottom is followed by its two children). Slot 1's hash is not stored: it is
    /// the parent's bottom slot, or the dApp's root. A chunk of four full levels is 968 bytes,
    /// which with its key fits a 4 KiB B-tree page (at most 1,002 bytes a row; schema 3's 1,023
    /// bytes spilled into an overflow page that every commit wrote again).
    var encoded: [UInt8] {
        var tags: UInt64 = 0
        var out = [UInt8](repeating: 0, count: TreeChunk.tagBytes)
        out.reserveCapacity(TreeChunk.tagBytes + 128)
        encode(1, tags: &tags, into: &out)
        for b in 0..<TreeChunk.tagBytes { out[b] = UInt8(truncatingIfNeeded: tags >> (8 * b)) }
        return out
    }

    private func encode(_ i: Int, tags: inout UInt64, into out: inout [UInt8]) {
        switch slots[i] {
        case .none, .empty: return
        case .leaf(let path, let valueHash):
            tags |= TreeChunk.tagLeaf << (2 * (i - 1))
            path.withUnsafeBytes { out.append(contentsOf: $0) }
            valueHash.withUnsafeBytes { out.append(contentsOf: $0) }
        case .node(let hash):
            tags |= TreeChunk.tagNode << (2 * (i - 1))
            if i > 1 { hash.withUnsafeBytes { out.append(contentsOf: $0) } }
            if i < TreeChunk.bottom {
                encode(2 * i, tags: &tags, into: &out)
                encode(2 * i + 1, tags: &tags, into: &out)
            }
        }
    }

    /// The low bit of every slot's tag: set for a leaf (1), clear for empty (0) and node (2);
    /// tags with any of these bits set name a leaf (3 is never stored).
    static let leafBits: UInt64 = 0x5555_5555_5555_5555

    /// Whether an encoded body's tags name a leaf.
    static func holdsLeaf(_ body: [UInt8]) -> Bool {
        var tags: UInt64 = 0
        for b in 0..<min(tagBytes, body.count) { tags |= UInt64(body[b]) << (8 * b) }
        return tags & leafBits != 0
    }

    /// The slots of a stored chunk whose top, when a node, hashes to `top`.
    init(_ stored: StoredChunk, top: Digest) {
        self.init()
        for i in 1..<TreeChunk.slotCount { slots[i] = stored.slot(i, top: top) }
    }
}

/// A chunk as read from its row: the body and where each slot starts in it, decoded slot by slot
/// when asked (a load reads a few slots of each chunk on its way).
struct StoredChunk {
    let body: [UInt8]
    private let tags: UInt64
    /// Offset of each slot's bytes in `body`, -1 for a slot below a leaf or an empty subtree.
    private var offsets: [Int16]

    /// Indexes a body; nil when it is not one in its only form (a tag outside the tree, an
    /// unknown tag, an empty top, bytes missing or left over).
    init?(body: [UInt8]) {
        guard body.count >= TreeChunk.tagBytes else { return nil }
        self.body = body
        var tags: UInt64 = 0
        for b in 0..<TreeChunk.tagBytes { tags |= UInt64(body[b]) << (8 * b) }
        self.tags = tags
        var offsets = [Int16](repeating: -1, count: TreeChunk.slotCount)
        var offset = TreeChunk.tagBytes
        var seen: UInt64 = 0
        // Pre-order: a slot, then (a node above the bottom) its two children.
        var pending = [1]
        pending.reserveCapacity(8)
        while let i = pending.popLast() {
            offsets[i] = Int16(truncatingIfNeeded: offset)
            seen |= 3 << (2 * (i - 1))
            switch tags >> (2 * (i - 1)) & 3 {
            case TreeChunk.tagEmpty: if i == 1 { return nil }
            case TreeChunk.tagLeaf: offset += 2 * Digest.byteCount
            case TreeChunk.tagNode:
                if i > 1 { offset += Digest.byteCount }
                if i < TreeChunk.bottom {
                    pending.append(2 * i + 1)
                    pending.append(2 * i)
                }
            default: return nil
            }
            guard offset <= body.count else { return nil }
        }
        guard offset == body.count, tags & ~seen == 0 else { return nil }
        self.offsets = offsets
    }

    /// Whether a slot holds a leaf (`TreeChunk.leafBits`; a tag 3 is refused when read).
    var holdsLeaf: Bool { tags & TreeChunk.leafBits != 0 }

    /// Slot 1 as its parent sees it: a leaf (the root chunk of a one-key tree), or a node hashed
    /// from slots 2 and 3, as the body does not hold a node's hash there.
    var top: Subtree {
        if case .leaf(let path, let valueHash) = slot(1) { return .leaf(path: path, valueHash: valueHash) }
        return StateTreeHash.combine(subtree(2) ?? .empty, subtree(3) ?? .empty)
    }

    private func digest(_ at: Int) -> Digest {
        body.withUnsafeBytes { Digest(copying: $0.baseAddress! + at) }
    }

    /// Slot `i`; slot 1, when a node, is `top` (nil: not known to the reader, which then asks
    /// only for the slots below it).
    func slot(_ i: Int, top: Digest? = nil) -> TreeChunk.Slot {
        let at = Int(offsets[i])
        guard at >= 0 else { return .none }
        switch tags >> (2 * (i - 1)) & 3 {
        case TreeChunk.tagLeaf: return .leaf(path: digest(at), valueHash: digest(at + Digest.byteCount))
        case TreeChunk.tagNode:
            guard i > 1 else { return top.map { .node($0) } ?? .none }
            return .node(digest(at))
        default: return .empty
        }
    }

    /// Slot `i` (below the top) as its parent sees it (nil for `.none`).
    func subtree(_ i: Int) -> Subtree? {
        assert(i > 1, "slot 1's hash is its parent's")
        switch slot(i) {
        case .none: return nil
        case .empty: return .empty
        case .leaf(let path, let valueHash): return .leaf(path: path, valueHash: valueHash)
        case .node(let hash): return Subtree(kind: .node, hash: hash)
        }
    }

    /// Copies slot `i` (below the top) and the slots below it in this chunk into `out`.
    func copy(_ i: Int, into out: inout [TreeChunk.Slot]) {
        assert(i > 1, "slot 1's hash is its parent's")
        let s = slot(i)
        out[i] = s
        if case .node = s, i < TreeChunk.bottom {
            copy(2 * i, into: &out)
            copy(2 * i + 1, into: &out)
        }
    }
}

enum TreePosition {
    /// The prefix of the root: no bit chosen yet (all zero; children set theirs).
    static let origin = Digest(Bytes32())

    /// The stored position of the chunk at `depth` (a multiple of 4) below `prefix` (bits from
    /// `depth` on ignored): 0x00, then one byte per four bits of the prefix (its nibbles in
    /// order). Sorted as bytes, a chunk comes right before the chunks below it (pre-order), so
    /// the last chunks of a path mostly share a page.
    static func key(_ prefix: Digest, depth: Int) -> [UInt8] {
        let nibbles = depth / TreeChunk.levels
        var out = [UInt8](repeating: 0, count: 1 + nibbles)
        prefix.withUnsafeBytes { b in
            for i in 0..<nibbles {
                let byte = b[i >> 1]
                out[1 + i] = i & 1 == 0 ? byte >> 4 : byte & 0x0f
            }
        }
        return out
    }
}

/// The chunks of each dApp's tree that are not stored (above `StoredTree.storedFrom`, no leaf),
/// by position, for the root they were derived for: a root names one tree, so they hold for any
/// store whose dApp has that root, whoever wrote it, and a commit rolled back leaves them for a
/// root the dApp does not have, which the next read finds and derives again. One per table (the
/// store's, verifyChain's replay); read and written under the database lock.
final class DerivedChunks {
    // A short list, not a dictionary by dApp: one specialisation less in the Embedded builds.
    private struct Kept {
        let dapp: [UInt8]
        let root: Digest
        let chunks: [[UInt8]: StoredChunk?]
    }
    private var kept: [Kept] = []
    /// dApps kept: at most 273 chunks (about 270 KB) each.
    let dappsKept: Int

    init(keeping dapps: Int = 8) { dappsKept = dapps }

    /// The derived chunks of the dApp's tree at `root` (none of them nil), if kept.
    func chunks(_ dapp: [UInt8], root: Digest) -> [[UInt8]: StoredChunk?]? {
        for k in kept where k.root == root && k.dapp == dapp { return k.chunks }
        return nil
    }

    func keep(_ dapp: [UInt8], root: Digest, _ chunks: [[UInt8]: StoredChunk?]) {
        forget(dapp)
        if kept.count >= dappsKept { kept.remove(at: 0) }
        kept.append(Kept(dapp: dapp, root: root, chunks: chunks))
    }

    func forget(_ dapp: [UInt8]) {
        for i in 0..<kept.count where kept[i].dapp == dapp {
            kept.remove(at: i)
            return
        }
    }
}

/// One dApp's tree in one table.
struct StoredTree {
    let database: SQLiteDatabase
    let table: TreeTable
    let dapp: [UInt8]
    let derived: DerivedChunks

    /// Chunks at depths below this one are stored only when they hold a leaf (the others are
    /// derived: `DerivedChunks`). 12: at most 1 + 16 + 256 derived chunks a dApp, derived with
    /// at most 4,369 point queries (every position down to depth 12); a million-key tree's
    /// commits then write the chunks at 12 and below only.
    static let storedFrom = 3 * TreeChunk.levels

    /// Whether the chunk at `position`, holding a leaf or not, is derived rather than stored.
    static func isDerived(_ position: [UInt8], holdsLeaf: Bool) -> Bool {
        !holdsLeaf && (position.count - 1) * TreeChunk.levels < storedFrom
    }

    /// Chunks read during one load or store, by position (nil inside: read, and no row there).
    final class Rows {
        var chunks: [[UInt8]: StoredChunk?] = [:]
        /// The table holds no row of this dApp (a tree built from scratch): nothing is read.
        var none = false
        /// The derived chunks of the tree being read (`prepare`), by position (none nil; the
        /// type of `chunks`, one specialisation less in the Embedded builds).
        var derived: [[UInt8]: StoredChunk?] = [:]
        var prepared = false
    }

    /// Makes the derived chunks of the tree whose root is `root` ready in `rows`: those kept, or
    /// derived again from the rows below them (`.chainBroken` when those do not hash to `root`).
    private func prepare(root: Digest, _ rows: Rows) throws(DDEError) {
        if rows.prepared { return }
        rows.prepared = true
        if rows.none || root == StateTreeHash.empty { return }
        if let kept = derived.chunks(dapp, root: root) {
            rows.derived = kept
            return
        }
        var chunks = [[UInt8]: StoredChunk?]()
        guard try derive(TreePosition.origin, depth: 0, into: &chunks)?.hash == root else {
            throw broken("its chunks do not hash to its root")
        }
        rows.derived = chunks
        derived.keep(dapp, root: root, chunks)
    }

    /// The subtree whose chunk is at `depth` below `prefix`, nil when there is none: a stored
    /// chunk's top hashed from its slots, a derived one built from the chunks below it and added
    /// to `out`. Above `storedFrom` the chunks below a stored one are visited too (a chunk without
    /// a leaf below one with leaves is derived as well) and must hash as its bottom slots say.
    /// One point query per position down to `storedFrom`.
    private func derive(_ prefix: Digest, depth: Int, into out: inout [[UInt8]: StoredChunk?]) throws(DDEError) -> Subtree? {
        let position = TreePosition.key(prefix, depth: depth)
        let next = depth + TreeChunk.levels
        if let stored = try read(position) {
            let top = stored.top
            guard top.kind == .node || depth == 0 else { throw broken("a chunk's top is not a node") }
            if next < StoredTree.storedFrom {
                for j in TreeChunk.bottom..<TreeChunk.slotCount {
                    guard case .node(let hash) = stored.slot(j) else { continue }
                    guard let below = try derive(StoredTree.prefix(prefix, depth: depth, slot: j), depth: next, into: &out),
                          below.kind == .node, below.hash == hash else {
                        throw broken("a chunk below a stored node is missing or differs")
                    }
                }
            }
            return top
        }
        guard depth < StoredTree.storedFrom else { return nil }
        var chunk = TreeChunk()
        let top = try derive(slot: 1, prefix, depth: depth, &chunk, into: &out)
        guard top.kind == .node else { return nil }
        guard let c = StoredChunk(body: chunk.encoded) else {
            throw DDEError(.internalError, "state tree: a derived chunk that does not read")
        }
        out[position] = c
        return top
    }

    /// Slot `i` of the derived chunk at `depth` below `prefix`, set in `chunk` with the slots
    /// below it: a bottom slot is the top of the chunk below (`derive`), another combines its two
    /// children. (Under an empty slot the slots are set too; the body leaves them out.)
    private func derive(slot i: Int, _ prefix: Digest, depth: Int, _ chunk: inout TreeChunk,
                        into out: inout [[UInt8]: StoredChunk?]) throws(DDEError) -> Subtree {
        let s: Subtree
        if i >= TreeChunk.bottom {
            s = try derive(StoredTree.prefix(prefix, depth: depth, slot: i), depth: depth + TreeChunk.levels, into: &out) ?? .empty
        } else {
            let l = try derive(slot: 2 * i, prefix, depth: depth, &chunk, into: &out)
            s = StateTreeHash.combine(l, try derive(slot: 2 * i + 1, prefix, depth: depth, &chunk, into: &out))
        }
        chunk.slots[i] = s.kind == .empty ? .empty : .node(s.hash)
        return s
    }

    private func broken(_ why: String) -> DDEError {
        DDEError(.chainBroken, "state_nodes of dApp \"\(String(decoding: dapp, as: UTF8.self))\": \(why): run verifyChain")
    }

    /// The prefix of the chunk below bottom slot `slot` of the chunk at `depth` below `prefix`.
    private static func prefix(_ prefix: Digest, depth: Int, slot: Int) -> Digest {
        var child = prefix
        for b in 0..<TreeChunk.levels where (slot - TreeChunk.bottom) >> (TreeChunk.levels - 1 - b) & 1 == 1 {
            child = child.settingPathBit(depth + b)
        }
        return child
    }

    /// The chunk at `position`, or nil when there is none: derived (`prepare` first), or one
    /// point query, once per load.
    private func chunk(_ position: [UInt8], _ rows: Rows) throws(DDEError) -> StoredChunk? {
        if let known = rows.chunks[position] { return known }
        if let c = rows.derived[position] ?? nil { return c }
        if rows.none { return nil }
        let c = try read(position)
        rows.chunks[position] = .some(c)
        return c
    }

    /// The stored chunk at `position`: one point query.
    private func read(_ position: [UInt8]) throws(DDEError) -> StoredChunk? {
        let body = try database.withStatement(table.select) { s throws(DDEError) -> [UInt8]? in
            try s.bind(1, blob: dapp)
            try s.bind(2, blob: position)
            return try s.step() ? s.blob(0) : nil
        }
        guard let body else { return nil }
        guard let c = StoredChunk(body: body) else { throw broken("a row's body is not a chunk") }
        return c
    }

    /// The part of the dApp's stored tree that the paths (sorted, unique) run through: nodes on
    /// the paths shown, leaves beside them in full (a delete may lift one), other nodes as their
    /// hash. O(paths x depth / 4) rows read.
    /// `root`: the dApp's root, the hash of the top chunk's top (not stored in the chunk).
    func load(root: Digest, paths: [Digest]) throws(DDEError) -> PartialNode {
        try load(root: root, paths: paths, Rows())
    }

    private func load(root: Digest, paths: [Digest], _ rows: Rows) throws(DDEError) -> PartialNode {
        try prepare(root: root, rows)
        guard let top = try chunk(TreePosition.key(TreePosition.origin, depth: 0), rows) else { return .empty }
        return try expand(top, 1, top: root, depth: 0, prefix: TreePosition.origin, paths[...], rows)
    }

    /// `top`: the hash of chunk `c`'s slot 1 when it is a node.
    private func expand(_ c: StoredChunk, _ i: Int, top: Digest, depth: Int, prefix: Digest,
                        _ paths: ArraySlice<Digest>, _ rows: Rows) throws(DDEError) -> PartialNode {
        switch c.slot(i, top: top) {
        case .none: throw broken("a chunk lacks a slot")
        case .empty: return .empty
        case .leaf(let path, let valueHash): return .leaf(path: path, valueHash: valueHash)
        case .node(let hash):
            if paths.isEmpty { return .opaque(Subtree(kind: .node, hash: hash)) }
            guard depth < StateTreeHash.depth - 1 else { throw broken("a node at depth \(depth)") }
            if i >= TreeChunk.bottom {
                guard let next = try chunk(TreePosition.key(prefix, depth: depth), rows) else {
                    throw broken("the chunk below a node at depth \(depth) is missing")
                }
                return try expand(next, 1, top: hash, depth: depth, prefix: prefix, paths, rows)
            }
            let k = StateProof.splitIndex(paths, depth: depth)
            return .branch(try expand(c, 2 * i, top: top, depth: depth + 1, prefix: prefix, paths[..<k], rows),
                           try expand(c, 2 * i + 1, top: top, depth: depth + 1, prefix: prefix.settingPathBit(depth), paths[k...], rows))
        }
    }

    /// Writes `new` (a loaded or proven tree with writes applied, canonical, folded) back: the
    /// chunks it shows are rewritten (but for those read, for the loaded tree or for slots `new`
    /// gives by hash, whose bodies did not change: an unread row is not read just to compare),
    /// and the chunks `replacing` (the
    /// tree before the writes) shows that `new` no longer has are deleted; nil when the writes
    /// only set keys, so that no chunk can go (a set only adds nodes). Slots that `new` gives by
    /// hash only are copied from the stored chunk, which must agree with that hash. Returns the
    /// new root. `root`: the tree's root before.
    func store(_ new: FoldedNode, replacing old: PartialNode?, root: Digest) throws(DDEError) -> Digest {
        try store(new, replacing: old, root: root, Rows())
    }

    private func store(_ new: FoldedNode, replacing old: PartialNode?, root: Digest, _ rows: Rows) throws(DDEError) -> Digest {
        try prepare(root: root, rows)
        var before = [[UInt8]]()
        if let old { StoredTree.chunkPositions(old, depth: 0, prefix: TreePosition.origin, into: &before) }
        var after = [[UInt8]: [UInt8]]()
        let top: Subtree
        switch new {
        case .empty: top = .empty
        case .opaque(let s): top = s
        case .leaf, .branch:
            top = try emit(new, depth: 0, prefix: TreePosition.origin, rows, into: &after)
        }
        // The derived chunks of the new tree: those before, changed where the paths run (taken
        // from `rows` and the kept ones, so that the dictionary changes in place, not copied).
        // Each position comes once in `after`: what `derivedAfter` holds there is the old tree's.
        var derivedAfter = rows.derived
        rows.derived = [:]
        derived.forget(dapp)
        for (position, body) in after {
            if StoredTree.isDerived(position, holdsLeaf: TreeChunk.holdsLeaf(body)) {
                guard let c = StoredChunk(body: body) else {
                    throw DDEError(.internalError, "state tree: a chunk that does not read")
                }
                // Stored before (it held a leaf), or new: no row may stay.
                if derivedAfter.updateValue(c, forKey: position) == nil { try remove(position, rows) }
                continue
            }
            derivedAfter[position] = nil
            if let stored = rows.chunks[position] ?? nil, stored.body == body { continue }
            try database.withStatement(table.upsert) { s throws(DDEError) in
                try s.bind(1, blob: dapp)
                try s.bind(2, blob: position)
                try s.bind(3, blob: body)
                try s.step()
            }
        }
        for position in before where after[position] == nil {
            if derivedAfter.removeValue(forKey: position) == nil { try remove(position, rows) }
        }
        derived.keep(dapp, root: top.hash, derivedAfter)
        return top.hash
    }

    private func remove(_ position: [UInt8], _ rows: Rows) throws(DDEError) {
        if rows.none { return }
        try database.withStatement(table.delete) { s throws(DDEError) in
            try s.bind(1, blob: dapp)
            try s.bind(2, blob: position)
            try s.step()
        }
    }

    /// The positions of the chunks a canonical tree shows: the root's when it is a leaf or a
    /// branch, and each branch at a depth that is a multiple of 4.
    private static func chunkPositions(_ node: PartialNode, depth: Int, prefix: Digest, into out: inout [[UInt8]]) {
        switch node {
        case .empty, .opaque: return
        case .leaf: if depth == 0 { out.append(TreePosition.key(prefix, depth: 0)) }
        case .branch(let l, let r):
            if depth % TreeChunk.levels == 0 { out.append(TreePosition.key(prefix, depth: depth)) }
            chunkPositions(l, depth: depth + 1, prefix: prefix, into: &out)
            chunkPositions(r, depth: depth + 1, prefix: prefix.settingPathBit(depth), into: &out)
        }
    }

    /// The chunk of `node` (a leaf or branch at `depth`, a multiple of 4) and those below it that
    /// it shows, encoded into `out`, hashed once bottom-up; returns its subtree.
    private func emit(_ node: FoldedNode, depth: Int, prefix: Digest, _ rows: Rows,
                      into out: inout [[UInt8]: [UInt8]]) throws(DDEError) -> Subtree {
        let position = TreePosition.key(prefix, depth: depth)
        var slots = TreeChunk()
        let top = try fill(node, 1, depth: depth, prefix: prefix, position, &slots.slots, rows, into: &out)
        out[position] = slots.encoded
        return top
    }

    /// `position`: the chunk's, whose stored row is read only when a slot inside it is given by
    /// hash (a tree of one leaf, or paths that rewrite the whole chunk, reads nothing).
    private func fill(_ node: FoldedNode, _ i: Int, depth: Int, prefix: Digest, _ position: [UInt8],
                      _ slots: inout [TreeChunk.Slot], _ rows: Rows,
                      into out: inout [[UInt8]: [UInt8]]) throws(DDEError) -> Subtree {
        switch node {
        case .empty:
            slots[i] = .empty
            return .empty
        case .leaf(let path, let valueHash, let hash):
            slots[i] = .leaf(path: path, valueHash: valueHash)
            return Subtree(kind: .leaf, hash: hash)
        case .opaque(let s):
            if i >= TreeChunk.bottom && s.kind == .node {
                slots[i] = .node(s.hash)
                return s
            }
            // Inside the chunk: the stored slots below, which must hash as `new` says.
            guard let old = try chunk(position, rows), old.subtree(i) == s else {
                throw DDEError(.chainBroken, "the stored tree of dApp \"\(String(decoding: dapp, as: UTF8.self))\" differs from the proven one beside the written paths (depth \(depth)): run verifyChain")
            }
            old.copy(i, into: &slots)
            return s
        case .branch(let l, let r, let s):
            guard depth < StateTreeHash.depth - 1 else {
                throw DDEError(.internalError, "state tree: a branch at depth \(depth)")
            }
            if i >= TreeChunk.bottom {
                let s = try emit(node, depth: depth, prefix: prefix, rows, into: &out)
                slots[i] = .node(s.hash)
                return s
            }
            // The branch's hash as folded from the same children (an opaque one is checked
            // against the stored chunk in `fill`).
            _ = try fill(l, 2 * i, depth: depth + 1, prefix: prefix, position, &slots, rows, into: &out)
            _ = try fill(r, 2 * i + 1, depth: depth + 1, prefix: prefix.settingPathBit(depth), position, &slots, rows, into: &out)
            guard s.kind == .node else {
                throw DDEError(.internalError, "state tree: a branch with \(s.kind == .empty ? "no leaf" : "one leaf") is not compact")
            }
            slots[i] = .node(s.hash)
            return s
        }
    }

    /// Applies `writes` to the dApp's tree in `table`, whose root is `root`: loads the written
    /// paths, checks that they hash to `root` (`.chainBroken` otherwise: the stored tree was
    /// altered), writes the changed rows. Returns the new root. O(writes x depth) rows.
    func apply(root: Digest, writes: StateWrites) throws(DDEError) -> Digest {
        if writes.isEmpty { return root }
        let paths = StateProof.provenPaths(writes.entries.map { $0.key })
        let rows = Rows()
        let old = try load(root: root, paths: paths, rows)
        var hashes = 0
        let found = old.fold(&hashes).hash
        guard found == root else {
            throw DDEError(.chainBroken, "the stored tree of dApp \"\(String(decoding: dapp, as: UTF8.self))\" hashes to \(found.hex), its root is \(root.hex): run verifyChain")
        }
        var new = old
        for w in writes.entries {
            new = new.writing(StateTreeHash.path(w.key), w.value.map { SHA256.hash($0) }, depth: 0)
        }
        return try store(new.normalized().folded(), replacing: old, root: root, rows)
    }

    /// Builds the dApp's tree in `table` from its whole state (the migration to schema 3, that to
    /// schema 4 when a body is in neither form, and tests): O(n). The table must hold no row of that dApp.
    func build(state: [(key: [UInt8], value: [UInt8])]) throws(DDEError) -> Digest {
        let tree = StateTree(leaves: state.map { (path: StateTreeHash.path($0.key), valueHash: SHA256.hash($0.value)) })
        let rows = Rows()
        rows.none = true
        return try store(tree.fullTree().folded(), replacing: nil, root: StateTreeHash.empty, rows)
    }

}

extension Store {
    // MARK: roots and proofs

    /// The entries of `keys` in the dApp's state (each with its value, or nil when absent) and
    /// their proof against the dApp's tree root: what a v2 task carries. O(keys x log n) rows.
    public func stateProof(_ dappId: String, keys: [[UInt8]]) throws(DDEError) -> (root: Digest, entries: [(key: [UInt8], value: [UInt8]?)], proof: [UInt8]) {
        let p = try read(dappId, keys: keys)
        return (p.state.root, p.entries, p.state.proof)
    }

    /// The same as a PartialState, taken as read (a task built from it checks it when it is
    /// created: `ComputeTask.create`). With `keys` nil, of every key of the dApp when it holds at
    /// most `everyKeyUpTo` (`allKeys`), else of none, read in the same snapshot.
    public func partialState(_ dappId: String, keys: [[UInt8]]?, everyKeyUpTo limit: Int = 0) throws(DDEError) -> PartialState {
        try read(dappId, keys: keys, everyKeyUpTo: limit).state
    }

    /// The entries in the order of `keys` (repeats dropped) and the partial state.
    private func read(_ dappId: String, keys given: [[UInt8]]?, everyKeyUpTo limit: Int = 0) throws(DDEError) -> (entries: [(key: [UInt8], value: [UInt8]?)], state: PartialState) {
        try database.withLock { () throws(DDEError) -> (entries: [(key: [UInt8], value: [UInt8]?)], state: PartialState) in
            // One snapshot (and one read lock of the file): the keys, the root, the chunks and
            // the values of the same commit.
            let opened = try database.beginRead()
            defer { if opened { try? database.end(nested: false) } }
            var entries = [(key: [UInt8], value: [UInt8]?)]()
            if let given {
                for k in firstOccurrences(given) { entries.append((k, try dappValue(dappId, key: k))) }
            } else {
                // The keys with their values: one statement, not one more per key.
                for e in try allEntries(dappId, upTo: limit) ?? [] { entries.append((e.key, e.value)) }
            }
            let dapp = Array(dappId.utf8)
            let root = try dappRoot(dappId)
            let paths = StateProof.provenPaths(given ?? entries.map { $0.key })
            let tree = try StoredTree(database: database, table: .live, dapp: dapp, derived: derivedChunks).load(root: root, paths: paths)
            return (entries, PartialState(unchecked: entries, proof: StateProof(root: root, tree: tree, proven: paths)))
        }
    }

    /// Every key of the dApp when it holds at most `limit` (reads at most limit + 1 rows), else nil.
    public func allKeys(_ dappId: String, upTo limit: Int) throws(DDEError) -> [[UInt8]]? {
        try allEntries(dappId, upTo: limit)?.map { $0.key }
    }

    /// The same with each key's value.
    func allEntries(_ dappId: String, upTo limit: Int) throws(DDEError) -> [(key: [UInt8], value: [UInt8])]? {
        guard limit > 0 else { return nil }
        return try database.withStatement("SELECT key, value FROM dapp_state WHERE dapp_id = ?1 LIMIT ?2") { s throws(DDEError) -> [(key: [UInt8], value: [UInt8])]? in
            try s.bind(1, blob: Array(dappId.utf8))
            try s.bind(2, int64: Int64(limit) + 1)
            var entries = [(key: [UInt8], value: [UInt8])]()
            while try s.step() { entries.append((s.blob(0), s.blob(1))) }
            return entries.count > limit ? nil : entries
        }
    }
}
