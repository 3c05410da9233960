/// Where a constraint came from: the policy's own constraints or a rule that fired.
public enum ConstraintSource: Sendable, Hashable, CustomStringConvertible {
    /// The policy's own constraints.
    case policy
    /// A rule that fired, by its id.
    case rule(String)

    /// `""` for the policy, `" (rule film-replace)"` for a rule: appended to reason sentences.
    public var suffix: String {
        switch self {
        case .policy: return ""
        case .rule(let id): return " (rule \(id))"
        }
    }

    /// `policy` or `rule film-replace`.
    public var description: String {
        switch self {
        case .policy: return "policy"
        case .rule(let id): return "rule \(id)"
        }
    }
}

/// Why the router refused one offer for a job. Each renders as a plain sentence.
public enum RejectionReason: Sendable, Equatable, CustomStringConvertible {
    /// The provider would refuse the job's inputs (duration, format, size, URL).
    case ineligible(IneligibilityReason)
    /// The provider is not on an allow list.
    case providerNotAllowed(ProviderID, by: ConstraintSource)
    /// The provider is on a deny list.
    case providerDenied(ProviderID, by: ConstraintSource)
    /// The offer's mode is not allowed.
    case modeNotAllowed(Mode, by: ConstraintSource)
    /// The offer's resolution is not allowed.
    case resolutionNotAllowed(Resolution, by: ConstraintSource)
    /// The offer's quality score is below the minimum.
    case qualityBelowMinimum(Int, minimum: Int, by: ConstraintSource)
    /// The price's confidence is less certain than required.
    case confidenceBelowRequired(Confidence, required: Confidence, by: ConstraintSource)
    /// The cost cannot be estimated (no price, or no billing rule) and the policy requires one.
    case unpriced(by: ConstraintSource)
    /// wanroute has no adapter for the provider, and the policy does not allow quote-only providers.
    case quoteOnly(provider: String)
    /// The estimated USD cost is above the per-job limit.
    case costAboveLimit(Money, limit: Money, by: ConstraintSource)
    /// The cost is unknown, so a per-job limit cannot be checked.
    case costUnknownForLimit(limit: Money, by: ConstraintSource)
    /// The expected seconds to a result are above the latency limit.
    case latencyAboveLimit(expectedSeconds: Double, limit: Seconds, by: ConstraintSource)
    /// The estimate is more than what is left of a monthly budget.
    case overBudget(budget: String, key: BudgetKey, cost: Money, remaining: Money, monthly: Money)
    /// The cost is unknown, so a budget cannot be checked.
    case costUnknownForBudget(budget: String, key: BudgetKey)

    /// The reason as a plain sentence, naming the rule when a rule imposed it.
    public var description: String {
        switch self {
        case .ineligible(let r): return r.description
        case .providerNotAllowed(let p, let s): return "provider \(p) is not among those the policy allows\(s.suffix)"
        case .providerDenied(let p, let s): return "provider \(p) is denied by the policy\(s.suffix)"
        case .modeNotAllowed(let m, let s): return "mode \(m.rawValue) is not allowed by the policy\(s.suffix)"
        case .resolutionNotAllowed(let r, let s): return "resolution \(r.rawValue) is not allowed by the policy\(s.suffix)"
        case .qualityBelowMinimum(let q, let min, let s): return "quality \(q) is below the policy's minimum of \(min)\(s.suffix)"
        case .confidenceBelowRequired(let c, let req, let s): return "price confidence \(c.rawValue); the policy requires \(req.rawValue)\(s.suffix)"
        case .unpriced(let s): return "its cost cannot be estimated (no known price or billing rule); the policy requires a known price\(s.suffix)"
        case .quoteOnly(let p): return "wanroute has no adapter for \(p), so it can only be quoted; the policy does not allow quote-only providers"
        case .costAboveLimit(let c, let l, let s): return "costs \(c), above the policy's \(l) limit per job\(s.suffix)"
        case .costUnknownForLimit(let l, let s): return "its cost is unknown, so the policy's \(l) limit per job cannot be checked\(s.suffix)"
        case .latencyAboveLimit(let e, let l, let s): return "expected to take \(Int64(e.rounded())) s, above the policy's \(l) limit\(s.suffix)"
        case .overBudget(let b, let k, let c, let r, let m):
            return "costs \(c), but budget \"\(b)\" (\(k)) has \(r) left of \(m) this month"
        case .costUnknownForBudget(let b, let k): return "its cost is unknown, so budget \"\(b)\" (\(k)) cannot be checked"
        }
    }
}

