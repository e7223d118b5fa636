/// The rules of executor reputation (PROTOCOL.md section 9). Times are Unix milliseconds.
public struct ReputationConfig: Sendable {
    /// Invalid proofs in a row that earn a temporary ban.
    public var banAfterConsecutiveInvalid: Int
    /// Length of that ban.
    public var banDurationMs: Int64
    /// Blacklisted when the failure rate is strictly above this ...
    public var blacklistFailureRate: Double
    /// ... and the (decayed) number of attempts, rounded to the nearest whole one, is at least this.
    public var blacklistMinAttempts: Int
    /// Counts halve every `halfLifeMs` (0 turns decay off).
    public var halfLifeMs: Int64
    /// z of the Wilson lower bound used for routing (1.96: 95% two-sided).
    public var confidenceZ: Double

    public init(banAfterConsecutiveInvalid: Int = 3, banDurationMs: Int64 = 10 * 60 * 1000,
                blacklistFailureRate: Double = 0.5, blacklistMinAttempts: Int = 5,
                halfLifeMs: Int64 = 24 * 60 * 60 * 1000, confidenceZ: Double = 1.96) {
        self.banAfterConsecutiveInvalid = banAfterConsecutiveInvalid
        self.banDurationMs = banDurationMs
        self.blacklistFailureRate = blacklistFailureRate
        self.blacklistMinAttempts = blacklistMinAttempts
        self.halfLifeMs = halfLifeMs
        self.confidenceZ = confidenceZ
    }

    /// Refuses settings that would make the rules meaningless.
    public func validate() throws(DDEError) {
        guard banAfterConsecutiveInvalid >= 1 else {
            throw DDEError(.argument, "reputation: banAfterConsecutiveInvalid must be at least 1, got \(banAfterConsecutiveInvalid)")
        }
        guard banDurationMs >= 0 else {
            throw DDEError(.argument, "reputation: banDurationMs must be >= 0, got \(banDurationMs)")
        }
        guard blacklistFailureRate >= 0, blacklistFailureRate <= 1 else {
            throw DDEError(.argument, "reputation: blacklistFailureRate must be in [0, 1], got \(blacklistFailureRate)")
        }
        guard blacklistMinAttempts >= 1 else {
            throw DDEError(.argument, "reputation: blacklistMinAttempts must be at least 1, got \(blacklistMinAttempts)")
        }
        guard halfLifeMs >= 0 else {
            throw DDEError(.argument, "reputation: halfLifeMs must be >= 0 (0 turns decay off), got \(halfLifeMs)")
        }
        guard confidenceZ >= 0, confidenceZ <= 10 else {
            throw DDEError(.argument, "reputation: confidenceZ must be in [0, 10], got \(confidenceZ)")
        }
    }
}
