// Policy compilation: everything about a policy and a catalog that does not depend on the job,
// precomputed once into flat arrays, and the per-job decision over them. ``Router`` is the public face.

/// Bits of ``Entry/mask``: why an offer was rejected. Static bits come from a constraint block.
enum RejectBit {
    static let providerNotAllowed: UInt32 = 1 << 0
    static let providerDenied: UInt32 = 1 << 1
    static let mode: UInt32 = 1 << 2
    static let resolution: UInt32 = 1 << 3
    static let quality: UInt32 = 1 << 4
    static let confidence: UInt32 = 1 << 5
    static let quoteOnly: UInt32 = 1 << 6
    static let unpriced: UInt32 = 1 << 7
    static let staticBits: [UInt32] = [providerNotAllowed, providerDenied, mode, resolution, quality, confidence, quoteOnly, unpriced]
    // Dynamic: depend on the job.
    static let ineligible: UInt32 = 1 << 8
    static let costAboveLimit: UInt32 = 1 << 9
    static let costUnknownForLimit: UInt32 = 1 << 10
    static let latencyAboveLimit: UInt32 = 1 << 11
    static let overBudget: UInt32 = 1 << 12
    static let costUnknownForBudget: UInt32 = 1 << 13
}

/// One offer considered for one job: its numbers and why it was rejected (0 when it qualifies).
struct Entry: Sendable {
    var offer: Int32
    var mask: UInt32
    /// USD cost in nano-dollars, or `Int64.max` when unknown.
    var usd: Int64
    var latency: Double
    var score: Double
    /// The first budget (index into the policy's budgets) the offer would overrun, or -1.
    var budget: Int32
}

/// Everything about an offer that the router reads per decision, laid out flat.
struct OfferFacts: Sendable {
    var behavior: Behavior
    var mode: Mode
    var resolution: Resolution
    var provider: Int
    var quality: Int
    var confidenceRank: Int
    var queueSeconds: Double
    var perSecond: Double
    var minDuration: Int64
    var maxDuration: Int64
    /// Position in the catalog's tie-break order (quoteOrder between equally priced offers).
    var tieRank: Int32
}

/// One block of constraints (the policy's own, or one rule's), compiled.
struct CompiledBlock: Sendable {
    var source: ConstraintSource
    var constraints: Constraints
    var minConfidence: Confidence?
    /// Static reject bits per offer.
    var mask: [UInt32]
    var maxCostUSD: Int64?
    var maxLatency: Double?
}

/// A policy compiled against a catalog: per-offer facts, each constraint block's static rejections
/// and preference ranks, ready for ``decide(_:spend:)``. Immutable; shared by copies of a ``Router``.
final class CompiledPolicy: Sendable {
    let policy: Policy
    let catalog: PriceCatalog
    let offers: [OfferFacts]
    /// Offer indices per behaviour (index by `Behavior.allCases` position).
    let byBehavior: [[Int32]]
    /// Block 0 is the policy's own constraints, block i+1 rule i's.
    let blocks: [CompiledBlock]
    /// Preference rank per offer: index 0 the policy's, i+1 rule i's (nil when it has none).
    let preferenceRanks: [[Int32]?]
    let budgetLimits: [Int64]
    let allowQuoteOnly: Bool

