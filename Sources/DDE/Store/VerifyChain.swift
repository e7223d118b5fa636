// Re-checking the whole chain from what is on disk (PROTOCOL.md section 8): every link, hash and
// both signatures, every stored task and compute_result verified again, and all stored writes
// replayed from the empty state to reproduce every root. The first disagreement is reported
// with the index of the first bad receipt and why.

/// What `verifyChain` found when the chain holds.
public struct ChainReport: Sendable, Equatable {
    /// Receipts checked.
    public var count: UInt64
    /// nil for an empty chain.
    public var head: ChainHead?
}

extension Store {
    /// Verifies the whole chain; throws `.chainBroken` naming the first bad receipt.
    /// `progress(checked, total)` is called after each receipt.
    @discardableResult
    public func verifyChain(progress: ((UInt64, UInt64) -> Void)? = nil) throws(DDEError) -> ChainReport {
        try database.withLock { () throws(DDEError) -> ChainReport in
            try verifyChainLocked(progress: progress)
        }
    }

    private func verifyChainLocked(progress: ((UInt64, UInt64) -> Void)?) throws(DDEError) -> ChainReport {
        let total = try receiptCount()
        let identity = try self.identity()
        if total > 0 && identity == nil {
            throw DDEError(.chainBroken, "receipt 0: the store holds receipts but no identity in meta")
        }
        var replay = ChainReplay(database: database)
        // The last receipt checked: where the chain ends so far, and its version.
        var previous: ChainHead?
        var previousVersion: UInt64 = 0
        var position: UInt64 = 0
        // The replayed state and its v2 trees (by the code the commits use) go to TEMP tables, in
        // a temporary file past SQLite's cache: a million keys make hundreds of MiB, which a
        // small board cannot hold in memory. Switching back to MEMORY (SQLiteDatabase's open says
        // why) drops the tables too; it runs after `rows` is finalised (defers run last first),
        // when nothing reads temp any more.
        try database.execute("PRAGMA temp_store=FILE")
        defer { try? database.execute("PRAGMA temp_store=MEMORY") }
        try database.execute("CREATE TEMP TABLE IF NOT EXISTS replay_nodes \(TreeTable.live.columns); DELETE FROM temp.replay_nodes")
        try database.execute("CREATE TEMP TABLE IF NOT EXISTS replay_state \(ChainReplay.columns); DELETE FROM temp.replay_state")

        let rows = try database.prepare("""
            SELECT r.idx, r.receipt_hash, r.task_id, r.dapp_id, r.timestamp, r.receipt_json, r.signature,
                   c.task_json, c.result_json
            FROM receipts r LEFT JOIN compute_results c ON c.idx = r.idx ORDER BY r.idx
            """)
        defer { rows.finalize() }
        while try rows.step() {
            let idx = rows.int64(0)
            func broken(_ why: ErrorDetail) -> DDEError {
                DDEError(.chainBroken, "receipt \(position): \(why)")
            }
            guard idx >= 0, UInt64(idx) == position else {
                throw broken(idx > Int64(position) ? "missing (the next stored receipt is \(idx))" : "stored under index \(idx)")
            }
            let bytes = rows.blob(5)
            let receipt: Receipt
            do throws(DDEError) {
                receipt = try Receipt(bytes: bytes, limits: Store.storedLimits)
            } catch {
                throw broken("does not parse: \(error.detail)")
            }
            guard receipt.canonicalBytes == bytes else { throw broken("stored bytes are not the receipt's canonical form") }
            guard receipt.index == position else { throw broken("holds index \(receipt.index)") }
            guard receipt.computedHash == receipt.receiptHash else {
                throw broken("receiptHash \(receipt.receiptHash.hex) is not the hash of its contents (\(receipt.computedHash.hex))")
            }
            guard let identity, receipt.identity == identity else {
                throw broken("signed by identity \(receipt.identity.hex), not the store's")
            }
            guard receipt.hasValidSignature else { throw broken("the identity's signature does not verify") }
            guard rows.blob(1) == receipt.receiptHash.bytes, rows.blob(2) == receipt.taskId.bytes,
                  rows.blob(3) == Array(receipt.dappId.utf8), rows.int64(4) == Int64(receipt.timestamp),
                  rows.blob(6) == receipt.signature.bytes else {
                throw broken("the row's columns disagree with the stored receipt")
            }
            guard receipt.previousReceiptHash == previous?.receiptHash else {
                throw broken("previousReceiptHash does not name receipt \(position == 0 ? "(none: genesis)" : "\(position - 1)")")
            }
            // Version 3 roots are over v2 tree roots: the first one after older receipts links to
            // the same replayed state in that form.
            if let previous, !receipt.rootsOverTrees && previous.rootsOverTrees {
                throw broken("a version \(receipt.receiptVersion) receipt after a version \(previousVersion) one")
            }
            var linked = StateRoot.empty
            if let previous {
                linked = previous.rootsOverTrees == receipt.rootsOverTrees ? previous.nextStateRoot : try replay.nodeRoot(trees: true)
            }
            guard receipt.previousStateRoot == linked else {
                throw broken("previousStateRoot is not where the previous receipt ended")
            }

            // The accepted proof, kept whole: verify it again against its task.
            guard !rows.isNull(7), !rows.isNull(8) else { throw broken("its task and compute_result are missing") }
            let taskBytes = rows.blob(7), resultBytes = rows.blob(8)
            let task: ComputeTask, result: ComputeResult
            do throws(DDEError) {
                task = try ComputeTask(json: try JSONParser.parse(taskBytes, limits: Store.storedLimits))
                result = try ComputeResult(json: try JSONParser.parse(resultBytes, limits: Store.storedLimits))
            } catch {
                throw broken("stored task or compute_result is invalid: \(error.message)")
            }
            guard task.canonicalBytes == taskBytes, result.canonicalBytes == resultBytes else {
                throw broken("stored task or compute_result is not in canonical form")
            }
            do throws(DDEError) {
                _ = try Verifier.verify(task: task, result: result, policy: .acceptAll)
            } catch {
                throw broken("its proof no longer verifies: \(error.message)")
            }
            let proof = result.proof
            guard receipt.taskId == task.taskId, sameScalars(receipt.dappId, proof.dappId),
                  sameScalars(receipt.action, proof.action), receipt.inputHash == proof.inputHash,
                  receipt.capabilitiesDeclared.elementsEqual(proof.capabilitiesDeclared, by: sameScalars),
                  receipt.capabilitiesUsed.elementsEqual(proof.capabilitiesUsed, by: sameScalars),
                  receipt.resultHash == proof.resultHash, receipt.executionTraceHash == proof.executionTraceHash,
                  receipt.remote == RemoteProof(executorPublicKey: proof.executorPublicKey,
                                                proofHash: proof.proofHash, proofSignature: proof.signature) else {
                throw broken("its fields disagree with the stored proof")
            }

            // Replay: a v2 task's roots are tree roots, a v1 task's v1 roots.
            let dappKey = Array(task.dappId.utf8)
            let partial = task.partialState != nil
            guard try (partial ? replay.tree(of: dappKey) : replay.v1Root(of: dappKey)) == task.previousStateRoot else {
                throw broken("its task starts from a dApp root the replayed chain never reached (stale)")
            }
            // The replay's own SQLite failures (a full temporary disk) are the store's, not the chain's.
            try replay.apply(result.stateWrites, dapp: dappKey, receipt: position)
            do throws(DDEError) {
                replay.trees[dappKey] = try StoredTree(database: database, table: .replay, dapp: dappKey, derived: replay.derived)
                    .apply(root: replay.tree(of: dappKey), writes: result.stateWrites)
            } catch {
                if error.status == .store || error.status == .closed { throw error }
                throw broken("replaying its writes into the state tree failed: \(error.message)")
            }
            guard try (partial ? replay.tree(of: dappKey) : replay.v1Root(of: dappKey)) == proof.nextStateRoot else {
                throw broken("replaying its writes does not give the proof's nextStateRoot")
            }
            guard try replay.nodeRoot(trees: receipt.rootsOverTrees) == receipt.nextStateRoot else {
                throw broken("nextStateRoot is not the node root after replaying its writes")
            }
            previous = receipt.head
            previousVersion = receipt.receiptVersion
            position += 1
            progress?(position, total)
        }
        if position != total {
            throw DDEError(.chainBroken, "receipt \(position): the table holds \(total) receipts but only \(position) could be read in order")
        }
        let orphans = try database.queryInt64("SELECT count(*) FROM compute_results WHERE idx NOT IN (SELECT idx FROM receipts)") ?? 0
        guard orphans == 0 else {
            throw DDEError(.chainBroken, "receipt \(position): \(orphans) compute_results have no receipt")
        }
        try compareWithReplay(replay, headIndex: position)
        return ChainReport(count: position, head: previous)
    }

