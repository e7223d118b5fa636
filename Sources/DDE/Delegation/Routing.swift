// Whom a delegation asks (PROTOCOL.md sections 10 and 11): first_valid and quorum take the
// first executors in routing order; the audited mode draws its primary uniformly and plans the
// reserve it may audit and escalate to.

extension Delegator {
    /// Picks the executors for a task: those granting its capabilities, by routing order, never
    /// banned or blacklisted ones; for a critical task only proven ones unless fallback is
    /// allowed. Throws `.noExecutor` when too few fit.
    public func choose(for requiredCapabilities: [String], options: DelegationOptions, now: UInt64) throws(DDEError) -> [PublicKey] {
        try chooseReading(for: requiredCapabilities, options: options, now: now).keys
    }

    /// `choose`, with the records of the executors it considered (decayed to `now`), read once
    /// for the bans, the order and the delegation's trust view (`trustView(of:known:…)`).
    func chooseReading(for requiredCapabilities: [String], options: DelegationOptions,
                       now: UInt64) throws(DDEError) -> (keys: [PublicKey], known: [PublicKey: ReputationRecord]) {
        let needed = options.mode.needed
        let fanout = max(options.fanout, needed)
        let fitting = executors.filter { $0.grants(requiredCapabilities) && !options.exclude.contains($0.executorPublicKey) }
            .map { $0.executorPublicKey }
        let t = Int64(clamping: now)
        var usable: [PublicKey] = []
        var proven: [PublicKey] = []
        let known = try store.reputation.records(fitting, now: t)
        for key in store.reputation.routingOrder(fitting, known: known, now: t, random: random) {
            let record = known[key]
            if let record, record.isBanned(at: t) || record.isBlacklisted(store.reputation.config) { continue }
            usable.append(key)
            // Counts are decayed reals (two successes a second apart are 1.99999): as for the
            // blacklist, whole successes are what count.
            let successes = (record?.successfulProofs ?? 0).rounded(.toNearestOrAwayFromZero)
            if successes >= options.provenAfterSuccesses { proven.append(key) }
        }
        var chosen: [PublicKey]
        if options.critical {
            chosen = Array(proven.prefix(fanout))
            if chosen.count < fanout && options.allowFallback {
                for key in usable where chosen.count < fanout && !chosen.contains(key) { chosen.append(key) }
            }
        } else {
            chosen = Array(usable.prefix(fanout))
        }
        guard chosen.count >= needed else {
            let what: ErrorDetail = options.critical
                ? "\(proven.count) proven (>= \(options.provenAfterSuccesses) successes) of \(usable.count) usable"
                : "\(usable.count) usable (not banned or blacklisted)"
            throw DDEError(.noExecutor, "\(options.mode.label) needs \(needed) executors granting [\(commaSeparated(requiredCapabilities))]; known: \(executors.count), \(what)\(options.critical && !options.allowFallback ? "; allow fallback or build reputation with non-critical tasks" : "")")
        }
        return (chosen, known)
    }

    /// Plans an audited delegation: the primary, drawn at random among the usable executors that
    /// are not pinned (pinned ones audit); a replica when the primary is on probation (a strong
    /// one when there is one); the reserve for audits and escalations.
    func plan(for requiredCapabilities: [String], audit: AuditPolicy, options: DelegationOptions,
              now: UInt64) throws(DDEError) -> ([PublicKey], TrustView, [String]) {
        let t = Int64(clamping: now)
        var usable: [PublicKey] = []
        var seen = Set(options.exclude)
        // Pinned executors are usable without presence (presence is unsigned: a forged one must
        // not hide them); the others must have announced the capabilities.
        let candidates = options.pinned + executors.filter { $0.grants(requiredCapabilities) }.map { $0.executorPublicKey }
        let known = try store.reputation.records(candidates, now: t)
        for key in candidates where seen.insert(key).inserted {
            if let r = known[key], r.isBanned(at: t) || r.isBlacklisted(store.reputation.config) { continue }
            usable.append(key)
        }
        var trust = TrustView(pinned: Set(options.pinned), policy: audit)
        var pinned: [PublicKey] = [], strong: [PublicKey] = [], fresh: [PublicKey] = []
        for key in usable {
            let n = known[key]?.validated ?? 0
            if trust.pinned.contains(key) { pinned.append(key) } else if audit.isTrusted(validated: n) { strong.append(key) } else { fresh.append(key) }
        }
        let anyStrong = !pinned.isEmpty || !strong.isEmpty
        // The primary: uniform among the usable executors that are not pinned.
        let others = strong.count + fresh.count
        let primary: PublicKey
        if others > 0 {
            let i = Int(random() % UInt64(others))
            primary = i < strong.count ? strong.remove(at: i) : fresh.remove(at: i - strong.count)
        } else if !pinned.isEmpty {
            primary = pinned.remove(at: Int(random() % UInt64(pinned.count)))
        } else {
            throw DDEError(.noExecutor, "\(audit.label) needs an executor granting [\(commaSeparated(requiredCapabilities))]; known: \(executors.count), none usable (not banned or blacklisted)")
        }
        // The reserve, in the order it is asked: pinned, then strong, then fresh, each a random
        // sample of what a session can use (a replica, an audit, the escalations).
        let room = audit.maxEscalation + 2
        var reserve = shuffled(pinned) + sample(strong, room) + sample(fresh, room)
        for key in [primary] + reserve { trust.validated[key] = known[key]?.validated ?? 0 }
        var asked = [primary]
        var caveats: [String] = []
        if !trust.isStrong(primary) {
            let i = reserve.firstIndex { trust.isStrong($0) } ?? (reserve.isEmpty ? nil : 0)
            guard let i else {
                throw DDEError(.noExecutor, "\(audit.label): executor \(primary.hex) is on probation (\(trust.validated[primary] ?? 0) of \(audit.validatedAfter) validated results) and no other usable executor can confirm it: nothing sent")
            }
            asked.append(reserve.remove(at: i))
        }
        if !anyStrong {
            caveats.append("no pinned or validated executor known: agreement among fresh identities decides, and a Sybil majority cannot be told from honest peers (pin an executor you run, or build a record first)")
        }
        trust.reserve = reserve
        return (asked, trust, caveats)
    }

    /// The trust view of `keys`, from their records `known` (absent: never recorded).
    func trustView(of keys: [PublicKey], known: [PublicKey: ReputationRecord], options: DelegationOptions,
                   policy: AuditPolicy) -> TrustView {
        var view = TrustView(pinned: Set(options.pinned), policy: policy)
        for key in keys { view.validated[key] = known[key]?.validated ?? 0 }
        return view
    }

    /// `count` keys drawn uniformly without replacement, in random order (a partial
    /// Fisher-Yates over the CSPRNG: O(count), not O(keys)).
    func sample(_ keys: [PublicKey], _ count: Int) -> [PublicKey] {
        var pool = keys
        let n = min(count, pool.count)
        for i in 0..<n {
            let j = i + Int(random() % UInt64(pool.count - i))
            pool.swapAt(i, j)
        }
        return Array(pool.prefix(n))
    }

    /// A uniformly random order (Fisher-Yates over the CSPRNG).
    func shuffled(_ keys: [PublicKey]) -> [PublicKey] {
        var out = keys
        var i = out.count
        while i > 1 {
            let j = Int(random() % UInt64(i))
            i -= 1
            out.swapAt(i, j)
        }
        return out
    }
}
