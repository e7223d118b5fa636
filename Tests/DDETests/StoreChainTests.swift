import XCTest
import Foundation
@testable import DDE

/// Builds tasks and signed proofs the way a requester and an honest executor would, without
/// running WebAssembly: the chain only needs what the proof commits to.
struct ChainFixture {
    let requester = testKeyPair(10)
    let executor = testKeyPair(20)
    let codeHash = SHA256.hash("module bytes")

    /// A task on the dApp's current state in `store`.
    func task(_ store: Store, dapp: String, n: Int, at time: UInt64 = 1_700_000_000_000) throws -> ComputeTask {
        let entries = try store.dappState(dapp)
        var values = [[UInt8]: [UInt8]]()
        for e in entries { values[e.key] = e.value }
        let spec = TaskSpec(dappId: dapp, dappCodeHash: codeHash, action: "step",
                            payload: .object(JSONObject(uniqueMembers: [.init("n", .number(Double(n)))])),
                            requiredCapabilities: ["state.read", "state.write"],
                            state: values.isEmpty ? nil : StateMap(values: values), timestamp: time)
        return try ComputeTask.create(spec, requester: requester)
    }

    func result(_ task: ComputeTask, writes: [String: String?], by executor: KeyPair? = nil,
                tamper: (inout ExecutionProof) -> Void = { _ in }) -> ComputeResult {
        var map = [[UInt8]: [UInt8]?]()
        for (k, v) in writes { map[Array(k.utf8)] = .some(v.map { Array($0.utf8) }) }
        let stateWrites = StateWrites(map)
        let output = JSON.object(JSONObject(uniqueMembers: [.init("ok", .bool(true))]))
        let signer = executor ?? self.executor
        var proof = ExecutionProof(
            taskId: task.taskId, dappId: task.dappId, dappCodeHash: task.dappCodeHash, action: task.intent.action,
            inputHash: task.inputHash, capabilitiesDeclared: task.requiredCapabilities, capabilitiesUsed: ["state.write"],
            executionTraceHash: SHA256.hash("trace \(task.taskId.hex)"), traceLength: 2, fuelUsed: 100,
            resultHash: output.hash, previousStateRoot: task.previousStateRoot,
            nextStateRoot: task.stateOrEmpty.applying(stateWrites).root, stateWritesHash: stateWrites.hash,
            executorPublicKey: signer.publicKey, timestamp: 1_700_000_000_001)
        proof.sign(with: signer)
        tamper(&proof)
        return ComputeResult(proof: proof, result: output, stateWrites: stateWrites, executionLatency: 7)
    }

    /// Commits a task on `dapp` writing `writes`.
    @discardableResult
    func commit(_ store: Store, dapp: String, n: Int, writes: [String: String?], now: UInt64 = 1_700_000_000_100) throws -> Receipt {
        let t = try task(store, dapp: dapp, n: n)
        return try store.commit(task: t, result: result(t, writes: writes), identity: requester, now: now)
    }
}

/// Every row of every table, to show that a refused operation changed nothing.
func snapshot(_ store: Store) throws -> [String] {
    var out = [String]()
    for table in ["meta", "receipts", "compute_results", "dapp_state", "dapp_roots", "state_nodes", "reputation", "evidence"] {
        try store.database.withStatement("SELECT * FROM \(table) ORDER BY 1, 2") { s throws(DDEError) in
            while try s.step() {
                var row = table
                for c in 0..<s.columnCount { row += "|" + Hex.encode(s.blob(c)) }
                out.append(row)
            }
        }
    }
    return out
}

/// A test case with a fresh store file (`store`, in `dir`) and the chain fixture `f`.
class ChainStoreTestCase: XCTestCase {
    let f = ChainFixture()
    var dir: TempDir!
    var store: Store!

    override func setUpWithError() throws {
        dir = TempDir()
        store = try Store(path: dir.path("chain.db"))
    }

    override func tearDown() {
        store = nil
        dir = nil
    }
}

final class StoreChainTests: ChainStoreTestCase {

    /// Three commits on two dApps: a, b, a(update x, delete y).
    func commitThree() throws -> [Receipt] {
        [try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1", "y": "2"]),
         try f.commit(store, dapp: "beta", n: 1, writes: ["k": "v"]),
         try f.commit(store, dapp: "alpha", n: 2, writes: ["x": "3", "y": nil])]
    }

