import Foundation

/// Why a job's actual cost differs from its estimate.
public enum VarianceCause: String, Sendable, CaseIterable, Hashable {
    /// The provider's reported quantity rounds to a different number of billing units than the
    /// reference did, by less than one unit.
    case rounding
    /// A minimum or cap of the billing rule applied to one quantity but not the other.
    case minimumOrCap = "minimum-or-cap"
    /// The provider billed a quantity (output seconds) that differs from the probe (reference seconds).
    case quantity = "quantity-differs"
    /// The provider's implied rate differs from the pricing table.
    case priceChange = "price-change"
    /// Estimate and bill are in different currencies; compared in USD at the table's rate.
    case currencyConversion = "currency-conversion"
    /// The job failed over: earlier attempts billed, and the final offer's price differs.
    case failover
    /// Nobody knows what the job billed (a task may exist): listed, never taken as zero.
    case unknownOutcome = "unknown-outcome"
    /// The job failed, and the provider documents failures as free.
    case freeFailure = "free-failure"
    /// The offer's price is unknown, so there was no estimate to compare with.
    case unpriced
}

/// One explained part of a job's variance.
public struct VarianceComponent: Sendable, Equatable {
    /// The cause.
    public let cause: VarianceCause
    /// How much of the variance it explains, in the comparison currency (nil when unmeasurable).
    public let amount: Money?
    /// A plain sentence with the facts.
    public let detail: String
}

/// One job's estimate against its bill, the variance broken down by cause.
public struct JobReconciliation: Sendable, Equatable {
    /// The job's id.
    public let id: String
    /// Its status.
    public let status: ReportJob.Status
    /// The offer it ended on.
    public let offer: OfferRef?
    /// The router's estimate, in the offer's currency.
    public let estimate: Money?
    /// The bill (nil when unknown).
    public let actual: Money?
    /// Actual minus estimate, in the comparison currency (the shared currency, else USD); nil
    /// when either is unknown.
    public let variance: Money?
    /// The explained parts.
    public let components: [VarianceComponent]
    /// What no cause explains (nil when the variance is unknown).
    public let unexplained: Money?
    /// Whether ``unexplained`` exceeds the tolerance.
    public let aboveTolerance: Bool
    /// The day (`YYYY-MM-DD`, report zone) the job was decided.
    public let date: String
}

/// A provider billing at another rate than its pricing table says, over several jobs.
public struct PriceChange: Sendable, Equatable, CustomStringConvertible {
    /// The pricing file that states the table price (`pricing/dashscope-intl.json`).
    public let file: String
    /// The offer.
    public let offer: String
    /// The table's price per second.
    public let tablePrice: Money
    /// The rate the bills imply per second.
    public let impliedPrice: Money
    /// Jobs billed at the implied rate.
    public let jobs: Int
    /// The first day one was.
    public let since: String

    /// `pricing/dashscope-intl.json says USD 0.12/s; 14 jobs since 2026-12-03 billed USD 0.13/s`.
    public var description: String {
        "\(file) says \(tablePrice)/s; \(jobs) job\(jobs == 1 ? "" : "s") since \(since) billed \(impliedPrice)/s (\(offer))"
    }
}

/// A month's reconciliation: every job's estimate against its bill.
public struct Reconciliation: Sendable, Equatable {
    /// The month.
    public let period: ReportPeriod
    /// The largest unexplained difference per job accepted, in USD.
    public let tolerance: Money
    /// Jobs whose bill differs from the estimate or is unknown, by date then id.
    public let jobs: [JobReconciliation]
    /// Jobs reconciled (refused jobs excluded).
    public let checked: Int
    /// Jobs billed exactly as estimated.
    public let exact: Int
    /// Price changes seen, by file and offer.
    public let priceChanges: [PriceChange]

    /// Jobs with unexplained differences above the tolerance: the command exits 1 when any.
    public var unexplained: [JobReconciliation] { jobs.filter(\.aboveTolerance) }
    /// Jobs of unknown outcome.
    public var unknown: [JobReconciliation] { jobs.filter { $0.actual == nil && $0.status != .refused } }
}

