// How much a delegating client makes sure of a result before it commits it (PROTOCOL.md section
// 11): the first valid proof, a quorum of k agreeing executors, or the audited mode, which
// replicates what executors on probation return and audits trusted ones at random, driven by
// the error the caller accepts.

/// How many executors must stand behind a result before it is committed.
public enum AssuranceMode: Sendable, Equatable {
    /// Accept the first proof that verifies. Trusts the fastest signer.
    case firstValid
    /// Accept when this many distinct executors' proofs agree on resultHash, nextStateRoot,
    /// stateWritesHash and executionTraceHash.
    case quorum(Int)
    /// Replicate executors on probation, audit trusted ones at random after they answered, and
    /// escalate disagreements to validated executors (PROTOCOL.md section 11).
    case audited(AuditPolicy)

    /// Proofs needed before a first commit can happen.
    public var needed: Int {
        switch self {
        case .firstValid, .audited: return 1
        case .quorum(let k): return k < 1 ? 1 : k
        }
    }

    public var label: String {
        switch self {
        case .firstValid: return "first_valid"
        case .quorum(let k): return "quorum(\(k))"
        case .audited(let p): return p.label
        }
    }

    /// The mode a caller names: "first_valid"; "quorum" with `k` executors (1 to
    /// `TaskOffer.maxExecutors`, else `.argument`); "audited" with `audit` (default: an error
    /// target of 1e-3 against 20% liars). nil for any other name: each caller says which of its
    /// fields was wrong.
    public static func named(_ name: String, quorum k: Int, audit: AuditPolicy = AuditPolicy()) throws(DDEError) -> AssuranceMode? {
        if sameScalars(name, "first_valid") { return .firstValid }
        if sameScalars(name, "audited") { return .audited(audit) }
        guard sameScalars(name, "quorum") else { return nil }
        guard k >= 1, k <= TaskOffer.maxExecutors else {
            throw DDEError(.argument, "the quorum must be 1...\(TaskOffer.maxExecutors) executors, not \(k)")
        }
        return .quorum(k)
    }
}

/// The audited mode's rule. An executor's record is `validated`: how many of its results another
/// executor's signed proof confirmed for this requester since its last signed failure. With `n`
/// validated results its answers are audited with probability
///
///     p(n) = 1                                  while n < validatedAfter (probation: replicated)
///     p(n) = max(auditFloor, min(1, c / n))     afterwards
///
/// For the error-target rule, c = f / ((1 - f) * errorTarget) and validatedAfter = ceil(c). Why
/// (PROTOCOL.md section 11): a rational liar is honest until it has n validated results and
/// then lies until an audit catches it (and it is blacklisted for good, under every key it
/// used). It gets about 1/p(n) - 1 forged commits for at least n honest ones, so at most about
/// 1/c of the commits it serves are forged; with a share f of executors lying that way, about
/// (1 - f) * errorTarget of all commits, whatever n the liar picks.
public struct AuditPolicy: Sendable, Equatable {
    /// The constant of p(n) = c / n.
    public var c: Double
    /// Validated results before an executor leaves probation (its tasks are replicated before).
    public var validatedAfter: Int64
    /// Lowest audit probability, however long the record.
    public var auditFloor: Double
    /// Most executors asked beyond the first two when proofs disagree.
    public var maxEscalation: Int
    /// Whether losing against a pinned executor blacklists for good.
    /// BOINC's rule does not: a host that fails validation only starts its count again.
    public var convicts: Bool
    /// The error target this policy was made from (0 for other rules), for reports.
    public var errorTarget: Double
    /// The liar share it assumed.
    public var liarShare: Double
    /// "audited" or "boinc".
    public var name: String

    /// The error-target rule: at most about `errorTarget` of commits forged when at most
    /// `liarShare` of executors lie, whatever their strategy (see the type's comment).
    public init(errorTarget: Double = 1e-3, liarShare: Double = 0.2, auditFloor: Double = 0.01, maxEscalation: Int = 6) {
        let e = errorTarget > 0 ? errorTarget : 1e-9
        let f = liarShare < 0 ? 0 : (liarShare > 0.99 ? 0.99 : liarShare)
        c = f / ((1 - f) * e)
        validatedAfter = Int64(c.rounded(.up))
        self.auditFloor = auditFloor
        self.maxEscalation = maxEscalation
        convicts = true
        self.errorTarget = errorTarget
        self.liarShare = liarShare
        name = "audited"
    }

    /// BOINC's adaptive replication, as a baseline: replicated until 10 consecutive validated
    /// results, then audited with probability 1/n; a failure starts the count again and nobody
    /// is blacklisted for good.
    public static func boinc(trustedAfter: Int64 = 10) -> AuditPolicy {
        var p = AuditPolicy()
        p.c = 1
        p.validatedAfter = trustedAfter
        p.auditFloor = 0
        p.convicts = false
        p.errorTarget = 0
        p.liarShare = 0
        p.name = "boinc"
        return p
    }

    /// Checks the numbers a caller gave.
    public func validate() throws(DDEError) {
        guard errorTarget >= 0, errorTarget < 1 else {
            throw DDEError(.argument, "audited: the error target must be in (0, 1), got \(errorTarget)")
        }
        guard liarShare >= 0, liarShare < 1 else {
            throw DDEError(.argument, "audited: the liar share must be in [0, 1), got \(liarShare)")
        }
        guard auditFloor >= 0, auditFloor <= 1 else {
            throw DDEError(.argument, "audited: the audit floor must be in [0, 1], got \(auditFloor)")
        }
        guard maxEscalation >= 1, maxEscalation <= TaskOffer.maxExecutors - 2 else {
            throw DDEError(.argument, "audited: maxEscalation must be 1...\(TaskOffer.maxExecutors - 2), got \(maxEscalation)")
        }
    }

    public var label: String { name }

    /// The probability that an answer of an executor with `validated` results is audited.
    public func auditProbability(validated n: Int64) -> Double {
        if n < validatedAfter || n <= 0 { return 1 }
        let p = c / Double(n)
        return p >= 1 ? 1 : (p < auditFloor ? auditFloor : p)
    }

    /// Out of probation: answers alone, audited at random.
    public func isTrusted(validated n: Int64) -> Bool { n >= validatedAfter && n > 0 }
}

/// What the requester knows of the executors of one task, for the audited mode: who is pinned
/// (the caller's own machines), each one's validated record, and who else can be asked.
public struct TrustView: Sendable {
    public var pinned: Set<PublicKey>
    public var validated: [PublicKey: Int64]
    /// Usable executors not asked at first, in the order they are asked to audit or to break a
    /// tie: pinned first, then trusted ones, then those on probation (each group in random order).
    public var reserve: [PublicKey]
    public var policy: AuditPolicy

    public init(pinned: Set<PublicKey> = [], validated: [PublicKey: Int64] = [:], reserve: [PublicKey] = [],
                policy: AuditPolicy = AuditPolicy()) {
        self.pinned = pinned
        self.validated = validated
        self.reserve = reserve
        self.policy = policy
    }

    /// Pinned, or out of probation: its agreement validates others; its word outweighs any
    /// number of fresh identities.
    public func isStrong(_ key: PublicKey) -> Bool {
        pinned.contains(key) || policy.isTrusted(validated: validated[key] ?? 0)
    }
}
