import Foundation

/// Something a report can be grouped by.
public enum ReportDimension: Hashable, Sendable, CustomStringConvertible {
    /// The provider the job ended on (`-` when refused).
    case provider
    /// animate or replace.
    case behavior
    /// The mode of the offer the job ended on.
    case mode
    /// The resolution of the offer the job ended on.
    case resolution
    /// The policy that routed the job.
    case policy
    /// succeeded, failed, needs-attention, unfinished or refused.
    case status
    /// A tag's value (`(none)` when the job lacks the tag).
    case tag(String)

    /// The most dimensions one report groups by at once.
    public static let maximumCount = 8

    /// `provider`, `tag:customer`: the form `--group-by` takes and outputs show.
    public var description: String {
        switch self {
        case .provider: return "provider"
        case .behavior: return "behavior"
        case .mode: return "mode"
        case .resolution: return "resolution"
        case .policy: return "policy"
        case .status: return "status"
        case .tag(let k): return "tag:\(k)"
        }
    }

    /// Parses a comma-separated list such as `provider,tag:customer`; repeats are refused.
    public static func parse(_ list: String) throws(ReportError) -> [ReportDimension] {
        var out: [ReportDimension] = []
        for part in list.split(separator: ",", omittingEmptySubsequences: false) {
            let word = part.trimmingCharacters(in: .whitespaces)
            let d: ReportDimension
            switch word {
            case "provider": d = .provider
            case "behavior", "behaviour": d = .behavior
            case "mode": d = .mode
            case "resolution": d = .resolution
            case "policy": d = .policy
            case "status": d = .status
            default:
                guard word.hasPrefix("tag:"), word.count > 4 else { throw .badDimension(word) }
                d = .tag(String(word.dropFirst(4)))
            }
            if out.contains(d) { throw .badDimension(word) }
            out.append(d)
        }
        if out.count > maximumCount { throw .badDimension(list) }
        return out
    }

    /// The value of this dimension for a job.
    func value(of job: ReportJob) -> String {
        switch self {
        case .provider: return job.offer?.provider.rawValue ?? "-"
        case .behavior: return job.request.behavior.rawValue
        case .mode: return job.offer?.mode.rawValue ?? "-"
        case .resolution: return job.offer?.resolution.rawValue ?? "-"
        case .policy: return job.policy
        case .status: return job.status.rawValue
        case .tag(let k): return job.request.tags[k] ?? ReportDimension.noTag
        }
    }

    /// What a job without the grouped tag shows.
    public static let noTag = "(none)"
}

/// Amounts of money kept per currency, so a group with CNY and USD jobs shows both exactly.
public struct CurrencyAmounts: Sendable, Equatable {
    /// One sum per currency that occurred, ordered by currency code.
    public internal(set) var amounts: [Money] = []

    /// The sum in one currency, or nil when none occurred.
    public func amount(_ currency: Currency) -> Money? { amounts.first { $0.currency == currency } }
}

/// Time from submission to result, as nearest-rank percentiles over the succeeded jobs.
public struct TimeToResult: Sendable, Equatable {
    /// The median.
    public let p50: Seconds
    /// The 90th percentile.
    public let p90: Seconds
}

