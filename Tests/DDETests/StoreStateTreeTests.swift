import XCTest
import Foundation
@testable import DDE

/// Each dApp's v2 state tree in the store (StateTreeStore.swift, docs/STORE.md): kept by every
/// commit touching only the written paths' rows, built by the migration from schema 2, replayed
/// and compared by verifyChain, and the source of proofs that check against its root.
final class StoreStateTreeTests: ChainStoreTestCase {
    func treeMatchesState(_ dapp: String, file: StaticString = #filePath, line: UInt = #line) throws {
        var values = [[UInt8]: [UInt8]]()
        for e in try store.dappState(dapp) { values[e.key] = e.value }
        XCTAssertEqual(try store.dappRoot(dapp), StateTree(StateMap(values: values)).root, dapp, file: file, line: line)
    }

    func rows(_ dapp: String? = nil) throws -> Int64 {
        try store.database.queryInt64(dapp.map { "SELECT count(*) FROM state_nodes WHERE dapp_id = x'\(Hex.encode(Array($0.utf8)))'" }
                                      ?? "SELECT count(*) FROM state_nodes") ?? -1
    }

    /// Closes the store and opens its file again, which migrates it to the current schema.
    func reopenMigrated(file: StaticString = #filePath, line: UInt = #line) throws {
        store.close()
        store = try Store(path: dir.path("chain.db"))
        XCTAssertEqual(try store.fileSchemaVersion(), Store.schemaVersion, file: file, line: line)
    }

    /// One commit of accounts acct0 ... acct(n - 1), each holding its number.
    func seedAccounts(_ n: Int, dapp: String = "wallet", in s: Store? = nil) throws {
        var writes = [String: String?]()
        for i in 0..<n { writes["acct\(i)"] = .some("\(i)") }
        try f.commit(s ?? store, dapp: dapp, n: 0, writes: writes)
    }

    /// The chunks the dApp's tree stores (docs/STORE.md): one at the root when the state is not
    /// empty, one at each depth 4, 8, ... 252 under every path prefix that two keys or more
    /// share; but those above depth 12 that hold no leaf (no prefix 4 bits longer under them
    /// holds exactly one key) are derived, not stored.
    func chunksExpected(_ dapp: String) throws -> Int64 {
        let paths = try store.dappState(dapp).map { StateTreeHash.path($0.key) }
        if paths.isEmpty { return 0 }
        var count: Int64 = 0
        for depth in stride(from: 0, to: StateTreeHash.depth, by: 4) {
            for members in Dictionary(grouping: paths, by: { $0.pathPrefix(depth) }).values where members.count >= 2 || depth == 0 {
                if depth < StoredTree.storedFrom && members.count >= 2,
                   !Dictionary(grouping: members, by: { $0.pathPrefix(depth + 4) }).values.contains(where: { $0.count == 1 }) {
                    continue
                }
                count += 1
            }
        }
        return count
    }

    /// Seeded random commits on two dApps: sets, inserts, deletes, down to the empty state.
    func testTheTreeFollowsEveryCommit() throws {
        var rng = StateTreeTests.Rng(21)
        for n in 0..<60 {
            let dapp = n % 3 == 0 ? "beta" : "alpha"
            var writes = [String: String?]()
            let emptying = n == 40  // every key of alpha deleted at once
            if emptying {
                for e in try store.dappState("alpha") { writes[String(decoding: e.key, as: UTF8.self)] = .some(nil) }
            } else {
                for _ in 0..<(1 + rng.below(5)) {
                    let k = "k\(rng.below(30))"
                    writes[k] = rng.below(3) == 0 ? .some(nil) : .some("v\(rng.below(1000))")
                }
            }
            try f.commit(store, dapp: emptying ? "alpha" : dapp, n: n, writes: writes)
            try treeMatchesState("alpha")
            try treeMatchesState("beta")
            if emptying {
                XCTAssertEqual(try store.dappRoot("alpha"), StateTreeHash.empty)
                XCTAssertEqual(try rows("alpha"), 0, "an empty tree has no row")
            }
        }
        // One row per chunk of four levels: the root's, and one at each depth 4, 8, ... below a
        // prefix that two keys or more share.
        for dapp in ["alpha", "beta"] {
            XCTAssertEqual(try rows(dapp), try chunksExpected(dapp), dapp)
        }
        XCTAssertEqual(try store.verifyChain().count, 60)
    }

    /// A proof made from the store checks against the dApp's tree root, and the root it gives after
    /// writes is the root the store reaches by committing them.
    func testProofsFromTheStoreCheckAndPredictTheNextRoot() throws {
        try seedAccounts(200)
        let keys = ["acct7", "acct150", "nobody"].map { Array($0.utf8) }
        let (root, entries, proof) = try store.stateProof("wallet", keys: keys)
        XCTAssertEqual(root, try store.dappRoot("wallet"))
        XCTAssertEqual(entries.map { $0.value }, [Array("7".utf8), Array("150".utf8), nil])
        // Repeated keys are read once, where they first occur.
        let repeated = try store.stateProof("wallet", keys: [keys[1], keys[0], keys[1], keys[2], keys[0]])
        XCTAssertEqual(repeated.entries.map { $0.key }, [keys[1], keys[0], keys[2]])
        XCTAssertEqual(repeated.proof, proof)
        let proven = try ProvenState(proof: proof, entries: entries, root: root)
        let next = ["acct7": "0", "acct150": nil, "nobody": "57"] as [String: String?]
        var map = [[UInt8]: [UInt8]?]()
        for (k, v) in next { map[Array(k.utf8)] = .some(v.map { Array($0.utf8) }) }
        let predicted = try proven.root(applying: StateWrites(map))
        try f.commit(store, dapp: "wallet", n: 1, writes: next)
        XCTAssertEqual(try store.dappRoot("wallet"), predicted)
        // The proof's spelling is the canonical one (the in-memory tree gives the same bytes).
        var values = [[UInt8]: [UInt8]]()
        for e in try store.dappState("wallet") { values[e.key] = e.value }
        let (_, entries2, proof2) = try store.stateProof("wallet", keys: keys)
        XCTAssertEqual(proof2, StateTree(StateMap(values: values)).proof(keys: keys).bytes)
        XCTAssertNoThrow(try ProvenState(proof: proof2, entries: entries2, root: predicted))
    }

