import XCTest
@testable import DDE

/// Closing reports what SQLite says (what dde_store_close returns as DDE_ERR_STORE) and closes in
/// every case.
final class StoreCloseReportTests: XCTestCase {
    func testCleanCloseReportsNothing() throws {
        let dir = TempDir()
        let store = try Store(path: dir.path("s.db"))
        XCTAssertNoThrow(try store.closeChecked())
        XCTAssertFalse(store.isOpen)
        XCTAssertNoThrow(try store.closeChecked())  // already closed: nothing left to report
    }

    func testCloseWithAStatementStillRunningIsReportedAndStillCloses() throws {
        let dir = TempDir()
        let db = try SQLiteDatabase(path: dir.path("a.db"))
        let s = try db.prepare("SELECT 1")  // a call on another thread, mid-statement
        let error = db.close()
        XCTAssertEqual(error?.status, .store)
        XCTAssertTrue(error?.detail.contains("still running") ?? false, error?.detail ?? "no error")
        XCTAssertFalse(db.isOpen)
        assertThrows(.closed) { () throws(DDEError) in try db.execute("SELECT 1") }
        XCTAssertTrue(try s.step())  // SQLite frees the connection when the statement goes
        s.finalize()
        XCTAssertNil(db.close(), "a second close has nothing to report")
    }
}