/// The figures of one group of jobs (or of all): counts, seconds, money, variance, timing.
///
/// Money comes three ways: per currency exactly as estimated and billed (``estimated``,
/// ``actual``), and in US dollars (``estimatedUSD``, ``actualUSD``), each job converted at the
/// catalog's rate and rounded to the nano-dollar before summing; the `…Converted` flags say a
/// figure includes such a conversion. Jobs whose cost is unknown are counted, never summed as zero.
public struct ReportTotals: Sendable, Equatable {
    /// Jobs in the group.
    public internal(set) var jobs = 0
    /// Jobs that succeeded.
    public internal(set) var succeeded = 0
    /// Jobs that failed (nothing running, nothing more to bill).
    public internal(set) var failed = 0
    /// Jobs that need attention (a task may exist and bill).
    public internal(set) var needsAttention = 0
    /// Jobs not yet ended.
    public internal(set) var unfinished = 0
    /// Jobs the policy refused (never submitted).
    public internal(set) var refused = 0
    /// Seconds billed, over jobs whose billed quantity is known.
    public internal(set) var billedSeconds = Seconds(micros: 0)
    /// The router's estimates, per currency.
    public internal(set) var estimated = CurrencyAmounts()
    /// The estimates in USD.
    public internal(set) var estimatedUSD = Money.zero(.usd)
    /// Whether ``estimatedUSD`` includes a converted figure.
    public internal(set) var estimatedUSDConverted = false
    /// Jobs routed to an offer whose price is unknown (or has no exchange rate): no estimate.
    public internal(set) var estimatedUnknownJobs = 0
    /// What was billed, per currency, over jobs whose cost is known.
    public internal(set) var actual = CurrencyAmounts()
    /// The actual costs in USD.
    public internal(set) var actualUSD = Money.zero(.usd)
    /// Whether ``actualUSD`` includes a converted figure.
    public internal(set) var actualUSDConverted = false
    /// Jobs whose actual cost is unknown (a task may have billed): counted, never summed as zero.
    public internal(set) var actualUnknownJobs = 0
    /// Actual minus estimate in USD, over the jobs where both are known.
    public internal(set) var varianceUSD = Money.zero(.usd)
    /// How many jobs ``varianceUSD`` covers.
    public internal(set) var varianceJobs = 0
    /// Submissions re-sent after retryable errors.
    public internal(set) var retries = 0
    /// Moves to another offer.
    public internal(set) var failovers = 0
    /// Submission to result over the succeeded jobs whose instants are known; nil when none.
    public internal(set) var timeToResult: TimeToResult?

    /// The count of jobs with a status.
    public func count(_ status: ReportJob.Status) -> Int {
        switch status {
        case .succeeded: return succeeded
        case .failed: return failed
        case .needsAttention: return needsAttention
        case .unfinished: return unfinished
        case .refused: return refused
        }
    }
}

/// One group of a report: its key (one value per dimension) and its figures.
public struct ReportGroup: Sendable, Equatable {
    /// The value of each dimension, in the order grouped by.
    public let key: [String]
    /// The group's figures.
    public let totals: ReportTotals
}

/// One day of the month: spend per provider, in USD.
public struct ReportDay: Sendable, Equatable {
    /// `YYYY-MM-DD` in the report's time zone.
    public let date: String
    /// Jobs decided that day.
    public let jobs: Int
    /// Estimated USD that day.
    public let estimatedUSD: Money
    /// Actual USD that day, over jobs whose cost is known.
    public let actualUSD: Money
    /// Jobs that day whose cost is unknown.
    public let unknownCostJobs: Int
    /// Actual USD per provider (every provider of the month, in ``MonthlyReport/providers`` order).
    public let actualUSDByProvider: [Money]
}

/// One budget of the policy: its limit against what is settled and reserved, and where it is heading.
public struct BudgetStatus: Sendable, Equatable {
    /// The budget's id in the policy.
    public let id: String
    /// What it counts against (`total`, `provider:apixo`, `tag:customer=film`).
    public let key: BudgetKey
    /// The monthly limit in USD.
    public let limit: Money
    /// Billed this month (from the ledger).
    public let settled: Money
    /// Held by jobs in flight.
    public let reserved: Money
    /// `limit - settled - reserved` (negative when overrun).
    public let remaining: Money
    /// Settled plus reserved, extrapolated linearly from the month so far to its end; nil at the
    /// very start of the month.
    public let projectedMonthEnd: Money?
    /// The day (`YYYY-MM-DD`, report zone) the budget runs out at the current burn rate, when that
    /// falls within the month; nil when it does not.
    public let runsOutOn: String?
    /// Actual spend the report's jobs put on this budget, cumulative per day (for burn-down charts).
    public let cumulativeByDay: [Money]
}

