// Committing a verified result (PROTOCOL.md section 8): only the Verifier makes a VerifiedResult,
// so nothing is checked again but the policy; refuse stale and duplicate tasks, then append the
// receipt, the task and compute_result, apply the writes and move the roots in ONE transaction. With WAL and synchronous=FULL, a crash at any instant leaves either
// the whole commit or none of it; a COMMIT that returned is on disk.

import CDDE

extension Store {
    /// Verifies `result` against `task` and commits it, returning the signed receipt.
    ///
    /// - `identity`: the requester's key pair; the first commit binds it to the store and later
    ///   commits with another key are refused (`.key`).
    /// - `now`: Unix ms of the commit (receipt timestamp, and the time the policy is judged at).
    /// - `policy`: executors to refuse; nil uses this store's reputation at `now`.
    ///
    /// Throws, changing nothing: any verification status (check 2-10), `.duplicate` when the task
    /// is already committed, `.stale` when the task's previousStateRoot is not the dApp's current
    /// root, `.number` for a `now` above 2^53-1, `.store` when SQLite fails, `.chainBroken` when the
    /// stored state disagrees with its root (run `verifyChain`).
    @discardableResult
    public func commit(task: ComputeTask, result: ComputeResult, identity: KeyPair, now: UInt64,
                       policy: VerifyPolicy? = nil) throws(DDEError) -> Receipt {
        let rules: VerifyPolicy
        if let policy { rules = policy } else { rules = try reputation.policy(for: result.proof.executorPublicKey, now: Int64(clamping: now)) }
        // Pure, and before the transaction, so other commits wait less.
        let verified = try Verifier.verified(task: task, result: result, policy: rules)
        return try commit(verified, identity: identity, now: now, assurance: .direct, policy: rules)
    }

    /// Commits a result the Verifier passed (a delegation's accepted one), returning the signed
    /// receipt. Nothing is verified, serialised or hashed again but check 10: the executor must
    /// not be refused by this store's reputation at `now` (the scores may have moved since).
    /// `assurance` goes into the receipt. Throws as `commit(task:result:identity:now:policy:)`.
    @discardableResult
    public func commit(_ verified: VerifiedResult, identity: KeyPair, now: UInt64,
                       assurance: Assurance) throws(DDEError) -> Receipt {
        try commit(verified, identity: identity, now: now, assurance: assurance, policy: nil)
    }

