/// Executor reputation (PROTOCOL.md section 9): the rules, over records the store keeps
/// (`ReputationTable`, in Store/, holds every row and statement).
///
/// Every operation takes the current time `now` (Unix ms) from the caller, so the rules can be
/// tested without sleeping and a device without a trustworthy clock decides what time it is.
/// Each update is one transaction (read, decay, change, write), or part of the write transaction
/// already open on the store's connection (a delegation's record): see ReputationTable.transaction.
public final class Reputation: @unchecked Sendable {
    let table: ReputationTable
    public let config: ReputationConfig

    init(table: ReputationTable, config: ReputationConfig) {
        self.table = table
        self.config = config
    }

    // MARK: recording

    /// A valid proof was accepted after `latencyMs`: successes + 1, latency averaged in, and the
    /// run of invalid proofs ends.
    @discardableResult
    public func recordSuccess(_ key: PublicKey, latencyMs: Int64, now: Int64) throws(DDEError) -> ReputationRecord {
        guard latencyMs >= 0 else {
            throw DDEError(.argument, "recordSuccess: latencyMs must be >= 0, got \(latencyMs)")
        }
        return try update(key, now: now) { r in
            r.successfulProofs += 1
            r.latencySum += Double(latencyMs)
            r.latencyCount += 1
            r.consecutiveInvalid = 0
        }
    }

    /// A signed proof was found invalid: failures + 1, and after `banAfterConsecutiveInvalid` in a
    /// row a ban until now + banDurationMs. The run is not reset by the ban: an executor that
    /// fails again right after its ban ends is banned again at once; only a valid proof resets it.
    @discardableResult
    public func recordFailure(_ key: PublicKey, now: Int64) throws(DDEError) -> ReputationRecord {
        let config = self.config
        return try update(key, now: now) { r in
            r.failedProofs += 1
            r.consecutiveInvalid += 1
            // A signed wrong claim ends any trust earned: validation starts again (as BOINC's
            // consecutive-valid count does).
            r.validated = 0
            if r.consecutiveInvalid >= config.banAfterConsecutiveInvalid {
                let (until, overflow) = now.addingReportingOverflow(config.banDurationMs)
                let end = overflow ? Int64.max : until
                if end > r.bannedUntil { r.bannedUntil = end }
            }
        }
    }

    /// Another executor's signed proof confirmed a result of `key` (replicated or audited
    /// agreement): validated + 1. The success itself is recorded by `recordSuccess`.
    @discardableResult
    public func recordValidated(_ key: PublicKey, now: Int64) throws(DDEError) -> ReputationRecord {
        try update(key, now: now) { r in r.validated += 1 }
    }

    /// Back to probation: validated = 0, nothing else (a trusted executor on one side of a
    /// disagreement that nobody could resolve).
    @discardableResult
    public func demote(_ key: PublicKey, now: Int64) throws(DDEError) -> ReputationRecord {
        try update(key, now: now) { r in r.validated = 0 }
    }

    /// `key` was proven to have signed a wrong result (re-execution, a pinned executor, or two
    /// conflicting proofs of its own): blacklisted for good. The first conviction's time is kept.
    @discardableResult
    public func convict(_ key: PublicKey, now: Int64) throws(DDEError) -> ReputationRecord {
        try update(key, now: now) { r in
            if r.convictedAt == 0 { r.convictedAt = now > 0 ? now : 1 }
        }
    }

    /// A task sent to `key` got no proof in time: a failed attempt for the failure rate (and so
    /// for blacklisting and routing), but not an invalid proof: it neither bans nor breaks or
    /// extends the run of invalid proofs.
    @discardableResult
    public func recordTimeout(_ key: PublicKey, now: Int64) throws(DDEError) -> ReputationRecord {
        try update(key, now: now) { r in r.timeouts += 1 }
    }

    // MARK: reading

