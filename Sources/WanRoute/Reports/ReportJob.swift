import Foundation

/// One offer a job was routed to or tried: provider, mode and resolution.
public struct OfferRef: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The provider selling the offer.
    public var provider: ProviderID
    /// The offer's mode.
    public var mode: Mode
    /// The offer's output resolution.
    public var resolution: Resolution

    /// Creates a reference to an offer.
    public init(provider: ProviderID, mode: Mode, resolution: Resolution) {
        self.provider = provider
        self.mode = mode
        self.resolution = resolution
    }

    /// `apixo standard 480p`.
    public var description: String { "\(provider) \(mode.rawValue) \(resolution.rawValue)" }

    /// Orders by provider, mode, then resolution.
    public static func < (a: OfferRef, b: OfferRef) -> Bool {
        (a.provider.rawValue, a.mode.rawValue, a.resolution.shortSide) < (b.provider.rawValue, b.mode.rawValue, b.resolution.shortSide)
    }
}

/// An earlier attempt of a job on another offer, before it failed over to the next one.
public struct ReportAttempt: Sendable, Equatable {
    /// The offer tried.
    public var offer: OfferRef
    /// The provider's task id, or nil when no task was created.
    public var taskID: String?
    /// What the attempt cost: zero when no task was created or a failed task is documented free;
    /// nil when a task may have billed and nobody says how much (never zero instead).
    public var cost: Money?
    /// Where ``cost`` came from.
    public var costSource: JobReport.CostSource?
    /// Why the job moved on.
    public var failure: FailureClass?
    /// When the attempt's first submission left, if it did.
    public var submittedAt: Date?
    /// When the attempt ended.
    public var finishedAt: Date?

    /// Creates an attempt.
    public init(offer: OfferRef, taskID: String? = nil, cost: Money?, costSource: JobReport.CostSource? = nil,
                failure: FailureClass? = nil, submittedAt: Date? = nil, finishedAt: Date? = nil) {
        self.offer = offer
        self.taskID = taskID
        self.cost = cost
        self.costSource = costSource
        self.failure = failure
        self.submittedAt = submittedAt
        self.finishedAt = finishedAt
    }
}

/// Everything the monthly report, reconciliation, the FOCUS export and the what-if replay need
/// to know about one job: the plain value a ledger's job fold hands on.
///
/// Build one per job from the ledger (or by hand in tests) and feed them to
/// ``MonthlyReportBuilder``, ``Reconciler`` or ``WhatIfReplay`` one at a time.
public struct ReportJob: Sendable, Equatable {
    /// Where a job stands in the ledger.
    public enum Status: String, Sendable, CaseIterable, Hashable {
        /// The task finished with a result.
        case succeeded
        /// Every allowed attempt failed; nothing is running.
        case failed
        /// A submission's outcome is unknown or polling hit a wall: a task may exist and bill.
        case needsAttention = "needs-attention"
        /// Not ended: still running, or the deadline passed with a task in flight.
        case unfinished
        /// The policy refused the job; nothing was submitted and nothing can have billed.
        case refused
    }

    /// The job's id (the ledger's idempotency key).
    public var id: String
    /// Where the job stands.
    public var status: Status
    /// The name of the policy that routed it.
    public var policy: String
    /// What was asked for: behaviour, reference duration, the resolution and mode asked (nil for
    /// any) and tags. Replays route exactly this.
    public var request: Job
    /// The offer the job ended on (the last one tried); nil when it was refused.
    public var offer: OfferRef?
    /// The provider's task id on that offer, when a task was created.
    public var taskID: String?
    /// The router's estimate for the offer it chose, in that offer's currency; nil when the price
    /// is unknown (or the job was refused).
    public var estimatedCost: Money?
    /// The same estimate in USD as recorded when the job was decided (the ledger's `estimate_usd`,
    /// converted at that day's rate when the offer prices in another currency); nil when the
    /// price is unknown or an older ledger did not record it.
    public var estimatedUSD: Money?
    /// Seconds the provider billed on the final task: its own reported quantity where it reports
    /// one, else its billing rule applied to the reference; nil when unknown.
    public var billedSeconds: Seconds?
    /// The quantity the provider itself reported (DashScope `usage.video_duration`), if any.
    public var reportedSeconds: Seconds?
    /// What the job cost in all (every attempt that was submitted); nil when unknown, never zero
    /// instead. A refused job has nil here and is not counted as unknown: it cannot have billed.
    public var actualCost: Money?
    /// Where ``actualCost`` came from.
    public var actualCostSource: JobReport.CostSource?
    /// Submissions re-sent after retryable errors, across every attempt.
    public var retries: Int
    /// Earlier attempts on other offers, in order (empty when the job never failed over).
    public var failedOver: [ReportAttempt]
    /// When the router decided the job: the instant that places it in a month and a day.
    public var decidedAt: Date
    /// When the final attempt's first submission left, if it did.
    public var submittedAt: Date?
    /// When the job ended, if it has.
    public var finishedAt: Date?

    /// Creates a job's facts.
    public init(id: String, status: Status, policy: String, request: Job, offer: OfferRef?, taskID: String? = nil,
                estimatedCost: Money?, estimatedUSD: Money? = nil, billedSeconds: Seconds? = nil, reportedSeconds: Seconds? = nil,
                actualCost: Money?, actualCostSource: JobReport.CostSource? = nil, retries: Int = 0,
                failedOver: [ReportAttempt] = [], decidedAt: Date, submittedAt: Date? = nil, finishedAt: Date? = nil) {
        self.id = id
        self.status = status
        self.policy = policy
        self.request = request
        self.offer = offer
        self.taskID = taskID
        self.estimatedCost = estimatedCost
        self.estimatedUSD = estimatedUSD
        self.billedSeconds = billedSeconds
        self.reportedSeconds = reportedSeconds
        self.actualCost = actualCost
        self.actualCostSource = actualCostSource
        self.retries = retries
        self.failedOver = failedOver
        self.decidedAt = decidedAt
        self.submittedAt = submittedAt
        self.finishedAt = finishedAt
    }

    /// The offer the router chose first: the first failed-over attempt's, else the final one.
    public var decidedOffer: OfferRef? { failedOver.first?.offer ?? offer }
    /// Whether the job's cost is unknown: something was submitted and nobody knows what it billed.
    public var costIsUnknown: Bool { actualCost == nil && status != .refused }
}
