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

/// The report's three lists of jobs.
public enum WhatIfList: Int, Sendable, CaseIterable {
    /// Jobs whose offer changed.
    case changed
    /// Jobs the replay refuses.
    case refused
    /// Jobs whose replayed offer cannot be priced.
    case unpriceable
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
    /// Jobs replayed.
    public let jobs: Int
    /// The threshold asked for, if any.
    public let threshold: CostThreshold?
    /// Jobs listed per list at most, the first by id (the counts cover every job); nil lists all.
    public let listLimit: Int?
    let lists: WhatIfChanges

    /// Jobs whose offer changed, by id: every one, or the first ``listLimit``.
    public var changed: [RouteChange] { listed(.changed) }
    /// Jobs the replay refuses, by id: every one, or the first ``listLimit``.
    public var refused: [RouteChange] { listed(.refused) }
    /// Jobs whose replayed offer cannot be priced, by id: every one, or the first ``listLimit``.
    public var unpriceable: [RouteChange] { listed(.unpriceable) }

    /// How many jobs `list` holds, listed or not.
    public func count(_ list: WhatIfList) -> Int { lists.count(list) }

    /// The listed jobs of `list`, by id.
    public func listed(_ list: WhatIfList) -> [RouteChange] {
        var out: [RouteChange] = []
        forEachListed(list) { out.append($0) }
        return out
    }

    /// Visits the listed jobs of `list` by id, each made when visited: a full listing of a
    /// million jobs is written in bounded memory.
    public func forEachListed(_ list: WhatIfList, _ body: (RouteChange) -> Void) {
        lists.forEach(list, limit: listLimit, body)
    }

    /// A report of figures and lists already made (lists by id; nothing is cut).
    init(period: ReportPeriod, pastPolicies: [String], newPolicy: String, total: WhatIfTotals, byProvider: [(provider: String, totals: WhatIfTotals)],
         byTag: [(tag: String, totals: WhatIfTotals)], changed: [RouteChange], refused: [RouteChange], unpriceable: [RouteChange], jobs: Int,
         threshold: CostThreshold?) {
        self.init(period: period, pastPolicies: pastPolicies, newPolicy: newPolicy, total: total, byProvider: byProvider, byTag: byTag, jobs: jobs,
                  threshold: threshold, listLimit: nil, lists: WhatIfChanges(given: [changed, refused, unpriceable]))
    }

    init(period: ReportPeriod, pastPolicies: [String], newPolicy: String, total: WhatIfTotals, byProvider: [(provider: String, totals: WhatIfTotals)],
         byTag: [(tag: String, totals: WhatIfTotals)], jobs: Int, threshold: CostThreshold?, listLimit: Int?, lists: WhatIfChanges) {
        self.period = period
        self.pastPolicies = pastPolicies
        self.newPolicy = newPolicy
        self.total = total
        self.byProvider = byProvider
        self.byTag = byTag
        self.jobs = jobs
        self.threshold = threshold
        self.listLimit = listLimit
        self.lists = lists
    }

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