    init(policy: Policy, catalog: PriceCatalog) throws(PolicyError) {
        self.policy = policy
        self.catalog = catalog
        allowQuoteOnly = policy.constraints.allowQuoteOnly ?? false
        // The catalog's own tie-break order, read straight from quoteOrder on equally priced estimates.
        let blank = catalog.offers.indices.map {
            Estimate(offerIndex: $0, billableUnits: nil, billableSeconds: nil, cost: nil, usd: nil, usdIsConverted: false, reasons: [],
                     uncheckedBits: 0, limitsPublished: true)
        }
        var tieRank = [Int32](repeating: 0, count: catalog.offers.count)
        for (rank, e) in blank.sorted(by: { catalog.quoteOrder($0, $1) }).enumerated() { tieRank[e.offerIndex] = Int32(rank) }
        var facts: [OfferFacts] = []
        for (i, o) in catalog.offers.enumerated() {
            let p = catalog.providers[o.providerIndex]
            facts.append(OfferFacts(
                behavior: o.behavior, mode: o.mode, resolution: o.resolution, provider: o.providerIndex, quality: o.quality,
                confidenceRank: o.source.confidence.rank, queueSeconds: o.latency.queueSeconds, perSecond: o.latency.secondsPerOutputSecond,
                minDuration: p.limits.video.minimumDuration?.micros ?? Int64.min, maxDuration: p.limits.video.maximumDuration?.micros ?? Int64.max,
                tieRank: tieRank[i]))
        }
        offers = facts
        byBehavior = Behavior.allCases.map { b in catalog.offers.indices.filter { catalog.offers[$0].behavior == b }.map { Int32($0) } }

        func usd(_ m: Money) throws(PolicyError) -> Int64 {
            guard let u = catalog.exchangeRates.usd(m) else { throw .noExchangeRate(m.currency) }
            return u.nanos
        }
        var blocks: [CompiledBlock] = []
        let sources = [ConstraintSource.policy] + policy.rules.map { ConstraintSource.rule($0.id) }
        let all = [policy.constraints] + policy.rules.map(\.constraints)
        for (k, c) in all.enumerated() {
            let minConfidence = k == 0 ? (c.minConfidence ?? Constraints.defaultMinConfidence) : c.minConfidence
            var mask = [UInt32](repeating: 0, count: catalog.offers.count)
            for (i, o) in catalog.offers.enumerated() {
                var m: UInt32 = 0
                if let allow = c.providers.allow, !allow.contains(o.provider) { m |= RejectBit.providerNotAllowed }
                if c.providers.deny.contains(o.provider) { m |= RejectBit.providerDenied }
                if !c.modes.admits(o.mode) { m |= RejectBit.mode }
                if !c.resolutions.admits(o.resolution) { m |= RejectBit.resolution }
                if let q = c.minQuality, o.quality < q { m |= RejectBit.quality }
                if let minConfidence {
                    if o.source.confidence > minConfidence { m |= RejectBit.confidence }
                    else if minConfidence != .unknown, !catalog.rows[i].isPriced { m |= RejectBit.unpriced }
                }
                if k == 0, !allowQuoteOnly, !catalog.providers[o.providerIndex].hasAdapter { m |= RejectBit.quoteOnly }
                mask[i] = m
            }
            blocks.append(CompiledBlock(source: sources[k], constraints: c, minConfidence: minConfidence, mask: mask,
                                        maxCostUSD: try c.maxCost.map { m throws(PolicyError) in try usd(m) },
                                        maxLatency: c.maxLatency.map { Double($0.micros) / 1_000_000 }))
        }
        self.blocks = blocks
        let prefs = [policy.preference] + policy.rules.map(\.preference)
        preferenceRanks = prefs.map { pref in
            pref.map { p in
                catalog.offers.map { o in Int32(p.providers.firstIndex(of: o.provider) ?? Int(Int32.max)) }
            }
        }
        budgetLimits = policy.budgets.map(\.monthly.nanos)
    }

    // MARK: deciding

    func decide(_ job: Job, spend: SpendSnapshot) -> Decision {
        // 1. Rules.
        var fired: UInt64 = 0
        var evaluated = policy.rules.count
        var objective = policy.objective
        var preferenceIndex = policy.preference == nil ? -1 : 0
        var maxCost = blocks[0].maxCostUSD, maxCostBlock = maxCost == nil ? -1 : 0
        var maxLatency = blocks[0].maxLatency, maxLatencyBlock = maxLatency == nil ? -1 : 0
        for (i, rule) in policy.rules.enumerated() where rule.when.holds(for: job) {
            fired |= 1 << UInt64(i)
            if let o = rule.objective { objective = o }
            if rule.preference != nil { preferenceIndex = i + 1 }
            let b = blocks[i + 1]
            if let c = b.maxCostUSD, maxCost == nil || c < maxCost! { maxCost = c; maxCostBlock = i + 1 }
            if let l = b.maxLatency, maxLatency == nil || l < maxLatency! { maxLatency = l; maxLatencyBlock = i + 1 }
            if rule.stop { evaluated = i + 1; break }
        }
        let duration = job.duration.micros
        // Clamped for the latency estimate only: an invalid duration is rejected below anyway.
        let seconds = Double(min(max(duration, 0), Seconds.longestJob.micros)) / 1_000_000
        let checkMedia = job.video != nil || job.image != nil

        // 2. Every offer that sells what the job asks for.
        let candidates = byBehavior[job.behavior == .animate ? 0 : 1]
        var entries: [Entry] = []
        entries.reserveCapacity(candidates.count)
        let budgets = policy.budgets
        let rules = policy.rules
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: max(budgets.count, 1)) { remaining in
            for (k, b) in budgets.enumerated() {
                // Int64.min marks a budget that does not cover this job.
                remaining[k] = b.key(for: job).map { budgetLimits[k] - spend.committedNanos($0) } ?? Int64.min
            }
            for index in candidates {
                let i = Int(index)
                let f = offers[i]
                if let r = job.resolution, r != f.resolution { continue }
                if let m = job.mode, m != f.mode { continue }
                var mask = blocks[0].mask[i]
                if fired != 0 {
                    var bits = fired
                    while bits != 0 {
                        let r = bits.trailingZeroBitCount
                        mask |= blocks[r + 1].mask[i]
                        bits &= bits - 1
                    }
                }
                if duration < f.minDuration || duration > f.maxDuration || !job.duration.isValidJobDuration { mask |= RejectBit.ineligible }
                else if checkMedia, !PriceCatalog.reasons(job, catalog.providers[f.provider]).isEmpty { mask |= RejectBit.ineligible }
                let usd = catalog.usdNanos(offerAt: i, duration: job.duration) ?? Int64.max
                let latency = f.queueSeconds + f.perSecond * seconds
                // An offer refused for its price confidence is not also refused for its unknown cost.
                let priceRefused = mask & (RejectBit.confidence | RejectBit.unpriced) != 0
                if let maxCost {
                    if usd == Int64.max { if !priceRefused { mask |= RejectBit.costUnknownForLimit } } else if usd > maxCost { mask |= RejectBit.costAboveLimit }
                }
                if let maxLatency, latency > maxLatency { mask |= RejectBit.latencyAboveLimit }
                var over: Int32 = -1
                for k in 0..<budgets.count where remaining[k] != Int64.min {
                    if case .provider(let p) = budgets[k].scope, p != catalog.offers[i].provider { continue }
                    if usd == Int64.max {
                        if !priceRefused { mask |= RejectBit.costUnknownForBudget; over = Int32(k) }
                        break
                    }
                    if usd > remaining[k] { mask |= RejectBit.overBudget; over = Int32(k); break }
                }
                entries.append(Entry(offer: index, mask: mask, usd: usd, latency: latency, score: 0, budget: over))
            }
        }

