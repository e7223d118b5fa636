import XCTest
@testable import DDE

/// Changes made to the file behind the store's back (through a second connection, as an
/// attacker or a disk fault would) must be found by verifyChain, naming the first bad receipt.
final class StoreTamperTests: XCTestCase {
    let f = ChainFixture()
    var dir: TempDir!
    var store: Store!
    var raw: SQLiteDatabase!
    var receipts: [Receipt] = []

    override func setUpWithError() throws {
        dir = TempDir()
        store = try Store(path: dir.path("chain.db"))
        receipts = [
            try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"]),
            try f.commit(store, dapp: "beta", n: 1, writes: ["k": "v"]),
            try f.commit(store, dapp: "alpha", n: 2, writes: ["x": "2", "z": "9"]),
            try f.commit(store, dapp: "beta", n: 3, writes: ["k": "w"]),
        ]
        XCTAssertEqual(try store.verifyChain().count, 4)
        raw = try SQLiteDatabase(path: dir.path("chain.db"))
    }

    override func tearDown() {
        raw = nil
        store = nil
        dir = nil
    }

    func expectBroken(at index: Int, _ reason: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let e = assertThrows(.chainBroken, file: file, line: line) { () throws(DDEError) in try store.verifyChain() }
        // A broken chain too leaves the connection at temp_store=MEMORY (2).
        XCTAssertEqual(try store.database.queryInt64("PRAGMA temp_store"), 2, file: file, line: line)
        guard let detail = e?.detail else { return }
        XCTAssertTrue(detail.hasPrefix("receipt \(index): "), detail, file: file, line: line)
        if let reason { XCTAssertTrue(detail.contains(reason), detail, file: file, line: line) }
    }

    func storedReceiptBytes(_ idx: Int) throws -> [UInt8] {
        try raw.withStatement("SELECT receipt_json FROM receipts WHERE idx = \(idx)") { s throws(DDEError) -> [UInt8] in
            try s.step()
            return s.blob(0)
        }
    }

    func setReceiptBytes(_ idx: Int, _ bytes: [UInt8]) throws {
        try raw.withStatement("UPDATE receipts SET receipt_json = ?1 WHERE idx = \(idx)") { s throws(DDEError) in
            try s.bind(1, blob: bytes)
            try s.step()
        }
    }

    func testOneFlippedByteOfAStoredReceipt() throws {
        var bytes = try storedReceiptBytes(2)
        // Flip a hex digit inside the executionTraceHash value: still valid JSON, wrong hash.
        let marker = Array("\"executionTraceHash\":\"".utf8)
        let at = try XCTUnwrap((0..<bytes.count - marker.count).first { Array(bytes[$0..<$0 + marker.count]) == marker }) + marker.count
        bytes[at] = bytes[at] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        try setReceiptBytes(2, bytes)
        expectBroken(at: 2, "receiptHash")
    }

    func testAFlippedByteThatBreaksTheJSON() throws {
        var bytes = try storedReceiptBytes(1)
        bytes[0] ^= 0x01
        try setReceiptBytes(1, bytes)
        expectBroken(at: 1, "does not parse")
    }

    func testAReceiptRehashedButNotResignedIsFound() throws {
        // An attacker without the identity key recomputes receiptHash after an edit.
        var r = try store.receipt(at: 1)
        r.timestamp += 1
        r.receiptHash = r.computedHash
        try setReceiptBytes(1, r.canonicalBytes)
        expectBroken(at: 1, "signature")
    }

    func testADeletedRow() throws {
        try raw.execute("DELETE FROM compute_results WHERE idx = 1; DELETE FROM receipts WHERE idx = 1")
        expectBroken(at: 1, "missing")
    }

    func testADeletedLastRowIsFoundByTheLiveState() throws {
        try raw.execute("DELETE FROM compute_results WHERE idx = 3; DELETE FROM receipts WHERE idx = 3")
        // The chain 0...2 holds together; the live state still carries what receipt 3 wrote.
        expectBroken(at: 1, "beta")
    }

    func testReorderedRows() throws {
        try raw.execute("""
            PRAGMA foreign_keys = OFF;
            UPDATE receipts SET idx = 1000000 WHERE idx = 1; UPDATE receipts SET idx = 1 WHERE idx = 2; UPDATE receipts SET idx = 2 WHERE idx = 1000000;
            UPDATE compute_results SET idx = 1000000 WHERE idx = 1; UPDATE compute_results SET idx = 1 WHERE idx = 2; UPDATE compute_results SET idx = 2 WHERE idx = 1000000;
            """)
        expectBroken(at: 1, "holds index 2")
    }

    func testAChangedStateValue() throws {
        try raw.execute("UPDATE dapp_state SET value = x'39' WHERE dapp_id = CAST('alpha' AS BLOB) AND key = CAST('x' AS BLOB)")
        // Receipt 2 was the last to write alpha.
        expectBroken(at: 2, "holds a value the chain did not write")
        // And the next commit on alpha is refused rather than built on the altered state.
        let before = try snapshot(store)
        let t = try f.task(store, dapp: "alpha", n: 9)
        assertThrows(.stale) { () throws(DDEError) in
            try store.commit(task: t, result: f.result(t, writes: ["x": "3"]), identity: f.requester, now: 99)
        }
        XCTAssertEqual(try snapshot(store), before)
    }

