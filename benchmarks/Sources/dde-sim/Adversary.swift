// The liars' strategies. Everything here is simulated: what a Byzantine executor would sign.
// Each strategy decides from what a real executor could observe: the offers on the broadcast
// task topic (which task, which executors it names, whether this task id was offered before)
// and, for rejoining, whether it has been blacklisted (see `World.noticeCaught`).
import DDE
import DDEAdversary

enum Strategy: String, CaseIterable {
    /// Lies on every task it is asked, each liar its own wrong result.
    case always
    /// Lies with probability q per task (`--q`), each liar its own wrong result.
    case probQ = "prob_q"
    /// Honest until trusted, then always: lies only when the first offer of a task names it
    /// alone (a requester that sends a task to one executor trusts it, and cannot have decided
    /// on an audit yet); honest when the offer names others (replication) and on re-offers of a
    /// task already offered (audits and escalations are visible as such on the task topic).
    case untilTrusted = "until_trusted"
    /// Every liar lies on every task, all with the same wrong result per task.
    case colluding
    /// One attacker owning all the liar identities: they agree (one wrong result per task), and
    /// lie only when every executor named in a task's first offer is one of its own (so the
    /// lie is never outvoted at that point); on a re-offer (audit, escalation) an identity backs
    /// the lie if the attacker told one for that task, else is honest. A caught identity is
    /// replaced by a fresh key.
    case sybil
    /// Lies always (own wrong result); after a blacklisting or conviction it comes back under a
    /// fresh key.
    case rejoin

    var colludes: Bool { self == .colluding || self == .sybil }
    var rejoins: Bool { self == .sybil || self == .rejoin }

    var summary: String {
        switch self {
        case .always: return "always lies (own wrong result)"
        case .probQ: return "lies with probability q"
        case .untilTrusted: return "lies when asked alone on a first offer"
        case .colluding: return "all liars sign the same lie"
        case .sybil: return "one attacker's keys; lies when it holds every seat"
        case .rejoin: return "always lies, fresh key after a blacklisting"
        }
    }

    static func parse(_ list: String) throws -> [Strategy] {
        if list == "all" { return Strategy.allCases }
        var out: [Strategy] = []
        for name in list.split(separator: ",") {
            let n = name.trimmingCharacters(in: .whitespaces)
            let aliases: [String: Strategy] = ["q": .probQ, "prob": .probQ, "trusted": .untilTrusted, "adaptive": .untilTrusted,
                                               "collude": .colluding]
            guard let s = Strategy(rawValue: n) ?? aliases[n] else {
                throw SimError("unknown strategy \"\(n)\" (always, prob_q, until_trusted, colluding, sybil, rejoin, all)")
            }
            if !out.contains(s) { out.append(s) }
        }
        return out
    }
}

struct SimError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

enum Lie {
    /// A consistent lie (`Misbehaviour.lie`, DDEAdversary): the result document changed (tagged
    /// `forged: tag`, so distinct liars disagree among themselves and colluders agree), its
    /// hash in the proof, the proof re-signed by the liar at its own time. Writes and roots are
    /// the honest ones, so the lie passes every check of the verification.
    static func sign(_ honest: ComputeResult, tag: String, key: KeyPair, timestamp: UInt64,
                     latency: UInt64) -> ComputeResult {
        Misbehaviour.lie(honest, keyPair: key, tag: .string(tag), timestamp: timestamp, executionLatency: latency)
    }

    /// The honest answer of another executor: the cached execution's proof fields, its own
    /// timestamp, signed with its own key.
    static func honest(_ template: ComputeResult, key: KeyPair, timestamp: UInt64, latency: UInt64) -> ComputeResult {
        var proof = template.proof
        proof.timestamp = timestamp
        proof.sign(with: key)
        return ComputeResult(proof: proof, result: template.result, stateWrites: template.stateWrites,
                             executionLatency: latency)
    }
}
