/// One executor's record. Counts are decayed reals (see `Decay`); read through `Reputation.get`
/// they are already decayed to the time asked for.
public struct ReputationRecord: Sendable {
    public var executorKey: PublicKey
    /// Valid proofs accepted.
    public var successfulProofs: Double
    /// Signed proofs found invalid.
    public var failedProofs: Double
    /// Tasks sent that got no proof in time. They count as failed attempts for the failure rate
    /// and routing, but never toward a ban (a slow or offline peer is not a cheat).
    public var timeouts: Double
    /// Decayed sum and count of latencies of successful proofs (ms), so the average leans to
    /// recent measurements.
    public var latencySum: Double
    public var latencyCount: Double
    /// Last time anything was recorded (Unix ms).
    public var lastSeen: Int64
    /// Invalid proofs since the last valid one (not decayed).
    public var consecutiveInvalid: Int
    /// Banned while `now < bannedUntil` (Unix ms; 0 when never banned).
    public var bannedUntil: Int64
    /// Time the counts were last decayed to.
    public var decayedAt: Int64
    /// Results of this executor that another executor's signed proof independently confirmed
    /// (replicated or audited agreement; not decayed). Only this makes an executor trusted in the
    /// audited mode; an unaudited accept never raises it.
    public var validated: Int64
    /// When it was proven to have signed a wrong result (by re-execution, equivocation or a
    /// pinned executor), Unix ms; 0 when never. A convicted executor is blacklisted for good.
    public var convictedAt: Int64

    public init(executorKey: PublicKey, at now: Int64) {
        self.executorKey = executorKey
        successfulProofs = 0
        failedProofs = 0
        timeouts = 0
        latencySum = 0
        latencyCount = 0
        lastSeen = now
        consecutiveInvalid = 0
        bannedUntil = 0
        decayedAt = now
        validated = 0
        convictedAt = 0
    }

    /// Proven a liar: blacklisted for good, whatever the counts say.
    public var isConvicted: Bool { convictedAt > 0 }

    /// Average latency of successful proofs in ms, 0 when there is none.
    public var latencyAvg: Double { latencyCount > 0 ? latencySum / latencyCount : 0 }

    /// Successes + invalid proofs + timeouts (decayed).
    public var attempts: Double { successfulProofs + failedProofs + timeouts }

    /// (invalid + timeouts) / attempts, 0 with no attempts.
    public var failureRate: Double { attempts > 0 ? (failedProofs + timeouts) / attempts : 0 }

    /// Wilson score lower bound of the success rate at `z`: a long good record beats one lucky
    /// success. 0 with no attempts.
    public func successLowerBound(z: Double) -> Double {
        let n = attempts
        guard n > 0 else { return 0 }
        let p = successfulProofs / n
        let z2 = z * z
        let centre = p + z2 / (2 * n)
        let spread = z * Decay.squareRoot(p * (1 - p) / n + z2 / (4 * n * n))
        let bound = (centre - spread) / (1 + z2 / n)
        return bound < 0 ? 0 : bound
    }

    public func isBanned(at now: Int64) -> Bool { now < bannedUntil }

    public func isBlacklisted(_ config: ReputationConfig) -> Bool {
        if isConvicted { return true }
        // Counts are decayed reals: five failures a second apart are 4.9999 attempts. Rounding
        // to the nearest whole attempt keeps "5 attempts" meaning five events close in time.
        let whole = attempts.rounded(.toNearestOrAwayFromZero)
        return whole >= Double(config.blacklistMinAttempts) && failureRate > config.blacklistFailureRate
    }

    /// Brings the counts forward to `now`. Time going backwards decays nothing.
    mutating func decay(to now: Int64, halfLifeMs: Int64) {
        guard now > decayedAt else { return }
        let f = Decay.factor(elapsedMs: now - decayedAt, halfLifeMs: halfLifeMs)
        successfulProofs *= f
        failedProofs *= f
        timeouts *= f
        latencySum *= f
        latencyCount *= f
        decayedAt = now
    }
}

/// Exponential decay (and a square root) without libm: the Embedded Swift aarch64 build lowers
/// `Double.squareRoot()` to a call to libm's sqrt, which libdde.so does not link.
enum Decay {
    /// Newton's iteration from a power-of-two guess (within a factor of 2): correct to the last
    /// bit or one off, plenty for ranking. 0 for zero, negative or NaN input.
    static func squareRoot(_ x: Double) -> Double {
        guard x > 0 else { return 0 }
        guard x.isFinite else { return x }
        var y = Double(sign: .plus, exponent: x.exponent / 2, significand: 1)
        for _ in 0..<8 { y = 0.5 * (y + x / y) }
        return y
    }

    /// 2^(-elapsed/halfLife); 1 when decay is off or no time has passed.
    static func factor(elapsedMs: Int64, halfLifeMs: Int64) -> Double {
        guard elapsedMs > 0, halfLifeMs > 0 else { return 1 }
        let halvings = Double(elapsedMs) / Double(halfLifeMs)
        if halvings >= 1100 { return 0 }  // below the smallest subnormal
        let whole = halvings.rounded(.down)
        let fraction = halvings - whole
        // 2^-f = e^(-f ln 2) with f in [0, 1): the Taylor series is exact to double precision
        // well before 25 terms (|x| < 0.7).
        let x = -fraction * 0.693147180559945309417232121458
        var term = 1.0
        var sum = 1.0
        for n in 1...25 {
            term *= x / Double(n)
            sum += term
        }
        return sum * Double(sign: .plus, exponent: -Int(whole), significand: 1)
    }
}
