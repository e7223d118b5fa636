// The physical limits under a delegation, measured raw on the same machine in the same run
// (benchmarks only): Ed25519 sign and verify straight through libsodium, and one durable SQLite
// transaction writing the rows a commit writes straight through sqlite3_*. Used by
// `dde-bench-network` (the floor of a whole delegation) and `dde-torture bench-store`.
import CDDE
import DDE
import Dispatch
import Foundation

public enum RawFloor {
    /// Median nanoseconds of one `crypto_sign_detached` and of one `crypto_sign_verify_detached`
    /// of a 64-byte message (dde signs a domain prefix and a 32-byte digest), each over `rounds`
    /// different messages (Ed25519 verification time varies with the input).
    public static func ed25519(rounds: Int) -> (signNs: UInt64, verifyNs: UInt64) {
        _ = cdde_init()
        let n = max(1, rounds)
        var pk = [UInt8](repeating: 0, count: 32)
        var sk = [UInt8](repeating: 0, count: 64)
        crypto_sign_keypair(&pk, &sk)
        var messages: [[UInt8]] = []
        for i in 0..<n {
            var m = [UInt8](repeating: 0, count: 64)
            randombytes_buf(&m, 64)
            m[0] = UInt8(truncatingIfNeeded: i)
            messages.append(m)
        }
        var signatures = [[UInt8]](repeating: [UInt8](repeating: 0, count: 64), count: n)
        var sign: [UInt64] = []
        var verify: [UInt64] = []
        for i in 0..<n {
            let t0 = DispatchTime.now().uptimeNanoseconds
            crypto_sign_detached(&signatures[i], nil, messages[i], 64, sk)
            sign.append(DispatchTime.now().uptimeNanoseconds &- t0)
        }
        for i in 0..<n {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = crypto_sign_verify_detached(signatures[i], messages[i], 64, pk)
            verify.append(DispatchTime.now().uptimeNanoseconds &- t0)
        }
        sodium_memzero(&sk, 64)
        return (median(sign), median(verify))
    }

    /// Median nanoseconds of one SHA-256 through libsodium of a 65-byte message (a v2 tree leaf's
    /// preimage; keys, values and nodes of the counter's tree are as short or shorter), over
    /// `rounds` different messages.
    public static func sha256(rounds: Int) -> UInt64 {
        _ = cdde_init()
        var m = [UInt8](repeating: 0, count: 65)
        var out = [UInt8](repeating: 0, count: 32)
        var times: [UInt64] = []
        for i in 0..<max(1, rounds) {
            randombytes_buf(&m, 65)
            m[0] = UInt8(truncatingIfNeeded: i)
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = crypto_hash_sha256(&out, m, 65)
            times.append(DispatchTime.now().uptimeNanoseconds &- t0)
        }
        return median(times)
    }

    /// Median nanoseconds of SHA-256s through libsodium of messages of the given lengths, one
    /// after the other (one sample is the whole list), over `rounds` different contents: the
    /// signed objects' hashes a delegation must compute, at their real lengths.
    public static func sha256(lengths: [Int], rounds: Int) -> UInt64 {
        _ = cdde_init()
        var messages = lengths.map { [UInt8](repeating: 0, count: $0) }
        var out = [UInt8](repeating: 0, count: 32)
        var times: [UInt64] = []
        for _ in 0..<max(1, rounds) {
            for j in messages.indices { randombytes_buf(&messages[j], messages[j].count) }
            let t0 = DispatchTime.now().uptimeNanoseconds
            for m in messages { _ = crypto_hash_sha256(&out, m, UInt64(m.count)) }
            times.append(DispatchTime.now().uptimeNanoseconds &- t0)
        }
        return median(times)
    }

    /// The rows of `dappId`'s v2 state tree in the store at `path` (table state_nodes), read with
    /// sqlite3_* directly: for a dApp of one key, the one chunk each commit rewrites.
    public static func treeRows(storePath path: String, dappId: String) throws(DDEError) -> [RawTreeRow] {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK, let db else {
            throw DDEError(.store, "raw SQLite: cannot open \(path)")
        }
        defer { sqlite3_close_v2(db) }
        var s: OpaquePointer?
        guard sqlite3_prepare_v2(db, "SELECT position, body FROM state_nodes WHERE dapp_id = ?1 ORDER BY position", -1, &s, nil) == SQLITE_OK, let s else {
            throw DDEError(.store, "raw SQLite: cannot read state_nodes")
        }
        defer { sqlite3_finalize(s) }
        let dapp = Array(dappId.utf8)
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        _ = dapp.withUnsafeBytes { sqlite3_bind_blob64(s, 1, $0.baseAddress, sqlite3_uint64($0.count), transient) }
        func column(_ i: Int32) -> [UInt8]? {
            guard sqlite3_column_type(s, i) != SQLITE_NULL else { return nil }
            let n = Int(sqlite3_column_bytes(s, i))
            guard n > 0, let p = sqlite3_column_blob(s, i) else { return [] }
            return Array(UnsafeRawBufferPointer(start: p, count: n))
        }
        var rows: [RawTreeRow] = []
        while sqlite3_step(s) == SQLITE_ROW {
            rows.append(RawTreeRow(position: column(0) ?? [], body: column(1) ?? []))
        }
        return rows
    }

