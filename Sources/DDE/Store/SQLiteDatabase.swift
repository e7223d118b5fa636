import CDDE

// A thin, trap-free wrapper over one SQLite connection (sqlite3.h through CDDE).
//
// Threading: the connection is opened in serialized mode (SQLITE_OPEN_FULLMUTEX) and this object
// adds one recursive mutex of its own. Every public operation of the store runs under that mutex
// (`withLock`, `transaction`), so a multi-statement transaction from one thread never interleaves
// with statements from another, and `sqlite3_errmsg` is read before any other thread can replace
// it. Other processes (or other connections in this one) are kept out by BEGIN IMMEDIATE and the
// busy timeout.
//
// Durability: WAL journal with synchronous=FULL, so a COMMIT that returned is on disk and a crash
// at any instant leaves the last committed transaction whole.
final class SQLiteDatabase: @unchecked Sendable {
    let path: String
    private var handle: OpaquePointer?
    private let mutex: OpaquePointer?
    /// Depth of `transaction` nesting on the thread that holds the mutex (inner calls join).
    private var transactionDepth = 0
    /// Statements of `withStatement`, kept prepared by SQL text (bytes): parsing and planning
    /// the same SQL on every call was a visible share of a delegation's CPU. One slot per SQL
    /// text, found with one hash of the text (hashed as a block: element-wise hashing of the
    /// bytes, and taking the entry out and putting it back, cost a sixth of a commit). A slot in
    /// use is marked, so a nested use of the same SQL prepares its own. Raw handles, not
    /// `SQLiteStatement`s, which hold the database and would keep it alive.
    private var cacheIndex: [SQLText: Int] = [:]
    private var cache: [CachedStatement] = []
    private static let maxCached = 64

    private struct CachedStatement {
        /// nil while in use (the `SQLiteStatement` owns it then) or after a failed reset.
        var raw: OpaquePointer?
        var inUse: Bool
    }

    /// Counts rollbacks on this connection (of a savepoint or a whole transaction): a value
    /// derived from data this connection wrote is only trusted while no rollback happened since.
    private(set) var rollbacks: UInt64 = 0
    /// See `markPending`.
    private var pendingMark: UInt64?
    /// The last mark whose transaction committed.
    private(set) var committedMark: UInt64?