    func testAnAlteredStateWithItsRootRecomputedIsRefusedAtCommit() throws {
        // The attacker also fixes dapp_roots so the stale check passes: the replay still finds it,
        // and commit refuses because the node root no longer matches the head receipt.
        try raw.execute("UPDATE dapp_state SET value = x'39' WHERE dapp_id = CAST('alpha' AS BLOB) AND key = CAST('x' AS BLOB)")
        var values = [[UInt8]: [UInt8]]()
        for e in try store.dappState("alpha") { values[e.key] = e.value }
        let altered = StateTree(StateMap(values: values)).root
        try raw.withStatement("UPDATE dapp_roots SET root = ?1 WHERE dapp_id = CAST('alpha' AS BLOB)") { s throws(DDEError) in
            try s.bind(1, blob: altered.bytes)
            try s.step()
        }
        expectBroken(at: 2)
        let before = try snapshot(store)
        let t = try f.task(store, dapp: "alpha", n: 9)
        assertThrows(.chainBroken) { () throws(DDEError) in
            try store.commit(task: t, result: f.result(t, writes: ["x": "3"]), identity: f.requester, now: 99)
        }
        XCTAssertEqual(try snapshot(store), before)
    }

    func testADeletedStateKey() throws {
        try raw.execute("DELETE FROM dapp_state WHERE dapp_id = CAST('alpha' AS BLOB) AND key = CAST('z' AS BLOB)")
        expectBroken(at: 2, "missing keys")
    }

    func testAStateKeyNoReceiptWrote() throws {
        try raw.execute("INSERT INTO dapp_state(dapp_id, key, value) VALUES (CAST('alpha' AS BLOB), CAST('extra' AS BLOB), x'31')")
        expectBroken(at: 2, "key \"extra\" is stored but no receipt wrote it")
    }

    /// A table rebuilt without its primary key, one dApp's rows in it twice: as sets the live
    /// tables still equal the replay, so the rows are counted too.
    func storeRowsTwice(_ table: String, _ columns: String, dapp: String) throws {
        try raw.execute("""
            ALTER TABLE \(table) RENAME TO kept; CREATE TABLE \(table)(\(columns));
            INSERT INTO \(table) SELECT * FROM kept; INSERT INTO \(table) SELECT * FROM kept WHERE dapp_id = CAST('\(dapp)' AS BLOB);
            DROP TABLE kept;
            """)
    }

    func testStateRowsStoredTwice() throws {
        try storeRowsTwice("dapp_state", "dapp_id BLOB, key BLOB, value BLOB", dapp: "beta")
        expectBroken(at: 3, "dapp_state holds a row of dApp \"beta\" more than once")
    }

    func testTreeRowsStoredTwice() throws {
        try storeRowsTwice("state_nodes", "dapp_id BLOB, position BLOB, body BLOB", dapp: "alpha")
        expectBroken(at: 2, "state_nodes holds a row of dApp \"alpha\" more than once")
    }

    func testAnAlteredStoredWrite() throws {
        // Change a value inside the stored compute_result of receipt 1: its stateWritesHash no
        // longer matches, so the executor's signed proof does not cover it.
        let stored = try store.storedReceipt(at: 1)
        let text = String(decoding: stored.result, as: UTF8.self)
        let edited = text.replacingOccurrences(of: "\"k\":\"\(Base64.encode(Array("v".utf8)))\"",
                                                with: "\"k\":\"\(Base64.encode(Array("X".utf8)))\"")
        XCTAssertNotEqual(edited, text)
        try raw.withStatement("UPDATE compute_results SET result_json = ?1 WHERE idx = 1") { s throws(DDEError) in
            try s.bind(1, blob: Array(edited.utf8))
            try s.step()
        }
        expectBroken(at: 1, "DDE_ERR_WRITES_HASH")
    }

    func testAMissingComputeResult() throws {
        try raw.execute("DELETE FROM compute_results WHERE idx = 2")
        expectBroken(at: 2, "missing")
    }

    func testAChangedIdentity() throws {
        try raw.withStatement("UPDATE meta SET value = ?1 WHERE key = 'identity'") { s throws(DDEError) in
            try s.bind(1, blob: testKey(77).bytes)
            try s.step()
        }
        expectBroken(at: 0, "identity")
    }

    func testAReceiptFromAnotherChainSplicedIn() throws {
        // A whole valid receipt signed by the same identity, but from a different history.
        let otherDir = TempDir()
        let other = try Store(path: otherDir.path("other.db"))
        try f.commit(other, dapp: "alpha", n: 0, writes: ["x": "1"])
        let foreign = try f.commit(other, dapp: "alpha", n: 50, writes: ["x": "5"])
        try setReceiptBytes(1, foreign.canonicalBytes)
        expectBroken(at: 1)
    }
}