    /// The live tables (dapp_state, dapp_roots) must be exactly what the replay produced.
    private func compareWithReplay(_ replay: ChainReplay, headIndex count: UInt64) throws(DDEError) {
        func broken(_ receipt: UInt64?, _ why: ErrorDetail) -> DDEError {
            DDEError(.chainBroken, "receipt \(receipt ?? (count == 0 ? 0 : count - 1)): \(why)")
        }
        // Every stored entry must be in the replay with the same value (the first EXCEPT yields,
        // in key order) ...
        let name = { (dapp: [UInt8]) in String(decoding: dapp, as: UTF8.self) }
        let unwritten = try database.withStatement("""
            SELECT dapp_id, key FROM (SELECT dapp_id, key, value FROM dapp_state
                                      EXCEPT SELECT dapp_id, key, value FROM temp.replay_state) LIMIT 1
            """) { s throws(DDEError) -> (dapp: [UInt8], key: [UInt8])? in try s.step() ? (s.blob(0), s.blob(1)) : nil }
        if let (dapp, key) = unwritten {
            let written = try database.withStatement("SELECT 1 FROM temp.replay_state WHERE dapp_id = ?1 AND path = ?2") { s throws(DDEError) -> Bool in
                try s.bind(1, blob: dapp)
                try s.bind(2, blob: StateTreeHash.path(key).bytes)
                return try s.step()
            }
            throw broken(replay.lastWriter[dapp], "dApp \"\(name(dapp))\" key \"\(name(key))\" \(written ? "holds a value the chain did not write" : "is stored but no receipt wrote it")")
        }
        // ... and nothing the replay holds may be missing.
        let missing = try database.withStatement("""
            SELECT dapp_id FROM (SELECT dapp_id, key, value FROM temp.replay_state
                                 EXCEPT SELECT dapp_id, key, value FROM dapp_state) LIMIT 1
            """) { s throws(DDEError) -> [UInt8]? in try s.step() ? s.blob(0) : nil }
        if let dapp = missing {
            throw broken(replay.lastWriter[dapp], "dApp \"\(name(dapp))\" is missing keys the chain wrote")
        }
        // EXCEPT compares sets: a row stored twice (a table rebuilt without its key) passes both.
        try refuseRepeatedRows("dapp_state", count: "SELECT count(*) FROM dapp_state", replayed: "SELECT count(*) FROM temp.replay_state",
                               repeated: "SELECT dapp_id FROM dapp_state GROUP BY dapp_id, key HAVING count(*) > 1 LIMIT 1", replay, broken)
        var roots = 0
        try database.withStatement("SELECT dapp_id, root, last_receipt FROM dapp_roots") { s throws(DDEError) in
            while try s.step() {
                let dapp = s.blob(0)
                let writer = replay.lastWriter[dapp]
                guard s.blob(1) == replay.tree(of: dapp).bytes, let writer, s.int64(2) == Int64(writer) else {
                    throw broken(writer, "the stored root of dApp \"\(name(dapp))\" is not the replayed one")
                }
                roots += 1
            }
        }
        guard roots == replay.lastWriter.count else {
            throw broken(nil, "dapp_roots lacks a dApp the chain wrote")
        }
        // The stored trees, row for row, are the replayed ones.
        for (first, second, storedHasExtra) in [("state_nodes", "temp.replay_nodes", true), ("temp.replay_nodes", "state_nodes", false)] {
            let differing = try database.withStatement("SELECT dapp_id FROM (SELECT * FROM \(first) EXCEPT SELECT * FROM \(second)) LIMIT 1") { s throws(DDEError) -> [UInt8]? in
                try s.step() ? s.blob(0) : nil
            }
            if let dapp = differing {
                throw broken(replay.lastWriter[dapp], "the stored state tree of dApp \"\(name(dapp))\" is not the replayed one (state_nodes \(storedHasExtra ? "holds a row" : "lacks a row") the chain did not make)")
            }
        }
        try refuseRepeatedRows("state_nodes", count: "SELECT count(*) FROM state_nodes", replayed: "SELECT count(*) FROM temp.replay_nodes",
                               repeated: "SELECT dapp_id FROM state_nodes GROUP BY dapp_id, position HAVING count(*) > 1 LIMIT 1", replay, broken)
        // And the incremental replay agrees with the tree rebuilt from the replayed state.
        for dapp in replay.lastWriter.keys where try replay.rebuiltTree(of: dapp) != replay.tree(of: dapp) {
            throw DDEError(.internalError, "verifyChain: the state tree of dApp \"\(name(dapp))\" replayed write by write differs from the tree of the replayed state: a dde bug, please report it")
        }
    }

