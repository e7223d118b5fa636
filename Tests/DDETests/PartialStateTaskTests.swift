import XCTest
@testable import DDE

/// taskVersion 2 (PROTOCOL.md section 3): a task that carries only some entries with their proof
/// against previousStateRoot; its parsing refuses every bad proof with the proof's own status,
/// the Verifier computes the next root from the proof and the writes alone, and the store
/// commits it against the dApp's tree root.
final class PartialStateTaskTests: XCTestCase {
    static func key(_ s: String) -> [UInt8] { Array(s.utf8) }

    static let wallet: StateMap = {
        var values = [[UInt8]: [UInt8]]()
        for i in 0..<300 { values[key("balance/user\(i)")] = Array("\(i * 10)".utf8) }
        return StateMap(values: values)
    }()

    static func spec(keys: [String], state: StateMap = wallet) -> TaskSpec {
        TaskSpec(dappId: "wallet", dappCodeHash: Fixture.codeHash, action: "send",
                 payload: try! JSONParser.parse(#"{"amount":5,"from":"user1","to":"user2"}"#),
                 requiredCapabilities: ["state.read", "state.write"], state: state,
                 stateKeys: keys.map { key($0) }, limits: ExecutionLimits(maxExecutionSteps: 10, maxFuel: 1000),
                 timestamp: 1_764_000_000_000)
    }

    static let task = try! ComputeTask.create(spec(keys: ["balance/user1", "balance/user2", "balance/nobody"]),
                                              requester: Fixture.requester)

    /// The task's JSON with `change` applied, parsed again (id and signature not redone: the
    /// state proof is checked before them).
    func reparse(_ change: (inout JSONObject) -> Void) throws(DDEError) -> ComputeTask {
        guard case .object(var o) = Self.task.json else { throw DDEError(.internalError, "not an object") }
        change(&o)
        return try ComputeTask(json: .object(o))
    }

    func testAV2TaskCarriesOnlyItsKeysAndItsProof() throws {
        let t = Self.task
        XCTAssertEqual(t.taskVersion, 2)
        XCTAssertEqual(t.previousStateRoot, StateTree(Self.wallet).root)
        let partial = try XCTUnwrap(t.partialState)
        XCTAssertEqual(partial.keys.map { String(decoding: $0, as: UTF8.self) }, ["balance/nobody", "balance/user1", "balance/user2"])
        XCTAssertEqual(partial.entries.map { $0.value }, [nil, Array("10".utf8), Array("20".utf8)])
        XCTAssertEqual(t.stateOrEmpty.count, 2, "the execution sees the present entries")
        // The wire form parses back to the same task, id and signature checked.
        let again = try ComputeTask(json: try JSONParser.parse(t.canonicalBytes))
        XCTAssertEqual(again.taskId, t.taskId)
        XCTAssertEqual(again.partialState?.proof, partial.proof)
        // 300 accounts in the state, two in the task.
        XCTAssertLessThan(t.canonicalBytes.count, 3_000)
        let whole = try ComputeTask.create(Self.spec(keys: []).withoutKeys, requester: Fixture.requester)
        XCTAssertEqual(whole.taskVersion, 1)
        XCTAssertGreaterThan(whole.canonicalBytes.count, 8_000)
    }

    func testEveryBadProofIsRefusedWithItsOwnStatusWhenTheTaskIsParsed() throws {
        let proof = try XCTUnwrap(Self.task.partialState?.proof)
        func withProof(_ bytes: [UInt8]) -> (inout JSONObject) -> Void {
            { $0["stateProof"] = .string(Base64.encode(bytes)) }
        }
        // A wrong value for a carried key.
        XCTAssertStatus(.stateProofValue) { () throws(DDEError) in
            try self.reparse { o in
                guard case .object(var st)? = o["state"] else { return }
                st["balance/user1"] = .string(Base64.encode(Array("1000000".utf8)))
                o["state"] = .object(st)
            }
        }
        // An absent key claimed present.
        XCTAssertStatus(.stateProofValue) { () throws(DDEError) in
            try self.reparse { o in
                guard case .object(var st)? = o["state"] else { return }
                st["balance/nobody"] = .string(Base64.encode(Array("7".utf8)))
                o["state"] = .object(st)
            }
        }
        // A carried key the proof does not reach.
        XCTAssertStatus(.stateProofIncomplete) { () throws(DDEError) in
            try self.reparse { o in
                guard case .object(var st)? = o["state"] else { return }
                st["balance/user3"] = .string(Base64.encode(Array("30".utf8)))
                o["state"] = .object(st)
            }
        }
        // A sibling missing, a sibling altered, the proof of another root.
        let items = StateTreeTests.items(proof)
        let sibling = try XCTUnwrap(items.first { $0.tag == 5 })
        var cut = proof
        cut.removeSubrange(sibling.offset..<(sibling.offset + 33))
        XCTAssertStatus(.stateProofIncomplete) { () throws(DDEError) in try self.reparse(withProof(cut)) }
        var altered = proof
        altered[sibling.offset + 9] ^= 1
        XCTAssertStatus(.stateProofHash) { () throws(DDEError) in try self.reparse(withProof(altered)) }
        var values = Self.wallet.values
        values[Self.key("balance/user299")] = [0]
        let other = PartialState(map: StateMap(values: values), keys: ["balance/user1", "balance/user2", "balance/nobody"].map { Self.key($0) })
        XCTAssertStatus(.stateProofRoot) { () throws(DDEError) in try self.reparse(withProof(other.proof)) }
        XCTAssertStatus(.stateProofMalformed) { () throws(DDEError) in try self.reparse(withProof(proof + [0])) }
        // The form of the fields.
        XCTAssertStatus(.schema) { () throws(DDEError) in try self.reparse { $0["stateProof"] = nil } }
        XCTAssertStatus(.encoding) { () throws(DDEError) in try self.reparse { $0["stateProof"] = .string("*") } }
        XCTAssertStatus(.schema) { () throws(DDEError) in try self.reparse { $0["state"] = .array([]) } }
        // A v1 task has no stateProof.
        XCTAssertStatus(.schema) { () throws(DDEError) in
            try self.reparse { o in
                o["taskVersion"] = .number(1)
            }
        }
    }

    func result(_ task: ComputeTask, writes: StateWrites, next: Digest? = nil) throws -> ComputeResult {
        let partial = try XCTUnwrap(task.partialState)
        let root = try next ?? partial.root(applying: writes)
        return Fixture.computeResult(proof: Fixture.proof(for: task, writes: writes) { $0.nextStateRoot = root }, writes: writes)
    }

    func testTheVerifierComputesTheNextRootFromTheProofAlone() throws {
        let t = Self.task
        let writes = StateWrites([Self.key("balance/user1"): Array("5".utf8), Self.key("balance/user2"): Array("25".utf8),
                                  Self.key("balance/nobody"): Array("0".utf8)])
        let r = try result(t, writes: writes)
        XCTAssertEqual(r.proof.nextStateRoot, StateTree(Self.wallet.applying(writes)).root, "the root of the whole state after the writes")
        XCTAssertNoThrow(try Verifier.verify(task: t, result: r))
        // A wrong next root, and writes to a key the task does not carry, are check 8 failures.
        XCTAssertStatus(.nextStateRoot) { () throws(DDEError) in
            try Verifier.verify(task: t, result: try! self.result(t, writes: writes, next: Self.task.previousStateRoot))
        }
        let outside = StateWrites([Self.key("balance/user1"): Array("5".utf8), Self.key("balance/user7"): Array("1".utf8)])
        let e = XCTAssertStatusReturning(.nextStateRoot) { () throws(DDEError) in
            try Verifier.verify(task: t, result: try! self.result(t, writes: outside, next: t.previousStateRoot))
        }
        XCTAssertTrue(e?.detail.contains("balance/user7") ?? false)
        // Deleting a carried key.
        let delete = StateWrites([Self.key("balance/user2"): nil])
        XCTAssertNoThrow(try Verifier.verify(task: t, result: try result(t, writes: delete)))
        XCTAssertEqual(try result(t, writes: delete).proof.nextStateRoot, StateTree(Self.wallet.applying(delete)).root)
    }

    /// A store commits v2 tasks against the dApp's tree root; v1 and v2 receipts mix in one chain
    /// that verifies; a v2 task from an old root is stale.
    func testTheStoreCommitsV2TasksBesideV1Ones() throws {
        let dir = TempDir()
        let store = try Store(path: dir.path("s.db"))
        let f = ChainFixture()
        try f.commit(store, dapp: "wallet", n: 0, writes: ["a": "1", "b": "2", "c": "3"])  // v1
        func v2(_ n: Int, keys: [String]) throws -> ComputeTask {
            let (root, entries, proof) = try store.stateProof("wallet", keys: keys.map { Self.key($0) })
            let spec = TaskSpec(dappId: "wallet", dappCodeHash: f.codeHash, action: "step",
                                payload: .object(JSONObject(uniqueMembers: [.init("n", .number(Double(n)))])),
                                requiredCapabilities: ["state.read", "state.write"],
                                partialState: try PartialState(entries: entries, proof: proof, root: root),
                                timestamp: 1_700_000_000_000)
            return try ComputeTask.create(spec, requester: f.requester)
        }
        func v2Result(_ t: ComputeTask, _ writes: [String: String?]) throws -> ComputeResult {
            var map = [[UInt8]: [UInt8]?]()
            for (k, v) in writes { map[Self.key(k)] = .some(v.map { Self.key($0) }) }
            let w = StateWrites(map)
            let next = try t.partialState!.root(applying: w)
            return f.result(t, writes: writes) { p in
                p.nextStateRoot = next
                p.sign(with: f.executor)
            }
        }
        let t1 = try v2(1, keys: ["a", "d"])
        let stale = try v2(2, keys: ["b"])
        try store.commit(task: t1, result: try v2Result(t1, ["a": "10", "d": "4"]), identity: f.requester, now: 1_700_000_000_200)
        assertThrows(.stale) { () throws(DDEError) in
            try store.commit(task: stale, result: try! v2Result(stale, ["b": nil]), identity: f.requester, now: 1_700_000_000_300)
        }
        let t2 = try v2(3, keys: ["b"])
        try store.commit(task: t2, result: try v2Result(t2, ["b": nil]), identity: f.requester, now: 1_700_000_000_400)
        try f.commit(store, dapp: "wallet", n: 4, writes: ["c": "30"])  // v1 again, on the state v2 left
        XCTAssertEqual(try store.verifyChain().count, 4)
        let state = StateMap(values: [Self.key("a"): Self.key("10"), Self.key("c"): Self.key("30"), Self.key("d"): Self.key("4")])
        XCTAssertEqual(try store.dappRoot("wallet"), StateTree(state).root)
        XCTAssertEqual(try store.head()?.nextStateRoot, StoreRoots.node([(Array("wallet".utf8), StateTree(state).root)]))
    }
}

extension PartialStateTaskTests {
    /// Seeded v2 commits of sets and inserts (written from the task's own proof, no read) and of
    /// deletes (read from the store): every stored row is what verifyChain replays, and the root
    /// is the tree of the stored state.
    func testV2CommitsKeepTheStoredTreeExact() throws {
        let dir = TempDir()
        let store = try Store(path: dir.path("s.db"))
        let f = ChainFixture()
        var rng = StateTreeTests.Rng(31)
        for n in 0..<40 {
            var writes = [String: String?]()
            for _ in 0..<(1 + rng.below(4)) {
                writes["k\(rng.below(60))"] = (n % 5 == 4 && rng.below(2) == 0) ? .some(nil) : .some("v\(rng.below(100))")
            }
            let (root, entries, proof) = try store.stateProof("d", keys: writes.keys.map { Self.key($0) })
            let spec = TaskSpec(dappId: "d", dappCodeHash: f.codeHash, action: "step",
                                payload: .object(JSONObject(uniqueMembers: [.init("n", .number(Double(n)))])),
                                requiredCapabilities: ["state.read", "state.write"],
                                partialState: try PartialState(entries: entries, proof: proof, root: root), timestamp: 1_700_000_000_000)
            let t = try ComputeTask.create(spec, requester: f.requester)
            var map = [[UInt8]: [UInt8]?]()
            for (k, v) in writes { map[Self.key(k)] = .some(v.map { Self.key($0) }) }
            let next = try t.partialState!.root(applying: StateWrites(map))
            let r = f.result(t, writes: writes) { p in
                p.nextStateRoot = next
                p.sign(with: f.executor)
            }
            try store.commit(task: t, result: r, identity: f.requester, now: 1_700_000_000_100 + UInt64(n))
            var values = [[UInt8]: [UInt8]]()
            for e in try store.dappState("d") { values[e.key] = e.value }
            XCTAssertEqual(try store.dappRoot("d"), StateTree(StateMap(values: values)).root, "commit \(n)")
        }
        XCTAssertEqual(try store.verifyChain().count, 40)
    }
}

extension TaskSpec {
    /// The same spec without keys: a taskVersion 1 task carrying the whole state.
    var withoutKeys: TaskSpec {
        var s = self
        s.stateKeys = nil
        return s
    }
}

/// Asserts that `body` throws a DDEError with `status`; returns it.
@discardableResult
func XCTAssertStatusReturning<T>(_ status: Status, _ body: () throws(DDEError) -> T,
                                 file: StaticString = #filePath, line: UInt = #line) -> DDEError? {
    do {
        _ = try body()
        XCTFail("expected \(status.name), got success", file: file, line: line)
        return nil
    } catch {
        XCTAssertEqual(error.status, status, error.message, file: file, line: line)
        return error
    }
}
