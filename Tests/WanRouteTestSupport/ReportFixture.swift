import Foundation
import WanRoute

/// The committed fixture month for report, reconcile, FOCUS and what-if tests: December 2026
/// under `Tests/Fixtures/reports/studio.json`, with every provider with an adapter, two
/// currencies, tags, failures, unknown costs, a failover, a price change and jobs on both sides of
/// the month's boundary in Asia/Shanghai (UTC+8).
///
/// Each job is routed by the real router, as the executor records it (the choice and its estimate);
/// the outcome (what was billed) is stated per job.
public enum ReportFixture {
    /// The built-in price tables.
    public static let catalog = try! PriceCatalog.builtIn()
    /// `Tests/Fixtures/reports/studio.json`.
    public static let policy = try! Policy.load(contentsOf: Repository.fixtures.appendingPathComponent("reports/studio.json"), catalog: catalog)
    /// The fixture policy compiled against the built-in tables.
    public static let router = try! Router(policy: policy, catalog: catalog)
    /// The report's time zone (UTC+8, no clock changes).
    public static let zone = "Asia/Shanghai"
    /// December 2026 in ``zone``.
    public static let period = try! ReportPeriod(month: "2026-12", timeZone: zone)
    /// When budgets are projected from.
    public static let asOf = instant("2026-12-20T12:00:00Z")
    /// What the ledger's budget book would hold on `asOf`.
    public static let spend = SpendSnapshot(
        spent: [.tag("project", "alpha"): usd("3.10"), .tag("customer", "film"): usd("12.25"), .tag("customer", "acme"): usd("4.10"), .provider(ProviderID("dashscope-intl")!): usd("6.90")],
        reserved: [.tag("project", "alpha"): usd("0.40"), .tag("customer", "film"): usd("0.80")])

    /// How a fixture job ended.
    public enum Outcome: Sendable {
        /// Billed exactly the estimate (the billing rule, or a provider report equal to it).
        case asEstimated
        /// The provider reported this many output seconds, priced at the table's rate.
        case reported(String)
        /// The provider reported these seconds and billed this total (a price the table does not know).
        case billed(seconds: String, total: String)
        /// The task failed; the provider documents failures free.
        case freeFailure
        /// No answer to the submission: a task may exist.
        case unknown
        /// Still running at the deadline.
        case unfinished
        /// The first choice was rate limited with no task created; the job moved to the next alternate,
        /// which billed as estimated (in the fixture: DashScope China in CNY, then APIXO in USD).
        case failedOver
        /// Billed this USD amount by the provider's own report (AI/ML API credits).
        case reportedUSD(String)
    }

    /// One job of the fixture: when, what, and how it ended.
    public struct Spec: Sendable {
        var id: String
        var decided: String
        var behavior: Behavior = .animate
        var duration: String
        var resolution: Resolution? = nil
        var tags: [String: String] = [:]
        var outcome: Outcome = .asEstimated
        var renderSeconds: Int = 300
        var retries: Int = 0
    }

