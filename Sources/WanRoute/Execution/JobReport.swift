/// How one attempt at one offer ended.
public enum AttemptOutcome: String, Sendable, Equatable, CaseIterable {
    /// The task finished with a result.
    case succeeded
    /// The task was created and ended failed (moderation, bad input, provider fault).
    case taskFailed = "task-failed"
    /// Submitting failed definitively; no task exists.
    case submitFailed = "submit-failed"
    /// The submission went out and no answer came: a task may exist and may bill.
    case outcomeUnknown = "outcome-unknown"
    /// The deadline passed while the task was still running at the provider.
    case deadline
    /// The provider answered the poll in a way that needs a person (auth lost, task unknown).
    case pollFailed = "poll-failed"
    /// Polling stopped with the task still at the provider: submissions were stopped (Ctrl-C) or
    /// recording a step failed, so the executor could not go on safely.
    case stopped
    /// Not tried: the provider is cooling down after repeated failures.
    case skippedCoolingDown = "skipped-cooling-down"
    /// Not tried: no API key for this provider in the environment.
    case skippedNoKey = "skipped-no-key"
    /// Not tried: wanroute has no adapter for this provider.
    case skippedNoAdapter = "skipped-no-adapter"
    /// Not tried: the same provider account already failed with an account failure (out of
    /// balance, auth, rate limited) on an earlier offer of this job.
    case skippedSameAccount = "skipped-same-account"
    /// Not tried: an ``ExecutionObserver`` did not admit it (a budget with no room, say).
    case skippedNotAdmitted = "skipped-not-admitted"
}

/// One attempt at one offer, for the job's report.
public struct Attempt: Sendable, Equatable {
    /// The provider of the offer tried.
    public var provider: ProviderID
    /// The offer's mode.
    public var mode: Mode
    /// The offer's output resolution.
    public var resolution: Resolution
    /// The provider's task id, or nil when no task was created.
    public var taskID: String?
    /// How the attempt ended.
    public var outcome: AttemptOutcome
    /// The failure class, when the attempt failed.
    public var failure: FailureClass?
    /// Submissions sent (retries of retryable errors included).
    public var submissions: Int
    /// What this attempt cost: zero when no task was created, the provider's figure or billing
    /// rule for a finished task, zero for a failed task where failures are documented free, and
    /// nil (unknown, never zero instead) when a task may have billed and nobody says how much.
    public var actualCost: Money?
    /// Where ``actualCost`` came from.
    public var actualCostSource: JobReport.CostSource?
    /// A plain sentence: what happened.
    public var detail: String

    /// Creates an attempt record (the executor makes these; the ledger and tests rebuild them).
    public init(provider: ProviderID, mode: Mode, resolution: Resolution, taskID: String? = nil, outcome: AttemptOutcome,
                failure: FailureClass? = nil, submissions: Int = 0, actualCost: Money? = nil,
                actualCostSource: JobReport.CostSource? = nil, detail: String = "") {
        self.provider = provider
        self.mode = mode
        self.resolution = resolution
        self.taskID = taskID
        self.outcome = outcome
        self.failure = failure
        self.submissions = submissions
        self.actualCost = actualCost
        self.actualCostSource = actualCostSource
        self.detail = detail
    }
}

/// How a job ended, and what it cost.
public struct JobReport: Sendable, Equatable {
    /// The end state of a job.
    public enum Status: String, Sendable, Equatable, CaseIterable {
        /// The task finished with a result.
        case succeeded
        /// Every allowed attempt failed; nothing is running and nothing more will bill.
        case failed
        /// The policy refused the job; nothing was submitted.
        case refused
        /// A submission's outcome is unknown or polling hit a wall: a task may exist and bill.
        /// Nothing was re-submitted; the report carries every id known.
        case needsAttention = "needs-attention"
        /// The deadline passed with a task still running at the provider; the task id is kept.
        case unfinished
        /// Submissions were stopped (Ctrl-C, a failed ledger write, a decider that failed) before
        /// this job submitted anything more; no task of it is running.
        case stopped
    }

    /// Where ``actualCost`` came from.
    public enum CostSource: String, Sendable, Equatable, CaseIterable {
        /// The provider reported the billed quantity (DashScope `usage.video_duration`).
        case providerReported = "provider-reported"
        /// The provider reports nothing; the cost follows its documented billing rule.
        case billingRule = "billing-rule"
        /// The task failed and the provider documents failed tasks as free.
        case failedTaskFree = "failed-task-free"
        /// No task was ever created (every submission was refused), so nothing can have billed.
        case noTask = "no-task"
    }

    /// The order's id.
    public var id: String
    /// How the job ended.
    public var status: Status
    /// The offer that produced the result, or the last one tried.
    public var provider: ProviderID?
    /// That offer's mode.
    public var mode: Mode?
    /// That offer's output resolution.
    public var resolution: Resolution?
    /// The provider's task id on that offer, or nil when no task was created.
    public var taskID: String?
    /// Where the generated video can be fetched, when the job succeeded.
    public var resultURL: String?
    /// The router's estimate for the offer used.
    public var estimatedCost: Money?
    /// What the provider billed, when it can be known; nil when unknown (never zero instead).
    public var actualCost: Money?
    /// How ``actualCost`` was found; nil when it is unknown.
    public var actualCostSource: CostSource?
    /// The provider's own billed quantity, when it reported one.
    public var billed: BilledQuantity?
    /// ``estimatedCost`` in US dollars (converted at the catalog's rate when in another currency).
    public var estimatedUSD: Money?
    /// ``actualCost`` in US dollars (converted at the catalog's rate when in another currency).
    public var actualUSD: Money?
    /// A sentence when the actual cost is far from the estimate (see
    /// ``ExecutorOptions/costAlertPercent``); nil when it is close or either is unknown.
    public var costAlert: String?
    /// Every offer tried or skipped, in order.
    public var attempts: [Attempt]
    /// A plain sentence summarising the end state.
    public var message: String

    /// Creates a report (the executor makes these; the ledger and tests rebuild them).
    public init(id: String, status: Status, provider: ProviderID? = nil, mode: Mode? = nil, resolution: Resolution? = nil,
                taskID: String? = nil, resultURL: String? = nil, estimatedCost: Money? = nil, actualCost: Money? = nil,
                actualCostSource: CostSource? = nil, billed: BilledQuantity? = nil, estimatedUSD: Money? = nil, actualUSD: Money? = nil,
                costAlert: String? = nil, attempts: [Attempt] = [], message: String) {
        self.id = id
        self.status = status
        self.provider = provider
        self.mode = mode
        self.resolution = resolution
        self.taskID = taskID
        self.resultURL = resultURL
        self.estimatedCost = estimatedCost
        self.actualCost = actualCost
        self.actualCostSource = actualCostSource
        self.billed = billed
        self.estimatedUSD = estimatedUSD
        self.actualUSD = actualUSD
        self.costAlert = costAlert
        self.attempts = attempts
        self.message = message
    }
}
