import Foundation

/// How much more a replay may cost before `wanroute whatif --fail-above` fails.
public enum CostThreshold: Sendable, Equatable, CustomStringConvertible {
    /// A share of the past total, in millionths of a percent point: `+5%` is 5_000_000.
    case percent(micros: Int64)
    /// An amount in USD.
    case amount(Money)

    /// Parses `+5%`, `5%`, `12.5%`, `100`, `+100.00` or `USD 100`; nil when it is none of these.
    public init?(_ text: String) {
        var t = text.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("+") { t.removeFirst() }
        if t.hasSuffix("%") {
            guard case .success(let v) = FixedDecimal.parse(String(t.dropLast()), scale: 6), v >= 0 else { return nil }
            self = .percent(micros: v)
            return
        }
        if t.hasPrefix("USD ") { t = String(t.dropFirst(4)) }
        guard let m = Money(decimal: t, currency: .usd), m.nanos >= 0 else { return nil }
        self = .amount(m)
    }

    /// `+5%` or `USD 100.00`.
    public var description: String {
        switch self {
        case .percent(let p): return "+" + FixedDecimal.format(p, scale: 6) + "%"
        case .amount(let m): return m.description
        }
    }

    /// The largest increase allowed over `past`, in nano-dollars.
    func allowance(past: Int64) -> Int64 {
        switch self {
        case .amount(let m): return m.nanos
        case .percent(let p): return MonthlyReportBuilder.mulDiv(past, p, 100_000_000)
        }
    }
}

/// Past and replayed totals in USD for one slice (all, a provider, a tag value).
public struct WhatIfTotals: Sendable, Equatable {
    /// The month's estimates, in USD.
    public internal(set) var past = Money.zero(.usd)
    /// The replay's estimates, in USD.
    public internal(set) var new = Money.zero(.usd)
    /// Jobs counted on the past side.
    public internal(set) var pastJobs = 0
    /// Jobs counted on the new side.
    public internal(set) var newJobs = 0
    /// Past jobs with no estimate (unknown price): counted, never added as zero.
    public internal(set) var pastUnpriced = 0
    /// Replayed jobs whose new offer has no known price.
    public internal(set) var newUnpriced = 0
    /// Whether ``past`` includes a figure converted from another currency.
    public internal(set) var pastConverted = false
    /// Past jobs whose USD figure the ledger did not record (an older ledger), converted at the
    /// price tables' current rates instead.
    public internal(set) var pastConvertedToday = 0
    /// Whether ``new`` includes a figure converted from another currency.
    public internal(set) var newConverted = false
    /// `new - past`.
    public var difference: Money { Money(nanos: WhatIfTotals.saturatingDifference(new.nanos, past.nanos), currency: .usd) }

    /// `a - b`, held at the ends of Int64 rather than trapping (a damaged ledger can hold any amount).
    static func saturatingDifference(_ a: Int64, _ b: Int64) -> Int64 {
        let (d, overflow) = a.subtractingReportingOverflow(b)
        return overflow ? (b < 0 ? .max : .min) : d
    }
}

/// One job whose route the replay changed (or refused).
public struct RouteChange: Sendable, Equatable {
    /// The job's id.
    public let id: String
    /// The offer it went to (nil when it was refused).
    public let past: OfferRef?
    /// The month's estimate.
    public let pastCost: Money?
    /// The offer the replay picks (nil when refused).
    public let new: OfferRef?
    /// The replay's estimate (nil when refused or unpriced).
    public let newCost: Money?
    /// Why the replay refused it, when it did.
    public let refusal: String?
}

/// What a month would have cost under another policy or price table.
public struct WhatIfReport: Sendable, Equatable {
    /// The month replayed.
    public let period: ReportPeriod
    /// The month's policies (by name) and the replay's.
    public let pastPolicies: [String]
    /// The replay's policy name.
    public let newPolicy: String
    /// Every job.
    public let total: WhatIfTotals
    /// Per provider (past on the month's, new on the replay's), by provider.
    public let byProvider: [(provider: String, totals: WhatIfTotals)]
    /// Per tag value (`customer=film`), by key.
    public let byTag: [(tag: String, totals: WhatIfTotals)]
    /// Jobs whose offer changed, by id.
    public let changed: [RouteChange]
    /// Jobs the replay refuses.
    public let refused: [RouteChange]
    /// Jobs whose replayed offer cannot be priced.
    public let unpriceable: [RouteChange]
    /// Jobs replayed.
    public let jobs: Int
    /// The threshold asked for, if any.
    public let threshold: CostThreshold?