    /// A commit writes the rows on the written paths only: about as many at 2,000 keys as at 20,
    /// about log2(n) / 4 chunks per path.
    func testACommitTouchesOnlyTheWrittenPaths() throws {
        func changes(keys: Int, dapp: String) throws -> Int64 {
            var writes = [String: String?]()
            for i in 0..<keys { writes["acct\(i)"] = .some("\(i)") }
            try f.commit(store, dapp: dapp, n: keys, writes: writes)
            let before = try store.database.queryInt64("SELECT total_changes()") ?? 0
            try f.commit(store, dapp: dapp, n: keys + 1, writes: ["acct3": "x", "acct4": "y"])
            return (try store.database.queryInt64("SELECT total_changes()") ?? 0) - before
        }
        let small = try changes(keys: 20, dapp: "small")
        let large = try changes(keys: 2_000, dapp: "large")
        // Rows: receipt, compute_result, 2 state values, the dApp's roots, and the tree's chunks on
        // two paths (about 11 levels each at 2,000 keys, 3 chunks, the root's shared).
        XCTAssertLessThan(large, 14, "a commit at 2,000 keys changed \(large) rows")
        XCTAssertLessThan(large - small, 5, "20 keys: \(small) rows, 2,000 keys: \(large)")
        try treeMatchesState("large")
    }

    /// The positions of the dApp's stored chunks.
    func positions(_ dapp: String) throws -> Set<[UInt8]> {
        Set(try chunkBodies().keys.filter { $0.dapp == Array(dapp.utf8) }.map { $0.position })
    }

    /// A v2 task writing `writes` (it carries their keys and proof) and its honest result.
    func v2Task(_ dapp: String, n: Int, writes: [String: String?], in other: Store? = nil) throws -> (ComputeTask, ComputeResult) {
        let keys = writes.keys.sorted().map { Array($0.utf8) }
        let (root, entries, proof) = try (other ?? store).stateProof(dapp, keys: keys)
        let spec = TaskSpec(dappId: dapp, dappCodeHash: f.codeHash, action: "step",
                            payload: .object(JSONObject(uniqueMembers: [.init("n", .number(Double(n)))])),
                            requiredCapabilities: ["state.read", "state.write"],
                            partialState: try PartialState(entries: entries, proof: proof, root: root),
                            timestamp: 1_700_000_000_000)
        let t = try ComputeTask.create(spec, requester: f.requester)
        var map = [[UInt8]: [UInt8]?]()
        for (k, v) in writes { map[Array(k.utf8)] = .some(v.map { Array($0.utf8) }) }
        let next = try t.partialState!.root(applying: StateWrites(map))
        let r = f.result(t, writes: writes) { p in
            p.nextStateRoot = next
            p.sign(with: f.executor)
        }
        return (t, r)
    }

    /// Commits a v2 task: the commit writes the chunks from the verified proof's tree.
    func commitV2(_ dapp: String, n: Int, writes: [String: String?]) throws {
        let (t, r) = try v2Task(dapp, n: n, writes: writes)
        try store.commit(task: t, result: r, identity: f.requester, now: 1_700_000_000_100)
    }

    /// Above depth 12 a chunk that holds no leaf is derived from the chunks below it, not stored:
    /// in a tree of 2,000 keys the root's chunk and most of those at depth 4. Commits (v1: the
    /// paths loaded and written back; v2: the proof's tree written) keep exactly the rows a tree
    /// built at once from the same state has; a store opened again derives them from its rows;
    /// verifyChain agrees.
    func testTheTopOfALargeTreeIsDerivedNotStored() throws {
        try seedAccounts(2_000)
        let stored = try positions("wallet")
        XCTAssertFalse(stored.contains([0]), "the root's chunk (no key alone under a prefix of 4 bits) is derived")
        XCTAssertLessThan(stored.filter { $0.count == 2 }.count, 8, "most chunks at depth 4 hold no leaf")
        XCTAssertEqual(Int64(stored.count), try chunksExpected("wallet"))
        try f.commit(store, dapp: "wallet", n: 1, writes: ["acct3": "x", "acct1999": nil])
        try commitV2("wallet", n: 2, writes: ["acct5": "y", "new1": "1"])
        // Opened again: nothing kept in memory, the derived chunks come from the rows below.
        store.close()
        store = try Store(path: dir.path("chain.db"))
        let keys = [Array("acct7".utf8), Array("nobody".utf8)]
        let (root, entries, proof) = try store.stateProof("wallet", keys: keys)
        XCTAssertNoThrow(try ProvenState(proof: proof, entries: entries, root: root))
        try commitV2("wallet", n: 3, writes: ["acct6": "z", "new2": "2"])
        try f.commit(store, dapp: "wallet", n: 4, writes: ["acct8": nil])
        try treeMatchesState("wallet")
        XCTAssertEqual(Int64(try positions("wallet").count), try chunksExpected("wallet"))
        XCTAssertEqual(try store.verifyChain().count, 5)
        // One form: the rows of a tree built at once from the final state.
        let other = try Store(path: dir.path("other.db"))
        var state = [String: String?]()
        for e in try store.dappState("wallet") { state[String(decoding: e.key, as: UTF8.self)] = .some(String(decoding: e.value, as: UTF8.self)) }
        try f.commit(other, dapp: "wallet", n: 0, writes: state)
        XCTAssertEqual(try chunkBodies(in: other), try chunkBodies())
    }

