// Each dApp's v2 state tree (PROTOCOL.md section 6.2) kept in SQLite, so that a commit reads and
// writes only the nodes on the written keys' paths: O(written keys x log n) rows, never O(n).
//
// Table `state_nodes` (docs/STORE.md): one row per leaf and per node of the compact tree, at its
// position: u16be(depth) || the first ceil(depth/8) bytes of the path prefix (bits after `depth`
// zero). A node row holds its kind (2) and hash; a leaf row (kind 1) also the key's path and
// value hash. An empty subtree has no row. `dapp_roots.root` holds each dApp's root.
//
// The same functions run on a TEMP table for `verifyChain`, which replays the chain's writes into
// a tree of its own and compares it with the stored one: the replay has the structure the
// commits have.

/// Which table holds the tree: the store's, or verifyChain's replay.
struct TreeTable: Sendable {
    let name: String
    static let live = TreeTable(name: "state_nodes")
    static let replay = TreeTable(name: "temp.replay_nodes")

    var columns: String { "(dapp_id BLOB NOT NULL, position BLOB NOT NULL, kind INTEGER NOT NULL, hash BLOB NOT NULL, path BLOB, value_hash BLOB, PRIMARY KEY (dapp_id, position)) WITHOUT ROWID" }
    /// Positions one `selectMany` asks for (unused ones repeat the last).
    static let manyCount = 2 * StoredTree.levelsPerRead + 1
    var selectMany: String {
        var list = "?2"
        for i in 3...(TreeTable.manyCount + 1) { list += ", ?\(i)" }
        return "SELECT position, kind, hash, path, value_hash FROM \(name) WHERE dapp_id = ?1 AND position IN (\(list))"
    }
    var upsert: String { "INSERT OR REPLACE INTO \(name)(dapp_id, position, kind, hash, path, value_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)" }
    var delete: String { "DELETE FROM \(name) WHERE dapp_id = ?1 AND position = ?2" }
}

/// One stored row.
struct TreeRow: Equatable {
    var kind: SubtreeKind
    var hash: Digest
    var path: Digest?
    var valueHash: Digest?
}

enum TreePosition {
    /// The prefix of the root: no bit chosen yet (all zero; children set theirs).
    static let origin = Digest(Bytes32())

    /// The stored position of the subtree at `depth` whose path prefix is `prefix` (bits from
    /// `depth` on ignored).
    static func key(_ prefix: Digest, depth: Int) -> [UInt8] {
        var out: [UInt8] = [UInt8(truncatingIfNeeded: depth >> 8), UInt8(truncatingIfNeeded: depth)]
        let bytes = prefix.pathPrefix(depth).bytes
        out.append(contentsOf: bytes[0..<((depth + 7) / 8)])
        return out
    }
}

/// One dApp's tree in one table.
struct StoredTree {
    let database: SQLiteDatabase
    let table: TreeTable
    let dapp: [UInt8]

    /// Rows read during one load, by position (nil inside: read, and no row there).
    final class Rows {
        var byPosition: [[UInt8]: TreeRow?] = [:]
    }

    /// Levels of one path read by one query: the rows on the path and beside it at each level.
    static let levelsPerRead = 16

    /// The row at `position` (depth `depth`), which lies on `path` or beside it. When it was not
    /// read yet, one query reads the rows on `path` and beside it for `levelsPerRead` levels from
    /// there: a path of a million-key tree costs two queries, not one per level.
    private func row(_ position: [UInt8], path: Digest, depth: Int, _ rows: Rows) throws(DDEError) -> TreeRow? {
        if let known = rows.byPosition[position] { return known }
        var positions = [[UInt8]]()
        positions.reserveCapacity(2 * StoredTree.levelsPerRead)
        for d in depth..<min(depth + StoredTree.levelsPerRead, StateTreeHash.depth) {
            positions.append(TreePosition.key(path, depth: d))
            if d > 0 { positions.append(TreePosition.key(path.flippingPathBit(d - 1), depth: d)) }
        }
        if !positions.contains(position) { positions.append(position) }
        for p in positions where rows.byPosition[p] == nil { rows.byPosition[p] = .some(nil) }
        try database.withStatement(table.selectMany) { s throws(DDEError) in
            try s.bind(1, blob: dapp)
            for i in 0..<TreeTable.manyCount {
                try s.bind(Int32(i + 2), blob: positions[min(i, positions.count - 1)])
            }
            while try s.step() {
                rows.byPosition[s.blob(0)] = .some(try treeRow(s))
            }
        }
        return rows.byPosition[position] ?? nil
    }