    /// `policy`: check 10's rules when the caller has them (`record` from the scores it just
    /// wrote); nil reads them from this store's reputation at `now`.
    func commit(_ verified: VerifiedResult, identity: KeyPair, now: UInt64, assurance: Assurance,
                policy: VerifyPolicy?) throws(DDEError) -> Receipt {
        guard now <= maxSafeInteger else {
            throw DDEError(.number, "commit: now must be Unix milliseconds in [0, 2^53-1], got \(now)")
        }
        let task = verified.task
        let executor = verified.verdict.executor
        let rules: VerifyPolicy
        if let policy { rules = policy } else { rules = try reputation.policy(for: executor, now: Int64(now)) }
        try Verifier.checkPolicy(executor, rules)
        cdde_trace(CDDE_TRACE_COMMIT_CHECKED)
        let proof = verified.verdict.proof
        let dappKey = Array(task.dappId.utf8)

        return try database.transaction { () throws(DDEError) -> Receipt in
            // What this connection's last commit left, when nothing changed the file since
            // (`currentCache`): its head, identity and dApp roots are the file's.
            let (cached, dataVersion) = try currentCache()
            if cached?.identity != identity.publicKey { try bindIdentity(identity.publicKey) }
            // First, so that a re-sent task is told so whatever else is wrong (one point query
            // on the receipts' UNIQUE task_id).
            try refuseDuplicate(task.taskId)
            // The task must start where the dApp is: at its v2 tree root. A v1 task names the v1
            // root of the whole state it carries; that state's tree root must be the dApp's (O(n),
            // as the v1 task itself).
            let partial = task.partialState != nil
            // Every dApp's root, read once: this dApp's is the start, all of them give the node
            // root before and, with this dApp's new root, after.
            var roots: [(dappId: [UInt8], root: Digest)]
            if let cached { roots = cached.roots } else { roots = try dappRoots() }
            let at = roots.firstIndex { $0.dappId == dappKey }
            let current = at.map { roots[$0].root } ?? StateRoot.empty
            let start = partial ? task.previousStateRoot : StateTree(task.stateOrEmpty).root
            guard current == start else {
                // A v1 task is told the v1 root of the state it missed (O(n), on this refusal only).
                let at = partial ? current.hex : "\(try dappRootV1(task.dappId).hex) (v2 root \(current.hex))"
                throw DDEError(.stale, "task \(task.taskId.hex) starts from root \(task.previousStateRoot.hex) but dApp \"\(task.dappId)\" is at \(at): build a new task from the current state")
            }
            let head: ChainHead?
            if let cached { head = cached.head } else { head = try self.head() }
            // The cached roots are the ones the cached head's commit wrote: its node root.
            let nodeBefore = cached?.head.nextStateRoot ?? StoreRoots.node(roots)
            if let head, cached == nil {
                // Until the first receipt of version 3, the head's root is over v1 roots.
                let stored = head.rootsOverTrees ? nodeBefore : try nodeRootV1()
                guard head.nextStateRoot == stored else {
                    throw DDEError(.chainBroken, "the stored dApp roots give node root \(stored.hex) but receipt \(head.count - 1) ends at \(head.nextStateRoot.hex): run verifyChain")
                }
            }
            let index = head?.count ?? 0

            cdde_trace(CDDE_TRACE_COMMIT_HEAD)
            try applyWrites(verified.result.stateWrites, dapp: dappKey)
            // The v2 tree: only the written paths' chunks (StateTreeStore.swift). A v2 task whose
            // writes only set keys brings the part of the tree they touch in its own proof, checked
            // against this very root (previousStateRoot = the stored root, above): its nodes are
            // written from the proof, and only the slots beside the paths come from the stored
            // chunks (checked against the proof's hashes), without rehashing the stored paths.
            // Deletes may lift a leaf the proof gives by hash only, so they load and check the
            // stored paths.
            let writes = verified.result.stateWrites
            let stored = StoredTree(database: database, table: .live, dapp: dappKey, derived: derivedChunks)
            let tree: Digest
            // (Only a v2 task's verification carries check 8's applied tree.)
            if let applied = verified.applied, !writes.entries.contains(where: { $0.value == nil }) {
                tree = try stored.store(applied, replacing: nil, root: current)
            } else {
                tree = try stored.apply(root: current, writes: writes)
            }
            let after = partial ? tree : try dappRootV1(task.dappId)
            guard after == proof.nextStateRoot else {
                throw DDEError(.chainBroken, "dApp \"\(task.dappId)\": stored state with the writes applied has root \(after.hex), the proof says \(proof.nextStateRoot.hex); the stored state was altered: run verifyChain")
            }
            try database.withStatement("INSERT OR REPLACE INTO dapp_roots(dapp_id, root, last_receipt) VALUES (?1, ?2, ?3)") { s throws(DDEError) in
                try s.bind(1, blob: dappKey)
                try s.bind(2, blob: tree.bytes)
                try s.bind(3, int64: Int64(index))
                try s.step()
            }

            if let at {
                roots[at].root = tree
            } else {
                roots.append((dappKey, tree))
                sortByIndex(&roots) { bytesLess($0.dappId, $1.dappId) }
            }

            cdde_trace(CDDE_TRACE_COMMIT_STATE)
            let (receipt, receiptBytes) = Receipt.signed(
                index: index, timestamp: now, identity: identity, proof: proof, proofHash: verified.proofHash,
                previousStateRoot: nodeBefore, nextStateRoot: StoreRoots.node(roots),
                previousReceiptHash: head?.receiptHash, assurance: assurance)
            try database.withStatement("""
                INSERT INTO receipts(idx, receipt_hash, task_id, dapp_id, timestamp, receipt_json, signature)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                """) { s throws(DDEError) in
                try s.bind(1, int64: Int64(index))
                try s.bind(2, blob: receipt.receiptHash.bytes)
                try s.bind(3, blob: receipt.taskId.bytes)
                try s.bind(4, blob: dappKey)
                try s.bind(5, int64: Int64(now))
                try s.bind(6, blob: receiptBytes)
                try s.bind(7, blob: receipt.signature.bytes)
                try s.step()
            }
            try database.withStatement("INSERT INTO compute_results(idx, task_json, result_json) VALUES (?1, ?2, ?3)") { s throws(DDEError) in
                try s.bind(1, int64: Int64(index))
                try s.bind(2, blob: task.canonicalBytes)
                try s.bind(3, blob: verified.resultBytes)
                try s.step()
            }
            headMarks &+= 1
            database.markPending(headMarks)
            headCache = CachedHead(head: ChainHead(count: index + 1, receiptHash: receipt.receiptHash,
                                                   nextStateRoot: receipt.nextStateRoot),
                                   identity: identity.publicKey, roots: roots,
                                   mark: headMarks, dataVersion: dataVersion, rollbacks: database.rollbacks)
            cdde_trace(CDDE_TRACE_COMMIT_RECEIPT)
            return receipt
        }
    }

    /// Throws `.duplicate` when `taskId` is committed already.
    private func refuseDuplicate(_ taskId: Digest) throws(DDEError) {
        if let index = try receiptIndex(taskId: taskId) {
            throw DDEError(.duplicate, "task \(taskId.hex) is already committed as receipt \(index)")
        }
    }

    private func applyWrites(_ writes: StateWrites, dapp: [UInt8]) throws(DDEError) {
        for w in writes.entries {
            if let v = w.value {
                try database.withStatement("INSERT OR REPLACE INTO dapp_state(dapp_id, key, value) VALUES (?1, ?2, ?3)") { s throws(DDEError) in
                    try s.bind(1, blob: dapp)
                    try s.bind(2, blob: w.key)
                    try s.bind(3, blob: v)
                    try s.step()
                }
            } else {
                try database.withStatement("DELETE FROM dapp_state WHERE dapp_id = ?1 AND key = ?2") { s throws(DDEError) in
                    try s.bind(1, blob: dapp)
                    try s.bind(2, blob: w.key)
                    try s.step()
                }
            }
        }
    }