/// An offer the router ranked: the choice or an alternate.
public struct RankedOffer: Sendable {
    /// The offer's position in ``PriceCatalog/offers``.
    public let offerIndex: Int
    /// The offer itself.
    public let offer: Offer
    /// The offer priced for the job, exactly as ``PriceCatalog/quote(_:providers:)`` prices it.
    public let estimate: Estimate
    /// Expected seconds from submission to result.
    public let expectedLatencySeconds: Double
    /// The weighted score (0 best, 1 worst) under a weighted objective, else nil.
    public let score: Double?
}

/// An offer the router refused, with every reason.
public struct Rejection: Sendable, CustomStringConvertible {
    /// The offer's position in ``PriceCatalog/offers``.
    public let offerIndex: Int
    /// The offer itself.
    public let offer: Offer
    /// The offer priced for the job (its ``Estimate/reasons`` list the provider's own refusals).
    public let estimate: Estimate
    /// Every reason, provider limits first, then the policy's constraints, then budgets.
    public let reasons: [RejectionReason]

    /// `dashscope-intl wan-pro 720p: 45 s is above DashScope's 30 s limit`.
    public var description: String {
        "\(offer.provider) \(offer.mode.rawValue) \(offer.resolution.rawValue): " + reasons.map(\.description).joined(separator: "; ")
    }
}

/// What happened to one rule for one job.
public struct RuleOutcome: Sendable, Equatable, CustomStringConvertible {
    /// How a rule fared.
    public enum Status: Sendable, Equatable {
        /// Its condition held; its effects applied.
        case fired
        /// Its condition did not hold.
        case notMatched
        /// An earlier rule that fired said `stop`.
        case notEvaluated(stoppedBy: String)
    }

    /// The rule's id.
    public let id: String
    /// Whether the rule fired, did not match, or was never evaluated.
    public let status: Status

    /// `id: fired`, `id: did not match` or `id: not evaluated (rule … stopped)`.
    public var description: String {
        switch status {
        case .fired: return "\(id): fired"
        case .notMatched: return "\(id): did not match"
        case .notEvaluated(let by): return "\(id): not evaluated (rule \(by) stopped)"
        }
    }
}

/// The router's answer for one job: the choice, the failover order, every refused offer with its
/// reasons, and which rules fired. An immutable value; the explanation's sentences are rendered
/// only when asked for.
public struct Decision: Sendable {
    let compiled: CompiledPolicy
    /// The job decided.
    public let job: Job
    /// The spend the decision was checked against.
    public let spend: SpendSnapshot
    let entries: [Entry]
    let passing: Int
    let fired: UInt64
    let evaluated: Int
    /// The objective in force after the rules.
    public let objective: Objective
    let maxCostBlock: Int
    let maxLatencyBlock: Int

    init(compiled: CompiledPolicy, job: Job, spend: SpendSnapshot, entries: [Entry], passing: Int, fired: UInt64,
         evaluated: Int, objective: Objective, maxCostBlock: Int, maxLatencyBlock: Int) {
        self.compiled = compiled
        self.job = job
        self.spend = spend
        self.entries = entries
        self.passing = passing
        self.fired = fired
        self.evaluated = evaluated
        self.objective = objective
        self.maxCostBlock = maxCostBlock
        self.maxLatencyBlock = maxLatencyBlock
    }

