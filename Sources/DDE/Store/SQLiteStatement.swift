import CDDE

/// One prepared statement. Parameters are numbered from 1 and columns from 0, as in SQLite.
/// Finalised by `finalize()` or when released, whichever comes first.
final class SQLiteStatement {
    private let database: SQLiteDatabase
    private var statement: OpaquePointer?
    let sql: String

    init(database: SQLiteDatabase, statement: OpaquePointer, sql: String) {
        self.database = database
        self.statement = statement
        self.sql = sql
    }

    deinit { finalize() }

    func finalize() {
        if let s = statement {
            sqlite3_finalize(s)
            statement = nil
        }
    }

    /// SQLite copies bound bytes at once (SQLITE_TRANSIENT), so the Swift buffer may go away.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func live(_ operation: String) throws(DDEError) -> OpaquePointer {
        guard let s = statement else { throw DDEError(.internalError, "\(operation): statement already finalised: \(sql)") }
        return s
    }

    /// Throws unless `rc` is SQLITE_OK. The message (`what index (sql)`) is built only then: a
    /// commit binds some thirty parameters, and an interpolated argument was built on every one.
    private func check(_ rc: Int32, _ what: StaticString, _ index: Int32) throws(DDEError) {
        if rc != SQLITE_OK { throw failure(what, index) }
    }

    @inline(never)
    private func failure(_ what: StaticString, _ index: Int32) -> DDEError {
        database.error("\(what) \(Int(index)) (\(sql))")
    }

    func bind(_ index: Int32, blob: [UInt8]) throws(DDEError) {
        let s = try live("bind")
        // A zero-length blob still needs a non-NULL pointer, or SQLite binds NULL.
        let rc: Int32 = blob.isEmpty
            ? sqlite3_bind_zeroblob(s, index, 0)
            : blob.withUnsafeBytes { sqlite3_bind_blob64(s, index, $0.baseAddress, sqlite3_uint64($0.count), SQLiteStatement.transient) }
        try check(rc, "bind blob", index)
    }

    func bind(_ index: Int32, text: String) throws(DDEError) {
        let s = try live("bind")
        var t = text
        let rc = t.withUTF8 { b -> Int32 in
            guard let base = b.baseAddress, b.count > 0 else {
                return sqlite3_bind_text64(s, index, "", 0, SQLiteStatement.transient, UInt8(SQLITE_UTF8))
            }
            return base.withMemoryRebound(to: CChar.self, capacity: b.count) { c in
                sqlite3_bind_text64(s, index, c, sqlite3_uint64(b.count), SQLiteStatement.transient, UInt8(SQLITE_UTF8))
            }
        }
        try check(rc, "bind text", index)
    }

    func bind(_ index: Int32, int64: Int64) throws(DDEError) {
        try check(sqlite3_bind_int64(try live("bind"), index, int64), "bind int", index)
    }

    func bind(_ index: Int32, double: Double) throws(DDEError) {
        try check(sqlite3_bind_double(try live("bind"), index, double), "bind double", index)
    }

    func bindNull(_ index: Int32) throws(DDEError) {
        try check(sqlite3_bind_null(try live("bind"), index), "bind null", index)
    }

    /// Advances: true when a row is available, false when the statement is done.
    @discardableResult
    func step() throws(DDEError) -> Bool {
        let s = try live("step")
        let rc = sqlite3_step(s)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw database.error("step (\(sql))")
    }

    /// Makes the statement ready to run again with new bindings.
    func reset() throws(DDEError) {
        let s = try live("reset")
        _ = sqlite3_reset(s)
        if sqlite3_clear_bindings(s) != SQLITE_OK { throw database.error("clear bindings (\(sql))") }
    }

    /// Resets and unbinds the statement and hands its handle over (this object no longer
    /// finalises it); nil when it was finalised already or cannot be reset.
    func detachForReuse() -> OpaquePointer? {
        guard let s = statement else { return nil }
        _ = sqlite3_reset(s)  // returns the code of the last step, which that step reported
        guard sqlite3_clear_bindings(s) == SQLITE_OK else { return nil }
        statement = nil
        return s
    }

    var columnCount: Int32 { statement.map { sqlite3_column_count($0) } ?? 0 }

    func isNull(_ column: Int32) -> Bool {
        guard let s = statement else { return true }
        return sqlite3_column_type(s, column) == SQLITE_NULL
    }

    func blob(_ column: Int32) -> [UInt8] {
        guard let s = statement else { return [] }
        // sqlite3_column_blob first, then sqlite3_column_bytes (SQLite's documented order).
        guard let p = sqlite3_column_blob(s, column) else { return [] }
        let n = Int(sqlite3_column_bytes(s, column))
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }

    func text(_ column: Int32) -> String {
        guard let s = statement, let p = sqlite3_column_text(s, column) else { return "" }
        let n = Int(sqlite3_column_bytes(s, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    func int64(_ column: Int32) -> Int64 {
        guard let s = statement else { return 0 }
        return sqlite3_column_int64(s, column)
    }

    func double(_ column: Int32) -> Double {
        guard let s = statement else { return 0 }
        return sqlite3_column_double(s, column)
    }
}
