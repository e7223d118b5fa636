/// The requester's durable store: one SQLite file holding the receipt chain, the compute_results
/// behind it, every dApp's key-value state and root, executor reputation, and evidence.
///
/// Thread-safe: one `Store` may be shared by threads; each operation is atomic (see
/// `SQLiteDatabase`). Several processes may open the same file; writes serialise on SQLite's
/// write lock (BEGIN IMMEDIATE) with a busy timeout.
public final class Store: @unchecked Sendable {
    let database: SQLiteDatabase
    /// Executor reputation, kept in the same file.
    public let reputation: Reputation
    /// The head, the bound identity and every dApp's root as this connection's last commit left
    /// them, so the next commit links to the head without reading and parsing its receipt.
    /// Trusted only while `currentCache` finds it current (see there): PRAGMA data_version sees
    /// other connections' writes, not this one's, so any code that writes `meta` or `dapp_roots`
    /// on this connection other than a commit must set it to nil (today: none; the schema
    /// migration runs before the first commit). Read and written under the database lock.
    var headCache: CachedHead?
    /// Marks for `SQLiteDatabase.markPending`, one per commit.
    var headMarks: UInt64 = 0
    /// The chunks of the dApps' trees that are not stored (StateTreeStore.swift), by root.
    let derivedChunks = DerivedChunks()

    /// Opens or creates the store at `path`, bringing its schema up to date.
    /// Throws `.schemaVersion` for a store written by a newer dde, `.store` when SQLite fails.
    public init(path: String, reputationConfig: ReputationConfig = ReputationConfig(),
                busyTimeoutMs: Int32 = 5000) throws(DDEError) {
        try reputationConfig.validate()
        let db = try SQLiteDatabase(path: path, busyTimeoutMs: busyTimeoutMs)
        try StoreSchema.migrate(db)
        database = db
        reputation = Reputation(table: ReputationTable(db), config: reputationConfig)
    }

    /// Closes the file. Later calls fail with `.closed`. Also happens when the store is released.
    /// What SQLite reports while closing is dropped: `closeChecked` reports it.
    public func close() { database.close() }

    /// Closes the file as `close` does, throwing `.store` when SQLite reported a failure while
    /// closing (the file is closed in every case; commits that returned were already durable).
    public func closeChecked() throws(DDEError) {
        if let error = database.close() { throw error }
    }

    public var isOpen: Bool { database.isOpen }

    /// The schema version of the file (equal to `Store.schemaVersion` once open).
    public func fileSchemaVersion() throws(DDEError) -> Int64 {
        try database.queryInt64("PRAGMA user_version") ?? 0
    }

    /// The schema version this build writes.
    public static var schemaVersion: Int64 { StoreSchema.current }

    // MARK: identity

    /// The local identity bound to this store (set by the first commit), or nil.
    public func identity() throws(DDEError) -> PublicKey? {
        try database.withStatement("SELECT value FROM meta WHERE key = 'identity'") { s throws(DDEError) -> PublicKey? in
            guard try s.step() else { return nil }
            let bytes = s.blob(0)
            guard let key = try? PublicKey(bytes: bytes) else {
                throw DDEError(.chainBroken, "meta.identity holds \(bytes.count) bytes, not a 32-byte public key")
            }
            return key
        }
    }

    /// Binds `key` as the store's identity, or checks that it is the one already bound.
    /// Receipts in one store are all signed by one identity.
    /// Runs in the caller's transaction (commit's, which fails whole when this throws): no
    /// savepoint of its own.
    func bindIdentity(_ key: PublicKey) throws(DDEError) {
        if let bound = try identity() {
            guard bound == key else {
                throw DDEError(.key, "this store belongs to identity \(bound.hex), not \(key.hex): use its key pair or another store")
            }
            return
        }
        try database.withStatement("INSERT INTO meta(key, value) VALUES ('identity', ?1)") { s throws(DDEError) in
            try s.bind(1, blob: key.bytes)
            try s.step()
        }
    }

    // MARK: dApp state and roots

