// The table (plain text, deterministic: its sha256 is printed as `table-hash:`), the invariant
// checks a script can grep, and the CSV the plot reads.
import DDE
import Foundation

enum Report {
    static func rate(_ r: Double) -> String {
        if r == 0 { return "0" }
        return String(format: "%.2e", r)
    }

    static func target(_ t: Double) -> String {
        var s = String(format: "%.0e", t)  // 1e-03
        s = s.replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+0", with: "e")
        return s
    }

    /// What the mode claims against this strategy, and whether the run kept it.
    static func claim(_ r: CellResult) -> (String, String) {
        switch r.mode.mode {
        case .firstValid:
            return ("none", r.forged > 0 ? "BEATEN" : "-")
        case .quorum:
            if r.strategy.colludes { return ("none vs collusion", r.forged > 0 ? "BEATEN" : "-") }
            return ("0 forged", r.forged == 0 ? "yes" : "NO")
        case .audited(let p):
            if p.name == "boinc" { return ("none (baseline)", r.forged > 0 ? "BEATEN" : "-") }
            // Judged on the commits the mode vouched for: a report with a caveat says which
            // guarantee it could not give (no pinned or validated executor confirmed it).
            guard let rate = r.claimedRate else { return ("<= \(target(p.errorTarget))", "n/a") }
            return ("<= \(target(p.errorTarget))", rate <= p.errorTarget ? "yes" : "NO: BEATEN")
        }
    }

    static func pad(_ s: String, _ n: Int, right: Bool = false) -> String {
        if s.count >= n { return s }
        let fill = String(repeating: " ", count: n - s.count)
        return right ? fill + s : s + fill
    }

    static func table(_ config: SimConfig, _ results: [CellResult], strategies: [Strategy]) -> String {
        var out = ""
        let liars = Int((Double(config.executors) * config.liarShare).rounded())
        out += "dde-sim: seed \(config.seed); \(config.executors) executors, \(liars) of them liars (\(fmtPct(config.liarShare))); \(config.requesters) requesters; \(config.tasks) tasks per cell (counter dApp)\n"
        out += "first_valid and quorum ask \(config.fanout) executors (fanout); audited and boinc pin \(config.pinned) honest executor(s) per requester; audited policies assume \(fmtPct(config.assumedShare)) liars; prob_q q = \(config.q)\n"
        out += "forged rate = committed results that differ from the honest result / commits; caveat = commits whose report says no pinned or validated executor confirmed them, w/o caveat = forged rate of the others (what holds? judges for audited); extra = executors asked beyond one per task; caught = liar keys blacklisted or convicted by a requester (mean tasks from joining); honest = honest executors convicted/blacklisted/ever banned\n\n"
        let cols: [(String, Int, Bool)] = [("strategy", 14, false), ("mode", 14, false), ("pinned", 6, true), ("commits", 8, true),
                                           ("failed", 7, true), ("forged", 7, true), ("forged rate", 11, true), ("claim", 18, false),
                                           ("holds?", 10, false), ("caveat", 7, true), ("w/o caveat", 10, true), ("extra/task", 10, true), ("caught", 11, true),
                                           ("tasks to catch", 14, true), ("honest c/b/ban", 14, true)]
        out += cols.map { pad($0.0, $0.1, right: $0.2) }.joined(separator: "  ") + "\n"
        for s in strategies {
            for r in results where r.strategy == s {
                let (claim, holds) = claim(r)
                let row = [r.strategy.rawValue, r.mode.label, r.mode.usesPinned ? "\(config.pinned)" : "-",
                           "\(r.commits)", "\(r.failures)", "\(r.forged)", rate(r.forgedRate), claim, holds,
                           r.usesCaveats ? String(format: "%.0f%%", r.caveatShare * 100) : "-",
                           r.usesCaveats ? (r.claimedRate.map { rate($0) } ?? "n/a") : "-",
                           String(format: "%.3f", r.extraPerTask), "\(r.liarsCaught)/\(r.liarIdentities)",
                           r.meanTasksToCatch.map { String(format: "%.0f", $0) } ?? "n/a",
                           "\(r.honestConvicted)/\(r.honestBlacklisted)/\(r.honestBanned)"]
                out += zip(row, cols).map { pad($0.0, $0.1.1, right: $0.1.2) }.joined(separator: "  ") + "\n"
            }
        }
        out += "\n"
        // The audited mode against BOINC at equal cost, per strategy.
        for s in strategies {
            guard let boinc = results.first(where: { $0.strategy == s && $0.mode.isBoinc }) else { continue }
            let audited = results.filter { r in
                if r.strategy == s, case .audited(let p) = r.mode.mode, p.name != "boinc" { return true }
                return false
            }
            let cheap = audited.filter { $0.extraPerTask <= boinc.extraPerTask * 1.05 + 1e-9 }
            if let best = cheap.min(by: { ($0.forgedRate, $0.extraPerTask) < ($1.forgedRate, $1.extraPerTask) }) {
                let verdict = best.forgedRate < boinc.forgedRate ? "forges less"
                    : (best.forgedRate == boinc.forgedRate ? "forges as much" : "FORGES MORE")
                out += "vs boinc, \(s.rawValue): boinc extra \(String(format: "%.3f", boinc.extraPerTask)) forged \(rate(boinc.forgedRate)); \(best.mode.label) extra \(String(format: "%.3f", best.extraPerTask)) forged \(rate(best.forgedRate)): \(verdict)\n"
            } else if !audited.isEmpty {
                let cheapest = audited.min { $0.extraPerTask < $1.extraPerTask }!
                out += "vs boinc, \(s.rawValue): boinc extra \(String(format: "%.3f", boinc.extraPerTask)) forged \(rate(boinc.forgedRate)); no audited target run is as cheap (cheapest: \(cheapest.mode.label) extra \(String(format: "%.3f", cheapest.extraPerTask)) forged \(rate(cheapest.forgedRate)))\n"
            }
        }
        // Invariants a script checks.
        let quorumNonColluding = results.filter { if case .quorum = $0.mode.mode { return !$0.strategy.colludes } else { return false } }
        if !quorumNonColluding.isEmpty {
            let forged = quorumNonColluding.reduce(0) { $0 + $1.forged }
            out += "check: quorum forged against non-colluding liars = \(forged): \(forged == 0 ? "ok" : "FAIL")\n"
        }
        let honestOut = results.reduce(0) { $0 + $1.honestConvicted + $1.honestBlacklisted }
        out += "check: honest executors convicted or blacklisted = \(honestOut): \(honestOut == 0 ? "ok" : "FAIL")\n"
        let banned = results.reduce(0) { $0 + $1.honestBanned }
        out += "info: honest executors banned (temporarily) = \(banned)\n"
        for r in results {
            if case .audited(let p) = r.mode.mode, p.name != "boinc" {
                if let claimed = r.claimedRate, claimed > p.errorTarget {
                    out += "beaten: \(r.strategy.rawValue) beats \(r.mode.label): forged rate \(rate(claimed)) over its target \(target(p.errorTarget)) on commits without a caveat\n"
                } else if r.forgedRate > p.errorTarget {
                    out += "caveat: \(r.strategy.rawValue) in \(r.mode.label): forged rate \(rate(r.forgedRate)) over the target, all of the excess on commits whose report said no pinned or validated executor confirmed them\n"
                }
            }
            if r.honestConvicted + r.honestBlacklisted > 0 {
                out += "beaten: \(r.strategy.rawValue) in \(r.mode.label) got honest executors convicted (\(r.honestConvicted)) or blacklisted (\(r.honestBlacklisted))\n"
            }
            if case .quorum = r.mode.mode, r.forged > 0 {
                out += "beaten: \(r.strategy.rawValue) beats \(r.mode.label): \(r.forged) forged commits\n"
            }
        }
        return out
    }