    /// Equal when every figure, count and listed job is equal (the threshold aside).
    public static func == (a: WhatIfReport, b: WhatIfReport) -> Bool {
        a.period == b.period && a.total == b.total && a.jobs == b.jobs && a.byProvider.map(\.provider) == b.byProvider.map(\.provider)
            && a.byProvider.map(\.totals) == b.byProvider.map(\.totals) && a.byTag.map(\.tag) == b.byTag.map(\.tag)
            && a.byTag.map(\.totals) == b.byTag.map(\.totals)
            && WhatIfList.allCases.allSatisfy { a.count($0) == b.count($0) && a.listed($0) == b.listed($0) }
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
///
/// The replay keeps integers: offers, tag sets, refusals and decisions are numbered as first
/// seen, decisions of jobs no budget covers are remembered by shape, totals are kept per tag set
/// and spread over tag values at the end, and a changed job is kept as a small entry (where its
/// facts are, which decision) until the report lists it. A ledger's job summary rows are replayed
/// without being made into values (``add(row:of:)``).
public struct WhatIfReplay {
    let period: ReportPeriod
    let router: Router
    let pastRates: ExchangeRates
    let threshold: CostThreshold?
    let budgets: [Budget]
    let catalog: PriceCatalog
    /// Jobs listed per list in the report, the first by id; nil (the default) lists every job.
    public var listLimit: Int?
    /// Whether a budget covers every job (one over all spend, or over a provider: the router
    /// checks the latter for every job, against that provider's offers).
    let budgetsCoverEveryJob: Bool
    /// The tag keys the policy's rules read, sorted; decisions depend on no other tag.
    let ruleTags: [String]
    /// The tag keys the rules or a budget read, sorted: a decision against spend depends on no other tag.
    let spendTags: [String]

    /// Decisions of jobs no budget covers, by shape: an index into ``outcomes``.
    var memo: [Shape: Int32] = [:]
    /// The rule tags' values (``ruleTags`` order), numbered.
    var ruleValues = Numbering<[String?]>()
    /// Decisions of jobs a budget covers, by shape (``Shape/rules`` numbering ``spendValues``),
    /// each valid while ``spendGeneration`` is the one it was made in: a decision depends on spend
    /// only through the amounts committed under its budgets' keys, and every change to any of
    /// them starts a new generation.
    var spendMemo: [Shape: SpendMemo] = [:]
    var spendGeneration = 0
    /// The values of ``spendTags``, numbered.
    var spendValues = Numbering<[String?]>()
    /// Whether decisions against spend are remembered (off only to check that remembering changes nothing).
    var remembersSpendDecisions = true
    /// Tag sets as sorted key, value, key, value..., numbered; totals per tag set.
    var tagSets: [[String]] = []
    var tagSetIndex: [[String]: Int32] = [:]
    var tagTallies: [Tally] = []
    /// Providers, numbered as first seen; totals per provider.
    var providers: [ProviderID] = []
    var providerIndex: [ProviderID: Int32] = [:]
    var providerTallies: [Tally] = []
    /// Offers, numbered as first seen, with their provider's number; the number of each catalog offer.
    var offers: [OfferRef] = []
    var offerIndex: [OfferRef: Int32] = [:]
    var offerProvider: [Int32] = []
    var catalogOffers: [Int32]
    var currencies: [Currency] = []
    var refusals = Numbering<String>()
    /// Decisions a listed entry names: the remembered ones, and one per changed job decided against spend.
    var outcomes: [Outcome] = []
    var total = Tally()
    var policies: Set<String> = []
    var jobs = 0
    /// The changed, refused and unpriceable jobs, in the order replayed.
    var entries: [[ChangeEntry]] = [[], [], []]
    /// Jobs added as values whose route changed (entries name them by index).
    var loose: [WhatIfJob] = []
    /// Job summaries whose rows were added, with what is known about their ids.
    var sources: [RowSource] = []
    /// The month of the last of ``sources``.
    var sourceMonth: LedgerMonth?
    /// Jobs a budget covers, waiting to be replayed in decision order.
    var waiting: [Held] = []
    var heldJobs: [WhatIfJob] = []
    var spend = SpendSnapshot()

    /// Distinct decisions remembered at most; past it, new shapes are decided without being kept.
    static let memoLimit = 1 << 16

    /// Everything a decision of a job no budget covers depends on (jobs without media facts).
    struct Shape: Hashable {
        var behavior: Behavior
        var duration: Int64
        var resolution: Resolution?
        var mode: Mode?
        var rules: Int32
    }

    /// A decision against spend, the spend generation it was made in, and its index in ``outcomes`` (-1 until needed).
    struct SpendMemo {
        var generation: Int
        var outcome: Outcome
        var index: Int32
    }

    /// The replay's decision for one job, and its estimate, in numbers.
    struct Outcome {
        /// The offer's number, or -1 when refused.
        var offer: Int32 = -1
        /// The refusal's number, or -1.
        var refusal: Int32 = -1
        var cost: Int64 = 0
        /// The cost's currency number, or -1 when the cost is unknown.
        var currency: Int32 = -1
        var usd: Int64 = 0
        var usdKnown = false
        var converted = false
    }

    /// The month's side of one job.
    struct PastSide {
        /// The offer's number, or -1 when the month refused the job.
        var offer: Int32 = -1
        var usd: Int64 = 0
        var usdKnown = false
        var converted = false
        var convertedToday = false
    }

    /// A job's figures on both sides for one slice, in nano-dollars.
    struct Tally {
        var past: Int64 = 0, new: Int64 = 0
        var pastJobs = 0, newJobs = 0, pastUnpriced = 0, newUnpriced = 0, pastConvertedToday = 0
        var pastConverted = false, newConverted = false

        /// `a + b`, held at the ends of Int64 as ``Money``'s `+` is.
        static func add(_ a: Int64, _ b: Int64) -> Int64 {
            let (s, overflow) = a.addingReportingOverflow(b)
            return overflow ? (a > 0 ? .max : .min) : s
        }

        mutating func count(past p: PastSide) {
            guard p.offer >= 0 else { return }
            pastJobs += 1
            if p.usdKnown {
                past = Self.add(past, p.usd)
                if p.converted { pastConverted = true }
                if p.convertedToday { pastConvertedToday += 1 }
            } else {
                pastUnpriced += 1
            }
        }

        mutating func count(new o: Outcome) {
            guard o.offer >= 0 else { return }
            newJobs += 1
            if o.usdKnown {
                new = Self.add(new, o.usd)
                if o.converted { newConverted = true }
            } else {
                newUnpriced += 1
            }
        }

        mutating func merge(_ t: Tally) {
            past = Self.add(past, t.past)
            new = Self.add(new, t.new)
            pastJobs += t.pastJobs
            newJobs += t.newJobs
            pastUnpriced += t.pastUnpriced
            newUnpriced += t.newUnpriced
            pastConvertedToday += t.pastConvertedToday
            pastConverted = pastConverted || t.pastConverted
            newConverted = newConverted || t.newConverted
        }

        var totals: WhatIfTotals {
            var t = WhatIfTotals()
            t.past = Money(nanos: past, currency: .usd)
            t.new = Money(nanos: new, currency: .usd)
            t.pastJobs = pastJobs
            t.newJobs = newJobs
            t.pastUnpriced = pastUnpriced
            t.newUnpriced = newUnpriced
            t.pastConverted = pastConverted
            t.pastConvertedToday = pastConvertedToday
            t.newConverted = newConverted
            return t
        }
    }

    /// A job waiting for decision order: a value (``heldJobs``) when `source` is -1, else a row of ``sources``.
    struct Held {
        var decidedAt: Date
        var added: Int
        var source: Int32
        var index: Int32
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
        catalogOffers = Array(repeating: -1, count: router.catalog.offers.count)
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
        for b in budgets {
            if case .tag(let k, _) = b.scope { keys.insert(k) }
        }
        spendTags = keys.sorted()
    }

    /// Replays one job folded from the ledger (skipped when decided outside the month).
    public mutating func add(_ job: ReportJob) {
        add(WhatIfJob(job))
    }

    /// Replays one job (skipped when decided outside the month).
    public mutating func add(_ job: WhatIfJob) {
        guard period.contains(job.decidedAt) else { return }
        if isCovered(job.request) {
            heldJobs.append(job)
            waiting.append(Held(decidedAt: job.decidedAt, added: waiting.count, source: -1, index: Int32(heldJobs.count - 1)))
            return
        }
        var new: Outcome
        var remembered: Int32 = -1
        if job.request.video == nil, job.request.image == nil {
            (new, remembered) = memoised(Shape(behavior: job.request.behavior, duration: job.request.duration.micros, resolution: job.request.resolution,
                                               mode: job.request.mode, rules: rules(job.request.tags)), job.request)
        } else {
            new = outcome(job.request, spend: .none)
        }
        replayValue(job, new, remembered)
    }

    func isCovered(_ request: Job) -> Bool {
        if budgetsCoverEveryJob { return true }
        if budgets.isEmpty || request.tags.isEmpty { return false }
        return budgets.contains { $0.key(for: request) != nil }
    }

    // MARK: numbering

    mutating func rules(_ tags: [String: String]) -> Int32 {
        ruleValues.number(ruleTags.map { tags[$0] })
    }

    /// The number of the values `tags` gives the tags rules and budgets read.
    mutating func spendTagValues(_ tags: [String: String]) -> Int32 {
        spendValues.number(spendTags.map { tags[$0] })
    }

    mutating func tagSet(_ tags: [String: String]) -> Int32 {
        if tags.isEmpty { return -1 }
        var flat: [String] = []
        flat.reserveCapacity(tags.count * 2)
        for (k, v) in tags.sorted(by: { $0.key < $1.key }) {
            flat.append(k)
            flat.append(v)
        }
        if let n = tagSetIndex[flat] { return n }
        let n = Int32(tagSets.count)
        tagSets.append(flat)
        tagSetIndex[flat] = n
        tagTallies.append(Tally())
        return n
    }

    mutating func offerID(_ o: OfferRef) -> Int32 {
        if let n = offerIndex[o] { return n }
        let n = Int32(offers.count)
        offers.append(o)
        offerIndex[o] = n
        var p = providerIndex[o.provider] ?? -1
        if p < 0 {
            p = Int32(providers.count)
            providers.append(o.provider)
            providerIndex[o.provider] = p
            providerTallies.append(Tally())
        }
        offerProvider.append(p)
        return n
    }

    mutating func catalogOfferID(_ i: Int) -> Int32 {
        if catalogOffers[i] >= 0 { return catalogOffers[i] }
        let o = catalog.offers[i]
        let n = offerID(OfferRef(provider: o.provider, mode: o.mode, resolution: o.resolution))
        catalogOffers[i] = n
        return n
    }

    mutating func currencyID(_ c: Currency) -> Int32 {
        if let i = currencies.firstIndex(of: c) { return Int32(i) }
        currencies.append(c)
        return Int32(currencies.count - 1)
    }

    mutating func refusalID(_ text: String) -> Int32 {
        refusals.number(text)
    }

    // MARK: deciding

    /// The decision of a job no budget covers, remembered by its shape; the remembered index, or -1.
    mutating func memoised(_ shape: Shape, _ request: @autoclosure () -> Job) -> (Outcome, Int32) {
        if let i = memo[shape] { return (outcomes[Int(i)], i) }
        let o = outcome(request(), spend: .none)
        guard memo.count < Self.memoLimit else { return (o, -1) }
        outcomes.append(o)
        let i = Int32(outcomes.count - 1)
        memo[shape] = i
        return (o, i)
    }

    /// The decision of a job a budget covers, against the running spend, remembered by its shape
    /// until the spend changes; the remembered index (-1 when the decision was just made).
    mutating func decidedAgainstSpend(_ shape: Shape, _ request: @autoclosure () -> Job) -> (Outcome, Int32) {
        if remembersSpendDecisions, var m = spendMemo[shape], m.generation == spendGeneration {
            if m.index < 0 {
                outcomes.append(m.outcome)
                m.index = Int32(outcomes.count - 1)
                spendMemo[shape] = m
            }
            return (m.outcome, m.index)
        }
        let o = outcome(request(), spend: spend)
        if remembersSpendDecisions, spendMemo.count < Self.memoLimit || spendMemo[shape] != nil {
            spendMemo[shape] = SpendMemo(generation: spendGeneration, outcome: o, index: -1)
        }
        return (o, -1)
    }

    mutating func outcome(_ request: Job, spend: SpendSnapshot) -> Outcome {
        // Only the choice is kept: the decision holds the spend snapshot, and adding to the snapshot
        // while it is shared would copy it.
        let d = router.decide(request, spend: spend)
        guard let i = d.choiceOfferIndex else { return Outcome(refusal: refusalID(d.refusal ?? "no offer qualifies")) }
        let e = catalog.estimate(offerAt: i, for: request)
        return Outcome(offer: catalogOfferID(i), cost: e.cost?.nanos ?? 0, currency: e.cost.map { currencyID($0.currency) } ?? -1,
                       usd: e.usd?.nanos ?? 0, usdKnown: e.usd != nil, converted: e.usdIsConverted)
    }

    // MARK: counting

    mutating func past(of job: WhatIfJob) -> PastSide {
        guard let o = job.pastOffer else { return PastSide() }
        var usd = job.pastEstimateUSD
        var today = false
        if usd == nil, let e = job.pastEstimate {
            usd = pastRates.usd(e)
            today = e.currency != .usd && usd != nil
        }
        return PastSide(offer: offerID(o), usd: usd?.nanos ?? 0, usdKnown: usd != nil, converted: job.pastEstimate.map { $0.currency != .usd } ?? false,
                        convertedToday: today)
    }

    mutating func replayValue(_ job: WhatIfJob, _ new: Outcome, _ remembered: Int32) {
        if !policies.contains(job.policy) { policies.insert(job.policy) }
        let past = past(of: job)
        if count(past, tagSet(job.request.tags), new) {
            loose.append(job)
            record(past, new, remembered, source: -1, index: Int32(loose.count - 1))
        }
    }

    /// Counts one job's two sides; true when its route changed, it was refused, or it cannot be priced.
    mutating func count(_ past: PastSide, _ tagSet: Int32, _ new: Outcome) -> Bool {
        jobs += 1
        total.count(past: past)
        total.count(new: new)
        if past.offer >= 0 { providerTallies[Int(offerProvider[Int(past.offer)])].count(past: past) }
        if new.offer >= 0 { providerTallies[Int(offerProvider[Int(new.offer)])].count(new: new) }
        if tagSet >= 0 {
            tagTallies[Int(tagSet)].count(past: past)
            tagTallies[Int(tagSet)].count(new: new)
        }
        return new.offer < 0 || new.offer != past.offer || new.currency < 0
    }

    mutating func record(_ past: PastSide, _ new: Outcome, _ remembered: Int32, source: Int32, index: Int32) {
        var o = remembered
        if o < 0 {
            outcomes.append(new)
            o = Int32(outcomes.count - 1)
        }
        let entry = ChangeEntry(source: source, index: index, outcome: o, pastOffer: past.offer)
        if new.offer < 0 {
            entries[WhatIfList.refused.rawValue].append(entry)
        } else if new.offer != past.offer {
            entries[WhatIfList.changed.rawValue].append(entry)
        }
        if new.offer >= 0, new.currency < 0 { entries[WhatIfList.unpriceable.rawValue].append(entry) }
    }

    /// Adds a decided job's spend to the replay's running spend: once under each key, as the
    /// ledger's reservation counts it (BudgetKey.keys).
    mutating func addSpend(_ new: Outcome, _ tags: [String: String]) {
        guard new.offer >= 0, new.usdKnown, new.usd != 0 else { return }
        spendGeneration += 1
        let usd = Money(nanos: new.usd, currency: .usd)
        spend.addSpent(usd, to: .total)
        spend.addSpent(usd, to: .provider(offers[Int(new.offer)].provider))
        for (k, v) in tags { spend.addSpent(usd, to: .tag(k, v)) }
    }

    /// Replays the jobs budgets cover, in the order they were decided, each against the spend of
    /// those before it.
    mutating func replayWaiting() {
        let ordered = waiting.sorted { ($0.decidedAt, $0.added) < ($1.decidedAt, $1.added) }
        waiting = []
        for h in ordered {
            if h.source < 0 {
                let job = heldJobs[Int(h.index)]
                var new: Outcome
                var remembered: Int32 = -1
                if job.request.video == nil, job.request.image == nil {
                    let r = job.request
                    (new, remembered) = decidedAgainstSpend(Shape(behavior: r.behavior, duration: r.duration.micros, resolution: r.resolution,
                                                                  mode: r.mode, rules: spendTagValues(r.tags)), r)
                } else {
                    new = outcome(job.request, spend: spend)
                }
                addSpend(new, job.request.tags)
                replayValue(job, new, remembered)
            } else {
                replayHeldRow(h)
            }
        }
        heldJobs = []
    }

    /// The replay's report (the jobs budgets cover are replayed now, in decision order).
    public func finish() -> WhatIfReport {
        var done = self
        done.replayWaiting()
        return done.report
    }

    var report: WhatIfReport {
        var byTag: [String: Tally] = [:]
        for (n, flat) in tagSets.enumerated() {
            var k = 0
            while k + 1 < flat.count {
                byTag["\(flat[k])=\(flat[k + 1])", default: Tally()].merge(tagTallies[n])
                k += 2
            }
        }
        let byProvider = providers.indices.filter { providerTallies[$0].pastJobs + providerTallies[$0].newJobs > 0 }
            .map { (providers[$0].rawValue, providerTallies[$0].totals) }.sorted { $0.0 < $1.0 }
        let store = WhatIfChangeStore(offers: offers, currencies: currencies, refusals: refusals.values, outcomes: outcomes, loose: loose,
                                      sources: sources.map(\.summary))
        let lists = WhatIfChanges(store: store, entries: entries.map { store.ordered($0, limit: listLimit) }, counts: entries.map(\.count))
        return WhatIfReport(period: period, pastPolicies: policies.sorted(), newPolicy: router.policy.name, total: total.totals,
                            byProvider: byProvider, byTag: byTag.map { ($0.key, $0.value.totals) }.sorted { $0.0 < $1.0 },
                            jobs: jobs, threshold: threshold, listLimit: listLimit, lists: lists)
    }
}

/// A job in one of the report's lists: where its facts are (a value, or a summary row) and the
/// replay's decision for it.
struct ChangeEntry {
    /// The index of the job summary in ``WhatIfChangeStore/sources``, or -1 for ``WhatIfChangeStore/loose``.
    var source: Int32
    /// The row, or the index in `loose`.
    var index: Int32
    var outcome: Int32
    /// The month's offer number, or -1.
    var pastOffer: Int32
}

/// What the report's lists are made from, when they are listed.
struct WhatIfChangeStore: @unchecked Sendable {  // immutable once made
    let offers: [OfferRef]
    let currencies: [Currency]
    let refusals: [String]
    let outcomes: [WhatIfReplay.Outcome]
    let loose: [WhatIfJob]
    let sources: [JobSummary]

    func change(_ e: ChangeEntry) -> RouteChange {
        let o = outcomes[Int(e.outcome)]
        let new = o.offer >= 0 ? offers[Int(o.offer)] : nil
        let newCost = o.currency >= 0 ? Money(nanos: o.cost, currency: currencies[Int(o.currency)]) : nil
        let refusal = o.refusal >= 0 ? refusals[Int(o.refusal)] : nil
        if e.source < 0 {
            let job = loose[Int(e.index)]
            return RouteChange(id: job.id, past: job.pastOffer, pastCost: job.pastEstimate, new: new, newCost: newCost, refusal: refusal)
        }
        let id = withID(e) { String(decoding: $0, as: UTF8.self) }
        let pastCost = sources[Int(e.source)].rows.withUnsafeBytes { WhatIfReplay.pastEstimate(JobSummary.Row(base: $0.baseAddress! + Int(e.index) * JobSummary.rowSize)) }
        return RouteChange(id: id, past: e.pastOffer >= 0 ? offers[Int(e.pastOffer)] : nil, pastCost: pastCost, new: new, newCost: newCost, refusal: refusal)
    }

    /// The job id's UTF-8 bytes.
    func withID<R>(_ e: ChangeEntry, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if e.source < 0 {
            var id = loose[Int(e.index)].id
            return id.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
        let i = Int(e.source)
        let at = sources[i].rows.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: Int(e.index) * JobSummary.rowSize + JobSummary.Field.jobID, as: UInt32.self)) }
        return sources[i].heap.withUnsafeBytes { h in
            guard at <= h.count - 4 else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
            let n = min(Int(h.loadUnaligned(fromByteOffset: at, as: UInt32.self)), h.count - at - 4)
            return body(UnsafeRawBufferPointer(rebasing: h[(at + 4)..<(at + 4 + n)]))
        }
    }