    /// The record decayed to `now`, or nil for an executor never recorded.
    public func get(_ key: PublicKey, now: Int64) throws(DDEError) -> ReputationRecord? {
        guard var r = try load(key) else { return nil }
        r.decay(to: now, halfLifeMs: config.halfLifeMs)
        return r
    }

    public func isBanned(_ key: PublicKey, now: Int64) throws(DDEError) -> Bool {
        try get(key, now: now)?.isBanned(at: now) ?? false
    }

    public func isBlacklisted(_ key: PublicKey, now: Int64) throws(DDEError) -> Bool {
        try get(key, now: now)?.isBlacklisted(config) ?? false
    }

    /// Every record decayed to `now`, sorted by key bytes.
    public func all(now: Int64) throws(DDEError) -> [ReputationRecord] {
        var out: [ReputationRecord] = []
        try table.forEach { r throws(DDEError) in
            var r = r
            r.decay(to: now, halfLifeMs: config.halfLifeMs)
            out.append(r)
        }
        sortByIndex(&out) { PublicKey.bytesLess($0.executorKey, $1.executorKey) }
        return out
    }

    /// The records of `keys` decayed to `now` (keys never recorded are absent). One pass over
    /// the table when there are many keys (a delegating client choosing among a thousand
    /// executors per task), one lookup each when there are few.
    public func records(_ keys: [PublicKey], now: Int64) throws(DDEError) -> [PublicKey: ReputationRecord] {
        var out: [PublicKey: ReputationRecord] = [:]
        if keys.count > 32 {
            let wanted = Set(keys)
            out.reserveCapacity(wanted.count)
            try table.forEach { r throws(DDEError) in
                guard wanted.contains(r.executorKey) else { return }
                var r = r
                r.decay(to: now, halfLifeMs: config.halfLifeMs)
                out[r.executorKey] = r
            }
        } else {
            // Several in one read transaction: one read lock of the file, not one per key (for
            // one key, BEGIN and COMMIT would cost more than they save).
            if keys.count > 1 {
                try table.reading { () throws(DDEError) in try get(keys, now: now, into: &out) }
            } else {
                try get(keys, now: now, into: &out)
            }
        }
        return out
    }

    private func get(_ keys: [PublicKey], now: Int64, into out: inout [PublicKey: ReputationRecord]) throws(DDEError) {
        for key in keys where out[key] == nil {
            if let r = try get(key, now: now) { out[key] = r }
        }
    }

    /// Every record in routing order: the order a delegating client asks executors in.
    public func allInRoutingOrder(now: Int64) throws(DDEError) -> [ReputationRecord] {
        let records = try all(now: now)
        var byKey = [PublicKey: ReputationRecord]()
        for r in records { byKey[r.executorKey] = r }
        return routingOrder(records.map { $0.executorKey }, known: byKey, now: now, random: nil).compactMap { byKey[$0] }
    }

    /// Forgets one executor. Returns whether it had a record.
    @discardableResult
    public func clear(_ key: PublicKey) throws(DDEError) -> Bool {
        try table.delete(key)
    }

    /// Forgets every executor.
    public func clearAll() throws(DDEError) {
        try table.deleteAll()
    }

    // MARK: decisions

    /// The executors the verifier must refuse at `now` (check 10 of PROTOCOL.md section 7).
    public func policy(now: Int64) throws(DDEError) -> VerifyPolicy {
        var policy = VerifyPolicy()
        for r in try all(now: now) {
            if r.isBanned(at: now) { policy.banned.insert(r.executorKey) }
            if r.isBlacklisted(config) { policy.blacklisted.insert(r.executorKey) }
        }
        return policy
    }

    /// The policy over `keys` only (the executors a delegation may hear from).
    public func policy(for keys: [PublicKey], now: Int64) throws(DDEError) -> VerifyPolicy {
        var policy = VerifyPolicy()
        for (key, r) in try records(keys, now: now) {
            if r.isBanned(at: now) { policy.banned.insert(key) }
            if r.isBlacklisted(config) { policy.blacklisted.insert(key) }
        }
        return policy
    }