/// Compares each job's estimate with its bill and explains the difference.
///
/// The breakdown walks from the estimate to the bill: failover (earlier attempts' bills and the
/// final offer's own estimate), a free failure, the provider's reported quantity under the billing
/// rule (rounding, minimum or cap, or a different quantity), then the rate the bill implies
/// against the table (a price change, once ``priceChangeEvidence`` jobs of one offer show the
/// same new rate), then currency. What is left is unexplained.
public struct Reconciler {
    let period: ReportPeriod
    let catalog: PriceCatalog
    let tolerance: Money
    let pricingDirectory: String
    var results: [JobReconciliation] = []
    var checked = 0
    var exact = 0
    var changes: [String: (change: PriceChange, first: String)] = [:]
    /// Per result holding a price-change component: its key, so a rate seen only once can be
    /// taken back at the end.
    var priceKeys: [Int: String] = [:]

    /// The fewest jobs billed at one new rate before the rate counts as a price change; a single
    /// job at an odd rate stays unexplained.
    public static let priceChangeEvidence = 2

    /// A reconciler for a month against the catalog in force; `tolerance` in USD;
    /// `pricingDirectory` names where the tables came from in sentences.
    public init(period: ReportPeriod, catalog: PriceCatalog, tolerance: Money = .zero(.usd), pricingDirectory: String = "pricing") {
        self.period = period
        self.catalog = catalog
        self.tolerance = tolerance
        self.pricingDirectory = pricingDirectory
    }