    /// A chunk moves between stored and derived as its leaves come and go: from 5 keys (the
    /// root's chunk holds leaves) to 1,000 (it holds none) and back to 5, each commit leaves the
    /// expected rows, and the chain verifies.
    func testChunksMoveBetweenStoredAndDerived() throws {
        try seedAccounts(5)
        XCTAssertTrue(try positions("wallet").contains([0]))
        var writes = [String: String?]()
        for i in 5..<1_000 { writes["acct\(i)"] = .some("\(i)") }
        try f.commit(store, dapp: "wallet", n: 1, writes: writes)
        XCTAssertFalse(try positions("wallet").contains([0]))
        XCTAssertEqual(Int64(try positions("wallet").count), try chunksExpected("wallet"))
        try commitV2("wallet", n: 2, writes: ["acct1": "x"])
        writes = [:]
        for i in 5..<1_000 { writes["acct\(i)"] = .some(nil) }
        try f.commit(store, dapp: "wallet", n: 3, writes: writes)
        XCTAssertTrue(try positions("wallet").contains([0]))
        XCTAssertEqual(Int64(try positions("wallet").count), try chunksExpected("wallet"))
        try treeMatchesState("wallet")
        XCTAssertEqual(try store.verifyChain().count, 4)
    }

    /// The derived chunks a store keeps after each commit are those a store opened afresh derives
    /// from the rows, in a tree of 1,000 keys whose top mixes derived and stored chunks (a
    /// derived one may lie below a stored one): seeded random commits, v1 and v2, setting,
    /// inserting and deleting keys.
    func testKeptDerivedChunksAreThoseDerivedFromTheRows() throws {
        try seedAccounts(1_000)
        let dapp = Array("wallet".utf8)
        var rng = StateTreeTests.Rng(3)
        var next = 1_000
        for n in 1...150 {
            var writes = [String: String?]()
            for _ in 0..<(1 + rng.below(3)) {
                switch rng.below(4) {
                case 0: writes["acct\(rng.below(next))"] = .some(nil)
                case 1: writes["acct\(next)"] = .some("new"); next += 1
                default: writes["acct\(rng.below(next))"] = .some("v\(n)")
                }
            }
            // v1 (the whole state in the task) now and then: its commit is O(n).
            if n % 10 == 0 { try f.commit(store, dapp: "wallet", n: n, writes: writes) } else { try commitV2("wallet", n: n, writes: writes) }
            let root = try store.dappRoot("wallet")
            let kept = try XCTUnwrap(store.derivedChunks.chunks(dapp, root: root))
            let fresh = try Store(path: dir.path("chain.db"))
            _ = try fresh.stateProof("wallet", keys: [dapp])
            let derived = try XCTUnwrap(fresh.derivedChunks.chunks(dapp, root: root))
            fresh.close()
            XCTAssertEqual(kept.mapValues { $0?.body }, derived.mapValues { $0?.body }, "commit \(n), writes \(writes)")
            if kept.count != derived.count { return }
        }
        XCTAssertTrue(try store.derivedChunks.chunks(dapp, root: store.dappRoot("wallet"))?.keys.contains { $0.count == 3 } ?? false,
                      "some chunk at depth 8 is derived")
        XCTAssertEqual(Int64(try positions("wallet").count), try chunksExpected("wallet"))
        try treeMatchesState("wallet")
        XCTAssertEqual(try store.verifyChain().count, 151)
    }

    /// Two connections on one file take turns committing to a tree with derived chunks: each
    /// finds the root moved by the other's commit and derives its chunks again; a task built
    /// before the other's commit is refused as stale and changes nothing; the chain verifies.
    func testTwoConnectionsTakeTurnsOnATreeWithDerivedChunks() throws {
        try seedAccounts(2_000)
        let second = try Store(path: dir.path("chain.db"))
        let dapp = Array("wallet".utf8)
        for n in 1...6 {
            let s = n % 2 == 0 ? store! : second
            let (t, r) = try v2Task("wallet", n: n, writes: ["acct\(n)": "v\(n)", "new\(n)": "1"], in: s)
            try s.commit(task: t, result: r, identity: f.requester, now: 1_700_000_000_100)
            XCTAssertNotNil(s.derivedChunks.chunks(dapp, root: try s.dappRoot("wallet")))
        }
        let (late, result) = try v2Task("wallet", n: 7, writes: ["acct7": "x"], in: store)
        let (t, r) = try v2Task("wallet", n: 8, writes: ["acct8": "y"], in: second)
        try second.commit(task: t, result: r, identity: f.requester, now: 1_700_000_000_100)
        let before = try snapshot(store)
        XCTAssertNotNil(assertThrows(.stale) { () throws(DDEError) in
            try store.commit(task: late, result: result, identity: f.requester, now: 1_700_000_000_200)
        })
        XCTAssertEqual(try snapshot(store), before)
        try commitV2("wallet", n: 9, writes: ["acct7": "x"])
        try treeMatchesState("wallet")
        XCTAssertEqual(Int64(try positions("wallet").count), try chunksExpected("wallet"))
        XCTAssertEqual(try second.verifyChain().count, 9)
    }

