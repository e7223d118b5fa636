// The audited mode's decisions (PROTOCOL.md section 11), on top of DelegationSession: held are
// all valid proofs so far; after each answer `judgeAudited` accepts, asks for an audit or a
// tie-break, or fails.
//
// - One proof from a trusted primary asked alone: audited with probability p(validated) by the
//   draw made before sending (never for a pinned one); the audit offer goes out only now, after
//   the answer arrived, so the primary could not know. Not drawn: accepted unaudited (validates
//   nobody). Auditors are strong (pinned first); with none to ask, nothing is committed.
// - Agreement of two or more distinct executors: accepted when one of them is strong (pinned or
//   trusted), or when no strong executor is known at all (bootstrap; the receipt says so).
//   Fresh identities agreeing while a strong one exists: a strong one is asked; none left, the
//   session fails (DDE_ERR_UNRESOLVED).
// - Disagreement: strong executors are asked one at a time (pinned first), at most
//   `maxEscalation` more, until one group wins: the only group holding a pinned executor (its
//   dissenters are convicted), or one with at least two strong executors and more than any other
//   group (committed; strong dissenters go back to probation, fresh ones fail, nobody is
//   convicted: validated keys may be one patient attacker's, and the evidence goes to
//   re-execution instead). Fresh executors never outvote strong ones: their votes count only
//   when nobody strong is known (bootstrap majority, no conviction). Unresolved with strong
//   executors on both sides: those go back to probation.

extension DelegationSession {
    mutating func judgeAudited() {
        guard case .pending = state, case .audited(let policy) = mode else { return }
        let groups = agreementGroups()
        // Once anybody strong is known, fresh executors never confirm, audit or decide.
        let strongOnly = anyStrongKnown
        if groups.isEmpty {
            if waiting == 0, !askNext(strongOnly: false) { fail() }
            return
        }
        if groups.count == 1 {
            let group = groups[0]
            if group.count == 1 {
                let only = group[0].executor
                // A trusted primary asked alone: the audit draw decides, now that it answered.
                if asked.count == 1, !auditAsked, !escalated {
                    // Pinned executors are the caller's own: their answers are not audited.
                    let p = trust.pinned.contains(only) ? 0 : policy.auditProbability(validated: trust.validated[only] ?? 0)
                    if auditDraw >= p {
                        accept(group, how: .unaudited, win: .plain, at: lastSeen)
                    } else if let auditor = nextFromReserve(strongOnly: strongOnly) {
                        auditAsked = true
                        ask([auditor])
                    } else {
                        // Drawn for audit, but nobody to audit with: not accepted unchecked.
                        fail(DDEError(.noExecutor, "the answer of \(only.hex) was drawn for audit but no other \(strongOnly ? "validated or pinned " : "")executor can be asked: nothing committed"))
                    }
                    return
                }
                // Waiting for the replica or auditor; when it gave up, ask another.
                if waiting == 0, !askNext(strongOnly: strongOnly) { fail() }
                return
            }
            // Two or more distinct executors agree.
            if group.contains(where: { trust.isStrong($0.executor) }) || !strongOnly {
                accept(group, how: escalated ? .escalated : (auditAsked ? .audited : .replicated),
                       win: .plain, at: lastSeen)
                return
            }
            // Only fresh identities agree while a strong executor exists: ask one; none left
            // to ask decides nothing (they may all be one attacker's).
            if !askNext(strongOnly: true), waiting == 0 {
                fail(DDEError(.unresolved, "only executors this requester has not validated agree on task \(task.taskId.hex), and no validated or pinned executor could confirm it: nothing committed"))
            }
            return
        }
        // Disagreement.
        escalated = true
        if let (winner, win) = winner(of: groups) {
            accept(winner, how: .escalated, win: win, at: lastSeen)
            return
        }
        if waiting > 0 { return }
        if extraAsked < policy.maxEscalation + 1, askNext(strongOnly: strongOnly) { return }
        // Unresolved. Strong executors on more than one side: at least one of them lied, and
        // nothing tells which, so every trusted one goes back to probation (the liar loses the
        // record it built; without this a trusted liar audited by one honest executor would keep
        // lying at no cost). A strong executor against fresh ones keeps its record: a fresh key
        // must not be able to demote an honest executor for free.
        let sidesWithStrong = groups.filter { g in g.contains { trust.isStrong($0.executor) } }.count
        if sidesWithStrong > 1 {
            for g in groups {
                for h in g where trust.isStrong(h.executor) && !trust.pinned.contains(h.executor) {
                    actions.append(.demote(h.executor))
                }
            }
        }
        fail()
    }

    /// Held proofs grouped by what they agree on, groups in order of first arrival.
    private func agreementGroups() -> [[Held]] {
        var groups: [[Held]] = []
        for h in held {
            let k = AgreementKey(h.result.proof)
            if let i = groups.firstIndex(where: { AgreementKey($0[0].result.proof) == k }) {
                groups[i].append(h)
            } else {
                groups.append([h])
            }
        }
        return groups
    }

    /// The group that wins a disagreement, and what its win proves about the others.
    private func winner(of groups: [[Held]]) -> ([Held], Win)? {
        let withPinned = groups.indices.filter { i in groups[i].contains { trust.pinned.contains($0.executor) } }
        if withPinned.count == 1 { return (groups[withPinned[0]], .pinned) }
        if withPinned.count > 1 { return nil }  // the caller's own machines disagree: nobody decides
        let strong = groups.map { g in g.filter { trust.isStrong($0.executor) }.count }
        let order = groups.indices.sorted { strong[$0] > strong[$1] }
        let best = order[0], second = strong[order[1]]
        if strong[best] >= 2 && strong[best] > second { return (groups[best], .validatedMajority) }
        if anyStrongKnown { return nil }
        // Bootstrap: nobody strong known; a plain majority of at least two decides, without
        // convicting (it may be a Sybil majority).
        let sizes = groups.map { $0.count }.sorted(by: >)
        if sizes[0] >= 2 && sizes[0] > sizes[1] && waiting == 0 && !reserveLeft {
            return (groups.first { $0.count == sizes[0] }!, .plain)
        }
        return nil
    }

    private var reserveLeft: Bool {
        guard case .audited(let p) = mode else { return false }
        return !trust.reserve.isEmpty && extraAsked < p.maxEscalation
    }

    /// Takes the next executor to ask from the reserve: pinned ones first, then strong ones,
    /// then (unless `strongOnly`) fresh ones, each in reserve order (random, from the Delegator).
    private mutating func nextFromReserve(strongOnly: Bool) -> PublicKey? {
        let i = trust.reserve.firstIndex { trust.pinned.contains($0) }
            ?? trust.reserve.firstIndex { trust.isStrong($0) }
            ?? (strongOnly ? nil : trust.reserve.indices.first)
        guard let i else { return nil }
        return trust.reserve.remove(at: i)
    }

    /// Asks one more executor; false when nobody is left (or the escalation limit is reached).
    @discardableResult
    private mutating func askNext(strongOnly: Bool) -> Bool {
        guard case .audited(let p) = mode, extraAsked < p.maxEscalation + 1,
              let next = nextFromReserve(strongOnly: strongOnly) else { return false }
        ask([next])
        return true
    }

    private mutating func ask(_ keys: [PublicKey]) {
        for k in keys where !asked.contains(k) {
            asked.append(k)
            extraAsked += 1
        }
        actions.append(.ask(keys))
    }
}
