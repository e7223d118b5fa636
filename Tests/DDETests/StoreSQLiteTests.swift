import XCTest
import CDDE
@testable import DDE

final class StoreSQLiteTests: XCTestCase {
    func testOpenSetsWALAndFullSync() throws {
        let dir = TempDir()
        let db = try SQLiteDatabase(path: dir.path("a.db"))
        XCTAssertEqual(try db.queryText("PRAGMA journal_mode"), "wal")
        XCTAssertEqual(try db.queryInt64("PRAGMA synchronous"), 2)  // FULL
        XCTAssertEqual(try db.queryInt64("PRAGMA foreign_keys"), 1)
    }

    func testBadPathsAreRefusedNotTrapped() {
        assertThrows(.argument) { () throws(DDEError) in _ = try SQLiteDatabase(path: "") }
        assertThrows(.argument) { () throws(DDEError) in _ = try SQLiteDatabase(path: "a\u{0}b") }
        let e = assertThrows(.store) { () throws(DDEError) in _ = try SQLiteDatabase(path: "/nonexistent-dir-dde/x.db") }
        XCTAssertTrue(e?.detail.hasPrefix("open /nonexistent-dir-dde/x.db: ") ?? false, e?.detail ?? "")
    }

    func testBindAndReadBackEveryType() throws {
        let dir = TempDir()
        let db = try SQLiteDatabase(path: dir.path("a.db"))
        try db.execute("CREATE TABLE t (b BLOB, s TEXT, i INTEGER, d REAL, n BLOB)")
        let blob: [UInt8] = [0, 1, 0xff, 0]
        let text = "e\u{301} \u{0} z"  // combining mark and NUL survive
        try db.withStatement("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)") { s throws(DDEError) in
            try s.bind(1, blob: blob)
            try s.bind(2, text: text)
            try s.bind(3, int64: Int64.min)
            try s.bind(4, double: 0.1)
            try s.bindNull(5)
            XCTAssertFalse(try s.step())
            try s.reset()
            try s.bind(1, blob: [])
            try s.bind(2, text: "")
            try s.bind(3, int64: Int64.max)
            try s.bind(4, double: -0.0)
            try s.bind(5, blob: [])
            try s.step()
        }
        try db.withStatement("SELECT b, s, i, d, n FROM t ORDER BY rowid") { s throws(DDEError) in
            XCTAssertTrue(try s.step())
            XCTAssertEqual(s.blob(0), blob)
            XCTAssertTrue(sameScalars(s.text(1), text))
            XCTAssertEqual(s.int64(2), Int64.min)
            XCTAssertEqual(s.double(3), 0.1)
            XCTAssertTrue(s.isNull(4))
            XCTAssertTrue(try s.step())
            XCTAssertFalse(s.isNull(0), "an empty blob is a blob, not NULL")
            XCTAssertEqual(s.blob(0), [])
            XCTAssertEqual(s.text(1), "")
            XCTAssertEqual(s.int64(2), Int64.max)
            XCTAssertFalse(s.isNull(4))
            XCTAssertFalse(try s.step())
        }
    }

    func testErrorsNameTheOperationAndSQLiteMessage() throws {
        let dir = TempDir()
        let db = try SQLiteDatabase(path: dir.path("a.db"))
        let e = assertThrows(.store) { () throws(DDEError) in _ = try db.prepare("SELEC nonsense") }
        XCTAssertTrue(e?.detail.contains("prepare SELEC nonsense") ?? false, e?.detail ?? "")
        XCTAssertTrue(e?.detail.contains("syntax error") ?? false, e?.detail ?? "")
        try db.execute("CREATE TABLE u (x INTEGER UNIQUE)")
        try db.execute("INSERT INTO u VALUES (1)")
        let dup = assertThrows(.store) { () throws(DDEError) in try db.execute("INSERT INTO u VALUES (1)") }
        XCTAssertTrue(dup?.detail.contains("UNIQUE constraint failed") ?? false, dup?.detail ?? "")
    }

    func testTransactionRollsBackOnError() throws {
        let dir = TempDir()
        let db = try SQLiteDatabase(path: dir.path("a.db"))
        try db.execute("CREATE TABLE t (x INTEGER)")
        assertThrows(.duplicate) { () throws(DDEError) in
            try db.transaction { () throws(DDEError) in
                try db.execute("INSERT INTO t VALUES (1)")
                throw DDEError(.duplicate, "stop")
            }
        }
        XCTAssertEqual(try db.queryInt64("SELECT count(*) FROM t"), 0)
        // A failing statement inside also rolls back what came before it.
        assertThrows(.store) { () throws(DDEError) in
            try db.transaction { () throws(DDEError) in
                try db.execute("INSERT INTO t VALUES (2)")
                try db.execute("INSERT INTO missing VALUES (3)")
            }
        }
        XCTAssertEqual(try db.queryInt64("SELECT count(*) FROM t"), 0)
        try db.transaction { () throws(DDEError) in
            try db.execute("INSERT INTO t VALUES (4)")
            try db.transaction { () throws(DDEError) in try db.execute("INSERT INTO t VALUES (5)") }
        }
        XCTAssertEqual(try db.queryInt64("SELECT sum(x) FROM t"), 9)
        // The connection is usable again after a rollback (no transaction left open).
        try db.execute("BEGIN IMMEDIATE; ROLLBACK")
    }