    /// More dApps than a store keeps derived chunks for (`DerivedChunks.dappsKept`, 8) take
    /// turns: a read past the eighth derives again, and every commit lands and verifies.
    func testMoreDappsThanKeptTakeTurns() throws {
        for d in 0..<10 { try seedAccounts(200, dapp: "d\(d)") }
        XCTAssertFalse(try positions("d0").contains([0]), "200 keys: the root's chunk is derived")
        for n in 1...20 { try commitV2("d\(n % 10)", n: n, writes: ["acct\(n)": "x", "new": "\(n)"]) }
        let kept = try (0..<10).filter { store.derivedChunks.chunks(Array("d\($0)".utf8), root: try store.dappRoot("d\($0)")) != nil }
        XCTAssertEqual(kept, [0] + Array(3...9), "the eight dApps committed last (n = 13 to 20)")
        for d in 0..<10 { try treeMatchesState("d\(d)") }
        XCTAssertEqual(try store.verifyChain().count, 30)
    }

    /// Derived chunks are kept for the root they were derived for: a commit rolled back after
    /// writing its tree leaves them for a root the dApp does not have, and the next read derives
    /// them again from the rows.
    func testACommitRolledBackLeavesNoStaleDerivedChunks() throws {
        try seedAccounts(2_000)
        let dapp = Array("wallet".utf8)
        let root = try store.dappRoot("wallet")
        let (t, r) = try v2Task("wallet", n: 1, writes: ["acct3": "x", "new1": "1"])
        let rolledBack = assertThrows(.internalError) { () throws(DDEError) in
            try store.database.transaction { () throws(DDEError) in
                _ = try store.commit(task: t, result: r, identity: f.requester, now: 1_700_000_000_100)
                throw DDEError(.internalError, "rolled back")
            }
        }
        XCTAssertNotNil(rolledBack)
        XCTAssertEqual(try store.dappRoot("wallet"), root)
        XCTAssertNil(store.derivedChunks.chunks(dapp, root: root), "kept for the root of the commit that did not land")
        XCTAssertNotNil(store.derivedChunks.chunks(dapp, root: r.proof.nextStateRoot))
        try commitV2("wallet", n: 2, writes: ["acct3": "y", "new2": "2"])
        try treeMatchesState("wallet")
        XCTAssertEqual(try store.verifyChain().count, 2)
    }

    /// A tree altered below its derived chunks is found: by a commit over the altered path while
    /// they are kept and by verifyChain; a chunk removed right below them, by deriving them when
    /// the store is opened again (the rows no longer hash to the root: a derived chunk is built
    /// from the stored hashes of the chunks below, as a load trusts them, so an altered leaf deeper
    /// in those is verifyChain's to find); a row stored where a chunk is derived, by verifyChain.
    func testAnAlteredTreeBelowDerivedChunksIsFound() throws {
        try seedAccounts(2_000)
        XCTAssertFalse(try positions("wallet").contains([0]))
        try assertACommitOverAnAlteredLeafIsRefused(in: store)
        XCTAssertNotNil(assertThrows(.chainBroken) { () throws(DDEError) in try store.verifyChain() })

        // A stored chunk right below the derived ones removed: opened again, the derived chunks
        // no longer hash to the root, and every read of the tree says so.
        let missing = try Store(path: dir.path("missing.db"))
        try seedAccounts(2_000, in: missing)
        let stored = Set(try chunkBodies(in: missing).keys.map { $0.position })
        let below = try XCTUnwrap(stored.filter { $0.count == 3 && !stored.contains(Array($0.prefix(2))) }
                                        .min { $0.lexicographicallyPrecedes($1) }, "a chunk at depth 8 below a derived one")
        try missing.database.withStatement(TreeTable.live.delete) { s throws(DDEError) in
            try s.bind(1, blob: Array("wallet".utf8))
            try s.bind(2, blob: below)
            try s.step()
        }
        missing.close()
        let reopened = try Store(path: dir.path("missing.db"))
        let proof = assertThrows(.chainBroken) { () throws(DDEError) in _ = try reopened.stateProof("wallet", keys: [Array("acct9".utf8)]) }
        XCTAssertTrue(proof?.detail.contains("its chunks do not hash to its root") ?? false, proof?.detail ?? "")
        XCTAssertNotNil(assertThrows(.chainBroken) { () throws(DDEError) in try reopened.verifyChain() })

        // A row where the root's chunk is derived (as schema 4 stored it): verifyChain refuses it.
        let other = try Store(path: dir.path("other.db"))
        try seedAccounts(2_000, in: other)
        let root = try other.dappRoot("wallet")
        let top = try XCTUnwrap(other.derivedChunks.chunks(Array("wallet".utf8), root: root)?[[0]] ?? nil)
        try putChunk("wallet", at: [0], top.body, in: other)
        let e = assertThrows(.chainBroken) { () throws(DDEError) in try other.verifyChain() }
        XCTAssertTrue(e?.detail.contains("wallet") ?? false, e?.detail ?? "")
    }

    /// A store of schema 4 (every chunk stored) is migrated when opened: the rows of the chunks
    /// now derived go, nothing else changes, the chain verifies, and commits go on.
    func testASchema4StoreIsMigrated() throws {
        try seedAccounts(2_000)
        try f.commit(store, dapp: "small", n: 1, writes: ["k": "v", "l": "w"])
        let expected = try chunkBodies()
        let root = try store.dappRoot("wallet")
        let derived = try XCTUnwrap(store.derivedChunks.chunks(Array("wallet".utf8), root: root))
        XCTAssertGreaterThan(derived.count, 1)
        for (position, chunk) in derived {
            try putChunk("wallet", at: position, try XCTUnwrap(chunk).body)
        }
        try store.database.execute("PRAGMA user_version = 4")
        try reopenMigrated()
        XCTAssertEqual(try chunkBodies(), expected)
        XCTAssertEqual(try store.verifyChain().count, 2)
        try commitV2("wallet", n: 2, writes: ["acct1": "x"])
        XCTAssertEqual(try store.verifyChain().count, 3)
    }