        // 3. Rank the offers that qualify, ahead of the rejected ones (kept in catalog order).
        var passing = 0
        for j in entries.indices where entries[j].mask == 0 {
            entries.swapAt(j, passing)
            passing += 1
        }
        if passing > 1 {
            if case .weighted(let w) = objective { score(&entries[0..<passing], w) }
            let ranks = preferenceIndex >= 0 ? preferenceRanks[preferenceIndex] : nil
            let rank = policy.preference.map(\.rank)
            let prefRank: Preference.Rank? = preferenceIndex <= 0 ? rank : rules[preferenceIndex - 1].preference?.rank
            let offers = self.offers
            entries[0..<passing].sort { a, b in
                Self.before(a, b, objective: objective, ranks: ranks, ahead: prefRank == .ahead, offers: offers)
            }
        }
        if passing < entries.count - 1 {
            entries[passing...].sort { $0.offer < $1.offer }
        }
        return Decision(compiled: self, job: job, spend: spend, entries: entries, passing: passing, fired: fired,
                        evaluated: evaluated, objective: objective, maxCostBlock: maxCostBlock, maxLatencyBlock: maxLatencyBlock)
    }

    /// Scores the qualifying offers for a weighted objective: each criterion normalised to 0...1
    /// across them (0 best; an unknown cost scores worst), weighted and summed; lower ranks first.
    @inline(__always)
    func score(_ entries: inout ArraySlice<Entry>, _ w: Weights) {
        var minC = Int64.max, maxC = Int64.min, minQ = Int.max, maxQ = Int.min, minL = Double.infinity, maxL = -Double.infinity
        for e in entries {
            if e.usd != Int64.max { minC = min(minC, e.usd); maxC = max(maxC, e.usd) }
            let q = offers[Int(e.offer)].quality
            minQ = min(minQ, q); maxQ = max(maxQ, q)
            minL = min(minL, e.latency); maxL = max(maxL, e.latency)
        }
        let wc = Double(w.costMicros) / 1_000_000, wq = Double(w.qualityMicros) / 1_000_000, wl = Double(w.latencyMicros) / 1_000_000
        for j in entries.indices {
            let e = entries[j]
            let c: Double = e.usd == Int64.max ? 1 : (maxC > minC ? Double(e.usd - minC) / Double(maxC - minC) : 0)
            let q = offers[Int(e.offer)].quality
            let qn: Double = maxQ > minQ ? Double(maxQ - q) / Double(maxQ - minQ) : 0
            let ln: Double = maxL > minL ? (e.latency - minL) / (maxL - minL) : 0
            entries[j].score = wc * c + wq * qn + wl * ln
        }
    }

    /// The ranking: preference when it ranks ahead, the objective, preference as a tie-break, then
    /// the catalog's quote order (cheaper USD, surer confidence, provider, behaviour, mode, resolution).
    @inline(__always)
    static func before(_ a: Entry, _ b: Entry, objective: Objective, ranks: [Int32]?, ahead: Bool, offers: [OfferFacts]) -> Bool {
        if ahead, let ranks {
            let ra = ranks[Int(a.offer)], rb = ranks[Int(b.offer)]
            if ra != rb { return ra < rb }
        }
        switch objective {
        case .cheapest:
            break
        case .bestQuality:
            let qa = offers[Int(a.offer)].quality, qb = offers[Int(b.offer)].quality
            if qa != qb { return qa > qb }
        case .fastest:
            if a.latency != b.latency { return a.latency < b.latency }
        case .weighted:
            if a.score != b.score { return a.score < b.score }
        }
        if case .weighted = objective {} else if a.usd != b.usd { return a.usd < b.usd }
        if !ahead, let ranks {
            let ra = ranks[Int(a.offer)], rb = ranks[Int(b.offer)]
            if ra != rb { return ra < rb }
        }
        if a.usd != b.usd { return a.usd < b.usd }
        return offers[Int(a.offer)].tieRank < offers[Int(b.offer)].tieRank
    }
}