    /// After `table` and its replay (whose key makes its rows unique) hold the same rows as sets:
    /// the same counts, or `table` holds a row more than once (named by its dApp's last writer).
    /// The statements are spelled out by the callers (interpolated SQL costs the Embedded build).
    private func refuseRepeatedRows(_ table: StaticString, count: String, replayed: String, repeated: String, _ replay: ChainReplay,
                                    _ broken: (UInt64?, ErrorDetail) -> DDEError) throws(DDEError) {
        guard try database.queryInt64(count) != database.queryInt64(replayed) else { return }
        let dapp = try database.withStatement(repeated) { s throws(DDEError) -> [UInt8] in
            try s.step() ? s.blob(0) : []
        }
        throw broken(replay.lastWriter[dapp], "\(table) holds a row of dApp \"\(String(decoding: dapp, as: UTF8.self))\" more than once")
    }

    /// Writes every receipt as one line of canonical JSON: `{"receipt":…,"task":…,"computeResult":…}`
    /// (task and computeResult only when `withProofs`), in chain order. `line` gets each line
    /// with its trailing newline.
    public func exportJSONLines(withProofs: Bool = true, _ line: ([UInt8]) -> Void) throws(DDEError) {
        try database.withStatement("""
            SELECT r.receipt_json, c.task_json, c.result_json
            FROM receipts r LEFT JOIN compute_results c ON c.idx = r.idx ORDER BY r.idx
            """) { s throws(DDEError) in
            while try s.step() {
                var out = [UInt8]()
                if withProofs {
                    // The stored bytes are canonical, so splicing them keeps the line canonical
                    // (keys in RFC 8785 order: computeResult < receipt < task).
                    out.append(contentsOf: Array("{\"computeResult\":".utf8))
                    out.append(contentsOf: s.isNull(2) ? Array("null".utf8) : s.blob(2))
                    out.append(contentsOf: Array(",\"receipt\":".utf8))
                    out.append(contentsOf: s.blob(0))
                    out.append(contentsOf: Array(",\"task\":".utf8))
                    out.append(contentsOf: s.isNull(1) ? Array("null".utf8) : s.blob(1))
                    out.append(UInt8(ascii: "}"))
                } else {
                    out.append(contentsOf: s.blob(0))
                }
                out.append(UInt8(ascii: "\n"))
                line(out)
            }
        }
    }
}