    static func fmtPct(_ f: Double) -> String { String(format: "%g%%", f * 100) }

    static let hows = ["first_valid", "quorum", "unaudited", "replicated", "audited", "escalated"]

    static func csv(_ config: SimConfig, _ results: [CellResult]) -> String {
        var lines = ["strategy,mode,kind,target,pinned,executors,liar_share,requesters,tasks,commits,failures,forged,forged_rate,extra_per_task,liar_identities,liars_caught,mean_tasks_to_catch,honest_convicted,honest_blacklisted,honest_banned,honest_failures,caveated,forged_caveated,lies,answers,pinned_answers,evidence,executions,"
            + hows.map { "commits_\($0),forged_\($0)" }.joined(separator: ",") + ",failures_by,seconds"]
        for r in results {
            let kind: String
            switch r.mode.mode {
            case .firstValid: kind = "first_valid"
            case .quorum: kind = "quorum"
            case .audited(let p): kind = p.name
            }
            var f: [String] = [r.strategy.rawValue, r.mode.label, kind, r.mode.target.map { "\($0)" } ?? "",
                               r.mode.usesPinned ? "\(config.pinned)" : "0", "\(config.executors)", "\(config.liarShare)",
                               "\(config.requesters)", "\(r.tasks)", "\(r.commits)", "\(r.failures)", "\(r.forged)",
                               String(format: "%.6g", r.forgedRate), String(format: "%.6g", r.extraPerTask),
                               "\(r.liarIdentities)", "\(r.liarsCaught)", r.meanTasksToCatch.map { String(format: "%.1f", $0) } ?? "",
                               "\(r.honestConvicted)", "\(r.honestBlacklisted)", "\(r.honestBanned)", "\(r.honestFailures)",
                               "\(r.caveated)", "\(r.forgedCaveated)", "\(r.lies)", "\(r.answers)", "\(r.pinnedAnswers)", "\(r.evidence)", "\(r.executions)"]
            for h in hows {
                let e = r.byHow[h] ?? (0, 0)
                f.append("\(e.commits)")
                f.append("\(e.forged)")
            }
            f.append(r.failuresBy.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ";"))
            f.append(String(format: "%.2f", r.seconds))
            lines.append(f.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
