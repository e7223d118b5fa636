// The store's schema, versioned with `PRAGMA user_version`.
//
// Each migration takes the file from version i to i+1. They run in order, each in its own
// transaction that also sets user_version, so a crash mid-upgrade leaves the file at a whole
// version. A file whose user_version is above `StoreSchema.current` was written by a newer dde and
// is refused with `.schemaVersion` before anything is read or written.
//
// Hashes, keys and signatures are stored as raw bytes (BLOB); protocol objects as their RFC 8785
// canonical bytes, so every hash can be recomputed from exactly what was hashed. dApp ids are
// stored as their UTF-8 bytes (BLOB) so comparison is by bytes, never by collation.
enum StoreSchema {
    /// One step: its SQL, then (when the rows need more than SQL) a Swift step in the same
    /// transaction.
    struct Migration {
        let sql: String
        let then: ((SQLiteDatabase) throws(DDEError) -> Void)?

        init(_ sql: String, then: ((SQLiteDatabase) throws(DDEError) -> Void)? = nil) {
            self.sql = sql
            self.then = then
        }
    }

    static let migrations: [Migration] = [
        // 1: the first schema.
        Migration("""
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY NOT NULL,
            value BLOB NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE receipts (
            idx          INTEGER PRIMARY KEY NOT NULL CHECK (idx >= 0),
            receipt_hash BLOB NOT NULL UNIQUE,
            task_id      BLOB NOT NULL UNIQUE,
            dapp_id      BLOB NOT NULL,
            timestamp    INTEGER NOT NULL,
            receipt_json BLOB NOT NULL,
            signature    BLOB NOT NULL
        );

        CREATE TABLE compute_results (
            idx         INTEGER PRIMARY KEY NOT NULL REFERENCES receipts(idx),
            task_json   BLOB NOT NULL,
            result_json BLOB NOT NULL
        );

        CREATE TABLE dapp_state (
            dapp_id BLOB NOT NULL,
            key     BLOB NOT NULL,
            value   BLOB NOT NULL,
            PRIMARY KEY (dapp_id, key)
        ) WITHOUT ROWID;

        CREATE TABLE dapp_roots (
            dapp_id      BLOB PRIMARY KEY NOT NULL,
            root         BLOB NOT NULL,
            last_receipt INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE reputation (
            executor_key        BLOB PRIMARY KEY NOT NULL,
            successes           REAL NOT NULL,
            failures            REAL NOT NULL,
            timeouts            REAL NOT NULL,
            latency_sum         REAL NOT NULL,
            latency_count       REAL NOT NULL,
            decayed_at          INTEGER NOT NULL,
            last_seen           INTEGER NOT NULL,
            consecutive_invalid INTEGER NOT NULL,
            banned_until        INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE evidence (
            id           INTEGER PRIMARY KEY,
            executor_key BLOB NOT NULL,
            task_id      BLOB NOT NULL,
            status       INTEGER NOT NULL,
            detail       TEXT NOT NULL,
            task_json    BLOB NOT NULL,
            result_json  BLOB NOT NULL,
            recorded_at  INTEGER NOT NULL
        );
        CREATE INDEX evidence_by_executor ON evidence(executor_key);
        """),
        // 2: audited delegation (PROTOCOL.md section 11): how many of an executor's results were
        // independently validated (replicated or audited agreement), and when it was proven a
        // liar (0: never; a convicted executor is blacklisted for good). Evidence keeps the
        // portable document (section 12) that anyone can check, and whether it convicted.
        Migration("""
        ALTER TABLE reputation ADD COLUMN validated INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE reputation ADD COLUMN convicted_at INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE evidence ADD COLUMN document BLOB;
        ALTER TABLE evidence ADD COLUMN convicted INTEGER NOT NULL DEFAULT 0;
        """),
        // 3: each dApp's v2 state tree (PROTOCOL.md section 6.2, StateTreeStore.swift): one row per
        // chunk of four levels at its position, so a commit touches O(written keys x log n) rows; from
        // now on dapp_roots.root is the v2 tree root (a v1 root is computed from the state when
        // a v1 task needs one). `populateTrees` builds the trees of the existing states and sets
        // their roots in the same transaction (O(n) once).
        Migration("CREATE TABLE state_nodes \(TreeTable.live.columns);", then: populateTrees),
        // 4: the chunks' bodies in a shorter form (TreeChunk.encoded: two-bit tags, the top's
        // hash left to the parent) that fits a 4 KiB page: `shortenChunks` rewrites each row.
        Migration("", then: shortenChunks),
        // 5: the chunks above depth 12 (positions of at most 3 bytes) that hold no leaf are
        // derived, not stored (StoredTree.storedFrom): their rows go. A leaf's tag (1) sets the
        // low bit of its two, so the tags' hex digits of a chunk without one are 0, 2, 8 and A
        // only. One pass over the table.
        Migration("""
        DELETE FROM state_nodes WHERE length(position) <= 3 AND length(body) >= 8
            AND trim(hex(substr(body, 1, 8)), '028A') = '';
        """),
    ]

