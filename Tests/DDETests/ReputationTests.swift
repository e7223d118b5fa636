import XCTest
@testable import DDE

final class ReputationTests: XCTestCase {
    let day: Int64 = 24 * 60 * 60 * 1000
    let t0: Int64 = 1_700_000_000_000
    var dir: TempDir!
    var store: Store!
    var rep: Reputation { store.reputation }
    let a = testKey(1), b = testKey(2), c = testKey(3)

    override func setUpWithError() throws {
        dir = TempDir()
        store = try Store(path: dir.path("r.db"))
    }

    override func tearDown() {
        store = nil
        dir = nil
    }

    func testUnknownExecutorHasNoRecordAndIsNotExcluded() throws {
        XCTAssertNil(try rep.get(a, now: t0))
        XCTAssertFalse(try rep.isBanned(a, now: t0))
        XCTAssertFalse(try rep.isBlacklisted(a, now: t0))
    }

    func testSuccessCountsAndAveragesLatency() throws {
        try rep.recordSuccess(a, latencyMs: 100, now: t0)
        let r = try rep.recordSuccess(a, latencyMs: 300, now: t0)
        XCTAssertEqual(r.successfulProofs, 2)
        XCTAssertEqual(r.latencySum, 400)
        XCTAssertEqual(r.latencyCount, 2)
        XCTAssertEqual(r.latencyAvg, 200)
        XCTAssertEqual(r.lastSeen, t0)
        XCTAssertEqual(try rep.get(a, now: t0)?.latencyAvg, 200)
        assertThrows(.argument) { () throws(DDEError) in try rep.recordSuccess(a, latencyMs: -1, now: t0) }
    }

    func testBanAfterThreeConsecutiveInvalid() throws {
        try rep.recordFailure(a, now: t0)
        try rep.recordFailure(a, now: t0 + 1)
        XCTAssertFalse(try rep.isBanned(a, now: t0 + 2), "two in a row is not yet a ban")
        let r = try rep.recordFailure(a, now: t0 + 2)
        XCTAssertEqual(r.consecutiveInvalid, 3)
        XCTAssertEqual(r.bannedUntil, t0 + 2 + 10 * 60 * 1000)
        XCTAssertTrue(try rep.isBanned(a, now: t0 + 2))
    }

    func testSuccessResetsTheRunOfInvalid() throws {
        try rep.recordFailure(a, now: t0)
        try rep.recordFailure(a, now: t0)
        XCTAssertEqual(try rep.recordSuccess(a, latencyMs: 5, now: t0).consecutiveInvalid, 0)
        try rep.recordFailure(a, now: t0)
        try rep.recordFailure(a, now: t0)
        XCTAssertFalse(try rep.isBanned(a, now: t0), "2 + success + 2 is not 3 in a row")
        try rep.recordFailure(a, now: t0)
        XCTAssertTrue(try rep.isBanned(a, now: t0))
    }

    func testTimeoutsNeitherBanNorBreakTheRun() throws {
        for _ in 0..<5 { try rep.recordTimeout(a, now: t0) }
        XCTAssertFalse(try rep.isBanned(a, now: t0))
        XCTAssertEqual(try rep.get(a, now: t0)?.consecutiveInvalid, 0)
        try rep.recordFailure(b, now: t0)
        try rep.recordFailure(b, now: t0)
        try rep.recordTimeout(b, now: t0)
        try rep.recordFailure(b, now: t0)
        XCTAssertTrue(try rep.isBanned(b, now: t0), "a timeout between invalid proofs does not reset the run")
    }

    func testBanExpires() throws {
        for _ in 0..<3 { try rep.recordFailure(a, now: t0) }
        let end = t0 + 10 * 60 * 1000
        XCTAssertTrue(try rep.isBanned(a, now: end - 1))
        XCTAssertFalse(try rep.isBanned(a, now: end))
        // Still no success since: one more invalid proof bans again at once.
        try rep.recordFailure(a, now: end + 5)
        XCTAssertTrue(try rep.isBanned(a, now: end + 5))
        XCTAssertEqual(try rep.get(a, now: end + 5)?.bannedUntil, end + 5 + 10 * 60 * 1000)
    }