/// The state rebuilt from the chain alone: every dApp's entries in the TEMP table `replay_state`,
/// keyed by (dApp, path) so that a dApp's tree can be rebuilt in path order without holding it.
struct ChainReplay {
    static let columns = "(dapp_id BLOB NOT NULL, path BLOB NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, PRIMARY KEY (dapp_id, path)) WITHOUT ROWID"

    let database: SQLiteDatabase
    /// Each dApp's v1 root, computed when a v1 task or a receipt before version 3 needs it (O(n)
    /// each: the v1 form hashes the whole state) and kept until the dApp is written again.
    var v1Roots = [[UInt8]: Digest]()
    /// The last receipt that wrote each dApp.
    var lastWriter = [[UInt8]: UInt64]()
    /// Each dApp's v2 tree root, replayed in the TEMP table `replay_nodes`, and the chunks of
    /// its top that are not stored (StateTreeStore.swift): the replay takes the dApps in the
    /// chain's order, so it keeps more of them than a store does.
    var trees = [[UInt8]: Digest]()
    let derived = DerivedChunks(keeping: 64)

    init(database: SQLiteDatabase) { self.database = database }

    func tree(of dapp: [UInt8]) -> Digest { trees[dapp] ?? StateTreeHash.empty }

    mutating func v1Root(of dapp: [UInt8]) throws(DDEError) -> Digest {
        if let r = v1Roots[dapp] { return r }
        // Key order: SQLite orders blobs as bytesLess does (memcmp, then the shorter first).
        let r = try database.withStatement("SELECT key, value FROM temp.replay_state WHERE dapp_id = ?1 ORDER BY key") { s throws(DDEError) -> Digest in
            try s.bind(1, blob: dapp)
            var leaves = [Digest]()
            while try s.step() { leaves.append(StateRoot.leaf(key: s.blob(0), value: s.blob(1))) }
            return StateRoot.root(leaves: leaves)
        }
        v1Roots[dapp] = r
        return r
    }