/// The month's report: every group, the total, a daily series and the budgets.
public struct MonthlyReport: Sendable, Equatable {
    /// The month and its zone.
    public let period: ReportPeriod
    /// What the groups are keyed by.
    public let dimensions: [ReportDimension]
    /// One entry per distinct key, ordered by key (none when not grouped).
    public let groups: [ReportGroup]
    /// Every job of the month.
    public let total: ReportTotals
    /// Per provider (always computed; the charts use it), ordered by provider; refused jobs are in no provider.
    public let byProvider: [ReportGroup]
    /// The providers that occur, in ``byProvider`` order.
    public let providers: [String]
    /// One entry per day of the month.
    public let daily: [ReportDay]
    /// The policy's budgets (tag budgets without a value: one per value seen).
    public let budgets: [BudgetStatus]
    /// The instant budgets and projections were computed at.
    public let asOf: Date
    /// Exchange rates behind any converted figure.
    public let conversions: [ExchangeRates.Rate]
}

/// The figures of one job a report adds up, from a ``ReportJob`` or a job summary row.
struct JobFigures {
    var status: ReportJob.Status
    var billedMicros: Int64?
    var estimatedCost: Money?
    var actualCost: Money?
    var retries: Int
    var failovers: Int
    /// Submission to result in milliseconds (clamped to Int32), for succeeded jobs whose instants are known.
    var timeToResultMillis: Int32?

    var costIsUnknown: Bool { actualCost == nil && status != .refused }

    init(status: ReportJob.Status, billedMicros: Int64?, estimatedCost: Money?, actualCost: Money?, retries: Int, failovers: Int,
         timeToResultMillis: Int32?) {
        self.status = status
        self.billedMicros = billedMicros
        self.estimatedCost = estimatedCost
        self.actualCost = actualCost
        self.retries = retries
        self.failovers = failovers
        self.timeToResultMillis = timeToResultMillis
    }

    init(_ job: ReportJob) {
        var ms: Int32?
        if job.status == .succeeded, let s = job.submittedAt, let f = job.finishedAt, f >= s {
            // Milliseconds: instants carry no more precision than that in the ledger.
            let v = ((f.timeIntervalSince1970 - s.timeIntervalSince1970) * 1_000).rounded()
            ms = v >= Double(Int32.max) ? Int32.max : Int32(v)
        }
        self.init(status: job.status, billedMicros: job.billedSeconds?.micros, estimatedCost: job.estimatedCost, actualCost: job.actualCost,
                  retries: job.retries, failovers: job.failedOver.count, timeToResultMillis: ms)
    }
}

/// Accumulates one group's figures in one pass; no allocation per job except for timings.
struct TotalsAccumulator {
    var t = ReportTotals()
    var estimated = NanoBag()
    var actual = NanoBag()
    var estUSD: Int64 = 0
    var actUSD: Int64 = 0
    var variance: Int64 = 0
    var billedMicros: Int64 = 0
    /// Succeeded jobs' times to result in milliseconds (4 bytes a job; clamped at 24 days).
    var times: [Int32] = []
    /// The times already sorted into runs of equal values (``compactTimes()``): exact, and what a
    /// report cache stores.
    var timeRuns: [TimeRun] = []
    var overflow = false

    /// Equal times to result: a value in milliseconds and how many jobs took it.
    struct TimeRun: Equatable {
        var millis: Int32
        var count: Int
    }

    mutating func add(_ job: ReportJob, estimateUSD: Int64?, estimateConverted: Bool, actualUSD: Int64?, actualConverted: Bool) {
        add(JobFigures(job), estimateUSD: estimateUSD, estimateConverted: estimateConverted, actualUSD: actualUSD, actualConverted: actualConverted)
    }

