import XCTest
import Foundation
@testable import DDE

/// The chain head a commit keeps in memory must never be trusted after the file moved on
/// without it: another connection committed or altered the head, a commit was refused inside an
/// outer transaction, or the outer transaction rolled back.
final class StoreHeadCacheTests: ChainStoreTestCase {

    func assertLinks(_ r: Receipt, to previous: Receipt, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.index, previous.index + 1, file: file, line: line)
        XCTAssertEqual(r.previousReceiptHash, previous.receiptHash, file: file, line: line)
        XCTAssertEqual(r.previousStateRoot, previous.nextStateRoot, file: file, line: line)
    }

    func testACommitByAnotherConnectionIsLinkedTo() throws {
        let second = try Store(path: dir.path("chain.db"))
        let r0 = try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"])
        let r1 = try f.commit(second, dapp: "beta", n: 1, writes: ["k": "v"])
        assertLinks(r1, to: r0)
        let r2 = try f.commit(store, dapp: "alpha", n: 2, writes: ["x": "2"])
        assertLinks(r2, to: r1)
        let r3 = try f.commit(second, dapp: "beta", n: 3, writes: ["k": "w"])
        assertLinks(r3, to: r2)
        let r4 = try f.commit(store, dapp: "beta", n: 4, writes: ["k": "z"])
        assertLinks(r4, to: r3)
        XCTAssertEqual(try store.verifyChain().count, 5)
        XCTAssertEqual(try store.head(), ChainHead(count: 5, receiptHash: r4.receiptHash, nextStateRoot: r4.nextStateRoot))
    }

    func testAHeadReceiptAlteredByAnotherConnectionIsSeenByTheNextCommit() throws {
        try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"])
        let r1 = try f.commit(store, dapp: "alpha", n: 1, writes: ["x": "2"])
        // Rewrite the head's JSON in place, keeping its index and receipt_hash columns: only
        // the receipt's nextStateRoot differs, so only a re-read of the head notices.
        var altered = r1
        altered.nextStateRoot = SHA256.hash("elsewhere")
        let raw = try SQLiteDatabase(path: dir.path("chain.db"))
        try raw.withStatement("UPDATE receipts SET receipt_json = ?1 WHERE idx = 1") { s throws(DDEError) in
            try s.bind(1, blob: altered.canonicalBytes)
            try s.step()
        }
        let before = try snapshot(store)
        let t = try f.task(store, dapp: "alpha", n: 2)
        let e = assertThrows(.chainBroken) { () throws(DDEError) in
            try store.commit(task: t, result: f.result(t, writes: ["x": "3"]), identity: f.requester, now: 9)
        }
        XCTAssertTrue(e?.detail.contains(altered.nextStateRoot.hex) ?? false, e?.detail ?? "")
        XCTAssertEqual(try snapshot(store), before)
    }

    /// The identity and the dApp roots are cached with the head: another connection's change to
    /// either is seen by the next commit on this one.
    func testAnIdentityChangedByAnotherConnectionIsSeenByTheNextCommit() throws {
        try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"])
        let raw = try SQLiteDatabase(path: dir.path("chain.db"))
        try raw.withStatement("UPDATE meta SET value = ?1 WHERE key = 'identity'") { s throws(DDEError) in
            try s.bind(1, blob: testKey(77).bytes)
            try s.step()
        }
        let before = try snapshot(store)
        let t = try f.task(store, dapp: "alpha", n: 1)
        assertThrows(.key) { () throws(DDEError) in
            try store.commit(task: t, result: f.result(t, writes: ["x": "2"]), identity: f.requester, now: 9)
        }
        XCTAssertEqual(try snapshot(store), before)
    }

    func testARootChangedByAnotherConnectionIsSeenByTheNextCommit() throws {
        try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"])
        let t = try f.task(store, dapp: "alpha", n: 1)
        let raw = try SQLiteDatabase(path: dir.path("chain.db"))
        try raw.withStatement("UPDATE dapp_roots SET root = ?1 WHERE dapp_id = CAST('alpha' AS BLOB)") { s throws(DDEError) in
            try s.bind(1, blob: SHA256.hash("elsewhere").bytes)
            try s.step()
        }
        let before = try snapshot(store)
        let e = assertThrows(.stale) { () throws(DDEError) in
            try store.commit(task: t, result: f.result(t, writes: ["x": "2"]), identity: f.requester, now: 9)
        }
        XCTAssertTrue(e?.detail.contains(SHA256.hash("elsewhere").hex) ?? false, e?.detail ?? "")
        XCTAssertEqual(try snapshot(store), before)
    }

    func testARefusedCommitInsideAnOuterTransactionLeavesTheRealHead() throws {
        let r0 = try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"])
        let t1 = try f.task(store, dapp: "alpha", n: 1)
        let stale = try f.task(store, dapp: "alpha", n: 2)  // same root as t1: stale once t1 is in
        var r1: Receipt?
        try store.database.transaction { () throws(DDEError) in
            r1 = try store.commit(task: t1, result: f.result(t1, writes: ["x": "2"]), identity: f.requester, now: 5)
            assertThrows(.stale) { () throws(DDEError) in
                try store.commit(task: stale, result: f.result(stale, writes: ["x": "9"]), identity: f.requester, now: 6)
            }
        }
        let first = try XCTUnwrap(r1)
        assertLinks(first, to: r0)
        let r2 = try f.commit(store, dapp: "alpha", n: 3, writes: ["x": "3"])
        assertLinks(r2, to: first)
        XCTAssertEqual(try store.verifyChain().count, 3)
    }

    func testTwoCommitsInOneOuterTransactionLink() throws {
        let r0 = try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"])
        var inner: [Receipt] = []
        let a = try f.task(store, dapp: "alpha", n: 1)
        let b = try f.task(store, dapp: "beta", n: 2)
        try store.database.transaction { () throws(DDEError) in
            inner.append(try store.commit(task: a, result: f.result(a, writes: ["x": "2"]), identity: f.requester, now: 5))
            inner.append(try store.commit(task: b, result: f.result(b, writes: ["k": "v"]), identity: f.requester, now: 6))
        }
        XCTAssertEqual(inner.count, 2)
        assertLinks(inner[0], to: r0)
        assertLinks(inner[1], to: inner[0])
        assertLinks(try f.commit(store, dapp: "alpha", n: 3, writes: ["x": "3"]), to: inner[1])
        XCTAssertEqual(try store.verifyChain().count, 4)
    }

    func testARolledBackOuterTransactionLeavesNoHead() throws {
        let r0 = try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"])
        for n in 1...2 {
            let t = try f.task(store, dapp: "alpha", n: n)
            assertThrows(.argument) { () throws(DDEError) in
                try store.database.transaction { () throws(DDEError) in
                    try store.commit(task: t, result: f.result(t, writes: ["x": "\(n)0"]), identity: f.requester, now: 5)
                    throw DDEError(.argument, "the caller gives up after the commit")
                }
            }
        }
        XCTAssertEqual(try store.receiptCount(), 1)
        let r1 = try f.commit(store, dapp: "alpha", n: 3, writes: ["x": "3"])
        assertLinks(r1, to: r0)
        assertLinks(try f.commit(store, dapp: "beta", n: 4, writes: ["k": "v"]), to: r1)
        XCTAssertEqual(try store.verifyChain().count, 3)
    }

    func testAFailedCommitAfterASuccessfulOneKeepsLinking() throws {
        let r0 = try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"])
        let t = try f.task(store, dapp: "alpha", n: 1)
        let res = f.result(t, writes: ["x": "2"])
        let r1 = try store.commit(task: t, result: res, identity: f.requester, now: 5)
        assertThrows(.duplicate) { () throws(DDEError) in try store.commit(task: t, result: res, identity: f.requester, now: 6) }
        let u = try f.task(store, dapp: "alpha", n: 2)
        assertThrows(.key) { () throws(DDEError) in
            try store.commit(task: u, result: f.result(u, writes: ["x": "3"]), identity: testKeyPair(99), now: 7)
        }
        let r2 = try f.commit(store, dapp: "alpha", n: 3, writes: ["x": "4"])
        assertLinks(r1, to: r0)
        assertLinks(r2, to: r1)
        XCTAssertEqual(try store.verifyChain().count, 3)
    }

    // MARK: the connection's marks

    func testAMarkCountsOnlyOnceItsOutermostTransactionCommits() throws {
        let db = store.database
        try db.transaction { () throws(DDEError) in
            try db.transaction { () throws(DDEError) in db.markPending(1) }
            XCTAssertTrue(db.isPending(1))
            XCTAssertNil(db.committedMark)  // the savepoint was released, the transaction is open
        }
        XCTAssertEqual(db.committedMark, 1)
        XCTAssertFalse(db.isPending(1))

        // A savepoint that rolls back drops the mark even though the outer transaction commits.
        let rollbacks = db.rollbacks
        try db.transaction { () throws(DDEError) in
            assertThrows(.stale) { () throws(DDEError) in
                try db.transaction { () throws(DDEError) in
                    db.markPending(2)
                    throw DDEError(.stale, "refused")
                }
            }
            XCTAssertFalse(db.isPending(2))
        }
        XCTAssertEqual(db.committedMark, 1)
        XCTAssertEqual(db.rollbacks, rollbacks + 1)

        // A rollback after the mark, in an unrelated savepoint, drops it too (nothing is trusted).
        try db.transaction { () throws(DDEError) in
            db.markPending(3)
            assertThrows(.stale) { () throws(DDEError) in
                try db.transaction { () throws(DDEError) in throw DDEError(.stale, "refused") }
            }
        }
        XCTAssertEqual(db.committedMark, 1)

        // A rolled-back outer transaction.
        assertThrows(.stale) { () throws(DDEError) in
            try db.transaction { () throws(DDEError) in
                db.markPending(4)
                throw DDEError(.stale, "refused")
            }
        }
        XCTAssertEqual(db.committedMark, 1)
        XCTAssertEqual(db.rollbacks, rollbacks + 3)

        // Outside a transaction a mark means nothing.
        db.markPending(5)
        XCTAssertFalse(db.isPending(5))
        try db.transaction { () throws(DDEError) in }
        XCTAssertEqual(db.committedMark, 1)
    }

    // MARK: the statement cache

    func testTheStatementCacheSurvivesNestingManyStatementsAndClose() throws {
        let db = try SQLiteDatabase(path: dir.path("cache.db"))
        try db.execute("CREATE TABLE t (x INTEGER)")
        let insert = "INSERT INTO t VALUES (?1)"
        // The same SQL used inside its own use prepares its own statement.
        try db.withStatement(insert) { outer throws(DDEError) in
            try outer.bind(1, int64: 1)
            try db.withStatement(insert) { inner throws(DDEError) in
                try inner.bind(1, int64: 10)
                try inner.step()
            }
            try outer.step()
        }
        // More distinct statements than the cache holds: each still runs, and with its own bindings.
        for i in 0..<100 {
            XCTAssertEqual(try db.queryInt64("SELECT \(i) + sum(x) FROM t"), Int64(i + 11))
        }
        try db.withStatement(insert) { s throws(DDEError) in
            try s.bind(1, int64: 100)
            try s.step()
        }
        XCTAssertEqual(try db.queryInt64("SELECT sum(x) FROM t"), 111)
        // A statement re-used without binding its parameter binds NULL (bindings were cleared).
        _ = try db.withStatement(insert) { s throws(DDEError) in try s.step() }
        XCTAssertEqual(try db.queryInt64("SELECT count(*) FROM t WHERE x IS NULL"), 1)
        // Closing inside a statement's use.
        try db.withStatement("SELECT sum(x) FROM t") { s throws(DDEError) in
            XCTAssertTrue(try s.step())
            db.close()
        }
        assertThrows(.closed) { () throws(DDEError) in _ = try db.queryInt64("SELECT 1") }
    }

    // MARK: the receipt's direct canonical writer

    func testReceiptBytesAreTheGenericCanonicalForm() throws {
        let r0 = try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"])
        let r1 = try f.commit(store, dapp: "alpha", n: 1, writes: ["x": "2"])
        var odd = r1
        odd.dappId = "d\u{e9}j\u{e0} \"vu\"\\\n\u{1}\u{1F600}"
        odd.action = "\u{7f}step\t"
        odd.capabilitiesDeclared = ["state.read", "z\u{2028}", ""]
        odd.capabilitiesUsed = []
        odd.index = 9_007_199_254_740_991
        odd.timestamp = 0
        for r in [r0, r1, odd] {
            XCTAssertEqual(r.canonicalBytes, r.json.canonicalBytes())
            XCTAssertEqual(r.computedHash, r.unsignedJSON.hash)
            XCTAssertEqual(r.canonicalBytes(signed: false), r.unsignedJSON.canonicalBytes())
        }
        XCTAssertNil(r0.previousReceiptHash)
        // The compute_result's direct writer too, with odd strings, deletions and a large latency.
        let t = try f.task(store, dapp: "alpha", n: 2)
        var res = f.result(t, writes: ["x": "3", "\u{e9}\"\n": nil, "": "v\u{0}"])
        res.result = .object(JSONObject(uniqueMembers: [.init("z\u{1F600}", .string("a\u{2028}\\")), .init("a", .number(-0.5))]))
        res.executionLatency = 9_007_199_254_740_991
        for r in [f.result(t, writes: [:]), res] {
            XCTAssertEqual(r.canonicalBytes, r.json.canonicalBytes())
        }
        // The commit's bytes, serialised once with the hash and signature spliced in.
        for r in [r0, r1] {
            XCTAssertEqual(try store.storedReceipt(at: r.index).receipt, r.json.canonicalBytes())
            XCTAssertEqual(r.computedHash, r.receiptHash)
            XCTAssertTrue(r.hasValidSignature)
        }
        // The proof hash a receipt names is H(proof) with its signature.
        let plain = f.result(t, writes: ["x": "3"])
        let v = try Verifier.verified(task: t, result: plain)
        XCTAssertEqual(v.proofHash, plain.proof.proofHash)
        XCTAssertEqual(v.resultBytes, plain.canonicalBytes)
    }
}
