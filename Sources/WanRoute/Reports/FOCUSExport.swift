import Foundation

/// Writes a FinOps FOCUS 1.2 cost-and-usage CSV: one row per billed task.
///
/// Every mandatory column is present; nulls are empty fields, never placeholders. A task whose
/// cost is unknown (it may have billed; nobody reported how much) keeps its cost columns empty and
/// says so in `x_CostStatus` = `unknown`: it is never written as 0. A task known to be free (a
/// failure the provider documents as free, a submission that created no task) bills nothing and
/// has no row. ListCost and ContractedCost are the unit prices times the seconds billed (so a bill
/// above the table shows against them), BilledCost where no unit price is known; BillingAccountId
/// is the provider id (wanroute bills each provider through one account whose id it never sees,
/// and the column may not be null). Instants are UTC `YYYY-MM-DDTHH:mm:ssZ`, periods start inclusive and end exclusive;
/// the billing period is the report's month in its time zone.
public struct FOCUSExport: Sendable {
    /// The month exported.
    public let period: ReportPeriod
    let catalog: PriceCatalog
    /// The index of the first catalog offer of each behaviour, mode, resolution and provider.
    let offerIndex: [OfferKey: Int]
    /// The billing period's bounds as written.
    let billingPeriodStart: String, billingPeriodEnd: String

    struct OfferKey: Hashable {
        var behavior: Behavior
        var offer: OfferRef
    }

    /// An exporter for a month, with the catalog that names providers and prices offers.
    public init(period: ReportPeriod, catalog: PriceCatalog) {
        self.period = period
        self.catalog = catalog
        var index: [OfferKey: Int] = [:]
        for (i, o) in catalog.offers.enumerated() {
            let key = OfferKey(behavior: o.behavior, offer: OfferRef(provider: o.provider, mode: o.mode, resolution: o.resolution))
            if index[key] == nil { index[key] = i }
        }
        offerIndex = index
        billingPeriodStart = UTCTimestamp.string(epochSeconds: period.boundaries[0])
        billingPeriodEnd = UTCTimestamp.string(epochSeconds: period.boundaries[period.boundaries.count - 1])
    }

    /// The columns, in order: FOCUS 1.2 columns, then wanroute's own (`x_`).
    public static let columns = [
        "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
        "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart",
        "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountQuantity",
        "CommitmentDiscountStatus", "CommitmentDiscountType", "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName",
        "ListCost", "ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
        "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName",
        "ServiceSubcategory", "SkuId", "SkuPriceId", "SubAccountId", "SubAccountName", "Tags",
        "x_JobId", "x_Policy", "x_Behavior", "x_Mode", "x_Resolution", "x_JobStatus", "x_AttemptOutcome",
        "x_CostStatus", "x_CostSource", "x_EstimatedCost", "x_ReferenceSeconds", "x_PriceConfidence",
    ]

    /// Where a provider serves from, when it says (DashScope's two regions are two accounts).
    static let regions: [String: (id: String, name: String)] = [
        "dashscope-intl": ("ap-southeast-1", "Singapore"),
        "dashscope-cn": ("cn-beijing", "China (Beijing)"),
    ]

    /// The header line.
    public var header: String { CSV.line(Self.columns) }

    /// The rows of one job's billed tasks (none when it is outside the month or billed nothing).
    public func rows(for job: ReportJob) -> String {
        guard period.contains(job.decidedAt) else { return "" }
        var out = ""
        var earlierKnown: Int64 = 0
        var earlierAllKnown = true
        for a in job.failedOver {
            // A free attempt is known whatever its currency (a CNY offer that created no task, before a USD one).
            if let c = a.cost, c.nanos == 0 || c.currency == job.actualCost?.currency { earlierKnown = earlierKnown &+ c.nanos } else { earlierAllKnown = false }
            guard let task = a.taskID else { continue }
            if let c = a.cost, c.nanos == 0 { continue }
            out += row(job, offer: a.offer, taskID: task, cost: a.cost, source: a.costSource, outcome: "failed-over" + (a.failure.map { " (\($0.rawValue))" } ?? ""),
                       estimate: nil, quantity: nil, start: a.submittedAt ?? job.decidedAt, end: a.finishedAt)
        }
        guard let offer = job.offer, let task = job.taskID else { return out }
        var cost: Money?
        if let total = job.actualCost, earlierAllKnown {
            cost = Money(nanos: total.nanos &- earlierKnown, currency: total.currency)
        }
        if let c = cost, c.nanos == 0 { return out }
        out += row(job, offer: offer, taskID: task, cost: cost, source: job.actualCostSource, outcome: job.status.rawValue,
                   estimate: job.failedOver.isEmpty ? job.estimatedCost : nil, quantity: job.billedSeconds,
                   start: job.submittedAt ?? job.decidedAt, end: job.finishedAt)
        return out
    }

