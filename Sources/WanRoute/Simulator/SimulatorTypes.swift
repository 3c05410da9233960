import Foundation

/// A wire format the simulator speaks. DashScope serves both regions (told apart by key).
public enum SimulatedProvider: String, Sendable, CaseIterable, Hashable {
    /// DashScope (both regions), Modellix, AI/ML API and APIXO.
    case dashscope, modellix, aimlapi, apixo
}

/// Which call a fault applies to.
public enum SimulatedEndpoint: String, Sendable, Hashable {
    /// Task creation (POST).
    case submit
    /// Task status (GET).
    case status
    /// DashScope's task list (`GET /api/v1/tasks?start_time=…`).
    case list
    /// The simulator's own record (``ProviderSimulator/recordPath``); no fault applies.
    case record
}

/// Something that goes wrong, in each provider's own words.
public enum SimulatedFault: Sendable, Hashable {
    /// HTTP 429 with `Retry-After: N` (Modellix: `X-RateLimit-Reset: N`); no header when nil.
    case rateLimited(retryAfter: Int?)
    /// HTTP 429 with Modellix's `X-RateLimit-Reset` as a Unix time in seconds (other providers:
    /// no header).
    case rateLimitedUntil(epoch: Int64)
    /// HTTP 500, 502, 503 or 504 in the provider's error shape.
    case serverError(Int)
    /// The normal answer, after this many seconds (cut short by ``ProviderSimulator/stop()``).
    case slowAnswer(seconds: Double)
    /// No answer at all until the client gives up (the handler waits until the simulator stops).
    case stall
    /// HTTP 200 whose body is not JSON. On a submission the task is still created.
    case malformedJSON
    /// HTTP 200 whose JSON stops halfway. On a submission the task is still created.
    case truncatedJSON
    /// Submissions only: the account has no balance (DashScope `Arrearage`, HTTP 402 elsewhere;
    /// AI/ML API answers 403 about credits).
    case outOfBalance
    /// Submissions only: moderation refuses the inputs before any task exists.
    case contentRefused
    /// Submissions only: the task is created, then the connection closes before the answer's
    /// body (a status line and headers promising a body are sent; the body never comes).
    case lostResponse
    /// Submissions only: accepted, but the task ends failed (a provider-side error).
    case taskFails
    /// Submissions only: accepted, but moderation refuses the output and the task ends failed.
    case taskRefused

    /// Whether the fault can apply to a call.
    func applies(to endpoint: SimulatedEndpoint) -> Bool {
        switch self {
        case .outOfBalance, .contentRefused, .lostResponse, .taskFails, .taskRefused: return endpoint == .submit
        default: return true
        }
    }
}

/// A scripted fault: "the next `times` matching calls, after letting `skip` pass, get `fault`".
///
/// For example `FaultRule(.rateLimited(retryAfter: 3), provider: .apixo, endpoint: .submit, times: 2)`
/// or, for "the third DashScope task ends refused", `FaultRule(.taskRefused, provider: .dashscope,
/// endpoint: .submit, skip: 2)`. Rules are tried in order; the first that matches is used.
public struct FaultRule: Sendable, Equatable {
    /// What goes wrong on a matching call.
    public var fault: SimulatedFault
    /// Only calls to this provider's wire format; nil for any.
    public var provider: SimulatedProvider?
    /// Only this call; nil for any call the fault applies to.
    public var endpoint: SimulatedEndpoint?
    /// How many matching calls get the fault.
    public var times: Int
    /// How many matching calls pass untouched first.
    public var skip: Int

    /// Creates a rule.
    public init(_ fault: SimulatedFault, provider: SimulatedProvider? = nil, endpoint: SimulatedEndpoint? = nil, times: Int = 1, skip: Int = 0) {
        self.fault = fault
        self.provider = provider
        self.endpoint = endpoint
        self.times = times
        self.skip = skip
    }
}

/// Faults drawn at random per call with a seeded generator, so a batch run is reproducible:
/// the same seed and the same sequence of calls give the same faults.
public struct RandomFaults: Sendable, Equatable {
    /// One fault kind and the probability (0...1) that a call it applies to gets it.
    public struct Rate: Sendable, Equatable {
        /// What goes wrong.
        public var fault: SimulatedFault
        /// The chance, from 0 to 1, that an applicable call gets the fault.
        public var probability: Double
        /// Creates a rate.
        public init(_ fault: SimulatedFault, _ probability: Double) {
            self.fault = fault
            self.probability = probability
        }
    }

    /// The seed of the generator that draws the faults.
    public var seed: UInt64
    /// Tried in order with one draw per call: the rates of applicable faults add up.
    public var rates: [Rate]

    /// Creates random faults.
    public init(seed: UInt64, rates: [Rate]) {
        self.seed = seed
        self.rates = rates
    }
}

/// How a simulated task ends.
public enum SimulatedOutcome: String, Sendable, Hashable {
    /// The task succeeds, ends failed (a provider-side error), or ends refused by output moderation.
    case success, failed, refused
}

/// One task the simulator created, as tests inspect it.
public struct SimulatedTask: Sendable, Equatable {
    /// The task id the simulator issued, in the provider's own format.
    public var id: String
    /// The provider billed (for DashScope, the region whose key was presented).
    public var provider: ProviderID
    /// The behaviour submitted.
    public var behavior: Behavior
    /// The mode submitted.
    public var mode: Mode
    /// The output resolution submitted.
    public var resolution: Resolution
    /// The reference video's duration, from the video URL's `duration=` query (default 5 s).
    public var referenceDuration: Seconds
    /// The reference video's URL as submitted (a drill names the job in it).
    public var videoURL: String
    /// How the task will end, set by the fault (if any) at submission.
    public var outcome: SimulatedOutcome
    /// Status answers given so far; the state follows this count, never the clock.
    public var polls: Int
    /// True when the submission's answer was lost or garbled: the client may not know the id.
    public var answerLost: Bool
    /// APIXO callback URL, when the task was submitted in callback mode.
    public var callbackURL: String?
    /// Whether the task has reached its end (and been billed).
    public var finished: Bool
    /// When the provider created the task, by the simulator's ``ProviderSimulator/Configuration/clock``
    /// (DashScope's task list reports it as `gmt_create`).
    public var createdAt: Date
}

/// What a provider would bill for one finished task.
public struct BillingRecord: Sendable, Equatable {
    /// The provider that bills (for DashScope, the region whose key was presented).
    public var provider: ProviderID
    /// The simulator's task id.
    public var taskID: String
    /// The behaviour submitted.
    public var behavior: Behavior
    /// The mode submitted.
    public var mode: Mode
    /// The output resolution submitted.
    public var resolution: Resolution
    /// The reference video's duration, from the video URL's `duration=` query (default 5 s).
    public var referenceDuration: Seconds
    /// How the task ended.
    public var outcome: SimulatedOutcome
    /// The seconds the provider bills (0 for a free failure); nil when its basis is unknown.
    public var billedSeconds: Seconds?
    /// What the status answer reports (DashScope usage, AI/ML API credits), if anything.
    public var reported: BilledQuantity?
    /// The cost from the built-in price catalog in the offer's currency (zero for a free
    /// failure), or for the AI/ML API the USD its reported credits are worth; nil when unknown
    /// (Modellix, a failed AI/ML API task).
    public var cost: Money?
}