    /// `entries` by job id as Swift orders strings (equal ids in the order replayed): every one, or the first `limit`.
    func ordered(_ entries: [ChangeEntry], limit: Int?) -> [ChangeEntry] {
        if entries.isEmpty || limit == 0 { return [] }
        // Ids mostly share a beginning (`job-000…`): the 8 bytes after what every id shares,
        // big-endian, compare as one integer in the order the bytes sort, which is String's order
        // for ASCII text.
        let first = withID(entries[0]) { Array($0) }
        var shared = first.count
        var ascii = [Bool](repeating: true, count: entries.count)
        for (i, e) in entries.enumerated() {
            withID(e) { b in
                var k = 0
                while k < shared, k < b.count, b[k] == first[k] { k += 1 }
                shared = k
                ascii[i] = !b.contains { $0 >= 0x80 }
            }
        }
        var keys = [UInt64](repeating: 0, count: entries.count)
        for (i, e) in entries.enumerated() {
            withID(e) { b in
                var p: UInt64 = 0
                for k in shared..<(shared + 8) { p = p << 8 | UInt64(k < b.count ? b[k] : 0) }
                keys[i] = p
            }
        }
        func less(_ i: Int, _ j: Int) -> Bool {
            if ascii[i], ascii[j] {
                if keys[i] != keys[j] { return keys[i] < keys[j] }
                let order = withID(entries[i]) { a in withID(entries[j]) { b -> Int in
                    let n = min(a.count, b.count)
                    for k in 0..<n where a[k] != b[k] { return a[k] < b[k] ? -1 : 1 }
                    return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
                } }
                return order != 0 ? order < 0 : i < j
            }
            let a = withID(entries[i]) { String(decoding: $0, as: UTF8.self) }, b = withID(entries[j]) { String(decoding: $0, as: UTF8.self) }
            return a == b ? i < j : a < b
        }
        var chosen: [Int]
        if let limit, limit < entries.count {
            // The first `limit`, kept sorted as the entries pass (most are rejected by one comparison).
            chosen = []
            chosen.reserveCapacity(limit + 1)
            for i in entries.indices {
                if chosen.count == limit {
                    guard less(i, chosen[limit - 1]) else { continue }
                    chosen.removeLast()
                }
                var lo = 0, hi = chosen.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if less(chosen[mid], i) { lo = mid + 1 } else { hi = mid }
                }
                chosen.insert(i, at: lo)
            }
        } else {
            chosen = Array(entries.indices)
            chosen.sort(by: less)
        }
        return chosen.map { entries[$0] }
    }
}

/// The report's three lists: the jobs of each by id (all, or the first of them) and how many each holds.
struct WhatIfChanges: Sendable {
    var given: [[RouteChange]]?
    var store: WhatIfChangeStore?
    var entries: [[ChangeEntry]] = []
    var counts: [Int] = []

    init(given: [[RouteChange]]) {
        self.given = given
        counts = given.map(\.count)
    }

    init(store: WhatIfChangeStore, entries: [[ChangeEntry]], counts: [Int]) {
        self.store = store
        self.entries = entries
        self.counts = counts
    }

    func count(_ list: WhatIfList) -> Int { counts[list.rawValue] }

    func forEach(_ list: WhatIfList, limit: Int?, _ body: (RouteChange) -> Void) {
        let n = limit ?? Int.max
        if let given {
            given[list.rawValue].prefix(n).forEach(body)
        } else if let store {
            for e in entries[list.rawValue].prefix(n) { body(store.change(e)) }
        }
    }
}