    /// Opens (creating if needed) the database file at `path`.
    init(path: String, busyTimeoutMs: Int32 = 5000) throws(DDEError) {
        guard !path.isEmpty else {
            throw DDEError(.argument, "store path is empty: give the path of the store file")
        }
        guard !path.utf8.contains(0) else {
            throw DDEError(.argument, "store path contains a NUL byte")
        }
        guard sqlite3_threadsafe() != 0 else {
            throw DDEError(.store, "open: this SQLite was built without thread safety (SQLITE_THREADSAFE=0); link a threadsafe build")
        }
        self.path = path
        mutex = sqlite3_mutex_alloc(SQLITE_MUTEX_RECURSIVE)
        guard mutex != nil else {
            throw DDEError(.noMemory, "open: sqlite3_mutex_alloc failed")
        }
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let opened = db else {
            let message: String
            if let db { message = String(cString: sqlite3_errmsg(db)) } else { message = String(cString: sqlite3_errstr(rc)) }
            sqlite3_close_v2(db)
            // self is fully initialised here, so deinit frees the mutex.
            throw DDEError(.store, "open \(path): \(message)")
        }
        handle = opened
        sqlite3_extended_result_codes(opened, 1)
        sqlite3_busy_timeout(opened, busyTimeoutMs)
        do throws(DDEError) {
            let mode = try queryText("PRAGMA journal_mode=WAL")
            guard let mode, sameScalars(mode, "wal") else {
                throw DDEError(.store, "open \(path): could not switch to WAL journal mode (got \(mode ?? "nothing")); the store needs a file on a local file system")
            }
            // temp_store=MEMORY: a savepoint's journal (the delegation's commit is one, inside the
            // scores' transaction) stays in memory; by default SQLite moves it to a temporary file
            // past 64 KiB, and a commit at a million keys changes more pages than that (a file
            // created, written and deleted per delegation, BENCHMARKS.md Scaling). verifyChain
            // keeps its large replay table in a file (VerifyChain.swift).
            try execute("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF; PRAGMA temp_store=MEMORY")
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
        sqlite3_mutex_free(mutex)
    }

    var isOpen: Bool { withLock { handle != nil } }

    /// Closes the connection; every later operation fails with `.closed`. Returns what SQLite
    /// reported, nil when the close was clean (or the connection already closed). Statements
    /// still alive (a call on another thread) make sqlite3_close refuse: the connection is then
    /// left to sqlite3_close_v2, which frees it when they finalise, and that is reported.
    @discardableResult
    func close() -> DDEError? {
        withLock { () -> DDEError? in
            for c in cache { if let raw = c.raw { sqlite3_finalize(raw) } }
            cache = []
            cacheIndex = [:]
            guard let h = handle else { return nil }
            handle = nil
            let rc = sqlite3_close(h)
            if rc == SQLITE_OK { return nil }
            let why = String(cString: sqlite3_errstr(rc))
            if rc == SQLITE_BUSY {
                sqlite3_close_v2(h)
                return DDEError(.store, "close \(path): statements of another call were still running (\(why)); SQLite closes the file when they end")
            }
            sqlite3_close_v2(h)
            return DDEError(.store, "close \(path): \(why)")
        }
    }

    /// Runs `body` holding this connection's recursive mutex.
    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        sqlite3_mutex_enter(mutex)
        defer { sqlite3_mutex_leave(mutex) }
        return try body()
    }

    func connection(_ operation: String) throws(DDEError) -> OpaquePointer {
        guard let h = handle else { throw DDEError(.closed, "\(operation): the store is closed") }
        return h
    }

    /// The error for a failed SQLite call: "<operation>: <sqlite3_errmsg>".
    func error(_ operation: ErrorDetail) -> DDEError {
        guard let h = handle else { return DDEError(.closed, "\(operation): the store is closed") }
        return DDEError(.store, "\(operation): \(String(cString: sqlite3_errmsg(h)))")
    }

    /// Runs SQL without results (one or more statements, no parameters).
    func execute(_ sql: String) throws(DDEError) {
        try withLock { () throws(DDEError) in
            let h = try connection(sql)
            let rc = sqlite3_exec(h, sql, nil, nil, nil)
            guard rc == SQLITE_OK else { throw error(ErrorDetail(sql)) }
        }
    }

    /// Prepares one statement. It is finalised when the returned object is released.
    func prepare(_ sql: String) throws(DDEError) -> SQLiteStatement {
        try withLock { () throws(DDEError) -> SQLiteStatement in
            let h = try connection("prepare")
            var stmt: OpaquePointer?
            let rc = sqlite3_prepare_v2(h, sql, -1, &stmt, nil)
            guard rc == SQLITE_OK, let stmt else {
                sqlite3_finalize(stmt)
                throw error("prepare \(sql)")
            }
            return SQLiteStatement(database: self, statement: stmt, sql: sql)
        }
    }

    /// Runs `body` with `sql` prepared (kept prepared for the next call: reset and unbound on
    /// every path, which also ends its read of the database).
    func withStatement<R>(_ sql: String, _ body: (SQLiteStatement) throws(DDEError) -> R) throws(DDEError) -> R {
        // Only the call of `body` depends on R: the rest is in checkOut/checkIn, compiled once
        // rather than once per result type (Embedded Swift specialises every generic).
        try withLock { () throws(DDEError) -> R in
            let (stmt, slot) = try checkOut(sql)
            defer { checkIn(stmt, slot: slot) }
            return try body(stmt)
        }
    }

