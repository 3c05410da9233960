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
    /// Whether ``new`` includes a figure converted from another currency.
    public internal(set) var newConverted = false
    /// `new - past`.
    public var difference: Money { Money(nanos: new.nanos - past.nanos, currency: .usd) }
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
        let increase = total.new.nanos - total.past.nanos
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

/// Replays a month's jobs through a router: each job's recorded facts (behaviour, reference
/// duration, the resolution and mode it asked for, tags) are decided again under another policy
/// and/or price table, and the new estimates are set against the month's.
///
/// Feed jobs in the order they were decided: budgets are checked against the replay's own
/// estimates so far this month (what it would have committed), so a budget binds in the replay
/// where it would have bound. Under the month's own policy and prices, and with budgets that did
/// not bind, every choice and estimate is the month's own.
public struct WhatIfReplay {
    let period: ReportPeriod
    let router: Router
    let pastRates: ExchangeRates
    let threshold: CostThreshold?
    let budgets: [Budget]
    let catalog: PriceCatalog
    var spend = SpendSnapshot()
    var total = WhatIfTotals()
    var providers: [String: WhatIfTotals] = [:]
    var tags: [String: WhatIfTotals] = [:]
    var changed: [RouteChange] = []
    var refused: [RouteChange] = []
    var unpriceable: [RouteChange] = []
    var policies: Set<String> = []
    var jobs = 0

    /// A replay of `period` through `router`; `pastRates` convert the month's own estimates to USD.
    public init(period: ReportPeriod, router: Router, pastRates: ExchangeRates, threshold: CostThreshold? = nil) {
        self.period = period
        self.router = router
        self.pastRates = pastRates
        self.threshold = threshold
        self.budgets = router.policy.budgets
        self.catalog = router.catalog
    }

    /// Replays one job (skipped when decided outside the month).
    public mutating func add(_ job: ReportJob) {
        guard period.contains(job.decidedAt) else { return }
        jobs += 1
        policies.insert(job.policy)
        // Only the choice is kept: the decision holds the spend snapshot, and adding to the snapshot
        // while it is shared would copy it.
        let (choiceIndex, refusal) = { () -> (Int?, String?) in
            let d = router.decide(job.request, spend: spend)
            return (d.choiceOfferIndex, d.choiceOfferIndex == nil ? d.refusal : nil)
        }()
        let pastUSD = job.status == .refused ? nil : job.estimatedCost.flatMap { pastRates.usd($0) }
        let pastConverted = job.estimatedCost.map { $0.currency != .usd } ?? false
        var newOffer: OfferRef?
        var newCost: Money?
        var newUSD: Money?
        var newConverted = false
        if let i = choiceIndex {
            let o = catalog.offers[i]
            newOffer = OfferRef(provider: o.provider, mode: o.mode, resolution: o.resolution)
            let e = catalog.estimate(offerAt: i, for: job.request)
            newCost = e.cost
            newUSD = e.usd
            newConverted = e.usdIsConverted
            if let usd = newUSD {
                for b in budgets {
                    guard let key = b.key(for: job.request) else { continue }
                    if case .provider(let p) = b.scope, p != o.provider { continue }
                    spend.addSpent(usd, to: key)
                }
            }
        }
        let pastOffer = job.status == .refused ? nil : job.decidedOffer
        let pastProvider = pastOffer?.provider.rawValue
        let newProvider = newOffer?.provider.rawValue
        func count(_ t: inout WhatIfTotals, past: Bool, new: Bool) {
            if past, job.status != .refused {
                t.pastJobs += 1
                if let p = pastUSD { t.past = t.past + p; if pastConverted { t.pastConverted = true } } else { t.pastUnpriced += 1 }
            }
            if new, newOffer != nil {
                t.newJobs += 1
                if let n = newUSD { t.new = t.new + n; if newConverted { t.newConverted = true } } else { t.newUnpriced += 1 }
            }
        }
        count(&total, past: true, new: true)
        if let p = pastProvider { count(&providers[p, default: WhatIfTotals()], past: true, new: false) }
        if let n = newProvider { count(&providers[n, default: WhatIfTotals()], past: false, new: true) }
        for (k, v) in job.request.tags { count(&tags["\(k)=\(v)", default: WhatIfTotals()], past: true, new: true) }

        let change = RouteChange(id: job.id, past: pastOffer, pastCost: job.status == .refused ? nil : job.estimatedCost,
                                 new: newOffer, newCost: newCost, refusal: refusal)
        if newOffer == nil { refused.append(change) }
        else if newOffer != pastOffer { changed.append(change) }
        if newOffer != nil, newCost == nil { unpriceable.append(change) }
    }

    /// The replay's report.
    public func finish() -> WhatIfReport {
        WhatIfReport(period: period, pastPolicies: policies.sorted(), newPolicy: router.policy.name, total: total,
                     byProvider: providers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                     byTag: tags.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                     changed: changed.sorted { $0.id < $1.id }, refused: refused.sorted { $0.id < $1.id },
                     unpriceable: unpriceable.sorted { $0.id < $1.id }, jobs: jobs, threshold: threshold)
    }
}