    /// The dApp's current state root: the root of its v2 state tree (PROTOCOL.md section 6.2;
    /// the empty-state root for a dApp never written).
    public func dappRoot(_ dappId: String) throws(DDEError) -> Digest {
        try database.withStatement("SELECT root FROM dapp_roots WHERE dapp_id = ?1") { s throws(DDEError) -> Digest in
            try s.bind(1, blob: Array(dappId.utf8))
            guard try s.step() else { return StateRoot.empty }
            let bytes = s.blob(0)
            guard bytes.count == Digest.byteCount else {
                throw DDEError(.chainBroken, "dapp_roots for \(dappId) holds \(bytes.count) bytes, not a 32-byte root: run verifyChain")
            }
            return Digest(unchecked: bytes)
        }
    }

    /// Every dApp with a root, sorted by id bytes: (dappId UTF-8 bytes, root).
    func dappRoots() throws(DDEError) -> [(dappId: [UInt8], root: Digest)] {
        try database.withStatement("SELECT dapp_id, root FROM dapp_roots") { s throws(DDEError) -> [(dappId: [UInt8], root: Digest)] in
            var out: [(dappId: [UInt8], root: Digest)] = []
            while try s.step() {
                let root = s.blob(1)
                guard root.count == Digest.byteCount else {
                    throw DDEError(.chainBroken, "dapp_roots holds a root of \(root.count) bytes: run verifyChain")
                }
                out.append((s.blob(0), Digest(unchecked: root)))
            }
            sortByIndex(&out) { bytesLess($0.dappId, $1.dappId) }
            return out
        }
    }

    /// The node root: the state-root tree over (dappId, raw 32 bytes of the dApp's root), the
    /// roots being v2 tree roots (receiptVersion 3).
    public func nodeRoot() throws(DDEError) -> Digest {
        try database.withLock { () throws(DDEError) -> Digest in
            StoreRoots.node(try dappRoots())
        }
    }

    /// The dApp's v1 state root (PROTOCOL.md section 6.1), from its whole stored state: O(n),
    /// for a v1 task (which carries the whole state anyway).
    public func dappRootV1(_ dappId: String) throws(DDEError) -> Digest {
        StateRoot.root(sortedEntries: try dappState(dappId))
    }

    /// The node root over every dApp's v1 root (receipts before version 3): O(all state); only
    /// the first commit after the migration to schema 3 needs it.
    func nodeRootV1() throws(DDEError) -> Digest {
        var roots = [(dappId: [UInt8], root: Digest)]()
        for d in try dappRoots() { roots.append((d.dappId, try dappRootV1(String(decoding: d.dappId, as: UTF8.self)))) }
        return StoreRoots.node(roots)
    }

    /// The dApp's key-value state, sorted by key bytes.
    public func dappState(_ dappId: String) throws(DDEError) -> [(key: [UInt8], value: [UInt8])] {
        try database.withStatement("SELECT key, value FROM dapp_state WHERE dapp_id = ?1") { s throws(DDEError) -> [(key: [UInt8], value: [UInt8])] in
            try s.bind(1, blob: Array(dappId.utf8))
            var out: [(key: [UInt8], value: [UInt8])] = []
            while try s.step() { out.append((s.blob(0), s.blob(1))) }
            sortByIndex(&out) { bytesLess($0.key, $1.key) }
            return out
        }
    }

    /// One value of a dApp's state, or nil.
    public func dappValue(_ dappId: String, key: [UInt8]) throws(DDEError) -> [UInt8]? {
        try database.withStatement("SELECT value FROM dapp_state WHERE dapp_id = ?1 AND key = ?2") { s throws(DDEError) -> [UInt8]? in
            try s.bind(1, blob: Array(dappId.utf8))
            try s.bind(2, blob: key)
            return try s.step() ? s.blob(0) : nil
        }
    }

    // MARK: evidence

    /// Keeps a signed proof found wrong (by quorum disagreement or audit) with its task, so it can
    /// be shown to others. Returns the evidence id.
    @discardableResult
    public func addEvidence(_ evidence: Evidence) throws(DDEError) -> Int64 {
        try database.transaction { () throws(DDEError) -> Int64 in
            try database.withStatement("""
                INSERT INTO evidence(executor_key, task_id, status, detail, task_json, result_json, recorded_at,
                                     document, convicted)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                """) { s throws(DDEError) -> Int64 in
                try s.bind(1, blob: evidence.executorKey.bytes)
                try s.bind(2, blob: evidence.taskId.bytes)
                try s.bind(3, int64: Int64(evidence.status.rawValue))
                try s.bind(4, text: evidence.detail)
                try s.bind(5, blob: evidence.taskJSON)
                try s.bind(6, blob: evidence.resultJSON)
                try s.bind(7, int64: evidence.recordedAt)
                if let document = evidence.document { try s.bind(8, blob: document) } else { try s.bindNull(8) }
                try s.bind(9, int64: evidence.convicted ? 1 : 0)
                try s.step()
                return try database.queryInt64("SELECT last_insert_rowid()") ?? 0
            }
        }
    }