    /// Reconciles one job (skipped when outside the month or refused).
    public mutating func add(_ job: ReportJob) {
        guard period.contains(job.decidedAt), job.status != .refused else { return }
        checked += 1
        let date = period.dayLabel(job.decidedAt)
        guard let actual = job.actualCost else {
            results.append(JobReconciliation(id: job.id, status: job.status, offer: job.offer, estimate: job.estimatedCost, actual: nil, variance: nil,
                                             components: [VarianceComponent(cause: .unknownOutcome, amount: nil, detail: unknownDetail(job))],
                                             unexplained: nil, aboveTolerance: false, date: date))
            return
        }
        guard let estimate = job.estimatedCost else {
            results.append(JobReconciliation(id: job.id, status: job.status, offer: job.offer, estimate: nil, actual: actual, variance: nil,
                                             components: [VarianceComponent(cause: .unpriced, amount: nil, detail: "no estimate: the offer's price is unknown; billed \(actual)")],
                                             unexplained: nil, aboveTolerance: false, date: date))
            return
        }
        let compare = estimate.currency == actual.currency ? estimate.currency : .usd
        func conv(_ m: Money?) -> Int64? {
            guard let m else { return nil }
            return m.currency == compare ? m.nanos : catalog.exchangeRates.usd(m)?.nanos
        }
        guard let a = conv(actual), let e = conv(estimate) else {
            results.append(JobReconciliation(id: job.id, status: job.status, offer: job.offer, estimate: estimate, actual: actual, variance: nil,
                                             components: [VarianceComponent(cause: .currencyConversion, amount: nil, detail: "no exchange rate to compare \(estimate.currency) with \(actual.currency)")],
                                             unexplained: nil, aboveTolerance: false, date: date))
            return
        }
        let variance = a - e
        if variance == 0 {
            exact += 1
            return
        }
        var parts: [VarianceComponent] = []
        func money(_ n: Int64) -> Money { Money(nanos: n, currency: compare) }
        var expected = e
        var finalActual = a
        let offer = job.offer

        // 1. Failover: what earlier attempts billed, and the final offer's own estimate.
        if !job.failedOver.isEmpty, let offer {
            var earlier: Int64 = 0
            for attempt in job.failedOver { earlier += conv(attempt.cost) ?? 0 }
            let finalEstimate = estimateNanos(offer, job).flatMap { conv($0) }
            let from = job.failedOver.map { "\($0.offer)" + ($0.failure.map { " (\($0.rawValue))" } ?? "") }.joined(separator: ", ")
            if let finalEstimate {
                let amount = earlier + finalEstimate - expected
                parts.append(VarianceComponent(cause: .failover, amount: money(amount),
                                               detail: "failed over from \(from) to \(offer); earlier attempts billed \(money(earlier)); \(offer) estimates \(money(finalEstimate))"))
                expected = finalEstimate
                finalActual = a - earlier
            } else {
                parts.append(VarianceComponent(cause: .failover, amount: money(variance), detail: "failed over from \(from) to \(offer), whose price is unknown"))
                expected = a
            }
        }

        // 2. A failure documented free.
        if job.status == .failed, finalActual == 0, expected != 0 {
            parts.append(VarianceComponent(cause: .freeFailure, amount: money(-expected),
                                           detail: job.actualCostSource == .noTask ? "no task was created, so nothing billed" : "the task failed and \(offer?.provider.rawValue ?? "the provider") documents failed tasks as free"))
            expected = 0
        }

        // 3. The provider's own quantity under the billing rule.
        if expected != 0, let offer, let reported = job.reportedSeconds, let p = catalog.provider(offer.provider),
           let row = catalogOffer(offer, job), let unitPrice = row.pricePerUnit {
            let rule = p.billing
            if let ru = rule.billableUnits(for: reported), let eu = rule.billableUnits(for: job.request.duration), ru != eu,
               let cost = Optional(unitPrice.nanos * ru + (rule.flatFee?.nanos ?? 0)), let c = conv(Money(nanos: cost, currency: unitPrice.currency)) {
                let raw = { (s: Seconds) in BillingRule.divide(s.micros * rule.unitDivisor, by: rule.unitMicros, rounding: rule.rounding) }
                let clamped = raw(reported) != ru || raw(job.request.duration) != eu
                let unit = rule.seconds(forUnits: 1)
                let cause: VarianceCause = clamped ? .minimumOrCap : (abs(reported.micros - job.request.duration.micros) < unit.micros ? .rounding : .quantity)
                let detail: String
                switch cause {
                case .minimumOrCap: detail = "\(offer.provider) billed \(rule.seconds(forUnits: ru)) for \(reported) reported (reference \(job.request.duration)) under its minimum or cap"
                case .rounding: detail = "\(offer.provider) reported \(reported) against a \(job.request.duration) reference: \(rule.seconds(forUnits: ru)) billed after rounding, \(rule.seconds(forUnits: eu)) estimated"
                default: detail = "\(offer.provider) billed \(reported) of output; the probe read \(job.request.duration) of reference"
                }
                parts.append(VarianceComponent(cause: cause, amount: money(c - expected), detail: detail))
                expected = c
            }
        }

        // 4. The rate the bill implies, against the table.
        let residual = finalActual - expected
        if residual != 0, let offer, let billed = job.billedSeconds, billed.micros > 0, let row = catalogOffer(offer, job),
           let table = row.pricePerSecond, actual.currency == table.currency, job.failedOver.isEmpty || compare == table.currency {
            let flat = catalog.provider(offer.provider)?.billing.flatFee?.nanos ?? 0
            let nativeFinal = actual.nanos - job.failedOver.reduce(0) { $0 + ($1.cost?.currency == actual.currency ? $1.cost!.nanos : 0) }
            let implied = Self.perSecond(nativeFinal - flat, billed)
            if implied != table.nanos {
                let impliedMoney = Money(nanos: implied, currency: table.currency)
                priceKeys[results.count] = "\(offer.provider.rawValue)|\(job.request.behavior.rawValue)|\(offer.mode.rawValue)|\(offer.resolution.rawValue)|\(table.nanos)|\(implied)|\(table.currency)"
                parts.append(VarianceComponent(cause: .priceChange, amount: money(residual),
                                               detail: "\(pricingDirectory)/\(offer.provider.rawValue).json says \(table)/s; billed \(impliedMoney)/s for \(billed)"))
                let key = "\(offer.provider.rawValue)|\(job.request.behavior.rawValue)|\(offer.mode.rawValue)|\(offer.resolution.rawValue)|\(table.nanos)|\(implied)|\(table.currency)"
                let name = "\(offer.provider.rawValue) \(job.request.behavior.rawValue) \(offer.mode.rawValue) \(offer.resolution.rawValue)"
                if let old = changes[key] {
                    changes[key] = (PriceChange(file: old.change.file, offer: name, tablePrice: table, impliedPrice: impliedMoney, jobs: old.change.jobs + 1, since: min(old.first, date)), min(old.first, date))
                } else {
                    changes[key] = (PriceChange(file: "\(pricingDirectory)/\(offer.provider.rawValue).json", offer: name, tablePrice: table, impliedPrice: impliedMoney, jobs: 1, since: date), date)
                }
                expected = finalActual
            }
        }

        // 5. Currency: estimate and bill in different currencies, compared in USD.
        if finalActual != expected, estimate.currency != actual.currency {
            parts.append(VarianceComponent(cause: .currencyConversion, amount: money(finalActual - expected),
                                           detail: "estimated in \(estimate.currency), billed in \(actual.currency); compared in USD at the table's rates"))
            expected = finalActual
        }

        let explained = parts.reduce(Int64(0)) { $0 + ($1.amount?.nanos ?? 0) }
        let unexplained = variance - explained
        let unexplainedUSD = compare == .usd ? unexplained : (catalog.exchangeRates.usd(money(unexplained))?.nanos ?? unexplained)
        results.append(JobReconciliation(id: job.id, status: job.status, offer: offer, estimate: estimate, actual: actual, variance: money(variance),
                                         components: parts, unexplained: money(unexplained),
                                         aboveTolerance: abs(unexplainedUSD) > tolerance.nanos, date: date))
    }