    /// Why the gate fails, or nil when it passes (or none was asked for).
    public var gateFailure: String? {
        guard let threshold else { return nil }
        let allowance = threshold.allowance(past: total.past.nanos)
        let increase = total.difference.nanos
        if increase > allowance {
            return "the replay costs \(ReportText.signed(total.difference)) against the month's \(total.past), above the allowed \(threshold)"
        }
        if total.newUnpriced > total.pastUnpriced {
            return "\(total.newUnpriced - total.pastUnpriced) more job(s) cannot be priced under the replay, so the increase cannot be bounded"
        }
        return nil
    }

    /// Equal when every figure and list is equal (the threshold aside).
    public static func == (a: WhatIfReport, b: WhatIfReport) -> Bool {
        a.period == b.period && a.total == b.total && a.changed == b.changed && a.refused == b.refused
            && a.unpriceable == b.unpriceable && a.jobs == b.jobs && a.byProvider.map(\.provider) == b.byProvider.map(\.provider)
            && a.byProvider.map(\.totals) == b.byProvider.map(\.totals) && a.byTag.map(\.tag) == b.byTag.map(\.tag)
            && a.byTag.map(\.totals) == b.byTag.map(\.totals)
    }
}

/// One job as the what-if replay needs it: the facts it is routed by again, and what the month's
/// router decided for it.
public struct WhatIfJob: Sendable, Equatable {
    /// The job's id (the ledger's idempotency key).
    public var id: String
    /// The name of the policy that routed it in the month.
    public var policy: String
    /// What was asked for: behaviour, reference duration, the resolution and mode asked (nil for
    /// any) and tags. The replay routes exactly this.
    public var request: Job
    /// When the month's router decided it: places it in the month, and orders the replay.
    public var decidedAt: Date
    /// The offer the month's router chose first; nil when the month refused the job (at the
    /// decision or when its budget reservation failed: either way nothing was spent).
    public var pastOffer: OfferRef?
    /// The month's estimate for that offer, in the offer's currency; nil when unpriced or refused.
    public var pastEstimate: Money?
    /// The same estimate in USD as recorded when decided; nil when the ledger did not record one
    /// (an older ledger), so the replay converts ``pastEstimate`` at the tables' current rates.
    public var pastEstimateUSD: Money?

    /// Creates a job's replay facts.
    public init(id: String, policy: String, request: Job, decidedAt: Date, pastOffer: OfferRef?, pastEstimate: Money?, pastEstimateUSD: Money?) {
        self.id = id
        self.policy = policy
        self.request = request
        self.decidedAt = decidedAt
        self.pastOffer = pastOffer
        self.pastEstimate = pastEstimate
        self.pastEstimateUSD = pastEstimateUSD
    }

    /// The replay facts of a job folded from the ledger.
    public init(_ job: ReportJob) {
        let refused = job.status == .refused
        self.init(id: job.id, policy: job.policy, request: job.request, decidedAt: job.decidedAt, pastOffer: refused ? nil : job.decidedOffer,
                  pastEstimate: refused ? nil : job.estimatedCost, pastEstimateUSD: refused ? nil : job.estimatedUSD)
    }
}