    /// All evidence, oldest first; only that against `executor` when given.
    public func evidence(executor: PublicKey? = nil) throws(DDEError) -> [Evidence] {
        // Spelled out: an interpolated column list is built on every call (and costs its own
        // string-building code in the Embedded builds). The columns are those read below.
        let sql = executor == nil
            ? "SELECT id, executor_key, task_id, status, detail, task_json, result_json, recorded_at, document, convicted FROM evidence ORDER BY id"
            : "SELECT id, executor_key, task_id, status, detail, task_json, result_json, recorded_at, document, convicted FROM evidence WHERE executor_key = ?1 ORDER BY id"
        return try database.withStatement(sql) { s throws(DDEError) -> [Evidence] in
            if let executor { try s.bind(1, blob: executor.bytes) }
            var out: [Evidence] = []
            while try s.step() {
                let key = try PublicKey(bytes: s.blob(1))
                let task = try Digest(bytes: s.blob(2))
                let status = Status(rawValue: Int32(truncatingIfNeeded: s.int64(3))) ?? .internalError
                var e = Evidence(executorKey: key, taskId: task, status: status, detail: s.text(4),
                                 taskJSON: s.blob(5), resultJSON: s.blob(6), recordedAt: s.int64(7))
                e.id = s.int64(0)
                e.document = s.isNull(8) ? nil : s.blob(8)
                e.convicted = s.int64(9) != 0
                out.append(e)
            }
            return out
        }
    }
}

/// A chain head written by a commit on this connection, and what must still hold to trust it.
struct CachedHead {
    var head: ChainHead
    /// The identity bound to the store, and every dApp's root, sorted (`dappRoots()`): what
    /// that commit left.
    var identity: PublicKey
    var roots: [(dappId: [UInt8], root: Digest)]
    /// `SQLiteDatabase.markPending` mark of the transaction that wrote it.
    var mark: UInt64
    /// PRAGMA data_version when it was written: changes when another connection commits.
    var dataVersion: Int64
    /// `SQLiteDatabase.rollbacks` when it was written.
    var rollbacks: UInt64
}

/// A signed proof that was found wrong, kept whole with its task.
public struct Evidence: Sendable {
    /// Row id in the store (0 until stored).
    public internal(set) var id: Int64 = 0
    public var executorKey: PublicKey
    public var taskId: Digest
    /// Why the proof is wrong (for example `.resultMismatch` for a quorum disagreement).
    public var status: Status
    public var detail: String
    /// Canonical JSON bytes of the task and of the compute_result as received.
    public var taskJSON: [UInt8]
    public var resultJSON: [UInt8]
    /// Unix milliseconds.
    public var recordedAt: Int64
    /// The portable document (PROTOCOL.md section 12) when another valid proof disagreed with
    /// this one: canonical bytes of {evidenceVersion, proofs, task}. nil for a proof that failed
    /// a check on its own (the record above is the evidence).
    public var document: [UInt8]?
    /// Whether this evidence convicted the executor (blacklisted for good).
    public var convicted: Bool = false

    public init(executorKey: PublicKey, taskId: Digest, status: Status, detail: String,
                taskJSON: [UInt8], resultJSON: [UInt8], recordedAt: Int64) {
        self.executorKey = executorKey
        self.taskId = taskId
        self.status = status
        self.detail = detail
        self.taskJSON = taskJSON
        self.resultJSON = resultJSON
        self.recordedAt = recordedAt
    }
}

enum StoreRoots {
    /// The node root over (dappId bytes, raw root bytes) entries sorted by dappId bytes. A dApp
    /// whose state is empty is left out, so the node root depends only on the states, not on
    /// whether an empty dApp was ever touched.
    static func node(_ sortedRoots: [(dappId: [UInt8], root: Digest)]) -> Digest {
        StateRoot.root(sortedEntries: sortedRoots.compactMap { entry -> (key: [UInt8], value: [UInt8])? in
            entry.root == StateRoot.empty ? nil : (key: entry.dappId, value: entry.root.bytes)
        })
    }
}