    /// verifyChain replays the trees and compares them with the stored ones row for row; a
    /// commit refuses a tree altered on its paths and changes nothing.
    func testAnAlteredTreeIsFound() throws {
        func wallet(_ name: String) throws -> Store {
            let s = try Store(path: dir.path(name))
            try seedAccounts(50, in: s)
            XCTAssertNoThrow(try s.verifyChain())
            return s
        }
        // A chunk's body is 8 bytes of tags, then its slots' bytes in pre-order without slot 1's
        // hash: in the root chunk of 50 keys, bytes 9-40 are slot 2's hash (a node, about 25
        // keys below); a leaf's bytes are its path and its value hash.
        let path7 = SHA256.hash(Array("acct7".utf8)).hex
        let cases = [
            ("a node's hash", "UPDATE state_nodes SET body = CAST(substr(body, 1, 8) || zeroblob(32) || substr(body, 41) AS BLOB) WHERE position = x'00'"),
            ("a body that is not a chunk", "UPDATE state_nodes SET body = x'02' WHERE position = (SELECT max(position) FROM state_nodes)"),
            ("a leaf's value hash", Self.zeroValueHash(path7)),
            ("a chunk removed", "DELETE FROM state_nodes WHERE position = (SELECT max(position) FROM state_nodes)"),
            ("a row added", "INSERT INTO state_nodes VALUES (CAST('wallet' AS BLOB), x'00ff00', x'00')"),
            ("the tree root", "UPDATE dapp_roots SET root = zeroblob(32)"),
        ]
        for (n, (what, sql)) in cases.enumerated() {
            let s = try wallet("w\(n).db")
            try s.database.execute(sql)
            if n == 0 {
                let root = try s.database.withStatement("SELECT body FROM state_nodes WHERE position = x'00'") { s throws(DDEError) -> [UInt8] in
                    _ = try s.step()
                    return s.blob(0)
                }
                XCTAssertNotNil(StoredChunk(body: root), "the altered hash leaves a body that reads")
            }
            let e = assertThrows(.chainBroken) { () throws(DDEError) in try s.verifyChain() }
            XCTAssertTrue(e?.detail.contains("wallet") ?? false, "\(what): \(e?.detail ?? "")")
        }

        // A commit over an altered leaf is refused, and nothing changes.
        try assertACommitOverAnAlteredLeafIsRefused(in: try wallet("commit.db"))
    }

    /// Zeroes acct3's leaf value hash in the stored tree of `wallet`: a commit writing acct3 is
    /// refused ("stored tree") and changes nothing.
    func assertACommitOverAnAlteredLeafIsRefused(in s: Store, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = SHA256.hash(Array("acct3".utf8))
        try s.database.execute(Self.zeroValueHash(path.hex))
        let before = try snapshot(s)
        let t = try f.task(s, dapp: "wallet", n: 1)
        let e = assertThrows(.chainBroken, file: file, line: line) { () throws(DDEError) in
            try s.commit(task: t, result: f.result(t, writes: ["acct3": "9"]), identity: f.requester, now: 1_700_000_000_200)
        }
        XCTAssertTrue(e?.detail.contains("stored tree") ?? false, e?.detail ?? "", file: file, line: line)
        XCTAssertEqual(try snapshot(s), before, file: file, line: line)
    }

    /// Writes a row of state_nodes as a commit would (upsert), in `other` or the test's store.
    func putChunk(_ dapp: String, at position: [UInt8], _ body: [UInt8], in other: Store? = nil) throws {
        try (other ?? store).database.withStatement(TreeTable.live.upsert) { s throws(DDEError) in
            try s.bind(1, blob: Array(dapp.utf8))
            try s.bind(2, blob: position)
            try s.bind(3, blob: body)
            try s.step()
        }
    }

    /// A v2 commit rewrites the chunks on its paths from the task's proof, copying only the slots
    /// beside the paths from the stored chunks: a stored slot that disagrees with the proof there
    /// is refused, and nothing changes.
    func testAV2CommitRefusesAStoredChunkThatDisagreesWithItsProof() throws {
        try seedAccounts(50)
        let key = Array("acct3".utf8)
        let (root, entries, proof) = try store.stateProof("wallet", keys: [key])
        let spec = TaskSpec(dappId: "wallet", dappCodeHash: f.codeHash, action: "step",
                            payload: .object(JSONObject(uniqueMembers: [.init("n", .number(1))])),
                            requiredCapabilities: ["state.read", "state.write"],
                            partialState: try PartialState(entries: entries, proof: proof, root: root),
                            timestamp: 1_700_000_000_000)
        let t = try ComputeTask.create(spec, requester: f.requester)
        let next = try t.partialState!.root(applying: StateWrites([key: .some(Array("9".utf8))]))
        let r = f.result(t, writes: ["acct3": "9"]) { p in
            p.nextStateRoot = next
            p.sign(with: f.executor)
        }
        // The root chunk's slot at depth 2 beside acct3's path: a node (50 keys), given by the
        // proof as one hash.
        let path = SHA256.hash(key)
        let beside = 4 + (path.pathBit(0) ? 2 : 0) + (path.pathBit(1) ? 0 : 1)
        let body = try store.database.withStatement("SELECT body FROM state_nodes WHERE position = x'00'") { s throws(DDEError) -> [UInt8] in
            _ = try s.step()
            return s.blob(0)
        }
        var chunk = TreeChunk(try XCTUnwrap(StoredChunk(body: body)), top: root)
        guard case .node = chunk.slots[beside] else { return XCTFail("slot \(beside) is \(chunk.slots[beside])") }
        chunk.slots[beside] = .node(Digest(Bytes32()))
        try store.database.withStatement("UPDATE state_nodes SET body = ?1 WHERE position = x'00'") { s throws(DDEError) in
            try s.bind(1, blob: chunk.encoded)
            try s.step()
        }
        let before = try snapshot(store)
        let e = assertThrows(.chainBroken) { () throws(DDEError) in
            try store.commit(task: t, result: r, identity: f.requester, now: 1_700_000_000_200)
        }
        XCTAssertTrue(e?.detail.contains("differs from the proven one") ?? false, e?.detail ?? "")
        XCTAssertEqual(try snapshot(store), before)
        // The delegating client's door: the commit is a savepoint inside the scores' transaction,
        // so its refusal, after it wrote dapp_state, undoes only the commit; the scores stay and
        // nothing of the commit does.
        let written = try store.record(scores: [.success(f.executor.publicKey, latencyMs: 7)], evidence: [],
                                       accepted: try Verifier.verified(task: t, result: r), assurance: Assurance(how: .firstValid),
                                       identity: f.requester, now: 1_700_000_000_300)
        XCTAssertEqual(written.refused?.status, .chainBroken)
        XCTAssertNil(written.receipt)
        XCTAssertEqual(try store.reputation.records([f.executor.publicKey], now: 1_700_000_000_300)[f.executor.publicKey]?.successfulProofs, 1)
        XCTAssertEqual(try snapshot(store).filter { !$0.hasPrefix("reputation|") }, before.filter { !$0.hasPrefix("reputation|") })
    }

