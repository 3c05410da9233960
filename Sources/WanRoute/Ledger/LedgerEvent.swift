/// The ledger's schema version, written on every line as `"v"`: 4, the compact form whose lines
/// may take what they share with earlier lines of the file from them (a `submit-intent` its
/// offer, an `accepted` its provider, a `decided` its run, policy and digests). Readers read
/// versions 1 to 4 and refuse lines of a newer version rather than misreading them.
public let ledgerSchemaVersion = 4

/// What kind of step an event records. The raw value is the `"ev"` field of a line.
public enum LedgerEventType: String, Sendable, CaseIterable, Hashable {
    /// The router chose an offer (or refused the job): job facts, policy, choice, estimate, alternates.
    case decided
    /// Budget reserved for the job's worst-case cost, after the admission check.
    case reserved
    /// A submission is about to be sent; durable before the HTTP request leaves.
    case submitIntent = "submit-intent"
    /// The provider created a task; its id is durable before polling goes on.
    case accepted
    /// The task's state changed at the provider (queued, running).
    case state
    /// The task finished with a result.
    case succeeded
    /// The attempt or the job failed, with its failure class.
    case failed
    /// A submission went out and no answer came: a task may exist and may bill.
    case outcomeUnknown = "outcome-unknown"
    /// The deadline passed with the task still running at the provider.
    case unfinished
    /// The job ended needing a person: everything known is in the ledger.
    case needsAttention = "needs-attention"
    /// The job's reservations were replaced by its actual cost.
    case settled
    /// The job's reservations were released without spend (a documented free failure, a refusal).
    case released
    /// A remark added later (by `resume`, or a person).
    case note
}

/// A task's progress at the provider, as the adapters report it.
public enum TaskProgress: String, Sendable, Hashable, CaseIterable {
    /// Accepted and waiting.
    case queued
    /// Being generated.
    case running
}

/// One offer the router ranked after its choice.
public struct LedgerAlternate: Sendable, Equatable {
    /// The offer's provider.
    public var provider: ProviderID
    /// The offer's mode.
    public var mode: Mode
    /// The offer's output resolution.
    public var resolution: Resolution
    /// The offer's estimate in its own currency; nil when its price is unknown.
    public var estimate: Money?

    /// Creates an alternate.
    public init(provider: ProviderID, mode: Mode, resolution: Resolution, estimate: Money?) {
        self.provider = provider
        self.mode = mode
        self.resolution = resolution
        self.estimate = estimate
    }
}

/// What the router decided for a job, with the facts it decided on: enough to replay the month under
/// another policy or price list.
public struct LedgerDecision: Sendable, Equatable {
    /// The job's behaviour.
    public var behavior: Behavior
    /// The reference duration the job was priced on.
    public var duration: Seconds
    /// The resolution the job required, if any.
    public var requiredResolution: Resolution?
    /// The mode the job required, if any.
    public var requiredMode: Mode?
    /// The job's tags.
    public var tags: [String: String]
    /// The policy's name.
    public var policy: String
    /// A digest of the policy document in force (computed by the caller).
    public var policyDigest: String?
    /// A digest of the pricing tables in force (computed by the caller).
    public var pricingDigest: String?
    /// The chosen offer's mode; nil when the job was refused (the provider is the event's).
    public var mode: Mode?
    /// The chosen offer's resolution; nil when refused.
    public var resolution: Resolution?
    /// The chosen offer's estimate in its own currency; nil when unknown or refused.
    public var estimate: Money?
    /// The same estimate in USD (converted when the offer prices in another currency).
    public var estimateUSD: Money?
    /// The ranked alternates, in failover order.
    public var alternates: [LedgerAlternate]
    /// Why no offer qualified, when the job was refused.
    public var refusal: String?
    /// The budget reserved in the same step as the decision, when the job was admitted against
    /// budgets as it started (one line instead of a `decided` and a `reserved`).
    public var reservation: LedgerBudgetAmount?

    /// Creates a decision record. An estimate in USD is its own USD figure when none is given.
    public init(behavior: Behavior, duration: Seconds, requiredResolution: Resolution? = nil, requiredMode: Mode? = nil,
                tags: [String: String] = [:], policy: String, policyDigest: String? = nil, pricingDigest: String? = nil,
                mode: Mode?, resolution: Resolution?, estimate: Money?, estimateUSD: Money?,
                alternates: [LedgerAlternate] = [], refusal: String? = nil, reservation: LedgerBudgetAmount? = nil) {
        self.behavior = behavior
        self.duration = duration
        self.requiredResolution = requiredResolution
        self.requiredMode = requiredMode
        self.tags = tags
        self.policy = policy
        self.policyDigest = policyDigest
        self.pricingDigest = pricingDigest
        self.mode = mode
        self.resolution = resolution
        self.estimate = estimate
        self.estimateUSD = estimateUSD ?? (estimate?.currency == .usd ? estimate : nil)
        self.alternates = alternates
        self.refusal = refusal
        self.reservation = reservation
    }
}

/// The budget side of an event: an amount in USD and the budget keys it counts under.
public struct LedgerBudgetAmount: Sendable, Equatable {
    /// The amount, always in USD (budgets are kept in USD).
    public var amount: Money
    /// Every key the amount counts under: `total`, `provider:ID`, and one `tag:KEY=VALUE` per tag.
    public var budgets: [BudgetKey]

    /// Creates an amount; `amount` must be in USD.
    public init(amount: Money, budgets: [BudgetKey]) {
        precondition(amount.currency == .usd, "budget amounts are kept in USD")
        self.amount = amount
        self.budgets = budgets
    }
}