    func testBanDurationIsConfigurable() throws {
        let other = try Store(path: dir.path("cfg.db"), reputationConfig: ReputationConfig(banAfterConsecutiveInvalid: 2, banDurationMs: 1000))
        try other.reputation.recordFailure(a, now: t0)
        try other.reputation.recordFailure(a, now: t0)
        XCTAssertTrue(try other.reputation.isBanned(a, now: t0 + 999))
        XCTAssertFalse(try other.reputation.isBanned(a, now: t0 + 1000))
    }

    func testBlacklistAboveHalfWithFiveAttempts() throws {
        // 3 failed of 5 attempts: 60% > 50%, 5 >= 5. (Successes in between avoid a ban.)
        try rep.recordFailure(a, now: t0)
        try rep.recordSuccess(a, latencyMs: 1, now: t0)
        try rep.recordFailure(a, now: t0)
        try rep.recordSuccess(a, latencyMs: 1, now: t0)
        XCTAssertFalse(try rep.isBlacklisted(a, now: t0), "4 attempts: too few to judge")
        try rep.recordFailure(a, now: t0)
        XCTAssertTrue(try rep.isBlacklisted(a, now: t0))
        XCTAssertFalse(try rep.isBanned(a, now: t0))
    }

    func testNotBlacklistedAtExactlyHalfOrBelowFiveAttempts() throws {
        // 3 of 6 failed: exactly 50% is not above 50%.
        for i in 0..<3 {
            try rep.recordFailure(a, now: t0 + Int64(i))
            try rep.recordSuccess(a, latencyMs: 1, now: t0 + Int64(i))
        }
        XCTAssertFalse(try rep.isBlacklisted(a, now: t0 + 3))
        // 4 timeouts of 4 attempts: 100% but too few attempts.
        for _ in 0..<4 { try rep.recordTimeout(b, now: t0) }
        XCTAssertFalse(try rep.isBlacklisted(b, now: t0))
        try rep.recordTimeout(b, now: t0)
        XCTAssertTrue(try rep.isBlacklisted(b, now: t0), "timeouts count as failed attempts")
    }

    func testDecayHalvesCountsAfterOneHalfLife() throws {
        try rep.recordSuccess(a, latencyMs: 40, now: t0)
        try rep.recordSuccess(a, latencyMs: 60, now: t0)
        try rep.recordFailure(a, now: t0)
        try rep.recordTimeout(a, now: t0)
        let later = try XCTUnwrap(try rep.get(a, now: t0 + day))
        XCTAssertEqual(later.successfulProofs, 1, accuracy: 1e-12)
        XCTAssertEqual(later.failedProofs, 0.5, accuracy: 1e-12)
        XCTAssertEqual(later.timeouts, 0.5, accuracy: 1e-12)
        XCTAssertEqual(later.latencyAvg, 50, accuracy: 1e-9, "sum and count decay together")
        XCTAssertEqual(try XCTUnwrap(try rep.get(a, now: t0 + 2 * day)).successfulProofs, 0.5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(try rep.get(a, now: t0 + day / 2)).successfulProofs, 2 / 2.0.squareRoot(), accuracy: 1e-12)
        // Reading does not decay twice: the stored record is untouched by reads.
        XCTAssertEqual(try XCTUnwrap(try rep.get(a, now: t0 + day)).successfulProofs, 1, accuracy: 1e-12)
        // An update decays first, then counts.
        XCTAssertEqual(try rep.recordSuccess(a, latencyMs: 50, now: t0 + day).successfulProofs, 2, accuracy: 1e-12)
        // A clock going backwards decays nothing and does not undo decay.
        XCTAssertEqual(try XCTUnwrap(try rep.get(a, now: t0)).successfulProofs, 2, accuracy: 1e-12)
    }

    func testDecayLiftsTheBlacklistInTime() throws {
        for _ in 0..<5 { try rep.recordTimeout(a, now: t0) }
        XCTAssertTrue(try rep.isBlacklisted(a, now: t0))
        XCTAssertFalse(try rep.isBlacklisted(a, now: t0 + day), "2.5 attempts after a half-life")
    }