    /// What this connection's last commit cached (head, identity, dApp roots), when it is still
    /// the file's, with PRAGMA data_version read inside the commit's transaction. It is when
    /// (1) the transaction that wrote it committed, or is the current one (the Delegator commits
    /// inside its own transaction), and nothing rolled back on this connection since: a refused
    /// commit or a rolled-back transaction never leaves a cache that is not in the file;
    /// (2) data_version is unchanged: no other connection or process committed since (only
    /// commits write meta.identity and dapp_roots on a connection);
    /// (3) the last receipt row still has the cached index and receipt_hash (cheap: no JSON).
    /// Otherwise nil: the commit reads the head receipt (`head()`), identity and roots.
    private func currentCache() throws(DDEError) -> (cache: CachedHead?, dataVersion: Int64) {
        guard let dataVersion = try database.queryInt64("PRAGMA data_version") else {
            throw DDEError(.store, "PRAGMA data_version returned no row")
        }
        if let c = headCache {
            let current = database.rollbacks == c.rollbacks && c.dataVersion == dataVersion
                && (database.committedMark == c.mark || database.isPending(c.mark))
            if current, try lastReceiptRowIs(index: c.head.count - 1, hash: c.head.receiptHash) {
                return (c, dataVersion)
            }
            headCache = nil
        }
        return (nil, dataVersion)
    }

    private func lastReceiptRowIs(index: UInt64, hash: Digest) throws(DDEError) -> Bool {
        try database.withStatement("SELECT idx, receipt_hash FROM receipts ORDER BY idx DESC LIMIT 1") { s throws(DDEError) -> Bool in
            guard try s.step() else { return false }
            return s.int64(0) == Int64(index) && s.blob(1) == hash.bytes
        }
    }

    /// The index of the receipt that committed `taskId`, or nil.
    public func receiptIndex(taskId: Digest) throws(DDEError) -> UInt64? {
        try database.withStatement("SELECT idx FROM receipts WHERE task_id = ?1") { s throws(DDEError) -> UInt64? in
            try s.bind(1, blob: taskId.bytes)
            guard try s.step() else { return nil }
            let idx = s.int64(0)
            return idx < 0 ? nil : UInt64(idx)
        }
    }

    /// The end of the chain, or nil when no receipt was committed yet.
    public func head() throws(DDEError) -> ChainHead? {
        try database.withStatement("SELECT idx, receipt_json FROM receipts ORDER BY idx DESC LIMIT 1") { s throws(DDEError) -> ChainHead? in
            guard try s.step() else { return nil }
            let idx = s.int64(0)
            let receipt: Receipt
            do throws(DDEError) {
                receipt = try Receipt(bytes: s.blob(1), limits: Store.storedLimits)
            } catch {
                throw DDEError(.chainBroken, "receipt \(idx) (the head) does not parse: \(error.detail); run verifyChain")
            }
            guard idx >= 0, receipt.index == UInt64(idx) else {
                throw DDEError(.chainBroken, "the row of receipt \(idx) holds receipt \(receipt.index): run verifyChain")
            }
            return receipt.head
        }
    }

    /// Number of receipts stored.
    public func receiptCount() throws(DDEError) -> UInt64 {
        UInt64(max(0, try database.queryInt64("SELECT count(*) FROM receipts") ?? 0))
    }

    /// The receipt at `index` as stored (parsed; `.notFound` when there is none).
    public func receipt(at index: UInt64) throws(DDEError) -> Receipt {
        try Receipt(bytes: try storedReceipt(at: index).receipt, limits: Store.storedLimits)
    }

    /// The stored canonical bytes of receipt `index`, its task and its compute_result.
    public func storedReceipt(at index: UInt64) throws(DDEError) -> (receipt: [UInt8], task: [UInt8], result: [UInt8]) {
        guard index <= UInt64(Int64.max) else { throw DDEError(.notFound, "no receipt \(index)") }
        return try database.withStatement("""
            SELECT r.receipt_json, c.task_json, c.result_json
            FROM receipts r LEFT JOIN compute_results c ON c.idx = r.idx WHERE r.idx = ?1
            """) { s throws(DDEError) -> (receipt: [UInt8], task: [UInt8], result: [UInt8]) in
            try s.bind(1, int64: Int64(index))
            guard try s.step() else { throw DDEError(.notFound, "no receipt \(index) in this store") }
            return (s.blob(0), s.blob(1), s.blob(2))
        }
    }

    /// Limits for parsing what the store itself wrote: generous, since the objects were accepted
    /// under the caller's limits, but still bounded.
    static let storedLimits = JSONLimits(maxBytes: 64 << 20, maxDepth: 64, maxStringBytes: 64 << 20,
                                         maxObjectKeys: 1 << 20, maxArrayElements: 1 << 20)
}