    /// The policy's name.
    public var policyName: String { compiled.policy.name }
    /// The failover plan: which failure classes move the job to the next alternate.
    public var failover: FailoverPlan { compiled.policy.failover }

    /// The offer to use, or nil when nothing qualifies (the CLI exits 2).
    public var choice: RankedOffer? { passing > 0 ? ranked(0) : nil }
    /// Whether no offer qualifies.
    public var isRefused: Bool { passing == 0 }
    /// The failover order after the choice, at most ``FailoverPlan/alternates`` long.
    public var alternates: [RankedOffer] {
        passing > 1 ? (1..<min(passing, 1 + compiled.policy.failover.alternates)).map(ranked) : []
    }
    /// How many offers qualify in all (the choice, the alternates and any beyond them).
    public var qualifyingCount: Int { passing }
    /// Every offer that sells what the job asks for but was refused, in catalog order.
    public var rejected: [Rejection] { entries[passing...].map(rejection) }
    /// The offer index of the choice, without building any values (for hot loops).
    public var choiceOfferIndex: Int? { passing > 0 ? Int(entries[0].offer) : nil }
    /// The choice's USD cost in nano-dollars, without building any values (nil when none or unknown).
    public var choiceUSDNanos: Int64? { passing > 0 && entries[0].usd != Int64.max ? entries[0].usd : nil }

    /// Each rule in policy order with what happened to it.
    public var rules: [RuleOutcome] {
        compiled.policy.rules.enumerated().map { i, rule in
            if i >= evaluated { return RuleOutcome(id: rule.id, status: .notEvaluated(stoppedBy: compiled.policy.rules[evaluated - 1].id)) }
            return RuleOutcome(id: rule.id, status: fired & (1 << UInt64(i)) != 0 ? .fired : .notMatched)
        }
    }

    /// The ids of the rules that fired, in order.
    public var firedRules: [String] {
        compiled.policy.rules.indices.filter { fired & (1 << UInt64($0)) != 0 }.map { compiled.policy.rules[$0].id }
    }

    /// Why nothing qualifies, as one sentence; nil when there is a choice.
    public var refusal: String? {
        guard isRefused else { return nil }
        if entries.isEmpty {
            var asked = "\(job.behavior.rawValue)"
            if let m = job.mode { asked += " \(m.rawValue)" }
            if let r = job.resolution { asked += " \(r.rawValue)" }
            // Say what each provider does sell ("fal sells replace only"), so the fix is plain.
            let unsold = compiled.catalog.unsold(job)
            return "no offer in the price catalog sells \(asked)" + (unsold.isEmpty ? "" : ": " + unsold.joined(separator: "; "))
        }
        return "no offer meets policy \"\(policyName)\": \(entries.count) considered, all rejected"
    }

    func ranked(_ j: Int) -> RankedOffer {
        let e = entries[j]
        let i = Int(e.offer)
        let isWeighted: Bool
        if case .weighted = objective { isWeighted = true } else { isWeighted = false }
        return RankedOffer(offerIndex: i, offer: compiled.catalog.offers[i], estimate: compiled.catalog.estimate(offerAt: i, for: job),
                           expectedLatencySeconds: e.latency, score: isWeighted && passing > 1 ? e.score : (isWeighted ? 0 : nil))
    }