    func testDecayFactorMatchesPowersOfTwo() {
        XCTAssertEqual(Decay.factor(elapsedMs: 0, halfLifeMs: 10), 1)
        XCTAssertEqual(Decay.factor(elapsedMs: 10, halfLifeMs: 0), 1, "half-life 0 turns decay off")
        XCTAssertEqual(Decay.factor(elapsedMs: 30, halfLifeMs: 10), 0.125)
        XCTAssertEqual(Decay.factor(elapsedMs: 5, halfLifeMs: 10), 0.7071067811865476, accuracy: 1e-15)
        XCTAssertEqual(Decay.factor(elapsedMs: 25, halfLifeMs: 10), 0.1767766952966369, accuracy: 1e-15)
        XCTAssertEqual(Decay.factor(elapsedMs: Int64.max, halfLifeMs: 1), 0)
    }

    func testSquareRootWithoutLibm() {
        for x in [1e-300, 2.5e-10, 0.25, 1, 2, 3, 10, 12345.678, 1e300] {
            XCTAssertEqual(Decay.squareRoot(x), x.squareRoot(), accuracy: x.squareRoot() * 4e-16, "\(x)")
        }
        XCTAssertEqual(Decay.squareRoot(0), 0)
        XCTAssertEqual(Decay.squareRoot(-4), 0)
        XCTAssertEqual(Decay.squareRoot(.nan), 0)
        XCTAssertEqual(Decay.squareRoot(.infinity), .infinity)
    }

    /// Equal records a few seconds apart differ only by decay noise; the faster executor must
    /// still come first.
    func testRoutingIgnoresDecayNoiseAndPrefersLowerLatency() throws {
        for i in 0..<5 {
            try rep.recordSuccess(a, latencyMs: 40, now: t0 + Int64(i) * 1000 + 700) // slower, later
            try rep.recordSuccess(b, latencyMs: 20, now: t0 + Int64(i) * 1000)       // faster, earlier: more decayed
        }
        XCTAssertEqual(try rep.routingOrder([a, b], now: t0 + 10_000), [b, a])
        for i in 0..<5 { try rep.recordSuccess(a, latencyMs: 10, now: t0 + 20_000 + Int64(i)) }
        XCTAssertEqual(try rep.routingOrder([b, a], now: t0 + 30_000), [a, b], "a longer good record wins")
    }

    func testRoutingPutsBannedAndBlacklistedLast() throws {
        for _ in 0..<3 { try rep.recordFailure(a, now: t0) }          // banned
        for _ in 0..<5 { try rep.recordTimeout(b, now: t0) }          // blacklisted
        try rep.recordSuccess(c, latencyMs: 10, now: t0)
        let order = try rep.routingOrder([a, b, c], now: t0)
        XCTAssertEqual(order.first, c)
        XCTAssertEqual(Set(order.dropFirst()), [a, b])
        let policy = try rep.policy(now: t0)
        XCTAssertEqual(policy.banned, [a])
        XCTAssertEqual(policy.blacklisted, [b])
        XCTAssertEqual(try rep.policy(for: a, now: t0).banned, [a])
        XCTAssertEqual(try rep.policy(for: b, now: t0).blacklisted, [b])
        let pc = try rep.policy(for: c, now: t0)
        XCTAssertTrue(pc.banned.isEmpty && pc.blacklisted.isEmpty)
        // After the ban ends, a rises above the blacklisted b (its failure rate is 100% but only
        // 3 attempts).
        XCTAssertEqual(try rep.routingOrder([b, a], now: t0 + 10 * 60 * 1000), [a, b])
    }

    func testOneLuckySuccessDoesNotTopALongRecord() throws {
        try rep.recordSuccess(a, latencyMs: 1, now: t0)              // 1 of 1
        for _ in 0..<95 { try rep.recordSuccess(b, latencyMs: 50, now: t0) }
        for _ in 0..<5 { try rep.recordTimeout(b, now: t0) }         // 95 of 100
        let ra = try XCTUnwrap(try rep.get(a, now: t0)), rb = try XCTUnwrap(try rep.get(b, now: t0))
        XCTAssertGreaterThan(ra.successfulProofs / ra.attempts, rb.successfulProofs / rb.attempts, "a's raw rate is higher")
        XCTAssertEqual(try rep.routingOrder([a, b], now: t0), [b, a])
        // Wilson bound for 1/1 at z = 1.96 is 1/(1 + 1.96^2) = 0.2066.
        XCTAssertEqual(ra.successLowerBound(z: 1.96), 1 / (1 + 1.96 * 1.96), accuracy: 1e-12)
    }