/// Replays a month's jobs through a router: each job's recorded facts (behaviour, reference
/// duration, the resolution and mode it asked for, tags) are decided again under another policy
/// and/or price table, and the new estimates are set against the month's.
///
/// The month's side is each job's estimate in USD as recorded when it was decided (converted at
/// the tables' current rates only where an older ledger lacks that figure, and counted in
/// ``WhatIfTotals/pastConvertedToday``); the replay's side is priced by the router's catalog.
///
/// Budgets see the replay's own running spend: every job the replay routes counts its estimate
/// in USD once under each key the ledger counts spend under (total, its provider, each tag), as
/// its reservation would have. Jobs are replayed in the order they were decided (by
/// ``WhatIfJob/decidedAt``; equal instants in the order added), whatever order they are added in:
/// a job a budget covers waits until ``finish()``, which replays the waiting jobs in that order.
/// A job no budget of the replay's policy covers cannot be affected by spend (the router reads
/// spend only for the budgets covering the job) and is replayed at once; its spend is not counted,
/// since no budget reads any key it counts under. Under the month's own policy and prices, with
/// budgets that did not bind, every choice and estimate is the month's own.
public struct WhatIfReplay {
    let period: ReportPeriod
    let router: Router
    let pastRates: ExchangeRates
    let threshold: CostThreshold?
    let budgets: [Budget]
    let catalog: PriceCatalog
    /// Whether a budget covers every job (one over all spend, or over a provider: the router
    /// checks the latter for every job, against that provider's offers).
    let budgetsCoverEveryJob: Bool
    /// The tag keys the policy's rules read, sorted; decisions depend on no other tag.
    let ruleTags: [String]
    var memo: [Shape: Outcome] = [:]
    /// Jobs a budget covers, waiting to be replayed in decision order, with the order added.
    var waiting: [(job: WhatIfJob, added: Int)] = []
    var spend = SpendSnapshot()
    var total = WhatIfTotals()
    var providers: [ProviderID: WhatIfTotals] = [:]
    var tags: [TagValue: WhatIfTotals] = [:]
    var changed: [RouteChange] = []
    var refused: [RouteChange] = []
    var unpriceable: [RouteChange] = []
    var policies: Set<String> = []
    var jobs = 0

    /// Distinct decisions remembered at most; past it, new shapes are decided without being kept.
    static let memoLimit = 1 << 16

    /// Everything a decision of a job no budget covers depends on (jobs without media facts).
    struct Shape: Hashable {
        var behavior: Behavior
        var duration: Int64
        var resolution: Resolution?
        var mode: Mode?
        var tag0: String?
        var tag1: String?
        var tag2: String?
    }

    /// The replay's decision for one job, and its estimate.
    struct Outcome {
        var offer: OfferRef?
        var refusal: String?
        var cost: Money?
        var usd: Money?
        var converted = false
    }

    struct TagValue: Hashable {
        var key: String
        var value: String
    }

    /// A replay of `period` through `router`; `pastRates` convert those of the month's estimates
    /// whose USD figure the ledger did not record.
    public init(period: ReportPeriod, router: Router, pastRates: ExchangeRates, threshold: CostThreshold? = nil) {
        self.period = period
        self.router = router
        self.pastRates = pastRates
        self.threshold = threshold
        self.budgets = router.policy.budgets
        self.catalog = router.catalog
        budgetsCoverEveryJob = budgets.contains {
            switch $0.scope {
            case .total, .provider: return true
            case .tag: return false
            }
        }
        var keys = Set<String>()
        func collect(_ c: Condition) {
            switch c {
            case .all(let cs), .any(let cs): cs.forEach(collect)
            case .not(let c): collect(c)
            case .tag(let k, _): keys.insert(k)
            case .always, .behavior, .mode, .resolution, .duration: break
            }
        }
        for rule in router.policy.rules { collect(rule.when) }
        ruleTags = keys.sorted()
    }

    /// Replays one job folded from the ledger (skipped when decided outside the month).
    public mutating func add(_ job: ReportJob) {
        add(WhatIfJob(job))
    }

    /// Replays one job (skipped when decided outside the month).
    public mutating func add(_ job: WhatIfJob) {
        guard period.contains(job.decidedAt) else { return }
        if isCovered(job.request) {
            waiting.append((job, waiting.count))
        } else {
            replay(job, outcome: memoisedOutcome(job.request))
        }
    }

    func isCovered(_ request: Job) -> Bool {
        if budgetsCoverEveryJob { return true }
        if budgets.isEmpty || request.tags.isEmpty { return false }
        return budgets.contains { $0.key(for: request) != nil }
    }

    /// The decision of a job no budget covers, remembered by its shape.
    mutating func memoisedOutcome(_ request: Job) -> Outcome {
        guard request.video == nil, request.image == nil, ruleTags.count <= 3 else { return outcome(request, spend: .none) }
        let n = ruleTags.count
        let shape = Shape(behavior: request.behavior, duration: request.duration.micros, resolution: request.resolution, mode: request.mode,
                          tag0: n > 0 ? request.tags[ruleTags[0]] : nil, tag1: n > 1 ? request.tags[ruleTags[1]] : nil,
                          tag2: n > 2 ? request.tags[ruleTags[2]] : nil)
        if let known = memo[shape] { return known }
        let o = outcome(request, spend: .none)
        if memo.count < Self.memoLimit { memo[shape] = o }
        return o
    }