    public static func median(_ values: [UInt64]) -> UInt64 {
        guard !values.isEmpty else { return 0 }
        return values.sorted()[values.count / 2]
    }
}

/// One row of a dApp's v2 state tree (table state_nodes).
public struct RawTreeRow: Sendable, Codable {
    public var position: [UInt8], body: [UInt8]
}

/// The rows one commit writes, as the store holds them.
public struct RawCommitRows: Sendable, Codable {
    public var receiptHash: [UInt8], taskId: [UInt8], dappId: [UInt8], timestamp: Int64
    public var receiptJSON: [UInt8], signature: [UInt8]
    public var taskJSON: [UInt8], resultJSON: [UInt8]
    public var stateKey: [UInt8], stateValue: [UInt8], root: [UInt8]
    /// When set, the executor's reputation row is written too (a delegation scores the executor
    /// in the commit's transaction).
    public var executorKey: [UInt8]?
    /// The v2 state tree rows the commit rewrites (state_nodes: position, chunk body), upserted
    /// as the store does (protocol v2: the store keeps each dApp's tree; empty: none written).
    public var treeRows: [RawTreeRow] = []

    /// The rows `Store.commit` wrote for `receipt` (the first state write stands for the writes).
    public init(receipt: Receipt, task: ComputeTask, result: ComputeResult, executorKey: [UInt8]? = nil) {
        let write = result.stateWrites.entries.first
        receiptHash = receipt.receiptHash.bytes
        taskId = receipt.taskId.bytes
        dappId = Array(receipt.dappId.utf8)
        timestamp = Int64(clamping: receipt.timestamp)
        receiptJSON = receipt.canonicalBytes
        signature = receipt.signature.bytes
        taskJSON = task.canonicalBytes
        resultJSON = result.canonicalBytes
        stateKey = write?.key ?? Array("k".utf8)
        stateValue = (write?.value ?? nil) ?? []
        root = result.proof.nextStateRoot.bytes
        self.executorKey = executorKey
    }
}

/// Raw SQLite under a store: a file whose schema a `Store` created, WAL and synchronous=FULL as
/// the store opens it, and per `commit` one BEGIN IMMEDIATE ... COMMIT of prepared statements.
public final class RawSQLiteWriter {
    private var db: OpaquePointer?
    private var statements: [OpaquePointer] = []