    /// Migration 3's Swift step: the tree of every dApp's current state.
    static func populateTrees(_ db: SQLiteDatabase) throws(DDEError) {
        var dapps = [[UInt8]]()
        try db.withStatement("SELECT DISTINCT dapp_id FROM dapp_state") { s throws(DDEError) in
            while try s.step() { dapps.append(s.blob(0)) }
        }
        // dApps whose state is empty keep the empty root, the same in v1 and v2.
        for dapp in dapps {
            var state = [(key: [UInt8], value: [UInt8])]()
            try db.withStatement("SELECT key, value FROM dapp_state WHERE dapp_id = ?1") { s throws(DDEError) in
                try s.bind(1, blob: dapp)
                while try s.step() { state.append((s.blob(0), s.blob(1))) }
            }
            let root = try StoredTree(database: db, table: .live, dapp: dapp, derived: DerivedChunks()).build(state: state)
            try db.withStatement("UPDATE dapp_roots SET root = ?2 WHERE dapp_id = ?1") { s throws(DDEError) in
                try s.bind(1, blob: dapp)
                try s.bind(2, blob: root.bytes)
                try s.step()
            }
        }
    }

    /// Migration 4's Swift step: each chunk's body from schema 3's form (every slot a tag
    /// byte, slot 1's hash too) to `TreeChunk.encoded`'s, row by row: no hashing, the roots
    /// untouched, a thousand rows in memory at a time (a million-key tree has 360,000). A body in
    /// the new form already (a schema-2 file, whose trees migration 3 just built) stays; a body in
    /// neither form makes the trees be built again from the states, as migration 3 does.
    static func shortenChunks(_ db: SQLiteDatabase) throws(DDEError) {
        var last = (dapp: [UInt8](), position: [UInt8]())
        while true {
            var rows = [(dapp: [UInt8], position: [UInt8], body: [UInt8])]()
            try db.withStatement("SELECT dapp_id, position, body FROM state_nodes WHERE (dapp_id, position) > (?1, ?2) ORDER BY dapp_id, position LIMIT 1000") { s throws(DDEError) in
                try s.bind(1, blob: last.dapp)
                try s.bind(2, blob: last.position)
                while try s.step() { rows.append((s.blob(0), s.blob(1), s.blob(2))) }
            }
            guard let end = rows.last else { return }
            last = (end.dapp, end.position)
            for row in rows where StoredChunk(body: row.body) == nil {
                guard let body = schema3Chunk(row.body) else {
                    try db.execute("DELETE FROM state_nodes")
                    try populateTrees(db)
                    return
                }
                try db.withStatement("UPDATE state_nodes SET body = ?3 WHERE dapp_id = ?1 AND position = ?2") { s throws(DDEError) in
                    try s.bind(1, blob: row.dapp)
                    try s.bind(2, blob: row.position)
                    try s.bind(3, blob: body)
                    try s.step()
                }
            }
        }
    }

    /// A schema-3 chunk body (the slots in pre-order from slot 1, each a tag byte: 0 empty, 1
    /// leaf and its 64 bytes, 2 node and its hash, a node above the bottom followed by its two
    /// children) in `TreeChunk.encoded`'s form; nil when it is not one.
    static func schema3Chunk(_ old: [UInt8]) -> [UInt8]? {
        var tags: UInt64 = 0
        var out = [UInt8](repeating: 0, count: TreeChunk.tagBytes)
        out.reserveCapacity(old.count)
        var at = 0
        var pending = [1]
        while let i = pending.popLast() {
            guard at < old.count else { return nil }
            let tag = old[at]
            at += 1
            let size: Int
            switch UInt64(tag) {
            case TreeChunk.tagEmpty: if i == 1 { return nil } else { continue }
            case TreeChunk.tagLeaf: size = 2 * Digest.byteCount
            case TreeChunk.tagNode:
                size = Digest.byteCount
                if i < TreeChunk.bottom {
                    pending.append(2 * i + 1)
                    pending.append(2 * i)
                }
            default: return nil
            }
            guard at + size <= old.count else { return nil }
            tags |= UInt64(tag) << (2 * (i - 1))
            // Slot 1's hash (a node's) is its parent's bottom slot: not kept.
            if i > 1 || tag == UInt8(TreeChunk.tagLeaf) { out.append(contentsOf: old[at..<at + size]) }
            at += size
        }
        guard at == old.count else { return nil }
        for b in 0..<TreeChunk.tagBytes { out[b] = UInt8(truncatingIfNeeded: tags >> (8 * b)) }
        return out
    }

    /// The schema version this build writes.
    static var current: Int64 { Int64(migrations.count) }

    /// Brings the file to `current`, or refuses a file from a newer dde.
    static func migrate(_ db: SQLiteDatabase) throws(DDEError) {
        let found = try db.queryInt64("PRAGMA user_version") ?? 0
        if found > current {
            throw DDEError(.schemaVersion, "store \(db.path) has schema version \(found), this dde knows up to \(current): open it with a newer dde")
        }
        if found < 0 {
            throw DDEError(.schemaVersion, "store \(db.path) has a negative schema version \(found): not a dde store")
        }
        var version = found
        while version < current {
            try db.transaction { () throws(DDEError) in
                // Another process may have migrated between our read and our write lock.
                let now = try db.queryInt64("PRAGMA user_version") ?? 0
                guard now == version else { return }
                let step = migrations[Int(version)]
                try db.execute(step.sql)
                try step.then?(db)
                try db.execute("PRAGMA user_version = \(version + 1)")
            }
            version = try db.queryInt64("PRAGMA user_version") ?? 0
            if version > current {
                throw DDEError(.schemaVersion, "store \(db.path) was upgraded to schema \(version) by a newer dde while opening")
            }
        }
    }
}