    private func row(_ job: ReportJob, offer: OfferRef, taskID: String, cost: Money?, source: JobReport.CostSource?, outcome: String,
                     estimate: Money?, quantity: Seconds?, start: Date, end: Date?) -> String {
        let provider = catalog.provider(offer.provider)
        let catalogOffer = offerIndex[OfferKey(behavior: job.request.behavior, offer: offer)].map { catalog.offers[$0] }
        let name = provider?.displayName ?? offer.provider.rawValue
        let periodStart = period.boundaries[0], periodEnd = period.boundaries[period.boundaries.count - 1]
        let s = min(max(Int64(start.timeIntervalSince1970.rounded(.down)), periodStart), periodEnd - 1)
        var e = end.map { Int64($0.timeIntervalSince1970.rounded(.up)) } ?? s + 1
        e = min(max(e, s + 1), periodEnd)
        // The table's price per second, where it is in the currency billed.
        let tablePrice = catalogOffer?.pricePerSecond.flatMap { p in cost.map { $0.currency == p.currency } ?? true ? p : nil }
        let seconds = quantity
        // Unit prices (and SkuPriceId) only beside a known pricing quantity: FOCUS ties each cost to
        // its unit price times PricingQuantity. The contracted price is the catalog's (a contract's
        // where one is laid over the tables, else the table's: no negotiated terms); the list price
        // is the table's, unknown under a contract (the catalog keeps only the contract's).
        let contractedPrice = seconds == nil ? nil : tablePrice
        let listPrice = catalogOffer?.source.confidence == .contract ? nil : contractedPrice
        // ListCost is the list price times the quantity (not what was billed: a provider billing
        // above its table shows here); without a list price it is BilledCost, as FOCUS requires.
        // ContractedCost likewise, defaulting to ListCost.
        let listCost = listPrice.flatMap { Self.product($0, seconds!) } ?? cost
        let contractedCost = contractedPrice.flatMap { Self.product($0, seconds!) } ?? listCost
        let price = contractedPrice
        let amount = cost?.decimalString ?? ""
        let currency = cost?.currency.code ?? catalogOffer?.pricePerSecond?.currency.code ?? estimate?.currency.code ?? "USD"
        let consumed = job.reportedSeconds ?? job.request.duration
        let sku = "\(offer.provider.rawValue)/\(job.request.behavior.rawValue)/\(offer.mode.rawValue)/\(offer.resolution.rawValue)"
        var description = "Wan 2.2 Animate \(job.request.behavior.rawValue), \(offer.mode.rawValue), \(offer.resolution.rawValue) on \(name)"
        if let seconds { description += ", \(seconds.decimalString) s" }
        if let tablePrice { description += " at \(tablePrice.currency) \(tablePrice.decimalString)/s" }
        let region = Self.regions[offer.provider.rawValue] ?? (id: "", name: "")
        let tags = JSONWriter.compact(.object(job.request.tags.sorted { $0.key < $1.key }.map { JSONMember($0.key, .string($0.value)) }))
        let fields: [String] = [
            amount, offer.provider.rawValue, name, currency,
            billingPeriodEnd, billingPeriodStart,
            "Usage", "", description, "Usage-Based",
            UTCTimestamp.string(epochSeconds: e), UTCTimestamp.string(epochSeconds: s),
            "", "", "", "", "", "", "",
            consumed.decimalString, "Seconds", contractedCost?.decimalString ?? "", contractedPrice?.decimalString ?? "", amount, name,
            listCost?.decimalString ?? "", listPrice?.decimalString ?? "", "Standard", seconds?.decimalString ?? "", seconds == nil ? "" : "Seconds", name, "Alibaba",
            region.id, region.name, taskID, job.id, "Video generation task", "AI and Machine Learning", "Wan 2.2 Animate", "Generative AI", sku,
            price.map { "\(sku)@\($0.decimalString)" } ?? "", "", "", tags,
            job.id, job.policy, job.request.behavior.rawValue, offer.mode.rawValue, offer.resolution.rawValue, job.status.rawValue, outcome,
            cost == nil ? "unknown" : "known", source?.rawValue ?? "", estimate.map { "\($0.currency.code) \($0.decimalString)" } ?? "",
            job.request.duration.decimalString, catalogOffer?.source.confidence.rawValue ?? "",
        ]
        return CSV.line(fields)
    }

    /// A price per second times seconds, to the nano-unit (halves away from zero); nil when it
    /// does not fit.
    static func product(_ price: Money, _ seconds: Seconds) -> Money? {
        let (p, overflow) = price.nanos.multipliedReportingOverflow(by: seconds.micros)
        guard !overflow else { return nil }
        let (q, r) = p.quotientAndRemainder(dividingBy: 1_000_000)
        let up = r.magnitude >= 500_000 ? (p < 0 ? -1 : 1) : 0
        return Money(nanos: q + Int64(up), currency: price.currency)
    }
}