/// A finished task's result and cost.
public struct LedgerSuccess: Sendable, Equatable {
    /// Where the generated video can be fetched.
    public var resultURL: String?
    /// The seconds the provider says it billed, when it says.
    public var billedSeconds: Seconds?
    /// The provider's own usage figure (AI/ML API credits) as it sent it.
    public var billedCredits: String?
    /// What the task cost in the offer's currency; nil when unknown (never zero instead).
    public var cost: Money?
    /// How ``cost`` was found.
    public var costSource: JobReport.CostSource?
    /// The job's reservations settled in the same step, in USD (one line instead of two).
    public var settlement: Money?

    /// Creates a success record.
    public init(resultURL: String?, billedSeconds: Seconds? = nil, billedCredits: String? = nil, cost: Money?, costSource: JobReport.CostSource?,
                settlement: Money? = nil) {
        precondition(settlement.map { $0.currency == .usd } ?? true, "settlements are in USD")
        self.resultURL = resultURL
        self.billedSeconds = billedSeconds
        self.billedCredits = billedCredits
        self.cost = cost
        self.costSource = costSource
        self.settlement = settlement
    }
}

/// A failure and what it cost.
public struct LedgerFailure: Sendable, Equatable {
    /// The failure class.
    public var failure: FailureClass
    /// What the attempt cost (zero when documented free or no task existed); nil when unknown.
    public var cost: Money?
    /// How ``cost`` was found.
    public var costSource: JobReport.CostSource?
    /// Whether the job ends here (false when it fails over to the next alternate).
    public var final: Bool
    /// A plain sentence: what happened.
    public var detail: String?
    /// The job's reservations settled in the same step, in USD (zero: released, nothing spent).
    public var settlement: Money?

    /// Creates a failure record.
    public init(failure: FailureClass, cost: Money?, costSource: JobReport.CostSource?, final: Bool, detail: String? = nil, settlement: Money? = nil) {
        precondition(settlement.map { $0.currency == .usd } ?? true, "settlements are in USD")
        self.failure = failure
        self.cost = cost
        self.costSource = costSource
        self.final = final
        self.detail = detail
        self.settlement = settlement
    }
}

/// The facts particular to each kind of event.
public enum LedgerEventBody: Sendable, Equatable {
    /// The router's decision.
    case decided(LedgerDecision)
    /// Budget reserved for the worst-case cost.
    case reserved(LedgerBudgetAmount)
    /// A submission is about to go out: the offer and the 1-based submission number.
    case submitIntent(mode: Mode, resolution: Resolution, attempt: Int)
    /// The provider created the task (its id is the event's task id).
    case accepted
    /// The task's state at the provider changed.
    case state(TaskProgress)
    /// The task finished with a result.
    case succeeded(LedgerSuccess)
    /// An attempt failed.
    case failed(LedgerFailure)
    /// No answer to a submission: a task may exist.
    case outcomeUnknown(detail: String)
    /// The deadline passed with the task still running.
    case unfinished(detail: String)
    /// The job ends needing a person.
    case needsAttention(detail: String)
    /// The job's open reservations become its actual spend (USD), counted under the keys of its
    /// latest reservation.
    case settled(Money)
    /// The job's reservations are released without spend.
    case released(detail: String?)
    /// A remark.
    case note(text: String)

    /// The budget this event reserves: a `reserved` event, or a decision made with its reservation.
    public var reservation: LedgerBudgetAmount? {
        switch self {
        case .reserved(let b): return b
        case .decided(let d): return d.reservation
        default: return nil
        }
    }

    /// The USD amount this event settles the job's reservations to (zero for a release).
    public var settlement: Money? {
        switch self {
        case .settled(let m): return m
        case .succeeded(let s): return s.settlement
        case .failed(let f): return f.settlement
        case .released: return .zero(.usd)
        default: return nil
        }
    }

    /// The event type written as `"ev"`.
    public var type: LedgerEventType {
        switch self {
        case .decided: return .decided
        case .reserved: return .reserved
        case .submitIntent: return .submitIntent
        case .accepted: return .accepted
        case .state: return .state
        case .succeeded: return .succeeded
        case .failed: return .failed
        case .outcomeUnknown: return .outcomeUnknown
        case .unfinished: return .unfinished
        case .needsAttention: return .needsAttention
        case .settled: return .settled
        case .released: return .released
        case .note: return .note
        }
    }
}

/// One step of one job, as handed to a ``LedgerStore`` to append.
public struct LedgerEvent: Sendable, Equatable {
    /// When it happened (from the caller's injected clock). The UTC month of this instant decides
    /// the ledger file.
    public var time: LedgerTime
    /// The job's id: its idempotency key.
    public var jobID: String
    /// The id of the `run` (or `resume`) that wrote the event, where known.
    public var runID: String?
    /// The provider concerned, where known.
    public var provider: ProviderID?
    /// The provider's task id, where known.
    public var taskID: String?
    /// The facts of this kind of event.
    public var body: LedgerEventBody

    /// Creates an event.
    public init(time: LedgerTime, jobID: String, runID: String? = nil, provider: ProviderID? = nil, taskID: String? = nil, body: LedgerEventBody) {
        self.time = time
        self.jobID = jobID
        self.runID = runID
        self.provider = provider
        self.taskID = taskID
        self.body = body
    }

    /// The event type.
    public var type: LedgerEventType { body.type }
}

/// An event as recorded: with the sequence number its store gave it.
public struct LedgerRecord: Sendable, Equatable {
    /// Position in the month: strictly increasing within a month, in append order (the file store
    /// numbers each month from 1; a database may use one sequence for all months).
    public var sequence: Int64
    /// The event.
    public var event: LedgerEvent

    /// Creates a record.
    public init(sequence: Int64, event: LedgerEvent) {
        self.sequence = sequence
        self.event = event
    }
}