    func outcome(_ request: Job, spend: SpendSnapshot) -> Outcome {
        // Only the choice is kept: the decision holds the spend snapshot, and adding to the snapshot
        // while it is shared would copy it.
        let d = router.decide(request, spend: spend)
        guard let i = d.choiceOfferIndex else { return Outcome(refusal: d.refusal ?? "no offer qualifies") }
        let o = catalog.offers[i]
        let e = catalog.estimate(offerAt: i, for: request)
        return Outcome(offer: OfferRef(provider: o.provider, mode: o.mode, resolution: o.resolution), cost: e.cost, usd: e.usd, converted: e.usdIsConverted)
    }

    mutating func replay(_ job: WhatIfJob, outcome new: Outcome) {
        jobs += 1
        if !policies.contains(job.policy) { policies.insert(job.policy) }
        var pastUSD = job.pastEstimateUSD
        var convertedToday = false
        if pastUSD == nil, let e = job.pastEstimate {
            pastUSD = pastRates.usd(e)
            convertedToday = e.currency != .usd && pastUSD != nil
        }
        let pastConverted = job.pastEstimate.map { $0.currency != .usd } ?? false
        let wasRefused = job.pastOffer == nil
        func count(_ t: inout WhatIfTotals, past: Bool, new countNew: Bool) {
            if past, !wasRefused {
                t.pastJobs += 1
                if let p = pastUSD {
                    t.past = t.past + p
                    if pastConverted { t.pastConverted = true }
                    if convertedToday { t.pastConvertedToday += 1 }
                } else {
                    t.pastUnpriced += 1
                }
            }
            if countNew, new.offer != nil {
                t.newJobs += 1
                if let n = new.usd { t.new = t.new + n; if new.converted { t.newConverted = true } } else { t.newUnpriced += 1 }
            }
        }
        count(&total, past: true, new: true)
        if let p = job.pastOffer?.provider { count(&providers[p, default: WhatIfTotals()], past: true, new: false) }
        if let n = new.offer?.provider { count(&providers[n, default: WhatIfTotals()], past: false, new: true) }
        for (k, v) in job.request.tags { count(&tags[TagValue(key: k, value: v), default: WhatIfTotals()], past: true, new: true) }

        if new.offer == nil || new.offer != job.pastOffer || new.cost == nil {
            let change = RouteChange(id: job.id, past: job.pastOffer, pastCost: job.pastEstimate, new: new.offer, newCost: new.cost, refusal: new.refusal)
            if new.offer == nil { refused.append(change) } else if new.offer != job.pastOffer { changed.append(change) }
            if new.offer != nil, new.cost == nil { unpriceable.append(change) }
        }
    }

    /// Replays the jobs budgets cover, in the order they were decided, each against the spend of
    /// those before it.
    mutating func replayWaiting() {
        let ordered = waiting.sorted { ($0.job.decidedAt, $0.added) < ($1.job.decidedAt, $1.added) }
        waiting = []
        for (job, _) in ordered {
            let new = outcome(job.request, spend: spend)
            if let offer = new.offer, let usd = new.usd {
                // Once under each key, as the ledger's reservation counts it (BudgetKey.keys).
                spend.addSpent(usd, to: .total)
                spend.addSpent(usd, to: .provider(offer.provider))
                for (k, v) in job.request.tags { spend.addSpent(usd, to: .tag(k, v)) }
            }
            replay(job, outcome: new)
        }
    }

    /// The replay's report (the jobs budgets cover are replayed now, in decision order).
    public func finish() -> WhatIfReport {
        var done = self
        done.replayWaiting()
        return done.report
    }

    var report: WhatIfReport {
        WhatIfReport(period: period, pastPolicies: policies.sorted(), newPolicy: router.policy.name, total: total,
                     byProvider: providers.map { ($0.key.rawValue, $0.value) }.sorted { $0.0 < $1.0 },
                     byTag: tags.map { ("\($0.key.key)=\($0.key.value)", $0.value) }.sorted { $0.0 < $1.0 },
                     changed: changed.sorted { $0.id < $1.id }, refused: refused.sorted { $0.id < $1.id },
                     unpriceable: unpriceable.sorted { $0.id < $1.id }, jobs: jobs, threshold: threshold)
    }
}
