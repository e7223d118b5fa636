// The audited mode's decisions (PROTOCOL.md section 11), on top of DelegationSession: held are
// all valid proofs so far; after each answer `judgeAudited` accepts, asks for an audit or a
// tie-break, or fails.
//
// - One proof from a trusted primary asked alone: audited with probability p(validated) by the
//   draw made before sending; the audit offer goes out only now, after the answer arrived, so
//   the primary could not know. Not drawn: accepted unaudited (validates nobody).
// - Agreement of two or more distinct executors: accepted when one of them is strong (pinned or
//   trusted), or when no strong executor is known at all (bootstrap; the receipt says so).
//   Fresh identities agreeing while a strong one could be asked: a strong one is asked.
// - Disagreement: executors are asked one at a time (pinned first, then trusted, then others),
//   at most `maxEscalation` more, until one group wins: the only group holding a pinned
//   executor, or one with at least two strong executors and more than any other group. Weak
//   (unproven) executors never outvote strong ones: weak votes count only when nobody strong is
//   known. The decisive winners' dissenters are convicted; other dissenters are only scored.

extension DelegationSession {
    mutating func judgeAudited() {
        guard case .pending = state, case .audited(let policy) = mode else { return }
        let groups = agreementGroups()
        if groups.isEmpty {
            if waiting == 0 { askNext(strongOnly: false) || failNow() }
            return
        }
        if groups.count == 1 {
            let group = groups[0]
            if group.count == 1 {
                let only = group[0].executor
                // A trusted primary asked alone: the audit draw decides, now that it answered.
                if asked.count == 1, !auditAsked, !escalated {
                    let p = policy.auditProbability(validated: trust.validated[only] ?? 0)
                    if auditDraw < p, let auditor = nextFromReserve(strongOnly: false) {
                        auditAsked = true
                        ask([auditor])
                    } else if auditDraw >= p {
                        accept(group, how: .unaudited, decisive: false, at: lastSeen)
                    } else {
                        // Drawn for audit, but nobody to audit with: not accepted unchecked.
                        failNow(DDEError(.noExecutor, "the answer of \(only.hex) was drawn for audit but no other executor can be asked: nothing committed"))
                    }
                    return
                }
                // Waiting for the replica or auditor; when it gave up, ask another.
                if waiting == 0 { askNext(strongOnly: false) || failNow() }
                return
            }
            // Two or more distinct executors agree.
            if group.contains(where: { trust.isStrong($0.executor) }) || !anyStrongKnown {
                accept(group, how: escalated ? .escalated : (auditAsked ? .audited : .replicated),
                       decisive: false, at: lastSeen)
                return
            }
            // Only fresh identities agree while a strong executor exists: ask one.
            if !askNext(strongOnly: true), waiting == 0 {
                // No strong executor left to ask: accept what fresh identities agree on, and say so.
                accept(group, how: escalated ? .escalated : (auditAsked ? .audited : .replicated), decisive: false, at: lastSeen)
            }
            return
        }
        // Disagreement.
        escalated = true
        if let (winner, decisive) = winner(of: groups) {
            accept(winner, how: .escalated, decisive: decisive, at: lastSeen)
            return
        }
        if waiting > 0 { return }
        if extraAsked < policy.maxEscalation, askNext(strongOnly: false) { return }
        failNow()
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

    /// The group that wins a disagreement, and whether the win is decisive (convicts).
    private func winner(of groups: [[Held]]) -> ([Held], Bool)? {
        let withPinned = groups.indices.filter { i in groups[i].contains { trust.pinned.contains($0.executor) } }
        if withPinned.count == 1 { return (groups[withPinned[0]], true) }
        if withPinned.count > 1 { return nil }  // the caller's own machines disagree: nobody decides
        let strong = groups.map { g in g.filter { trust.isStrong($0.executor) }.count }
        let order = groups.indices.sorted { strong[$0] > strong[$1] }
        let best = order[0], second = strong[order[1]]
        if strong[best] >= 2 && strong[best] > second { return (groups[best], true) }
        if strong[best] >= 1 && second == 0 && !strongLeftToAsk {
            // One strong executor against fresh ones, and no strong one left to ask: its word
            // stands, but is not enough to convict.
            return (groups[best], false)
        }
        if anyStrongKnown { return nil }
        // Bootstrap: nobody strong known; a plain majority of at least two decides, without
        // convicting (it may be a Sybil majority).
        let sizes = groups.map { $0.count }.sorted(by: >)
        if sizes[0] >= 2 && sizes[0] > sizes[1] && waiting == 0 && !reserveLeft {
            return (groups.first { $0.count == sizes[0] }!, false)
        }
        return nil
    }

    private var strongLeftToAsk: Bool { trust.reserve.contains { trust.isStrong($0) } }
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

    @discardableResult
    private mutating func failNow(_ error: DDEError? = nil) -> Bool {
        fail(error)
        return true
    }
}