    /// Each job of the fixture, as written.
    public static let specs: [Spec] = [
        // 20:00 UTC on 30 November is 04:00 on 1 December in Shanghai: in this month.
        Spec(id: "j01-boundary-in", decided: "2026-11-30T20:00:00Z", duration: "12", resolution: .p480, tags: ["customer": "film", "project": "alpha"]),
        // 15:59 UTC on 30 November is 23:59 on 30 November in Shanghai: the month before.
        Spec(id: "j00-boundary-out", decided: "2026-11-30T15:59:00Z", duration: "8", resolution: .p480, tags: ["customer": "film"]),
        Spec(id: "j02-apixo-min", decided: "2026-12-01T02:10:00Z", duration: "3", resolution: .p480, tags: ["customer": "acme"], renderSeconds: 180),
        Spec(id: "j03-apixo-replace", decided: "2026-12-02T09:00:00Z", behavior: .replace, duration: "45", resolution: .p720, tags: ["customer": "film", "project": "beta"], renderSeconds: 900, retries: 2),
        Spec(id: "j04-intl-exact", decided: "2026-12-02T11:30:00Z", duration: "5.2", tags: ["route": "intl", "customer": "acme"], outcome: .reported("5.2"), renderSeconds: 160),
        Spec(id: "j05-intl-rounding", decided: "2026-12-03T01:00:00Z", duration: "5.16", tags: ["route": "intl"], outcome: .reported("5.1"), renderSeconds: 150),
        Spec(id: "j06-intl-longer", decided: "2026-12-03T04:00:00Z", duration: "10", tags: ["route": "intl", "customer": "film"], outcome: .reported("12.3"), renderSeconds: 380),
        Spec(id: "j07-intl-price", decided: "2026-12-03T08:00:00Z", duration: "5", tags: ["route": "intl"], outcome: .billed(seconds: "5", total: "0.65"), renderSeconds: 170),
        Spec(id: "j08-intl-price", decided: "2026-12-04T08:00:00Z", duration: "10", tags: ["route": "intl", "customer": "acme"], outcome: .billed(seconds: "10", total: "1.30"), renderSeconds: 300),
        Spec(id: "j09-intl-free-failure", decided: "2026-12-05T10:00:00Z", duration: "6", tags: ["route": "intl"], outcome: .freeFailure, renderSeconds: 90),
        Spec(id: "j10-cn-pro", decided: "2026-12-06T03:00:00Z", behavior: .replace, duration: "12", tags: ["route": "cn", "customer": "film"], outcome: .reported("12"), renderSeconds: 420),
        Spec(id: "j11-cn-std", decided: "2026-12-07T05:00:00Z", duration: "20", tags: ["route": "cn"], outcome: .reported("20.1"), renderSeconds: 610),
        Spec(id: "j12-aimlapi", decided: "2026-12-08T06:00:00Z", duration: "9", resolution: .p580, tags: ["route": "aimlapi", "project": "gamma"], outcome: .reportedUSD("0.45"), renderSeconds: 240),
        Spec(id: "j13-modellix-unknown", decided: "2026-12-09T07:00:00Z", duration: "7", tags: ["route": "modellix"], outcome: .unknown),
        Spec(id: "j14-apixo-attention", decided: "2026-12-10T12:00:00Z", duration: "15", resolution: .p480, tags: ["customer": "film"], outcome: .unknown),
        Spec(id: "j15-failover", decided: "2026-12-12T12:00:00Z", duration: "6", resolution: .p720, tags: ["project": "alpha", "customer": "acme"], outcome: .failedOver, renderSeconds: 200),
        Spec(id: "j16-unfinished", decided: "2026-12-14T22:00:00Z", duration: "25", tags: ["route": "cn", "customer": "acme"], outcome: .unfinished),
        Spec(id: "j17-refused", decided: "2026-12-15T09:00:00Z", duration: "45", tags: ["route": "intl"]),
        Spec(id: "j18-apixo-cap", decided: "2026-12-18T09:00:00Z", duration: "150", resolution: .p480, tags: ["customer": "film", "project": "beta"], renderSeconds: 2400),
        Spec(id: "j19-late", decided: "2026-12-19T23:30:00Z", duration: "10", resolution: .p480, renderSeconds: 260),
        // 16:30 UTC on 31 December is 00:30 on 1 January in Shanghai: the month after.
        Spec(id: "j20-boundary-next", decided: "2026-12-31T16:30:00Z", duration: "10", resolution: .p480),
    ]

    /// An amount in USD from decimal text.
    public static func usd(_ s: String) -> Money { Money(decimal: s, currency: .usd)! }

