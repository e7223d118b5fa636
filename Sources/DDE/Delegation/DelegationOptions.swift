// What a delegation takes (DelegationOptions) and what it gives back (DelegationReport, and its
// JSON form for the C API and `dde delegate --json`).

/// How one task is delegated.
public struct DelegationOptions: Sendable {
    public var mode: AssuranceMode = .firstValid
    /// Executors asked (at least the quorum size).
    public var fanout: Int = 3
    /// Milliseconds from sending to giving up.
    public var deadlineMs: UInt64 = 10_000
    /// After a decision, keep listening this long (never past the deadline) for the other
    /// executors asked, so they are scored too (valid: success; outvoted or invalid: failure).
    public var lingerMs: UInt64 = 100
    /// A critical task is never sent to banned, blacklisted or unproven executors.
    public var critical: Bool = false
    /// For a critical task: fill up with unproven (never banned or blacklisted) executors when
    /// too few proven ones are known.
    public var allowFallback: Bool = false
    /// Fewer (decayed, rounded to whole) successful proofs than this make an executor unproven.
    public var provenAfterSuccesses: Double = 3
    /// Longest single wait on the transport (ms), so the deadline is checked often.
    public var pollMs: Int = 50
    /// Executors the caller trusts (its own PC, an operator's machine): in the audited mode they
    /// audit and break ties first, and their word decides a disagreement.
    public var pinned: [PublicKey] = []
    /// Publish the portable evidence of every disagreement on `Topic.evidence` for other
    /// requesters (they check it before acting on it).
    public var shareEvidence: Bool = true
    /// Executors never asked for this task (the signers of evidence being checked).
    public var exclude: [PublicKey] = []
    /// When the caller names no state keys (neither the spec's `stateKeys` nor keys declared for
    /// the action), a task on a dApp holding at most this many keys carries them all (a v2 task
    /// with every entry: small states need no declaration); a larger dApp's task carries none
    /// and relies on the one retry. 0: never.
    public var carryAllKeysUpTo: Int = 64

    public init(mode: AssuranceMode = .firstValid, fanout: Int = 3, deadlineMs: UInt64 = 10_000) {
        self.mode = mode
        self.fanout = fanout
        self.deadlineMs = deadlineMs
    }
}

/// What a delegation did: the task, whom it asked, every answer with its verdict and latency,
/// and the receipt (or why there is none).
public struct DelegationReport: Sendable {
    public var task: ComputeTask
    public var mode: AssuranceMode
    public var asked: [PublicKey]
    public var events: [DelegationEvent]
    public var accepted: ComputeResult?
    public var receipt: Receipt?
    public var failure: DDEError?
    /// Evidence ids stored during this delegation.
    public var evidenceIds: [Int64]
    /// How the accepted result was assured (also in the receipt).
    public var assurance: Assurance?
    /// Guarantees the mode could not give for this task, in words (empty: none missing). For
    /// example: no pinned or validated executor was known, so agreement among fresh identities
    /// (possibly one attacker's) was all there was.
    public var caveats: [String] = []
    /// The keys added for a second try, when executors of the first task refused it for reading
    /// keys it did not carry (`Delegator.delegate`; `events` then holds both tries' answers,
    /// `task` is the second); empty when the first try was the only one.
    public var retriedWithKeys: [[UInt8]] = []

    /// The receipt, or the failure thrown.
    public func receiptOrThrow() throws(DDEError) -> Receipt {
        if let receipt { return receipt }
        throw failure ?? DDEError(.internalError, "delegation ended with neither a receipt nor a failure")
    }
}

extension DelegationReport {
    /// The report as JSON (what dde_client_delegate and `dde delegate --json` give):
    /// {"answers":[{"detail","executor","latencyMs","status","verdict"}],"asked":[pk],
    ///  "assurance":{"confirmedBy","how","validated"}|null,"caveats":[…],"evidenceIds":[…],
    ///  "failure":{"code","message"}|null,"mode","receipt":<receipt>|null,"result":<result>|null,
    ///  "retriedWithKeys":[key],"taskId"}.
    public var json: JSON {
        var answers: [JSON] = []
        for e in events {
            answers.append(.object(JSONObject(uniqueMembers: [
                .init("detail", .string(e.detail)),
                .init("executor", e.executor.map { .string($0.hex) } ?? .null),
                .init("latencyMs", .number(Double(e.latencyMs))),
                .init("status", .string(e.status.nameString)),
                .init("verdict", .string(e.kind.name)),
            ])))
        }
        return .object(JSONObject(uniqueMembers: [
            .init("answers", .array(answers)),
            .init("asked", .array(asked.map { .string($0.hex) })),
            .init("assurance", assurance.map { $0.json } ?? .null),
            .init("caveats", .array(caveats.map { .string($0) })),
            .init("evidenceIds", .array(evidenceIds.map { .number(Double($0)) })),
            .init("failure", failure.map { f in .object(JSONObject(uniqueMembers: [
                .init("code", .string(f.status.nameString)), .init("message", .string(f.detail)),
            ])) } ?? .null),
            .init("mode", .string(mode.label)),
            .init("receipt", receipt.map { $0.json } ?? .null),
            .init("result", accepted.map { $0.result } ?? .null),
            .init("retriedWithKeys", .array(retriedWithKeys.map { .string(String(decoding: $0, as: UTF8.self)) })),
            .init("taskId", .string(task.taskId.hex)),
        ]))
    }
}

extension DelegationEvent.Kind {
    /// The verdict's name in reports: "accepted", "agreed", … "timeout".
    public var name: String {
        switch self {
        case .accepted: return "accepted"
        case .agreed: return "agreed"
        case .unresolved: return "unresolved"
        case .disagreed: return "disagreed"
        case .invalid: return "invalid"
        case .refused: return "refused"
        case .unattributed: return "unattributed"
        case .duplicate: return "duplicate"
        case .unsolicited: return "unsolicited"
        case .error: return "error"
        case .timeout: return "timeout"
        }
    }
}