    private func treeRow(_ s: SQLiteStatement) throws(DDEError) -> TreeRow {
        func broken(_ why: ErrorDetail) -> DDEError {
            DDEError(.chainBroken, "state_nodes of dApp \"\(String(decoding: dapp, as: UTF8.self))\": \(why): run verifyChain")
        }
        let kind = s.int64(1)
        let hash = s.blob(2)
        guard hash.count == Digest.byteCount else { throw broken("a row holds a hash of \(hash.count) bytes") }
        switch kind {
        case 1:
            let path = s.blob(3), value = s.blob(4)
            guard path.count == Digest.byteCount, value.count == Digest.byteCount else {
                throw broken("a leaf row lacks its path or value hash")
            }
            return TreeRow(kind: .leaf, hash: Digest(unchecked: hash), path: Digest(unchecked: path),
                           valueHash: Digest(unchecked: value))
        case 2:
            return TreeRow(kind: .node, hash: Digest(unchecked: hash), path: nil, valueHash: nil)
        default:
            throw broken("a row has kind \(kind)")
        }
    }

    /// The part of the dApp's stored tree that the paths (sorted, unique) run through: nodes on
    /// the paths shown, leaves beside them in full (a delete may lift one), other nodes as their
    /// hash. O(paths x depth) rows read.
    func load(paths: [Digest]) throws(DDEError) -> PartialNode {
        let rows = Rows()
        let top = TreePosition.key(TreePosition.origin, depth: 0)
        let root = try row(top, path: paths.first ?? TreePosition.origin, depth: 0, rows)
        return try expand(row: root, depth: 0, prefix: TreePosition.origin, paths[...], rows)
    }

    private func expand(row: TreeRow?, depth: Int, prefix: Digest,
                        _ paths: ArraySlice<Digest>, _ rows: Rows) throws(DDEError) -> PartialNode {
        guard let row else { return .empty }
        if row.kind == .leaf { return .leaf(path: row.path!, valueHash: row.valueHash!) }
        guard let first = paths.first else { return .opaque(Subtree(kind: .node, hash: row.hash)) }
        guard depth < StateTreeHash.depth - 1 else {
            throw DDEError(.chainBroken, "state_nodes of dApp \"\(String(decoding: dapp, as: UTF8.self))\": a node at depth \(depth): run verifyChain")
        }
        let k = StateProof.splitIndex(paths, depth: depth)
        let right = prefix.settingPathBit(depth)
        // Both children lie on, or beside, any path below this node.
        let l = try self.row(TreePosition.key(prefix, depth: depth + 1), path: first, depth: depth + 1, rows)
        let r = try self.row(TreePosition.key(right, depth: depth + 1), path: first, depth: depth + 1, rows)
        // A sibling off the paths that holds one leaf is loaded whole (a delete beside it lifts it).
        return .branch(try expand(row: l, depth: depth + 1, prefix: prefix, paths[..<k], rows),
                       try expand(row: r, depth: depth + 1, prefix: right, paths[k...], rows))
    }

    /// Writes `new` (the loaded `old` with writes applied) back: the rows of its canonical form
    /// that differ from `old`'s are written, `old`'s rows that are gone are deleted. Returns the
    /// new root.
    func store(old: PartialNode, new: PartialNode) throws(DDEError) -> Digest {
        var before = [[UInt8]: TreeRow]()
        _ = StoredTree.emit(old, depth: 0, prefix: TreePosition.origin, into: &before)
        var after = [[UInt8]: TreeRow]()
        let top = StoredTree.emit(new.normalized(), depth: 0, prefix: TreePosition.origin, into: &after)
        for (position, row) in after {
            if before.removeValue(forKey: position) == row { continue }
            try database.withStatement(table.upsert) { s throws(DDEError) in
                try s.bind(1, blob: dapp)
                try s.bind(2, blob: position)
                try s.bind(3, int64: Int64(row.kind.rawValue))
                try s.bind(4, blob: row.hash.bytes)
                if let p = row.path { try s.bind(5, blob: p.bytes) } else { try s.bindNull(5) }
                if let v = row.valueHash { try s.bind(6, blob: v.bytes) } else { try s.bindNull(6) }
                try s.step()
            }
        }
        for position in before.keys {
            try database.withStatement(table.delete) { s throws(DDEError) in
                try s.bind(1, blob: dapp)
                try s.bind(2, blob: position)
                try s.step()
            }
        }
        return top.hash
    }