    func testEqualRecordsAreOrderedByLatencyThenKey() throws {
        try rep.recordSuccess(a, latencyMs: 90, now: t0)
        try rep.recordSuccess(b, latencyMs: 10, now: t0)
        XCTAssertEqual(try rep.routingOrder([a, b], now: t0), [b, a])
        // Unknown executors (no record) come after proven ones, in key-byte order, duplicates dropped.
        let d = testKey(4), e = testKey(5)
        let order = try rep.routingOrder([e, d, a, e, b], now: t0)
        XCTAssertEqual(order.count, 4)
        XCTAssertEqual(Array(order.prefix(2)), [b, a])
        XCTAssertEqual(Array(order.suffix(2)), bytesLess(d.bytes, e.bytes) ? [d, e] : [e, d])
    }

    func testClearAndClearAll() throws {
        try rep.recordSuccess(a, latencyMs: 1, now: t0)
        try rep.recordSuccess(b, latencyMs: 1, now: t0)
        XCTAssertEqual(try rep.all(now: t0).count, 2)
        XCTAssertTrue(try rep.clear(a))
        XCTAssertFalse(try rep.clear(a))
        XCTAssertNil(try rep.get(a, now: t0))
        XCTAssertEqual(try rep.all(now: t0).map { $0.executorKey }, [b])
        try rep.clearAll()
        XCTAssertEqual(try rep.all(now: t0).count, 0)
    }

    func testAllIsSortedAndDecayed() throws {
        try rep.recordSuccess(c, latencyMs: 1, now: t0)
        try rep.recordSuccess(a, latencyMs: 1, now: t0)
        let all = try rep.all(now: t0 + day)
        XCTAssertEqual(all.map { $0.executorKey.bytes }, [a, c].map { $0.bytes }.sorted { bytesLess($0, $1) })
        for r in all { XCTAssertEqual(r.successfulProofs, 0.5, accuracy: 1e-12) }
    }

    func testRecordsPersistAcrossCloseAndOpen() throws {
        try rep.recordSuccess(a, latencyMs: 42, now: t0)
        for _ in 0..<3 { try rep.recordFailure(b, now: t0) }
        store.close()
        assertThrows(.closed) { () throws(DDEError) in _ = try rep.get(a, now: t0) }
        store = try Store(path: dir.path("r.db"))
        let ra = try XCTUnwrap(try rep.get(a, now: t0))
        XCTAssertEqual(ra.successfulProofs, 1)
        XCTAssertEqual(ra.latencyAvg, 42)
        XCTAssertTrue(try rep.isBanned(b, now: t0 + 1))
        XCTAssertEqual(try rep.get(b, now: t0)?.consecutiveInvalid, 3)
    }

    func testInvalidConfigIsRefused() {
        assertThrows(.argument) { () throws(DDEError) in _ = try Store(path: dir.path("x.db"), reputationConfig: ReputationConfig(banAfterConsecutiveInvalid: 0)) }
        assertThrows(.argument) { () throws(DDEError) in _ = try Store(path: dir.path("x.db"), reputationConfig: ReputationConfig(blacklistFailureRate: 1.5)) }
        assertThrows(.argument) { () throws(DDEError) in _ = try Store(path: dir.path("x.db"), reputationConfig: ReputationConfig(halfLifeMs: -1)) }
        assertThrows(.argument) { () throws(DDEError) in _ = try Store(path: dir.path("x.db"), reputationConfig: ReputationConfig(blacklistFailureRate: .nan)) }
    }

    func testConcurrentUpdatesAreNotLost() throws {
        let s = store!
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            for _ in 0..<25 { _ = try? s.reputation.recordSuccess(a, latencyMs: Int64(i), now: t0) }
        }
        XCTAssertEqual(try rep.get(a, now: t0)?.successfulProofs, 100)
    }
}