    /// The reconciliation of every job added.
    public func finish() -> Reconciliation {
        var results = self.results
        for (i, key) in priceKeys where (changes[key]?.change.jobs ?? 0) < Self.priceChangeEvidence {
            let r = results[i]
            let taken = r.components.filter { $0.cause == .priceChange }.reduce(Int64(0)) { $0 + ($1.amount?.nanos ?? 0) }
            let left = (r.unexplained?.nanos ?? 0) + taken
            let currency = r.unexplained?.currency ?? .usd
            let usd = currency == .usd ? left : (catalog.exchangeRates.usd(Money(nanos: left, currency: currency))?.nanos ?? left)
            results[i] = JobReconciliation(id: r.id, status: r.status, offer: r.offer, estimate: r.estimate, actual: r.actual, variance: r.variance,
                                           components: r.components.filter { $0.cause != .priceChange },
                                           unexplained: Money(nanos: left, currency: currency), aboveTolerance: abs(usd) > tolerance.nanos, date: r.date)
        }
        let jobs = results.sorted { ($0.date, $0.id) < ($1.date, $1.id) }
        let price = changes.values.map(\.change).filter { $0.jobs >= Self.priceChangeEvidence }.sorted { ($0.file, $0.offer, $0.impliedPrice.nanos) < ($1.file, $1.offer, $1.impliedPrice.nanos) }
        return Reconciliation(period: period, tolerance: tolerance, jobs: jobs, checked: checked, exact: exact, priceChanges: price)
    }

    private func unknownDetail(_ job: ReportJob) -> String {
        let place = job.offer.map { "on \($0)" } ?? ""
        let task = job.taskID.map { "task \($0)" } ?? "no task id known"
        switch job.status {
        case .needsAttention: return "outcome unknown \(place) (\(task)): a task may exist and bill; resolve it at the provider"
        case .unfinished: return "not finished \(place) (\(task)): the bill is not known yet"
        default: return "what \(place) billed is not known (\(task))"
        }
    }

    private func catalogOffer(_ offer: OfferRef, _ job: ReportJob) -> Offer? {
        catalog.offers.first { $0.provider == offer.provider && $0.behavior == job.request.behavior && $0.mode == offer.mode && $0.resolution == offer.resolution }
    }

    private func estimateNanos(_ offer: OfferRef, _ job: ReportJob) -> Money? {
        guard let i = catalog.offers.firstIndex(where: { $0.provider == offer.provider && $0.behavior == job.request.behavior && $0.mode == offer.mode && $0.resolution == offer.resolution }) else { return nil }
        return catalog.estimate(offerAt: i, for: job.request).cost
    }

    /// `nanos` over `seconds` as nano-units per second, to the nearest nano-unit (halves up).
    static func perSecond(_ nanos: Int64, _ seconds: Seconds) -> Int64 {
        let (high, low) = nanos.magnitude.multipliedFullWidth(by: 1_000_000)
        let d = UInt64(seconds.micros)
        guard high < d else { return .max }
        let (q, r) = d.dividingFullWidth((high, low))
        let v = Int64(clamping: q + (r * 2 >= d ? 1 : 0))
        return nanos < 0 ? -v : v
    }
}