    /// SQL that zeroes the value hash of the leaf whose path is `pathHex` in the chunk holding it.
    static func zeroValueHash(_ pathHex: String) -> String {
        let at = "instr(body, x'\(pathHex)')"
        return "UPDATE state_nodes SET body = CAST(substr(body, 1, \(at) + 31) || zeroblob(32) || substr(body, \(at) + 64) AS BLOB) WHERE \(at) > 0"
    }

    /// A store of schema 2 (before the trees) is migrated when opened: its trees are built from
    /// its states, its chain still verifies, and commits go on.
    func testASchema2StoreIsMigrated() throws {
        try f.commit(store, dapp: "alpha", n: 0, writes: ["x": "1", "y": "2", "z": "3"])
        try f.commit(store, dapp: "beta", n: 1, writes: ["k": "v"])
        try f.commit(store, dapp: "alpha", n: 2, writes: ["y": nil])
        let expected = (try store.dappRoot("alpha"), try store.dappRoot("beta"))
        // Back to schema 2, as dde 0.2.0 wrote it: no trees, v1 roots, receipts of version 2
        // (roots over v1 roots) whose hashes and signatures hold.
        try downgradeToSchema2()
        try reopenMigrated()
        XCTAssertEqual(try store.dappRoot("alpha"), expected.0)
        XCTAssertEqual(try store.dappRoot("beta"), expected.1)
        XCTAssertEqual(try store.verifyChain().count, 3)
        try f.commit(store, dapp: "alpha", n: 3, writes: ["x": nil, "w": "4"])
        try treeMatchesState("alpha")
        XCTAssertEqual(try store.verifyChain().count, 4)
        XCTAssertEqual(try store.receipt(at: 2).receiptVersion, 2)
        XCTAssertEqual(try store.receipt(at: 3).receiptVersion, 3, "receipts over tree roots follow the old ones")
    }

    /// A store of schema 3 (chunk bodies with a tag byte per slot and the top's hash) is
    /// migrated when opened: every chunk is rewritten in the short form, the roots stay, the
    /// chain verifies, and commits go on.
    func testASchema3StoreIsMigrated() throws {
        try seedAccounts(300, dapp: "alpha")
        try f.commit(store, dapp: "beta", n: 1, writes: ["k": "v"])
        let expected = (try store.dappRoot("alpha"), try store.dappRoot("beta"))
        let short = try chunkBodies()
        let chunks = try rows()
        XCTAssertEqual(chunks, try chunksExpected("alpha") + chunksExpected("beta"))
        // Back to schema 3's bodies, as dde 0.2.0 wrote them, with the rows schema 5 derives
        // (alpha's top; beta's one chunk holds its leaf): migration 4 converts them, 5 drops them.
        for dapp in ["alpha", "beta"] {
            try rewriteChunks(dapp) { TreeChunkV3.encode($0) }
        }
        let derived = try XCTUnwrap(store.derivedChunks.chunks(Array("alpha".utf8), root: expected.0))
        XCTAssertFalse(derived.isEmpty)
        for (position, chunk) in derived {
            let c = try XCTUnwrap(chunk)
            try putChunk("alpha", at: position, TreeChunkV3.encode(TreeChunk(c, top: c.top.hash)))
        }
        XCTAssertEqual(try chunkBodies().filter { StoredChunk(body: $0.value) != nil }.count, 0, "schema 3 bodies are not read as schema 4's")
        try store.database.execute("PRAGMA user_version = 3")
        try reopenMigrated()
        XCTAssertEqual(try chunkBodies(), short, "the same chunks in the short form")
        XCTAssertEqual(try store.dappRoot("alpha"), expected.0)
        XCTAssertEqual(try store.dappRoot("beta"), expected.1)
        XCTAssertEqual(try store.verifyChain().count, 2)
        try f.commit(store, dapp: "alpha", n: 2, writes: ["acct7": nil, "acct300": "x"])
        try treeMatchesState("alpha")
        XCTAssertEqual(try store.verifyChain().count, 3)

        // A schema-3 file with a body in neither form: the trees are built again from the states.
        let converted = try chunkBodies()
        for dapp in ["alpha", "beta"] {
            try rewriteChunks(dapp) { TreeChunkV3.encode($0) }
        }
        try store.database.execute("UPDATE state_nodes SET body = x'07' WHERE position = (SELECT max(position) FROM state_nodes); PRAGMA user_version = 3")
        try reopenMigrated()
        XCTAssertEqual(try chunkBodies(), converted)
        XCTAssertEqual(try store.verifyChain().count, 3)
    }