    mutating func add(_ job: JobFigures, estimateUSD: Int64?, estimateConverted: Bool, actualUSD: Int64?, actualConverted: Bool) {
        t.jobs += 1
        switch job.status {
        case .succeeded: t.succeeded += 1
        case .failed: t.failed += 1
        case .needsAttention: t.needsAttention += 1
        case .unfinished: t.unfinished += 1
        case .refused: t.refused += 1
        }
        if let b = job.billedMicros, !checkedAdd(&billedMicros, b) { overflow = true }
        if let e = job.estimatedCost {
            if !estimated.add(e) { overflow = true }
        }
        if job.status != .refused {
            if let u = estimateUSD {
                if !checkedAdd(&estUSD, u) { overflow = true }
                if estimateConverted { t.estimatedUSDConverted = true }
            } else {
                t.estimatedUnknownJobs += 1
            }
        }
        if let a = job.actualCost {
            if !actual.add(a) { overflow = true }
        } else if job.costIsUnknown {
            t.actualUnknownJobs += 1
        }
        if let u = actualUSD {
            if !checkedAdd(&actUSD, u) { overflow = true }
            if actualConverted { t.actualUSDConverted = true }
            if let e = estimateUSD {
                let (d, o) = u.subtractingReportingOverflow(e)
                if o { overflow = true } else { if !checkedAdd(&variance, d) { overflow = true } }
                t.varianceJobs += 1
            }
        }
        t.retries += job.retries
        t.failovers += job.failovers
        if let ms = job.timeToResultMillis { times.append(ms) }
    }

    mutating func finish() -> ReportTotals {
        var r = t
        r.billedSeconds = Seconds(micros: billedMicros)
        r.estimated = estimated.amounts
        r.actual = actual.amounts
        r.estimatedUSD = Money(nanos: estUSD, currency: .usd)
        r.actualUSD = Money(nanos: actUSD, currency: .usd)
        r.varianceUSD = Money(nanos: variance, currency: .usd)
        compactTimes()
        let count = timeRuns.reduce(0) { $0 + $1.count }
        if count > 0 {
            let p50 = Self.value(in: timeRuns, rank: Self.rank(count, 50))
            let p90 = Self.value(in: timeRuns, rank: Self.rank(count, 90))
            r.timeToResult = TimeToResult(p50: Seconds(micros: Int64(p50) * 1_000), p90: Seconds(micros: Int64(p90) * 1_000))
        }
        return r
    }

    /// Moves ``times`` into ``timeRuns`` (sorted, equal values counted once).
    mutating func compactTimes() {
        guard !times.isEmpty else { return }
        let sorted = Self.sorted(times)
        times = []
        var merged: [TimeRun] = []
        merged.reserveCapacity(timeRuns.count + 16)
        var i = 0
        func push(_ v: Int32, _ n: Int) {
            if let last = merged.last, last.millis == v { merged[merged.count - 1].count += n } else { merged.append(TimeRun(millis: v, count: n)) }
        }
        for v in sorted {
            while i < timeRuns.count, timeRuns[i].millis <= v {
                push(timeRuns[i].millis, timeRuns[i].count)
                i += 1
            }
            push(v, 1)
        }
        while i < timeRuns.count {
            push(timeRuns[i].millis, timeRuns[i].count)
            i += 1
        }
        timeRuns = merged
    }

    /// The value at 0-based `rank` of the sorted values the runs stand for.
    static func value(in runs: [TimeRun], rank: Int) -> Int32 {
        var seen = 0
        for r in runs {
            seen += r.count
            if rank < seen { return r.millis }
        }
        return runs.last?.millis ?? 0
    }

    /// The nearest-rank position (0-based) of the p-th percentile of `count` values: the smallest
    /// value with at least p% of the values at or below it.
    static func rank(_ count: Int, _ p: Int) -> Int { max((p * count + 99) / 100, 1) - 1 }

    /// `values` in ascending order, by two counting passes over 16-bit digits: linear, so a
    /// million times to result sort in milliseconds (a comparison sort would cost more than the fold).
    static func sorted(_ values: [Int32]) -> [Int32] {
        let n = values.count
        if n < 4_096 { return values.sorted() }
        // Flipping the sign bit makes unsigned order the signed order.
        var a = values.map { UInt32(bitPattern: $0) ^ 0x8000_0000 }
        var b = [UInt32](repeating: 0, count: n)
        for shift: UInt32 in [0, 16] {
            var starts = [Int](repeating: 0, count: 65_537)
            a.withUnsafeBufferPointer { src in
                starts.withUnsafeMutableBufferPointer { c in
                    for v in src { c[Int((v >> shift) & 0xFFFF) + 1] += 1 }
                    for d in 1..<65_537 { c[d] += c[d - 1] }
                }
                b.withUnsafeMutableBufferPointer { dst in
                    starts.withUnsafeMutableBufferPointer { c in
                        for v in src {
                            let d = Int((v >> shift) & 0xFFFF)
                            dst[c[d]] = v
                            c[d] += 1
                        }
                    }
                }
            }
            swap(&a, &b)
        }
        return a.map { Int32(bitPattern: $0 ^ 0x8000_0000) }
    }
}