    /// The policy for one executor only (what a commit needs; cheaper than `policy(now:)`).
    public func policy(for key: PublicKey, now: Int64) throws(DDEError) -> VerifyPolicy {
        guard let r = try get(key, now: now) else { return VerifyPolicy() }
        return policy(of: r, now: now)
    }

    /// The policy for the executor of record `r` (as read at `now`, or as a score just left it).
    func policy(of r: ReputationRecord, now: Int64) -> VerifyPolicy {
        var policy = VerifyPolicy()
        if r.isBanned(at: now) { policy.banned.insert(r.executorKey) }
        if r.isBlacklisted(config) { policy.blacklisted.insert(r.executorKey) }
        return policy
    }

    /// `candidates` best first: usable executors before banned or blacklisted ones; then the
    /// higher Wilson lower bound of the success rate; then the lower average latency (an executor
    /// with no latency yet after one with some); then key bytes, so the order is deterministic.
    /// Duplicates are dropped (first kept). Executors never recorded count as no attempts.
    ///
    /// `random`: when given (the delegating client passes its CSPRNG), ties are broken by a fresh
    /// random draw per candidate instead of key bytes, so nobody can grind a key that sorts first
    /// among executors with equal records. Without it the order is deterministic (for display).
    public func routingOrder(_ candidates: [PublicKey], now: Int64,
                             random: (() -> UInt64)? = nil) throws(DDEError) -> [PublicKey] {
        try table.withLock { () throws(DDEError) -> [PublicKey] in
            routingOrder(candidates, known: try records(candidates, now: now), now: now, random: random)
        }
    }

    /// `routingOrder` over records already read (`records(candidates, now:)`): a delegating
    /// client reads them once for the order, the bans and the trust view.
    func routingOrder(_ candidates: [PublicKey], known: [PublicKey: ReputationRecord], now: Int64,
                      random: (() -> UInt64)?) -> [PublicKey] {
        struct Entry {
            var key: PublicKey
            var excluded: Bool
            var bound: Double
            var hasLatency: Bool
            var latency: Double
            var draw: UInt64
        }
        var seen = Set<PublicKey>()
        var entries: [Entry] = []
        for key in candidates where seen.insert(key).inserted {
            let r = known[key] ?? ReputationRecord(executorKey: key, at: now)
            entries.append(Entry(key: key, excluded: r.isBanned(at: now) || r.isBlacklisted(config),
                                 // Quantised: decay makes equal records differ in the 6th
                                 // decimal, which must not outrank a real latency difference.
                                 bound: (r.successLowerBound(z: config.confidenceZ) * 1000).rounded(),
                                 hasLatency: r.latencyCount > 0, latency: r.latencyAvg,
                                 draw: random?() ?? 0))
        }
        sortByIndex(&entries) { a, b in
            if a.excluded != b.excluded { return !a.excluded }
            if a.bound != b.bound { return a.bound > b.bound }
            if a.hasLatency != b.hasLatency { return a.hasLatency }
            if a.latency != b.latency { return a.latency < b.latency }
            if a.draw != b.draw { return a.draw < b.draw }
            return PublicKey.bytesLess(a.key, b.key)
        }
        return entries.map { $0.key }
    }

    // MARK: storage

    func load(_ key: PublicKey) throws(DDEError) -> ReputationRecord? { try table.load(key) }

    private func update(_ key: PublicKey, now: Int64, _ change: (inout ReputationRecord) -> Void) throws(DDEError) -> ReputationRecord {
        try table.transaction { () throws(DDEError) -> ReputationRecord in
            var r = try table.load(key) ?? ReputationRecord(executorKey: key, at: now)
            r.decay(to: now, halfLifeMs: config.halfLifeMs)
            change(&r)
            if now > r.lastSeen { r.lastSeen = now }
            try table.save(r)
            return r
        }
    }
}