    /// The statement for `sql`: the cached one when its slot is free, else a new one (which
    /// takes a cache slot when there is one). Called with the lock held.
    private func checkOut(_ sql: String) throws(DDEError) -> (SQLiteStatement, slot: Int?) {
        let key = SQLText(sql)
        let found = cacheIndex[key]
        if let i = found, !cache[i].inUse, let raw = cache[i].raw {
            cache[i] = CachedStatement(raw: nil, inUse: true)
            return (SQLiteStatement(database: self, statement: raw, sql: sql), i)
        }
        let stmt = try prepare(sql)
        if let i = found {
            if !cache[i].inUse {  // an empty slot (its last reset failed): refill it
                cache[i].inUse = true
                return (stmt, i)
            }
        } else if cache.count < SQLiteDatabase.maxCached {
            cache.append(CachedStatement(raw: nil, inUse: true))
            cacheIndex[key] = cache.count - 1
            return (stmt, cache.count - 1)
        }
        return (stmt, nil)
    }

    /// Gives `stmt` back to its slot (reset and unbound), or finalises it.
    private func checkIn(_ stmt: SQLiteStatement, slot: Int?) {
        // close() inside the statement's use empties the cache: then the slot is gone.
        if let i = slot, i < cache.count {
            cache[i].inUse = false
            if handle != nil, let raw = stmt.detachForReuse() { cache[i].raw = raw } else { stmt.finalize() }
        } else {
            stmt.finalize()
        }
    }

    /// The first column of the first row as text, or nil when there is no row or it is NULL.
    func queryText(_ sql: String) throws(DDEError) -> String? {
        try withStatement(sql) { s throws(DDEError) -> String? in
            guard try s.step() else { return nil }
            return s.isNull(0) ? nil : s.text(0)
        }
    }

    /// The first column of the first row as an integer, or nil when there is no row.
    func queryInt64(_ sql: String) throws(DDEError) -> Int64? {
        try withStatement(sql) { s throws(DDEError) -> Int64? in
            guard try s.step() else { return nil }
            return s.int64(0)
        }
    }

    /// Rows changed by the last INSERT/UPDATE/DELETE on this connection.
    var changes: Int {
        withLock { handle.map { Int(sqlite3_changes($0)) } ?? 0 }
    }

    /// Runs `body` in one write transaction (BEGIN IMMEDIATE ... COMMIT), holding the lock
    /// throughout. Any error thrown by `body` or by COMMIT rolls the whole transaction back, and
    /// the error is rethrown. A call made inside another transaction on this connection joins it
    /// as a savepoint: its error undoes its own changes only (the outer body may catch it and go
    /// on), and its changes become durable with the outer COMMIT, in the same fsync.
    func transaction<R>(_ body: () throws(DDEError) -> R) throws(DDEError) -> R {
        // As in withStatement, only the call of `body` is generic.
        try withLock { () throws(DDEError) -> R in
            let nested = try begin()
            let result: R
            do throws(DDEError) {
                result = try body()
            } catch {
                abandon(nested: nested)
                throw error
            }
            try end(nested: nested)
            return result
        }
    }

    /// Opens a read transaction (BEGIN DEFERRED) unless one is open on this connection: reads
    /// made before `endRead` see one snapshot of the file (another process's commit cannot land
    /// between them) and share one WAL read lock instead of taking one per statement. Returns
    /// whether it opened one, to be ended with `end(nested: false)` (nothing was written: ending it
    /// only releases the snapshot). Called with the lock held; the reads must not write.
    func beginRead() throws(DDEError) -> Bool {
        if transactionDepth > 0 { return false }
        try control("BEGIN")
        transactionDepth = 1
        return true
    }

    /// Runs `body` with the lock held and a read transaction open (`beginRead`, unless one is
    /// open already): its reads see one snapshot and take one read lock of the file, not one per
    /// statement. `body` must not write.
    func reading(_ body: () throws(DDEError) -> Void) throws(DDEError) {
        try withLock { () throws(DDEError) in
            let opened = try beginRead()
            defer { if opened { try? end(nested: false) } }
            try body()
        }
    }