    func rejection(_ e: Entry) -> Rejection {
        let i = Int(e.offer)
        let catalog = compiled.catalog
        let offer = catalog.offers[i]
        let estimate = catalog.estimate(offerAt: i, for: job)
        var reasons: [RejectionReason] = []
        if e.mask & RejectBit.ineligible != 0 { reasons += estimate.reasons.map(RejectionReason.ineligible) }
        var active = [0]
        for r in compiled.policy.rules.indices where fired & (1 << UInt64(r)) != 0 { active.append(r + 1) }
        for bit in RejectBit.staticBits where e.mask & bit != 0 {
            // One sentence per reason: the first block that imposes it, or for confidence the strictest.
            let imposing = active.filter { compiled.blocks[$0].mask[i] & bit != 0 }
            let chosen = bit == RejectBit.confidence
                ? imposing.min { (compiled.blocks[$0].minConfidence ?? .unknown).rank < (compiled.blocks[$1].minConfidence ?? .unknown).rank }
                : imposing.first
            for k in chosen.map({ [$0] }) ?? [] {
                let block = compiled.blocks[k]
                let s = block.source
                switch bit {
                case RejectBit.providerNotAllowed: reasons.append(.providerNotAllowed(offer.provider, by: s))
                case RejectBit.providerDenied: reasons.append(.providerDenied(offer.provider, by: s))
                case RejectBit.mode: reasons.append(.modeNotAllowed(offer.mode, by: s))
                case RejectBit.resolution: reasons.append(.resolutionNotAllowed(offer.resolution, by: s))
                case RejectBit.quality: reasons.append(.qualityBelowMinimum(offer.quality, minimum: block.constraints.minQuality ?? 0, by: s))
                case RejectBit.confidence: reasons.append(.confidenceBelowRequired(offer.source.confidence, required: block.minConfidence ?? .unknown, by: s))
                case RejectBit.unpriced: reasons.append(.unpriced(by: s))
                case RejectBit.quoteOnly: reasons.append(.quoteOnly(provider: catalog.providers[offer.providerIndex].displayName))
                default: break
                }
            }
        }
        let usdOf = { (nanos: Int64) in Money(nanos: nanos, currency: .usd) }
        if maxCostBlock >= 0, let limitMoney = compiled.blocks[maxCostBlock].constraints.maxCost {
            let s = compiled.blocks[maxCostBlock].source
            if e.mask & RejectBit.costAboveLimit != 0 { reasons.append(.costAboveLimit(usdOf(e.usd), limit: limitMoney, by: s)) }
            if e.mask & RejectBit.costUnknownForLimit != 0 { reasons.append(.costUnknownForLimit(limit: limitMoney, by: s)) }
        }
        if e.mask & RejectBit.latencyAboveLimit != 0, maxLatencyBlock >= 0, let l = compiled.blocks[maxLatencyBlock].constraints.maxLatency {
            reasons.append(.latencyAboveLimit(expectedSeconds: e.latency, limit: l, by: compiled.blocks[maxLatencyBlock].source))
        }
        if e.budget >= 0 {
            let b = compiled.policy.budgets[Int(e.budget)]
            if let key = b.key(for: job) {
                if e.mask & RejectBit.overBudget != 0 {
                    let remaining = b.monthly.nanos - spend.committedNanos(key)
                    reasons.append(.overBudget(budget: b.id, key: key, cost: usdOf(e.usd), remaining: usdOf(max(remaining, 0)), monthly: b.monthly))
                } else {
                    reasons.append(.costUnknownForBudget(budget: b.id, key: key))
                }
            }
        }
        return Rejection(offerIndex: i, offer: offer, estimate: estimate, reasons: reasons)
    }
}

extension Decision: CustomStringConvertible {
    /// A multi-line explanation for people: the choice, the alternates, the rules and every rejection.
    public var description: String {
        var lines: [String] = []
        func line(_ r: RankedOffer) -> String {
            let cost = r.estimate.usd.map(\.description) ?? "cost unknown"
            return "\(r.offer.provider) \(r.offer.behavior.rawValue) \(r.offer.mode.rawValue) \(r.offer.resolution.rawValue): \(cost) (\(r.offer.source.confidence.rawValue)), about \(Int64(r.expectedLatencySeconds.rounded())) s"
        }
        if let c = choice { lines.append("choice: " + line(c)) } else { lines.append("refused: " + (refusal ?? "")) }
        for (n, a) in alternates.enumerated() { lines.append("alternate \(n + 1): " + line(a)) }
        lines.append("objective: \(objective)")
        for r in rules { lines.append("rule " + r.description) }
        for r in rejected { lines.append("rejected " + r.description) }
        return lines.joined(separator: "\n")
    }
}