    func testCommitsFormALinkedSignedChain() throws {
        XCTAssertNil(try store.head())
        let r = try commitThree()
        XCTAssertEqual(r.map { $0.index }, [0, 1, 2])
        XCTAssertNil(r[0].previousReceiptHash)
        XCTAssertEqual(r[0].previousStateRoot, StateRoot.empty, "genesis starts at the empty node root")
        XCTAssertEqual(r[1].previousReceiptHash, r[0].receiptHash)
        XCTAssertEqual(r[2].previousReceiptHash, r[1].receiptHash)
        XCTAssertEqual(r[1].previousStateRoot, r[0].nextStateRoot)
        XCTAssertEqual(r[2].previousStateRoot, r[1].nextStateRoot)
        for receipt in r {
            XCTAssertEqual(receipt.computedHash, receipt.receiptHash)
            XCTAssertTrue(receipt.hasValidSignature)
            XCTAssertEqual(receipt.identity, f.requester.publicKey)
            XCTAssertEqual(receipt.remote.executorPublicKey, f.executor.publicKey)
        }
        XCTAssertEqual(try store.identity(), f.requester.publicKey)
        XCTAssertEqual(try store.head(), ChainHead(count: 3, receiptHash: r[2].receiptHash, nextStateRoot: r[2].nextStateRoot))
        XCTAssertEqual(try store.receipt(at: 1).canonicalBytes, r[1].canonicalBytes)
        assertThrows(.notFound) { () throws(DDEError) in _ = try store.receipt(at: 3) }
        XCTAssertEqual(try store.receiptIndex(taskId: r[1].taskId), 1)
    }

    func testWritesAreAppliedAndRootsMove() throws {
        let r = try commitThree()
        XCTAssertEqual(try store.dappValue("alpha", key: Array("x".utf8)), Array("3".utf8))
        XCTAssertNil(try store.dappValue("alpha", key: Array("y".utf8)), "a null write deletes")
        XCTAssertEqual(try store.dappValue("beta", key: Array("k".utf8)), Array("v".utf8))
        let alpha = StateMap(values: [Array("x".utf8): Array("3".utf8)])
        let beta = StateMap(values: [Array("k".utf8): Array("v".utf8)])
        // A dApp's root is its v2 state tree root (PROTOCOL.md 6.2); its v1 root is computed.
        XCTAssertEqual(try store.dappRoot("alpha"), StateTree(alpha).root)
        XCTAssertEqual(try store.dappRootV1("alpha"), alpha.root)
        XCTAssertEqual(try store.dappRoot("gamma"), StateRoot.empty)
        // Node root: the state-root tree over (dappId, raw tree root), sorted by dappId.
        let node = StateRoot.root(sortedEntries: [(Array("alpha".utf8), StateTree(alpha).root.bytes),
                                                  (Array("beta".utf8), StateTree(beta).root.bytes)])
        XCTAssertEqual(try store.nodeRoot(), node)
        XCTAssertEqual(r[2].nextStateRoot, node)
    }

    func testStoredObjectsAreCanonicalAndHashesRecompute() throws {
        let t = try f.task(store, dapp: "alpha", n: 0)
        let res = f.result(t, writes: ["x": "1"])
        try store.commit(task: t, result: res, identity: f.requester, now: 5)
        let stored = try store.storedReceipt(at: 0)
        XCTAssertEqual(stored.task, t.json.canonicalBytes())
        XCTAssertEqual(stored.result, res.json.canonicalBytes())
        let parsed = try ComputeResult(json: try JSONParser.parse(stored.result))
        XCTAssertEqual(parsed.proof.proofHash, try store.receipt(at: 0).remote.proofHash)
        XCTAssertEqual(SHA256.hash(try JSONParser.parse(stored.receipt).objectValue.map { JSON.object($0.removing("receiptHash", "signature")).canonicalBytes() } ?? []),
                       try store.receipt(at: 0).receiptHash)
    }

    func testVerifyChainPassesAndReportsProgress() throws {
        XCTAssertEqual(try store.verifyChain(), ChainReport(count: 0, head: nil))
        let r = try commitThree()
        var seen = [(UInt64, UInt64)]()
        let report = try store.verifyChain { seen.append(($0, $1)) }
        XCTAssertEqual(report.count, 3)
        XCTAssertEqual(report.head?.receiptHash, r[2].receiptHash)
        XCTAssertEqual(seen.map { $0.0 }, [1, 2, 3])
        XCTAssertEqual(seen.map { $0.1 }, [3, 3, 3])
        // Its replay table lived in a file; the connection is back at temp_store=MEMORY (2), which
        // keeps the delegation's savepoint journal out of a temporary file.
        XCTAssertEqual(try store.database.queryInt64("PRAGMA temp_store"), 2)
    }