    /// Creates a fresh file at `path` (a Store writes the schema; an existing file is replaced).
    public init(path: String) throws(DDEError) {
        for suffix in ["", "-wal", "-shm"] { _ = unlink(path + suffix) }
        try Store(path: path).close()
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK, db != nil else {
            throw DDEError(.store, "raw SQLite: cannot open \(path)")
        }
        for sql in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"] {
            try exec(sql)
        }
        for sql in [
            "INSERT INTO receipts(idx, receipt_hash, task_id, dapp_id, timestamp, receipt_json, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            "INSERT INTO compute_results(idx, task_json, result_json) VALUES (?1, ?2, ?3)",
            "INSERT OR REPLACE INTO dapp_state(dapp_id, key, value) VALUES (?1, ?2, ?3)",
            "INSERT OR REPLACE INTO dapp_roots(dapp_id, root, last_receipt) VALUES (?1, ?2, ?3)",
            """
            INSERT OR REPLACE INTO reputation(executor_key, successes, failures, timeouts, latency_sum, latency_count,
                decayed_at, last_seen, consecutive_invalid, banned_until) VALUES (?1, ?2, 0, 0, ?3, ?2, ?4, ?4, 0, 0)
            """,
            "INSERT OR REPLACE INTO state_nodes(dapp_id, position, body) VALUES (?1, ?2, ?3)",
        ] {
            var s: OpaquePointer?
            guard sqlite3_prepare_v2(db, sql, -1, &s, nil) == SQLITE_OK, let s else {
                throw DDEError(.store, "raw SQLite: cannot prepare \(sql): \(message)")
            }
            statements.append(s)
        }
    }

    deinit { close() }

    public func close() {
        for s in statements + reads { sqlite3_finalize(s) }
        statements = []
        reads = []
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    /// One durable transaction writing `rows` as receipt `index` (receipt hash and task id are
    /// made unique per index, so any rows can be written many times).
    public func commit(_ rows: RawCommitRows, index: Int64) throws(DDEError) {
        guard statements.count == 6 else { throw DDEError(.closed, "raw SQLite writer is closed") }
        var receiptHash = rows.receiptHash, taskId = rows.taskId
        withUnsafeBytes(of: index.littleEndian) { i in
            for k in 0..<min(8, receiptHash.count, taskId.count) { receiptHash[k] ^= i[k]; taskId[k] ^= i[k] }
        }
        try exec("BEGIN IMMEDIATE")
        let s = statements
        sqlite3_bind_int64(s[0], 1, index)
        blob(s[0], 2, receiptHash); blob(s[0], 3, taskId); blob(s[0], 4, rows.dappId)
        sqlite3_bind_int64(s[0], 5, rows.timestamp)
        blob(s[0], 6, rows.receiptJSON); blob(s[0], 7, rows.signature)
        try step(s[0])
        sqlite3_bind_int64(s[1], 1, index)
        blob(s[1], 2, rows.taskJSON); blob(s[1], 3, rows.resultJSON)
        try step(s[1])
        blob(s[2], 1, rows.dappId); blob(s[2], 2, rows.stateKey); blob(s[2], 3, rows.stateValue)
        try step(s[2])
        blob(s[3], 1, rows.dappId); blob(s[3], 2, rows.root)
        sqlite3_bind_int64(s[3], 3, index)
        try step(s[3])
        if let key = rows.executorKey {
            blob(s[4], 1, key)
            sqlite3_bind_double(s[4], 2, Double(index + 1))
            sqlite3_bind_double(s[4], 3, Double(index + 1))
            sqlite3_bind_int64(s[4], 4, rows.timestamp)
            try step(s[4])
        }
        for row in rows.treeRows {
            blob(s[5], 1, rows.dappId); blob(s[5], 2, row.position); blob(s[5], 3, row.body)
            try step(s[5])
        }
        try exec("COMMIT")
    }

    /// What a requester reads to build a v2 task for the rows' dApp: the value of the state key
    /// and the tree rows of its proof (by position), with prepared SELECTs outside a transaction.
    public func readTaskState(_ rows: RawCommitRows) throws(DDEError) {
        guard statements.count == 6 else { throw DDEError(.closed, "raw SQLite writer is closed") }
        if reads.isEmpty {
            for sql in ["SELECT value FROM dapp_state WHERE dapp_id = ?1 AND key = ?2",
                        "SELECT body FROM state_nodes WHERE dapp_id = ?1 AND position = ?2"] {
                var s: OpaquePointer?
                guard sqlite3_prepare_v2(db, sql, -1, &s, nil) == SQLITE_OK, let s else {
                    throw DDEError(.store, "raw SQLite: cannot prepare \(sql): \(message)")
                }
                reads.append(s)
            }
        }
        blob(reads[0], 1, rows.dappId); blob(reads[0], 2, rows.stateKey)
        try row(reads[0])
        for r in rows.treeRows {
            blob(reads[1], 1, rows.dappId); blob(reads[1], 2, r.position)
            try row(reads[1])
        }
    }

    private var reads: [OpaquePointer] = []

    private func row(_ s: OpaquePointer) throws(DDEError) {
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        sqlite3_clear_bindings(s)
        guard rc == SQLITE_ROW else { throw DDEError(.store, "raw SQLite read: \(message)") }
    }

    private var message: String { db.map { String(cString: sqlite3_errmsg($0)) } ?? "not open" }

    private func exec(_ sql: String) throws(DDEError) {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw DDEError(.store, "raw SQLite: \(sql): \(message)")
        }
    }

    private func blob(_ s: OpaquePointer, _ i: Int32, _ b: [UInt8]) {
        guard !b.isEmpty else { sqlite3_bind_zeroblob(s, i, 0); return }  // a NULL would break NOT NULL
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        _ = b.withUnsafeBytes { sqlite3_bind_blob64(s, i, $0.baseAddress, sqlite3_uint64($0.count), transient) }
    }

    private func step(_ s: OpaquePointer) throws(DDEError) {
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        sqlite3_clear_bindings(s)
        guard rc == SQLITE_DONE else { throw DDEError(.store, "raw SQLite step: \(message)") }
    }
}