    /// The rows of a canonical tree (as loaded, or normalised after writes), hashed once
    /// bottom-up; returns its subtree.
    private static func emit(_ node: PartialNode, depth: Int, prefix: Digest, into out: inout [[UInt8]: TreeRow]) -> Subtree {
        switch node {
        case .empty: return .empty
        case .opaque(let s): return s
        case .leaf(let path, let valueHash):
            let hash = StateTreeHash.leaf(path: path, valueHash: valueHash)
            out[TreePosition.key(prefix, depth: depth)] = TreeRow(kind: .leaf, hash: hash, path: path, valueHash: valueHash)
            return Subtree(kind: .leaf, hash: hash)
        case .branch(let l, let r):
            let s = StateTreeHash.combine(emit(l, depth: depth + 1, prefix: prefix, into: &out),
                                          emit(r, depth: depth + 1, prefix: prefix.settingPathBit(depth), into: &out))
            out[TreePosition.key(prefix, depth: depth)] = TreeRow(kind: s.kind, hash: s.hash)
            return s
        }
    }

    /// Applies `writes` to the dApp's tree in `table`, whose root is `root`: loads the written
    /// paths, checks that they hash to `root` (`.chainBroken` otherwise: the stored tree was
    /// altered), writes the changed rows. Returns the new root. O(writes x depth) rows.
    func apply(root: Digest, writes: StateWrites) throws(DDEError) -> Digest {
        if writes.isEmpty { return root }
        let paths = StateProof.provenPaths(writes.entries.map { $0.key })
        let old = try load(paths: paths)
        var hashes = 0
        let found = old.fold(&hashes).hash
        guard found == root else {
            throw DDEError(.chainBroken, "the stored tree of dApp \"\(String(decoding: dapp, as: UTF8.self))\" hashes to \(found.hex), its root is \(root.hex): run verifyChain")
        }
        var new = old
        for w in writes.entries {
            new = new.writing(StateTreeHash.path(w.key), w.value.map { SHA256.hash($0) }, depth: 0)
        }
        return try store(old: old, new: new)
    }

    /// Builds the dApp's tree in `table` from its whole state (the migration to schema 3, and
    /// tests): O(n). The table must hold no row of that dApp.
    func build(state: [(key: [UInt8], value: [UInt8])]) throws(DDEError) -> Digest {
        let tree = StateTree(leaves: state.map { (path: StateTreeHash.path($0.key), valueHash: SHA256.hash($0.value)) })
        return try store(old: .empty, new: tree.fullTree())
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
    /// parsed: `ComputeTask.create`).
    public func partialState(_ dappId: String, keys: [[UInt8]]) throws(DDEError) -> PartialState {
        try read(dappId, keys: keys).state
    }

    /// The entries in the order of `keys` (repeats dropped) and the partial state.
    private func read(_ dappId: String, keys: [[UInt8]]) throws(DDEError) -> (entries: [(key: [UInt8], value: [UInt8]?)], state: PartialState) {
        try database.withLock { () throws(DDEError) -> (entries: [(key: [UInt8], value: [UInt8]?)], state: PartialState) in
            let dapp = Array(dappId.utf8)
            let root = try dappRoot(dappId)
            let paths = StateProof.provenPaths(keys)
            let tree = try StoredTree(database: database, table: .live, dapp: dapp).load(paths: paths)
            var entries = [(key: [UInt8], value: [UInt8]?)]()
            var seen = Set<[UInt8]>()
            for k in keys where seen.insert(k).inserted { entries.append((k, try dappValue(dappId, key: k))) }
            return (entries, PartialState(unchecked: entries, proof: StateProof(root: root, tree: tree, proven: paths)))
        }
    }

    /// Every key of the dApp when it holds at most `limit` (reads at most limit + 1 rows), else nil.
    public func allKeys(_ dappId: String, upTo limit: Int) throws(DDEError) -> [[UInt8]]? {
        guard limit > 0 else { return nil }
        return try database.withStatement("SELECT key FROM dapp_state WHERE dapp_id = ?1 LIMIT ?2") { s throws(DDEError) -> [[UInt8]]? in
            try s.bind(1, blob: Array(dappId.utf8))
            try s.bind(2, int64: Int64(limit) + 1)
            var keys = [[UInt8]]()
            while try s.step() { keys.append(s.blob(0)) }
            return keys.count > limit ? nil : keys
        }
    }
}