/// Exact sums per known currency, without a dictionary.
struct NanoBag {
    var nanos: (Int64, Int64, Int64, Int64) = (0, 0, 0, 0)
    var seen: UInt8 = 0

    /// Adds an amount; false on overflow (the sum is left unchanged).
    mutating func add(_ m: Money) -> Bool {
        // USD first without touching the list: most amounts are in it.
        guard let i = m.currency == .usd ? Currency.known.startIndex : Currency.known.firstIndex(of: m.currency) else { return false }
        return withUnsafeMutableBytes(of: &nanos) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: Int64.self)
            let (s, o) = p[i].addingReportingOverflow(m.nanos)
            if o { return false }
            p[i] = s
            seen |= 1 << UInt8(i)
            return true
        }
    }

    var amounts: CurrencyAmounts {
        var out = CurrencyAmounts()
        withUnsafeBytes(of: nanos) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: Int64.self)
            for (i, c) in Currency.known.enumerated() where seen & (1 << UInt8(i)) != 0 {
                out.amounts.append(Money(nanos: p[i], currency: c))
            }
        }
        out.amounts.sort { $0.currency < $1.currency }
        return out
    }
}

/// A group key without allocation: up to ``ReportDimension/maximumCount`` interned value ids.
struct GroupKey: Hashable {
    var ids: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0, 0, 0)

    subscript(i: Int) -> UInt32 {
        get { withUnsafeBytes(of: ids) { $0.load(fromByteOffset: i * 4, as: UInt32.self) } }
        set { withUnsafeMutableBytes(of: &ids) { $0.storeBytes(of: newValue, toByteOffset: i * 4, as: UInt32.self) } }
    }

    static func == (a: GroupKey, b: GroupKey) -> Bool {
        withUnsafeBytes(of: a.ids) { x in withUnsafeBytes(of: b.ids) { y in x.elementsEqual(y) } }
    }

    func hash(into h: inout Hasher) { withUnsafeBytes(of: ids) { h.combine(bytes: $0) } }
}

/// Builds a ``MonthlyReport`` in one pass: feed every job of the ledger with ``add(_:)`` (jobs
/// outside the month are skipped), then ``finish(spend:asOf:)``.
///
/// Memory grows with the number of groups and days, not jobs, except for the succeeded jobs'
/// times to result (8 bytes each per group), which percentiles need.
public struct MonthlyReportBuilder {
    /// The month reported.
    public let period: ReportPeriod
    /// What groups are keyed by.
    public let dimensions: [ReportDimension]
    let rates: ExchangeRates
    let budgets: [Budget]

    var interned: [[String: UInt32]]
    var values: [[String]]
    var groups: [GroupKey: TotalsAccumulator] = [:]
    var total = TotalsAccumulator()
    var providerIndex: [String: Int] = [:]
    var providerNames: [String] = []
    var providerTotals: [TotalsAccumulator] = []
    var dayJobs: [Int]
    var dayEstimated: [Int64]
    var dayActual: [Int64]
    var dayUnknown: [Int]
    /// Per day, per provider index: actual USD nanos.
    var dayByProvider: [[Int64]]
    /// The daily actuals of each key of a tag budget without a value, by slot: ``budgetSlots``
    /// finds a key's slot, and ``budgetKeys`` names each slot's budget and key.
    var budgetDailies: [[Int64]] = []
    var budgetSlots: [BudgetKey: Int] = [:]
    var budgetKeys: [(budget: Int, key: BudgetKey)] = []
    /// Per budget with one fixed key (total, a provider, a tag with a value): its daily sums; nil
    /// for a tag budget without a value, whose key depends on the job.
    var fixedDaily: [[Int64]?] = []
    var conversions: Set<Currency> = []
    var overflow = false