    func testStaleTaskIsRefusedAndNothingChanges() throws {
        try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"])
        let first = try f.task(store, dapp: "alpha", n: 1)
        let second = try f.task(store, dapp: "alpha", n: 2)  // same starting root as `first`
        try store.commit(task: first, result: f.result(first, writes: ["x": "2"]), identity: f.requester, now: 9)
        let before = try snapshot(store)
        let e = assertThrows(.stale) { () throws(DDEError) in
            try store.commit(task: second, result: f.result(second, writes: ["x": "3"]), identity: f.requester, now: 10)
        }
        XCTAssertTrue(e?.detail.contains("alpha") ?? false, e?.detail ?? "")
        XCTAssertEqual(try snapshot(store), before)
    }

    func testDuplicateTaskIsRefusedAndNothingChanges() throws {
        let t = try f.task(store, dapp: "alpha", n: 0)
        let res = f.result(t, writes: ["x": "1"])
        try store.commit(task: t, result: res, identity: f.requester, now: 1)
        let before = try snapshot(store)
        let e = assertThrows(.duplicate) { () throws(DDEError) in try store.commit(task: t, result: res, identity: f.requester, now: 2) }
        XCTAssertTrue(e?.detail.contains("receipt 0") ?? false)
        // Another executor's proof for the same task is a duplicate too.
        let other = f.result(t, writes: ["x": "1"], by: testKeyPair(21))
        assertThrows(.duplicate) { () throws(DDEError) in try store.commit(task: t, result: other, identity: f.requester, now: 2) }
        XCTAssertEqual(try snapshot(store), before)
    }

    /// A task that writes nothing leaves the root where it was: its second commit would pass the
    /// stale check, and is refused as a duplicate before anything is written or signed.
    func testADuplicateWhoseRootStillMatchesIsRefusedAndNothingChanges() throws {
        try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"])
        let t = try f.task(store, dapp: "alpha", n: 1)
        let res = f.result(t, writes: [:])
        try store.commit(task: t, result: res, identity: f.requester, now: 1)
        let before = try snapshot(store)
        let e = assertThrows(.duplicate) { () throws(DDEError) in try store.commit(task: t, result: res, identity: f.requester, now: 2) }
        XCTAssertTrue(e?.detail.contains("receipt 1") ?? false, e?.detail ?? "")
        XCTAssertEqual(try snapshot(store), before)
        // And the next commit still links to the real head.
        let r2 = try f.commit(store, dapp: "alpha", n: 2, writes: ["x": "2"])
        XCTAssertEqual(r2.index, 2)
        XCTAssertEqual(try store.verifyChain().count, 3)
    }

    func testInvalidProofIsRefusedAndNothingChanges() throws {
        try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"])
        let before = try snapshot(store)
        let t = try f.task(store, dapp: "alpha", n: 1)
        let forged = f.result(t, writes: ["x": "2"]) { $0.fuelUsed += 1 }  // changed after signing
        assertThrows(.proofSignature) { () throws(DDEError) in try store.commit(task: t, result: forged, identity: f.requester, now: 3) }
        let wrongRoot = f.result(t, writes: ["x": "2"]) { p in
            p.nextStateRoot = StateRoot.empty
            p.sign(with: f.executor)
        }
        assertThrows(.nextStateRoot) { () throws(DDEError) in try store.commit(task: t, result: wrongRoot, identity: f.requester, now: 3) }
        XCTAssertEqual(try snapshot(store), before)
    }

    func testBannedExecutorIsRefusedUnlessThePolicySaysOtherwise() throws {
        for _ in 0..<3 { try store.reputation.recordFailure(f.executor.publicKey, now: 1000) }
        let before = try snapshot(store)
        let t = try f.task(store, dapp: "alpha", n: 0)
        let res = f.result(t, writes: ["x": "1"])
        assertThrows(.executorBanned) { () throws(DDEError) in try store.commit(task: t, result: res, identity: f.requester, now: 1001) }
        XCTAssertEqual(try snapshot(store), before)
        // The ban has expired by this commit's time.
        try store.commit(task: t, result: res, identity: f.requester, now: 1000 + 10 * 60 * 1000)
        XCTAssertEqual(try store.receiptCount(), 1)
    }

    func testAnotherIdentityCannotExtendTheChain() throws {
        try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1"])
        let before = try snapshot(store)
        let t = try f.task(store, dapp: "alpha", n: 1)
        assertThrows(.key) { () throws(DDEError) in
            try store.commit(task: t, result: f.result(t, writes: [:]), identity: testKeyPair(99), now: 2)
        }
        XCTAssertEqual(try snapshot(store), before)
    }

    func testChainSurvivesCloseAndOpen() throws {
        let r = try commitThree()
        store.close()
        assertThrows(.closed) { () throws(DDEError) in _ = try store.head() }
        store = try Store(path: dir.path("chain.db"))
        XCTAssertEqual(try store.head()?.receiptHash, r[2].receiptHash)
        XCTAssertEqual(try store.verifyChain().count, 3)
        try f.commit(store, dapp: "beta", n: 3, writes: ["k": nil])
        XCTAssertEqual(try store.verifyChain().count, 4)
    }