    /// The migration to schema 4 converts each body as it is, without hashing or rebuilding: a
    /// schema-3 tree altered before it (a leaf's value hash zeroed) stays altered, for verifyChain
    /// to find, rather than being repaired out of sight.
    func testTheSchema4MigrationConvertsWithoutRepairing() throws {
        try seedAccounts(50)
        try rewriteChunks("wallet") { TreeChunkV3.encode($0) }
        let path = SHA256.hash(Array("acct7".utf8)).hex
        try store.database.execute(Self.zeroValueHash(path) + "; PRAGMA user_version = 3")
        try reopenMigrated()
        XCTAssertEqual(try store.database.queryInt64("SELECT count(*) FROM state_nodes WHERE instr(body, x'\(path)' || zeroblob(32)) > 0"), 1)
        let e = assertThrows(.chainBroken) { () throws(DDEError) in try store.verifyChain() }
        XCTAssertTrue(e?.detail.contains("wallet") ?? false, e?.detail ?? "")
    }

    /// A stored body that is not a chunk is refused where it is read: by a commit and by a proof
    /// from the store, each naming the dApp and saying to run verifyChain.
    func testABodyThatIsNotAChunkIsRefused() throws {
        try seedAccounts(50)
        try store.database.execute("UPDATE state_nodes SET body = CAST(body || x'00' AS BLOB) WHERE position = x'00'")
        let before = try snapshot(store)
        let proof = assertThrows(.chainBroken) { () throws(DDEError) in _ = try store.stateProof("wallet", keys: [Array("acct3".utf8)]) }
        XCTAssertTrue(proof?.detail.contains("a row's body is not a chunk: run verifyChain") ?? false, proof?.detail ?? "")
        XCTAssertTrue(proof?.detail.contains("\"wallet\"") ?? false, proof?.detail ?? "")
        // A v1 task carries the whole state, no proof: its commit loads the paths from the chunks.
        let v1 = try f.task(store, dapp: "wallet", n: 1)
        let commit = assertThrows(.chainBroken) { () throws(DDEError) in
            _ = try store.commit(task: v1, result: f.result(v1, writes: ["acct3": nil]), identity: f.requester, now: 1_700_000_000_200)
        }
        XCTAssertTrue(commit?.detail.contains("a row's body is not a chunk") ?? false, commit?.detail ?? "")
        XCTAssertEqual(try snapshot(store), before)
    }

    /// A full chunk's row fits a 4 KiB page (at most 1,002 bytes a row, else its body spills
    /// into an overflow page that each commit rewrites): 968 bytes of body. Full chunks are
    /// stored from depth 12 on (those above are derived), in trees of about 100,000 keys or
    /// more: here a full chunk's body, as a commit makes it, is written in rows of the longest
    /// dApp id the claim holds for (25 bytes) at positions of depth 12.
    func testAFullChunkFitsItsPage() throws {
        // A full chunk as a commit makes it: the root's of 2,000 keys (derived, so not stored).
        try seedAccounts(2_000)
        let derived = try XCTUnwrap(store.derivedChunks.chunks(Array("wallet".utf8), root: try store.dappRoot("wallet")))
        let body = try XCTUnwrap(derived[[0]] ?? nil).body
        XCTAssertEqual(body.count, 968)
        let dapp = String(repeating: "d", count: 25)
        for n in 0..<400 { try putChunk(dapp, at: [0, UInt8(n >> 8), UInt8((n >> 4) & 15), UInt8(n & 15)], body) }
        // dbstat is in Debian's SQLite (SQLITE_ENABLE_DBSTAT_VTAB), not in every build of it.
        let pages: Int64?, overflow: Int64?
        do {
            pages = try store.database.queryInt64("SELECT count(*) FROM dbstat WHERE name = 'state_nodes' AND pagetype = 'leaf'")
            overflow = try store.database.queryInt64("SELECT count(*) FROM dbstat WHERE name = 'state_nodes' AND pagetype = 'overflow'")
        } catch {
            throw XCTSkip("this SQLite has no dbstat table: \(error.detail)")
        }
        XCTAssertEqual(overflow, 0)
        XCTAssertGreaterThan(pages ?? 0, 0)
        XCTAssertEqual(try store.database.queryInt64("SELECT count(*) FROM state_nodes WHERE length(dapp_id) = 25"), 400)
    }

    /// A chunk's body has one form: each stored body reads back and encodes to itself; a body
    /// with a tag on a slot outside the tree, a tag 3, an empty top, or bytes missing or left
    /// over is refused; and any body changed at random that still reads encodes to itself.
    func testAChunkBodyHasOneForm() throws {
        try seedAccounts(300)
        let bodies = try chunkBodies().values.sorted { $0.count > $1.count }
        let top = Digest(unchecked: [UInt8](repeating: 7, count: 32))
        for body in bodies {
            XCTAssertEqual(TreeChunk(try XCTUnwrap(StoredChunk(body: body)), top: top).encoded, body)
            XCTAssertNil(StoredChunk(body: Array(body.dropLast())))
            XCTAssertNil(StoredChunk(body: body + [0]))
        }
        // A chunk whose top is a node with two leaves below (slots 2 and 3), nothing deeper.
        var c = TreeChunk()
        c.slots[1] = .node(top)
        c.slots[2] = .leaf(path: top, valueHash: top)
        c.slots[3] = .leaf(path: top, valueHash: top)
        let small = c.encoded
        XCTAssertEqual(small.count, 8 + 128)
        XCTAssertNotNil(StoredChunk(body: small))
        func tagged(_ slot: Int, _ tag: UInt8) -> [UInt8] {
            var b = small
            b[(slot - 1) / 4] |= tag << (2 * ((slot - 1) % 4))
            return b
        }
        XCTAssertNil(StoredChunk(body: tagged(4, 1)), "a tag below a leaf")
        XCTAssertNil(StoredChunk(body: tagged(2, 3)), "tag 3")
        XCTAssertNil(StoredChunk(body: [0] + [UInt8](repeating: 0, count: 7)), "an empty top")
        XCTAssertNil(StoredChunk(body: []))
        var b = small
        b[7] |= 0x80
        XCTAssertNil(StoredChunk(body: b), "the tags' two spare bits")
        var rng = StateTreeTests.Rng(5)
        var read = 0
        for _ in 0..<4_000 {
            var b = bodies[Int(rng.next() % UInt64(bodies.count))]
            switch rng.next() % 3 {
            case 0: b[Int(rng.next() % 8)] ^= UInt8(1 << (rng.next() % 8))
            case 1: b.removeLast(Int(rng.next() % 65))
            default: b += [UInt8](repeating: UInt8(truncatingIfNeeded: rng.next()), count: Int(rng.next() % 65))
            }
            guard let s = StoredChunk(body: b) else { continue }
            read += 1
            XCTAssertEqual(TreeChunk(s, top: top).encoded, b)
        }
        XCTAssertGreaterThan(read, 0, "some changed bodies still read (as other chunks)")
    }