    /// A builder for a month, grouped by `dimensions`, converting with `rates`, tracking `budgets`
    /// (the policy's; empty for none).
    public init(period: ReportPeriod, dimensions: [ReportDimension], rates: ExchangeRates, budgets: [Budget] = []) {
        self.period = period
        self.dimensions = Array(dimensions.prefix(ReportDimension.maximumCount))
        self.rates = rates
        self.budgets = budgets
        interned = Array(repeating: [:], count: self.dimensions.count)
        values = Array(repeating: [], count: self.dimensions.count)
        let days = period.dayCount
        dayJobs = Array(repeating: 0, count: days)
        dayEstimated = Array(repeating: 0, count: days)
        dayActual = Array(repeating: 0, count: days)
        dayUnknown = Array(repeating: 0, count: days)
        dayByProvider = Array(repeating: [], count: days)
        fixedDaily = budgets.map { b in
            if case .tag(_, nil) = b.scope { return nil }
            return Array(repeating: 0, count: days)
        }
    }

    /// Adds one job; returns false (and ignores it) when it was decided outside the month.
    @discardableResult
    public mutating func add(_ job: ReportJob) -> Bool {
        guard let day = period.dayIndex(job.decidedAt) else { return false }
        var key = GroupKey()
        for (i, d) in dimensions.enumerated() { key[i] = intern(d.value(of: job), dimension: i) }
        let provider = job.offer?.provider.rawValue ?? "-"
        let figures = JobFigures(job)
        let actual = add(figures, day: day, key: key, provider: providerIndex(provider))
        if let a = actual {
            for (k, b) in budgets.enumerated() {
                switch b.scope {
                case .total: break
                case .provider(let id): if id != job.offer?.provider { continue }
                case .tag(let t, let v):
                    guard let value = job.request.tags[t] else { continue }
                    if let v {
                        if v != value { continue }
                    } else {
                        addToBudget(.tag(t, value), budget: k, day: day, a)
                        continue
                    }
                }
                if !checkedAdd(&fixedDaily[k]![day], a) { overflow = true }
            }
        }
        return true
    }

    /// A provider's index in the per-provider figures, added when new.
    mutating func providerIndex(_ provider: String) -> Int {
        // A month has a handful of providers: comparing a few short strings beats hashing one.
        if let known = providerNames.firstIndex(of: provider) { return known }
        let p = providerTotals.count
        providerIndex[provider] = p
        providerNames.append(provider)
        providerTotals.append(TotalsAccumulator())
        return p
    }

    /// Adds a tag budget's daily actual under a key first seen here.
    mutating func addToBudget(_ bk: BudgetKey, budget k: Int, day: Int, _ a: Int64) {
        let slot = budgetSlot(bk, budget: k)
        if !checkedAdd(&budgetDailies[slot][day], a) { overflow = true }
    }

    /// The slot of a tag budget's key, made when first seen.
    mutating func budgetSlot(_ bk: BudgetKey, budget k: Int) -> Int {
        if let slot = budgetSlots[bk] { return slot }
        let slot = budgetDailies.count
        budgetSlots[bk] = slot
        budgetDailies.append(Array(repeating: 0, count: period.dayCount))
        budgetKeys.append((k, bk))
        return slot
    }