    /// The dApp's v2 tree root computed again from its replayed entries alone.
    func rebuiltTree(of dapp: [UInt8]) throws(DDEError) -> Digest {
        try database.withStatement("SELECT path, value FROM temp.replay_state WHERE dapp_id = ?1 ORDER BY path") { s throws(DDEError) -> Digest in
            try s.bind(1, blob: dapp)
            return try StateTreeHash.root { () throws(DDEError) -> (path: Digest, valueHash: Digest)? in
                guard try s.step() else { return nil }
                return (try Digest(bytes: s.blob(0)), SHA256.hash(s.blob(1)))
            }
        }
    }

    mutating func apply(_ writes: StateWrites, dapp: [UInt8], receipt: UInt64) throws(DDEError) {
        for e in writes.entries {
            let path = StateTreeHash.path(e.key).bytes
            if let value = e.value {
                try database.withStatement("INSERT OR REPLACE INTO temp.replay_state(dapp_id, path, key, value) VALUES (?1, ?2, ?3, ?4)") { s throws(DDEError) in
                    try s.bind(1, blob: dapp)
                    try s.bind(2, blob: path)
                    try s.bind(3, blob: e.key)
                    try s.bind(4, blob: value)
                    _ = try s.step()
                }
            } else {
                try database.withStatement("DELETE FROM temp.replay_state WHERE dapp_id = ?1 AND path = ?2") { s throws(DDEError) in
                    try s.bind(1, blob: dapp)
                    try s.bind(2, blob: path)
                    _ = try s.step()
                }
            }
        }
        v1Roots[dapp] = nil
        lastWriter[dapp] = receipt
    }

    /// The node root over the dApps' tree roots (receiptVersion 3) or v1 roots (before).
    mutating func nodeRoot(trees overTrees: Bool) throws(DDEError) -> Digest {
        var sorted = [(dappId: [UInt8], root: Digest)]()
        for dapp in lastWriter.keys { sorted.append((dapp, overTrees ? tree(of: dapp) : try v1Root(of: dapp))) }
        sortByIndex(&sorted) { bytesLess($0.dappId, $1.dappId) }
        return StoreRoots.node(sorted)
    }
}
