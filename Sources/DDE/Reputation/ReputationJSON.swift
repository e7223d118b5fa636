// JSON forms of reputation records and settings, shared by the C API, the CLI and Python.

extension ReputationRecord {
    /// `{"executorPublicKey", "successfulProofs", "failedProofs", "timeouts", "attempts",
    ///   "failureRate", "successLowerBound", "latencyAvg", "latencyCount", "lastSeen",
    ///   "consecutiveInvalid", "bannedUntil", "banned", "blacklisted", "validated", "convictedAt",
    ///   "convicted"}`; counts are decayed to `now` and may be fractional; `validated` is whole.
    public func json(config: ReputationConfig, now: Int64) -> JSON {
        .object(JSONObject(uniqueMembers: [
            .init("executorPublicKey", .string(executorKey.hex)),
            .init("successfulProofs", .number(successfulProofs)),
            .init("failedProofs", .number(failedProofs)),
            .init("timeouts", .number(timeouts)),
            .init("attempts", .number(attempts)),
            .init("failureRate", .number(failureRate)),
            .init("successLowerBound", .number(successLowerBound(z: config.confidenceZ))),
            .init("latencyAvg", .number(latencyAvg)),
            .init("latencyCount", .number(latencyCount)),
            .init("lastSeen", .number(Double(lastSeen))),
            .init("consecutiveInvalid", .number(Double(consecutiveInvalid))),
            .init("bannedUntil", .number(Double(bannedUntil))),
            .init("banned", .bool(isBanned(at: now))),
            .init("blacklisted", .bool(isBlacklisted(config))),
            .init("validated", .number(Double(validated))),
            .init("convictedAt", .number(Double(convictedAt))),
            .init("convicted", .bool(isConvicted)),
        ]))
    }
}

extension ReputationConfig {
    /// Reads `{"banAfterConsecutiveInvalid"?, "banDurationMs"?, "blacklistFailureRate"?,
    /// "blacklistMinAttempts"?, "halfLifeMs"?, "confidenceZ"?}`; absent fields keep defaults.
    public init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "reputation")
        try r.only(["banAfterConsecutiveInvalid", "banDurationMs", "blacklistFailureRate", "blacklistMinAttempts",
                    "halfLifeMs", "confidenceZ"])
        self.init()
        // Counts up to 2^53-1 do not fit a 32-bit Int (armv7), where Int(v) would trap: clamped,
        // they still mean "never" there, since no count reaches 2^31-1 (consecutiveInvalid is
        // itself clamped to it).
        if let v = try r.optionalInteger("banAfterConsecutiveInvalid") { banAfterConsecutiveInvalid = Int(clamping: v) }
        if let v = try r.optionalInteger("banDurationMs") { banDurationMs = Int64(v) }
        if let v = try r.optionalInteger("blacklistMinAttempts") { blacklistMinAttempts = Int(clamping: v) }
        if let v = try r.optionalInteger("halfLifeMs") { halfLifeMs = Int64(v) }
        if r.has("blacklistFailureRate") {
            guard case .number(let d) = try r.value("blacklistFailureRate") else {
                throw DDEError(.schema, "reputation.blacklistFailureRate must be a number")
            }
            blacklistFailureRate = d
        }
        if r.has("confidenceZ") {
            guard case .number(let d) = try r.value("confidenceZ") else {
                throw DDEError(.schema, "reputation.confidenceZ must be a number")
            }
            confidenceZ = d
        }
        try validate()
    }
}