    /// An instant from RFC 3339 text.
    public static func instant(_ iso: String) -> Date {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: iso)!
    }

    /// The offer a ranked offer refers to.
    public static func ref(_ r: RankedOffer) -> OfferRef { OfferRef(provider: r.offer.provider, mode: r.offer.mode, resolution: r.offer.resolution) }

    /// The jobs, in the order they were decided.
    public static let jobs: [ReportJob] = specs.map(job).sorted { $0.decidedAt < $1.decidedAt }

    /// One spec routed and resolved into a job's facts.
    public static func job(_ s: Spec) -> ReportJob {
        let request = Job(behavior: s.behavior, duration: Seconds(decimal: s.duration)!, resolution: s.resolution, tags: s.tags)
        let decision = router.decide(request)
        let decided = instant(s.decided)
        guard let choice = decision.choice else {
            return ReportJob(id: s.id, status: .refused, policy: policy.name, request: request, offer: nil, estimatedCost: nil, actualCost: nil, decidedAt: decided)
        }
        let submitted = decided.addingTimeInterval(1)
        let finished = submitted.addingTimeInterval(TimeInterval(s.renderSeconds))
        let rule = catalog.provider(choice.offer.provider)!.billing
        var job = ReportJob(id: s.id, status: .succeeded, policy: policy.name, request: request, offer: ref(choice),
                            taskID: "task-\(s.id)", estimatedCost: choice.estimate.cost, estimatedUSD: choice.estimate.usd, billedSeconds: choice.estimate.billableSeconds,
                            actualCost: choice.estimate.cost, actualCostSource: .billingRule, retries: s.retries,
                            decidedAt: decided, submittedAt: submitted, finishedAt: finished)
        func priced(_ seconds: Seconds) -> Money {
            let units = rule.billableUnits(for: seconds)!
            return Money(nanos: choice.offer.pricePerUnit!.nanos * units, currency: choice.offer.pricePerUnit!.currency)
        }
        switch s.outcome {
        case .asEstimated:
            if rule.basis == .outputSeconds { job.reportedSeconds = request.duration; job.actualCostSource = .providerReported }
        case .reported(let text):
            let seconds = Seconds(decimal: text)!
            job.reportedSeconds = seconds
            job.billedSeconds = rule.seconds(forUnits: rule.billableUnits(for: seconds)!)
            job.actualCost = priced(seconds)
            job.actualCostSource = .providerReported
        case .billed(let text, let total):
            job.reportedSeconds = Seconds(decimal: text)!
            job.billedSeconds = job.reportedSeconds
            job.actualCost = Money(decimal: total, currency: choice.offer.pricePerUnit!.currency)!
            job.actualCostSource = .providerReported
        case .freeFailure:
            job.status = .failed
            job.actualCost = .zero(choice.estimate.cost!.currency)
            job.actualCostSource = .failedTaskFree
            job.billedSeconds = nil
        case .unknown:
            job.status = .needsAttention
            job.taskID = nil
            job.actualCost = nil
            job.actualCostSource = nil
            job.billedSeconds = nil
            job.finishedAt = nil
        case .unfinished:
            job.status = .unfinished
            job.actualCost = nil
            job.actualCostSource = nil
            job.billedSeconds = nil
            job.finishedAt = nil
        case .failedOver:
            let next = decision.alternates[0]
            job.failedOver = [ReportAttempt(offer: ref(choice), taskID: nil, cost: .zero(choice.estimate.cost!.currency), costSource: .noTask,
                                            failure: .rateLimited, submittedAt: submitted, finishedAt: submitted.addingTimeInterval(30))]
            job.offer = ref(next)
            job.submittedAt = submitted.addingTimeInterval(31)
            job.billedSeconds = next.estimate.billableSeconds
            job.actualCost = next.estimate.cost
            job.reportedSeconds = catalog.provider(next.offer.provider)!.billing.basis == .outputSeconds ? request.duration : nil
            job.actualCostSource = job.reportedSeconds == nil ? .billingRule : .providerReported
        case .reportedUSD(let amount):
            job.actualCost = usd(amount)
            job.actualCostSource = .providerReported
            job.billedSeconds = nil
        }
        return job
    }
}