    /// Adds a job's figures to the total, its group, its provider and its day; returns its actual
    /// cost in USD nanos when known (for the budgets).
    mutating func add(_ figures: JobFigures, day: Int, key: GroupKey, provider p: Int) -> Int64? {
        let est = figures.estimatedCost.flatMap { usd($0) }
        let act = figures.actualCost.flatMap { usd($0) }
        let estNanos = est?.nanos, actNanos = act?.nanos
        let estConv = figures.estimatedCost.map { $0.currency != .usd } ?? false
        let actConv = figures.actualCost.map { $0.currency != .usd } ?? false

        total.add(figures, estimateUSD: estNanos, estimateConverted: estConv, actualUSD: actNanos, actualConverted: actConv)
        if !dimensions.isEmpty {
            groups[key, default: TotalsAccumulator()].add(figures, estimateUSD: estNanos, estimateConverted: estConv, actualUSD: actNanos, actualConverted: actConv)
        }
        providerTotals[p].add(figures, estimateUSD: estNanos, estimateConverted: estConv, actualUSD: actNanos, actualConverted: actConv)

        dayJobs[day] += 1
        if let e = estNanos, figures.status != .refused { if !checkedAdd(&dayEstimated[day], e) { overflow = true } }
        if let a = actNanos {
            if !checkedAdd(&dayActual[day], a) { overflow = true }
            if dayByProvider[day].count <= p { dayByProvider[day] += Array(repeating: 0, count: p + 1 - dayByProvider[day].count) }
            if !checkedAdd(&dayByProvider[day][p], a) { overflow = true }
        } else if figures.costIsUnknown {
            dayUnknown[day] += 1
        }
        return actNanos
    }

    private mutating func usd(_ m: Money) -> Money? {
        if m.currency != .usd { conversions.insert(m.currency) }
        return rates.usd(m)
    }


    mutating func intern(_ value: String, dimension i: Int) -> UInt32 {
        // Most dimensions have a handful of values: a short scan beats hashing.
        if values[i].count <= 16 {
            if let k = values[i].firstIndex(of: value) { return UInt32(k) }
        } else if let id = interned[i][value] {
            return id
        }
        let id = UInt32(values[i].count)
        interned[i][value] = id
        values[i].append(value)
        return id
    }

    /// The report. `spend` is the ledger's month-to-date settled and reserved USD per budget key;
    /// `asOf` is now (projections extrapolate from the month's start to it). Throws
    /// ``ReportError/overflow(_:)`` if a sum left the exact range.
    public func finish(spend: SpendSnapshot = .none, asOf: Date) throws(ReportError) -> MonthlyReport {
        var groupList: [ReportGroup] = []
        var anyOverflow = overflow || total.overflow
        for (key, acc) in groups {
            var a = acc
            anyOverflow = anyOverflow || a.overflow
            groupList.append(ReportGroup(key: dimensions.indices.map { values[$0][Int(key[$0])] }, totals: a.finish()))
        }
        groupList.sort { $0.key.lexicographicallyPrecedes($1.key) }
        var totalAcc = total
        let totals = totalAcc.finish()
        let names = providerIndex.sorted { $0.value < $1.value }.map(\.key)
        // Refused jobs ("-") went nowhere and cost nothing: no provider series for them.
        let order = names.indices.filter { names[$0] != "-" }.sorted { names[$0] < names[$1] }
        var byProvider: [ReportGroup] = []
        for i in order {
            var a = providerTotals[i]
            byProvider.append(ReportGroup(key: [names[i]], totals: a.finish()))
        }
        var daily: [ReportDay] = []
        for d in 0..<period.dayCount {
            let row = dayByProvider[d]
            daily.append(ReportDay(date: period.dayLabels[d], jobs: dayJobs[d],
                                   estimatedUSD: Money(nanos: dayEstimated[d], currency: .usd),
                                   actualUSD: Money(nanos: dayActual[d], currency: .usd),
                                   unknownCostJobs: dayUnknown[d],
                                   actualUSDByProvider: order.map { Money(nanos: $0 < row.count ? row[$0] : 0, currency: .usd) }))
        }
        if anyOverflow { throw .overflow("the month's spend") }
        let budgetList = try budgetStatuses(spend: spend, asOf: asOf)
        let rateList = conversions.sorted().compactMap { rates.rate(for: $0) }
        return MonthlyReport(period: period, dimensions: dimensions, groups: groupList, total: totals, byProvider: byProvider,
                             providers: order.map { names[$0] }, daily: daily, budgets: budgetList, asOf: asOf, conversions: rateList)
    }