    struct ChunkRow: Hashable { let dapp: [UInt8], position: [UInt8] }

    func chunkBodies(in other: Store? = nil) throws -> [ChunkRow: [UInt8]] {
        try (other ?? store).database.withStatement("SELECT dapp_id, position, body FROM state_nodes") { s throws(DDEError) -> [ChunkRow: [UInt8]] in
            var out = [ChunkRow: [UInt8]]()
            while try s.step() { out[ChunkRow(dapp: s.blob(0), position: s.blob(1))] = s.blob(2) }
            return out
        }
    }

    /// Rewrites every stored chunk of the dApp with `encode` (a chunk's top hash, which its
    /// body does not hold, hashed from its slots 2 and 3).
    func rewriteChunks(_ dapp: String, _ encode: (TreeChunk) -> [UInt8]) throws {
        let key = Array(dapp.utf8)
        for (row, body) in try chunkBodies() where row.dapp == key {
            let stored = try XCTUnwrap(StoredChunk(body: body))
            let chunk = TreeChunk(stored, top: stored.top.hash)
            try store.database.withStatement("UPDATE state_nodes SET body = ?3 WHERE dapp_id = ?1 AND position = ?2") { s throws(DDEError) in
                try s.bind(1, blob: key)
                try s.bind(2, blob: row.position)
                try s.bind(3, blob: encode(chunk))
                try s.step()
            }
        }
    }

    /// Schema 3's chunk body: the slots in pre-order from slot 1, each a tag byte (0 empty, 1
    /// leaf, 2 node) then the leaf's path and value hash or the node's hash.
    enum TreeChunkV3 {
        static func encode(_ c: TreeChunk) -> [UInt8] {
            var out = [UInt8]()
            encode(c, 1, &out)
            return out
        }

        static func encode(_ c: TreeChunk, _ i: Int, _ out: inout [UInt8]) {
            switch c.slots[i] {
            case .none, .empty: out.append(0)
            case .leaf(let path, let valueHash): out += [1] + path.bytes + valueHash.bytes
            case .node(let hash):
                out += [2] + hash.bytes
                if i < TreeChunk.bottom {
                    encode(c, 2 * i, &out)
                    encode(c, 2 * i + 1, &out)
                }
            }
        }
    }

    /// Rewrites this store as schema 2 had it: v1 roots in dapp_roots, no state_nodes, and every
    /// receipt re-signed as version 2 with node roots over v1 roots (the chain dde 0.2.0 made).
    func downgradeToSchema2() throws {
        let db = store.database
        var v1 = [[UInt8]: Digest]()
        var receipts = [Receipt]()
        for i in 0..<(try store.receiptCount()) { receipts.append(try store.receipt(at: i)) }
        // Replay to get the v1 node roots after each receipt.
        var states = [[UInt8]: StateMap]()
        var previous: Receipt?
        for var r in receipts {
            let (_, _, resultBytes) = try store.storedReceipt(at: r.index)
            let result = try ComputeResult(json: try JSONParser.parse(resultBytes))
            let dapp = Array(r.dappId.utf8)
            let before = StoreRoots.node(states.map { (dappId: $0.key, root: $0.value.root) }.sorted { bytesLess($0.dappId, $1.dappId) })
            states[dapp] = (states[dapp] ?? StateMap()).applying(result.stateWrites)
            v1[dapp] = states[dapp]!.root
            r.receiptVersion = 2
            r.previousStateRoot = before
            r.nextStateRoot = StoreRoots.node(states.map { (dappId: $0.key, root: $0.value.root) }.sorted { bytesLess($0.dappId, $1.dappId) })
            r.previousReceiptHash = previous?.receiptHash
            r.receiptHash = r.computedHash
            r.signature = f.requester.sign(.receipt, r.receiptHash)
            try db.withStatement("UPDATE receipts SET receipt_hash = ?2, receipt_json = ?3, signature = ?4 WHERE idx = ?1") { s throws(DDEError) in
                try s.bind(1, int64: Int64(r.index))
                try s.bind(2, blob: r.receiptHash.bytes)
                try s.bind(3, blob: r.canonicalBytes)
                try s.bind(4, blob: r.signature.bytes)
                try s.step()
            }
            previous = r
        }
        for (dapp, root) in v1 {
            try db.withStatement("UPDATE dapp_roots SET root = ?2 WHERE dapp_id = ?1") { s throws(DDEError) in
                try s.bind(1, blob: dapp)
                try s.bind(2, blob: root.bytes)
                try s.step()
            }
        }
        try db.execute("DROP TABLE state_nodes; PRAGMA user_version = 2;")
    }
}
