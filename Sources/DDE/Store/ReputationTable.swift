// The reputation rows (docs/STORE.md, table `reputation`): every statement Reputation needs, so
// its rules (Reputation/) never see SQL.

final class ReputationTable: @unchecked Sendable {
    private let database: SQLiteDatabase

    init(_ database: SQLiteDatabase) {
        self.database = database
    }

    // The statements spelled out (an interpolated string is built on every call, and as a
    // `static let` costs its own string-building code in the Embedded builds); the columns in
    // the order `record(from:)` reads them.
    private static let selectOne = "SELECT executor_key, successes, failures, timeouts, latency_sum, latency_count, decayed_at, last_seen, consecutive_invalid, banned_until, validated, convicted_at FROM reputation WHERE executor_key = ?1"
    private static let selectAll = "SELECT executor_key, successes, failures, timeouts, latency_sum, latency_count, decayed_at, last_seen, consecutive_invalid, banned_until, validated, convicted_at FROM reputation"
    private static let upsert = "INSERT OR REPLACE INTO reputation(executor_key, successes, failures, timeouts, latency_sum, latency_count, decayed_at, last_seen, consecutive_invalid, banned_until, validated, convicted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"

    /// `body` in a transaction of its own, or inside the one open on this connection without a
    /// savepoint: `Reputation.update` writes one row with one statement (atomic on its own) after
    /// reading it, and the open transaction keeps other writers out, so the update stays whole; an
    /// error reaches the open transaction's body (a delegation's record rolls back whole).
    /// Holds for its callers (Store.record, importEvidence): the open transaction is a write one
    /// (BEGIN IMMEDIATE, not a `beginRead`), and its body lets an update's error end it instead
    /// of catching it and going on.
    func transaction<R>(_ body: () throws(DDEError) -> R) throws(DDEError) -> R {
        try database.withLock { () throws(DDEError) -> R in
            database.inTransaction ? try body() : try database.transaction(body)
        }
    }

    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try database.withLock(body)
    }

    /// Runs `body`, whose reads see one snapshot of the table (`SQLiteDatabase.reading`).
    func reading(_ body: () throws(DDEError) -> Void) throws(DDEError) {
        try database.reading(body)
    }

    /// The stored record of `key` (not decayed), or nil.
    func load(_ key: PublicKey) throws(DDEError) -> ReputationRecord? {
        try database.withStatement(ReputationTable.selectOne) { s throws(DDEError) -> ReputationRecord? in
            try s.bind(1, blob: key.bytes)
            guard try s.step() else { return nil }
            return try ReputationTable.record(from: s)
        }
    }

    /// Every stored record (not decayed), in no particular order.
    func forEach(_ body: (ReputationRecord) throws(DDEError) -> Void) throws(DDEError) {
        try database.withStatement(ReputationTable.selectAll) { s throws(DDEError) in
            while try s.step() { try body(try ReputationTable.record(from: s)) }
        }
    }

    func save(_ r: ReputationRecord) throws(DDEError) {
        try database.withStatement(ReputationTable.upsert) { s throws(DDEError) in
            try s.bind(1, blob: r.executorKey.bytes)
            try s.bind(2, double: r.successfulProofs)
            try s.bind(3, double: r.failedProofs)
            try s.bind(4, double: r.timeouts)
            try s.bind(5, double: r.latencySum)
            try s.bind(6, double: r.latencyCount)
            try s.bind(7, int64: r.decayedAt)
            try s.bind(8, int64: r.lastSeen)
            try s.bind(9, int64: Int64(r.consecutiveInvalid))
            try s.bind(10, int64: r.bannedUntil)
            try s.bind(11, int64: r.validated)
            try s.bind(12, int64: r.convictedAt)
            try s.step()
        }
    }

    /// Deletes the row of `key`; whether there was one.
    func delete(_ key: PublicKey) throws(DDEError) -> Bool {
        try database.transaction { () throws(DDEError) -> Bool in
            try database.withStatement("DELETE FROM reputation WHERE executor_key = ?1") { s throws(DDEError) in
                try s.bind(1, blob: key.bytes)
                try s.step()
            }
            return database.changes > 0
        }
    }

    func deleteAll() throws(DDEError) {
        try database.transaction { () throws(DDEError) in try database.execute("DELETE FROM reputation") }
    }

    static func record(from s: SQLiteStatement) throws(DDEError) -> ReputationRecord {
        let keyBytes = s.blob(0)
        guard let key = try? PublicKey(bytes: keyBytes) else {
            throw DDEError(.store, "reputation: a stored executor key has \(keyBytes.count) bytes, not 32: clear it with clearAll")
        }
        var r = ReputationRecord(executorKey: key, at: s.int64(6))
        r.successfulProofs = s.double(1)
        r.failedProofs = s.double(2)
        r.timeouts = s.double(3)
        r.latencySum = s.double(4)
        r.latencyCount = s.double(5)
        r.lastSeen = s.int64(7)
        let run = s.int64(8)
        r.consecutiveInvalid = run < 0 ? 0 : (run > Int64(Int32.max) ? Int(Int32.max) : Int(run))
        r.bannedUntil = s.int64(9)
        r.validated = max(0, s.int64(10))
        r.convictedAt = max(0, s.int64(11))
        return r
    }
}
