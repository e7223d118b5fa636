// What a delegation did to an executor's record (PROTOCOL.md section 10): one case per rule of
// Reputation, so a delegation's scores travel to the store as data and are applied there, in
// the transaction of its commit.

public enum ReputationEvent: Sendable, Equatable {
    case success(PublicKey, latencyMs: UInt64)
    /// A wrong claim the executor signed.
    case failure(PublicKey)
    case timeout(PublicKey)
    /// Another executor's signed proof confirmed this one's result.
    case validated(PublicKey)
    /// Proven a liar: blacklisted for good.
    case convict(PublicKey)
    /// Back to probation.
    case demote(PublicKey)
}

extension Reputation {
    /// Applies one event at `now` (Unix ms).
    @discardableResult
    public func apply(_ event: ReputationEvent, now: Int64) throws(DDEError) -> ReputationRecord {
        switch event {
        case .success(let key, let latency): return try recordSuccess(key, latencyMs: Int64(clamping: latency), now: now)
        case .failure(let key): return try recordFailure(key, now: now)
        case .timeout(let key): return try recordTimeout(key, now: now)
        case .validated(let key): return try recordValidated(key, now: now)
        case .convict(let key): return try convict(key, now: now)
        case .demote(let key): return try demote(key, now: now)
        }
    }
}