    private func budgetStatuses(spend: SpendSnapshot, asOf: Date) throws(ReportError) -> [BudgetStatus] {
        var out: [BudgetStatus] = []
        for (k, b) in budgets.enumerated() {
            var keys: [BudgetKey]
            switch b.scope {
            case .total: keys = [.total]
            case .provider(let p): keys = [.provider(p)]
            case .tag(let t, let v?): keys = [.tag(t, v)]
            case .tag(let t, nil):
                var seen = Set(budgetKeys.filter { $0.budget == k }.map(\.key))
                for key in spend.spent.keys where { if case .tag(t, _) = key { return true }; return false }() { seen.insert(key) }
                for key in spend.reserved.keys where { if case .tag(t, _) = key { return true }; return false }() { seen.insert(key) }
                keys = seen.sorted { $0.description < $1.description }
            }
            for key in keys {
                out.append(try status(b, key: key, daily: fixedDaily[k] ?? budgetSlots[key].map { budgetDailies[$0] }, spend: spend, asOf: asOf))
            }
        }
        return out
    }

    private func status(_ b: Budget, key: BudgetKey, daily: [Int64]?, spend: SpendSnapshot, asOf: Date) throws(ReportError) -> BudgetStatus {
        let settled = spend.spent[key]?.nanos ?? 0
        let reserved = spend.reserved[key]?.nanos ?? 0
        let (committed, o1) = settled.addingReportingOverflow(reserved)
        let (remaining, o2) = b.monthly.nanos.subtractingReportingOverflow(committed)
        if o1 || o2 { throw .overflow("budget \(b.id)") }
        let now = Int64(asOf.timeIntervalSince1970.rounded(.down))
        let elapsed = min(max(now - period.boundaries[0], 0), period.lengthSeconds)
        var projected: Money?
        var runsOut: String?
        if elapsed > 0 {
            projected = Money(nanos: Self.mulDiv(committed, period.lengthSeconds, elapsed), currency: .usd)
            if remaining <= 0 {
                runsOut = period.dayLabel(Date(timeIntervalSince1970: TimeInterval(min(now, period.boundaries.last! - 1))))
            } else if committed > 0 {
                // Seconds until the remainder is spent at committed/elapsed per second.
                let after = Self.mulDiv(remaining, elapsed, committed)
                let (at, o) = (period.boundaries[0] + elapsed).addingReportingOverflow(after)
                if !o, at < period.boundaries.last! { runsOut = period.dayLabel(Date(timeIntervalSince1970: TimeInterval(at))) }
            }
        }
        var cumulative: [Money] = []
        var running: Int64 = 0
        for v in daily ?? Array(repeating: 0, count: period.dayCount) {
            running = running &+ v
            cumulative.append(Money(nanos: running, currency: .usd))
        }
        return BudgetStatus(id: b.id, key: key, limit: b.monthly, settled: Money(nanos: settled, currency: .usd),
                            reserved: Money(nanos: reserved, currency: .usd), remaining: Money(nanos: remaining, currency: .usd),
                            projectedMonthEnd: projected, runsOutOn: runsOut, cumulativeByDay: cumulative)
    }

    /// `a * b / c` exactly in 128 bits, rounded down, clamped to Int64 (a, b >= 0; c > 0).
    static func mulDiv(_ a: Int64, _ b: Int64, _ c: Int64) -> Int64 {
        let negative = a < 0
        let (high, low) = a.magnitude.multipliedFullWidth(by: b.magnitude)
        if high >= UInt64(c) { return negative ? .min : .max }
        let (q, _) = UInt64(c).dividingFullWidth((high, low))
        let v = Int64(clamping: q)
        return negative ? -v : v
    }
}

/// Adds `value` to `sum` unless that overflows; false (and `sum` unchanged) when it would.
@inline(__always)
func checkedAdd(_ sum: inout Int64, _ value: Int64) -> Bool {
    let (s, o) = sum.addingReportingOverflow(value)
    if o { return false }
    sum = s
    return true
}