    func testExportJSONLines() throws {
        let r = try commitThree()
        var lines = [[UInt8]]()
        try store.exportJSONLines { lines.append($0) }
        XCTAssertEqual(lines.count, 3)
        for (i, line) in lines.enumerated() {
            XCTAssertEqual(line.last, UInt8(ascii: "\n"))
            let body = Array(line.dropLast())
            let json = try JSONParser.parse(body)
            XCTAssertEqual(json.canonicalBytes(), body, "each line is canonical JSON")
            let obj = try XCTUnwrap(json.objectValue)
            XCTAssertEqual(try Receipt(json: try XCTUnwrap(obj["receipt"])).receiptHash, r[i].receiptHash)
            XCTAssertEqual(try ComputeTask(json: try XCTUnwrap(obj["task"])).taskId, r[i].taskId)
            XCTAssertNotNil(try ComputeResult(json: try XCTUnwrap(obj["computeResult"])))
        }
        var short = [[UInt8]]()
        try store.exportJSONLines(withProofs: false) { short.append($0) }
        XCTAssertEqual(short.map { Array($0.dropLast()) }, r.map { $0.canonicalBytes })
    }

    func testConcurrentCommitsKeepTheChainLinear() throws {
        // Two connections to one file (as two processes would have), four threads, each thread
        // extending its own dApp.
        let second = try Store(path: dir.path("chain.db"))
        let stores = [store!, second]
        let perThread = 5
        let failures = NSLock()
        var errors = [String]()
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            let s = stores[i % 2]
            for n in 0..<perThread {
                do {
                    try f.commit(s, dapp: "dapp\(i)", n: n, writes: ["count": "\(n)"], now: UInt64(1000 + n))
                } catch {
                    failures.lock(); errors.append("\(error)"); failures.unlock()
                }
            }
        }
        XCTAssertEqual(errors, [])
        XCTAssertEqual(try store.receiptCount(), UInt64(4 * perThread))
        XCTAssertEqual(try store.verifyChain().count, UInt64(4 * perThread))
        XCTAssertEqual(try second.verifyChain().count, UInt64(4 * perThread))
        for i in 0..<4 { XCTAssertEqual(try store.dappValue("dapp\(i)", key: Array("count".utf8)), Array("\(perThread - 1)".utf8)) }
    }

    func testConcurrentCommitsOfOneTaskCommitItOnce() throws {
        let t = try f.task(store, dapp: "alpha", n: 0)
        let results = (0..<4).map { f.result(t, writes: ["x": "\($0)"], by: testKeyPair(UInt8(30 + $0))) }
        let lock = NSLock()
        var statuses = [Status]()
        let s = store!
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            var status = Status.ok
            do { try s.commit(task: t, result: results[i], identity: f.requester, now: 5) } catch { status = (error as? DDEError)?.status ?? .internalError }
            lock.lock(); statuses.append(status); lock.unlock()
        }
        XCTAssertEqual(statuses.filter { $0 == .ok }.count, 1)
        XCTAssertEqual(statuses.filter { $0 == .duplicate }.count, 3)
        XCTAssertEqual(try store.verifyChain().count, 1)
    }

    func testEvidenceIsKeptWholeAndFilteredByExecutor() throws {
        let t = try f.task(store, dapp: "alpha", n: 0)
        let bad = f.result(t, writes: ["x": "6"])
        let e = Evidence(executorKey: f.executor.publicKey, taskId: t.taskId, status: .resultMismatch,
                         detail: "quorum disagreed on resultHash", taskJSON: t.canonicalBytes,
                         resultJSON: bad.canonicalBytes, recordedAt: 42)
        let id = try store.addEvidence(e)
        try store.addEvidence(Evidence(executorKey: testKey(9), taskId: t.taskId, status: .nextStateRoot, detail: "audit",
                                       taskJSON: [], resultJSON: [], recordedAt: 43))
        XCTAssertEqual(try store.evidence().count, 2)
        let mine = try store.evidence(executor: f.executor.publicKey)
        XCTAssertEqual(mine.count, 1)
        XCTAssertEqual(mine.first?.id, id)
        XCTAssertEqual(mine.first?.status, .resultMismatch)
        XCTAssertEqual(mine.first?.resultJSON, bad.canonicalBytes)
        XCTAssertEqual(mine.first?.taskJSON, t.canonicalBytes)
        XCTAssertEqual(mine.first?.recordedAt, 42)
        XCTAssertEqual(try store.receiptCount(), 0, "evidence is not a commit")
    }
}