    func testNestedTransactionIsASavepoint() throws {
        let dir = TempDir()
        let db = try SQLiteDatabase(path: dir.path("a.db"))
        try db.execute("CREATE TABLE t (x INTEGER)")
        // An inner failure caught by the outer body undoes the inner changes only.
        try db.transaction { () throws(DDEError) in
            try db.execute("INSERT INTO t VALUES (1)")
            assertThrows(.stale) { () throws(DDEError) in
                try db.transaction { () throws(DDEError) in
                    try db.execute("INSERT INTO t VALUES (10)")
                    throw DDEError(.stale, "inner refused")
                }
            }
            try db.transaction { () throws(DDEError) in try db.execute("INSERT INTO t VALUES (100)") }
        }
        XCTAssertEqual(try db.queryInt64("SELECT sum(x) FROM t"), 101)
        // An inner failure the outer body lets through rolls everything back.
        assertThrows(.stale) { () throws(DDEError) in
            try db.transaction { () throws(DDEError) in
                try db.execute("INSERT INTO t VALUES (1000)")
                try db.transaction { () throws(DDEError) in throw DDEError(.stale, "inner refused") }
            }
        }
        XCTAssertEqual(try db.queryInt64("SELECT sum(x) FROM t"), 101)
        try db.execute("BEGIN IMMEDIATE; ROLLBACK")
    }

    func testClosedDatabaseFailsWithClosed() throws {
        let dir = TempDir()
        let db = try SQLiteDatabase(path: dir.path("a.db"))
        db.close()
        XCTAssertFalse(db.isOpen)
        assertThrows(.closed) { () throws(DDEError) in try db.execute("SELECT 1") }
        assertThrows(.closed) { () throws(DDEError) in _ = try db.prepare("SELECT 1") }
        db.close()  // twice is harmless
    }

    func testStatementOutlivingCloseDoesNotCrash() throws {
        let dir = TempDir()
        let db = try SQLiteDatabase(path: dir.path("a.db"))
        let s = try db.prepare("SELECT 1")
        db.close()
        XCTAssertTrue(try s.step())  // the connection stays a zombie until the statement goes
        s.finalize()
        assertThrows(.internalError) { () throws(DDEError) in try s.step() }
    }
}

final class StoreSchemaTests: XCTestCase {
    func testFreshStoreIsAtCurrentVersionWithAllTables() throws {
        let dir = TempDir()
        let store = try Store(path: dir.path("s.db"))
        XCTAssertEqual(try store.fileSchemaVersion(), Store.schemaVersion)
        for table in ["meta", "receipts", "compute_results", "dapp_state", "dapp_roots", "reputation", "evidence"] {
            XCTAssertEqual(try store.database.queryInt64("SELECT count(*) FROM sqlite_schema WHERE type='table' AND name='\(table)'"), 1, table)
        }
    }

    func testReopenKeepsDataAndDoesNotRemigrate() throws {
        let dir = TempDir()
        do {
            let store = try Store(path: dir.path("s.db"))
            try store.database.execute("INSERT INTO meta VALUES ('x', x'01')")
        }
        let store = try Store(path: dir.path("s.db"))
        XCTAssertEqual(try store.database.queryInt64("SELECT count(*) FROM meta WHERE key='x'"), 1)
    }

    func testNewerSchemaIsRefusedAndLeftAlone() throws {
        let dir = TempDir()
        do {
            let db = try SQLiteDatabase(path: dir.path("s.db"))
            try db.execute("PRAGMA user_version = \(Store.schemaVersion + 1)")
        }
        let e = assertThrows(.schemaVersion) { () throws(DDEError) in _ = try Store(path: dir.path("s.db")) }
        XCTAssertTrue(e?.detail.contains("newer dde") ?? false)
        let db = try SQLiteDatabase(path: dir.path("s.db"))
        XCTAssertEqual(try db.queryInt64("SELECT count(*) FROM sqlite_schema"), 0, "nothing was created")
        XCTAssertEqual(try db.queryInt64("PRAGMA user_version"), Store.schemaVersion + 1)
    }

    func testFailedMigrationLeavesTheOldVersion() throws {
        let dir = TempDir()
        do {
            // A table in the way makes migration 1 fail half-way through.
            let db = try SQLiteDatabase(path: dir.path("s.db"))
            try db.execute("CREATE TABLE dapp_state (x INTEGER)")
        }
        assertThrows(.store) { () throws(DDEError) in _ = try Store(path: dir.path("s.db")) }
        let db = try SQLiteDatabase(path: dir.path("s.db"))
        XCTAssertEqual(try db.queryInt64("PRAGMA user_version"), 0)
        XCTAssertEqual(try db.queryInt64("SELECT count(*) FROM sqlite_schema WHERE name='meta'"), 0, "the whole migration rolled back")
    }

    func testNotADatabaseIsAStoreError() throws {
        let dir = TempDir()
        let path = dir.path("junk.db")
        _ = FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x41, count: 4096))
        assertThrows(.store) { () throws(DDEError) in _ = try Store(path: path) }
    }
}