    /// Whether a transaction is open on this connection (called with the lock held: then it is
    /// this thread's).
    var inTransaction: Bool { transactionDepth > 0 }

    /// Runs a transaction-control statement (BEGIN, COMMIT, SAVEPOINT, RELEASE), kept prepared
    /// as `withStatement`'s are: sqlite3_exec parsed it on every call, six to eight times per
    /// delegation. Called with the lock held.
    private func control(_ sql: String) throws(DDEError) {
        try withStatement(sql) { s throws(DDEError) in _ = try s.step() }
    }

    /// Opens the transaction, or a savepoint inside the open one (true). Called with the lock held.
    private func begin() throws(DDEError) -> Bool {
        if transactionDepth > 0 {
            try control("SAVEPOINT dde_nested")
            transactionDepth += 1
            return true
        }
        try control("BEGIN IMMEDIATE")
        transactionDepth = 1
        return false
    }

    /// After `body` threw: undoes the savepoint or the whole transaction.
    private func abandon(nested: Bool) {
        if nested {
            defer { transactionDepth -= 1 }
            if let h = handle, sqlite3_get_autocommit(h) == 0 {
                _ = sqlite3_exec(h, "ROLLBACK TO dde_nested; RELEASE dde_nested", nil, nil, nil)
            }
            rolledBack()
        } else {
            defer { transactionDepth = 0 }
            rollback()
            rolledBack()
        }
    }

    /// After `body` returned: releases the savepoint or commits (a failed COMMIT rolls back).
    func end(nested: Bool) throws(DDEError) {
        if nested {
            defer { transactionDepth -= 1 }
            do throws(DDEError) {
                try control("RELEASE dde_nested")
            } catch {
                rolledBack()  // the savepoint's fate is unknown: trust nothing marked in it
                throw error
            }
            return
        }
        defer { transactionDepth = 0 }
        do throws(DDEError) {
            try control("COMMIT")
        } catch {
            rollback()
            rolledBack()
            throw error
        }
        if let mark = pendingMark { committedMark = mark }
        pendingMark = nil
    }

    /// Ties `mark` to what the current transaction wrote (for a value cached from those writes,
    /// such as the store's chain head): `committedMark` becomes `mark` once the outermost
    /// transaction commits; any rollback before that (of this savepoint, an enclosing one or the
    /// whole transaction) drops it. Outside a transaction it does nothing.
    func markPending(_ mark: UInt64) {
        withLock { if transactionDepth > 0 { pendingMark = mark } }
    }

    /// True inside the transaction that set `mark`, while nothing has rolled back since.
    func isPending(_ mark: UInt64) -> Bool {
        withLock { transactionDepth > 0 && pendingMark == mark }
    }

    private func rolledBack() {
        rollbacks &+= 1
        pendingMark = nil
    }

    /// ROLLBACK if a transaction is still open. SQLite may already have rolled back on its own
    /// (for example after SQLITE_FULL); then there is nothing left to do.
    private func rollback() {
        guard let h = handle, sqlite3_get_autocommit(h) == 0 else { return }
        _ = sqlite3_exec(h, "ROLLBACK", nil, nil, nil)
    }
}

/// SQL text as a dictionary key: compared by bytes (`sameScalars`), hashed as one block. It
/// holds the String itself, so a lookup copies nothing (its bytes as an array were one
/// allocation per statement run).
private struct SQLText: Hashable {
    let sql: String

    init(_ sql: String) { self.sql = sql }

    static func == (a: SQLText, b: SQLText) -> Bool { sameScalars(a.sql, b.sql) }

    func hash(into hasher: inout Hasher) {
        let hashed: Void? = sql.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        // The same bytes the same way when the text is not contiguous (a bridged string; never
        // in Embedded), so equal texts hash alike.
        if hashed == nil { Array(sql.utf8).withUnsafeBytes { hasher.combine(bytes: $0) } }
    }
}
