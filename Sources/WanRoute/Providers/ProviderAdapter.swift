import Foundation

/// What to generate: the inputs and the offer's behaviour, mode and resolution.
public struct GenerationRequest: Sendable, Equatable {
    /// The behaviour to generate.
    public var behavior: Behavior
    /// The offer's mode.
    public var mode: Mode
    /// The offer's output resolution.
    public var resolution: Resolution
    /// The character image's public URL.
    public var imageURL: String
    /// The reference video's public URL.
    public var videoURL: String
    /// Where the provider should POST the final result, for providers with callback mode (APIXO).
    public var callbackURL: String?

    /// Creates a request.
    public init(behavior: Behavior, mode: Mode, resolution: Resolution, imageURL: String, videoURL: String, callbackURL: String? = nil) {
        self.behavior = behavior
        self.mode = mode
        self.resolution = resolution
        self.imageURL = imageURL
        self.videoURL = videoURL
        self.callbackURL = callbackURL
    }
}

/// What a provider says it billed for a finished task, when it says anything.
public struct BilledQuantity: Sendable, Equatable {
    /// Seconds of output billed (DashScope `usage.video_duration`).
    public var seconds: Seconds?
    /// DashScope `usage.video_ratio` (`standard` or `pro`).
    public var ratio: String?
    /// AI/ML API `meta.usage.credits_used`, as the decimal text the provider sent.
    public var credits: String?
    /// What the provider itself says the task cost, in money (AI/ML API: `credits_used` at its
    /// published rate of 2,000,000 credits per US dollar); nil when it says only a quantity.
    public var cost: Money?

    /// Creates a quantity.
    public init(seconds: Seconds? = nil, ratio: String? = nil, credits: String? = nil, cost: Money? = nil) {
        self.seconds = seconds
        self.ratio = ratio
        self.credits = credits
        self.cost = cost
    }
}

/// Why a task ended without a result, in terms every provider maps onto.
public enum TaskFailure: Sendable, Equatable {
    /// Moderation refused the input or the output (DashScope `DataInspectionFailed`).
    case contentRefused(code: String, message: String)
    /// The provider could not use the inputs (bad media, unreachable URL).
    case badInput(code: String, message: String)
    /// The provider failed, cancelled or lost the task.
    case providerError(code: String, message: String)
}

/// A task's state, whatever the provider calls it.
public enum TaskState: Sendable, Equatable {
    /// Accepted and waiting for a worker.
    case queued
    /// Being generated.
    case running
    /// Done: where the video is, and what the provider reported billing (if it does).
    case succeeded(resultURL: String, billed: BilledQuantity?)
    /// Ended without a result, and why.
    case failed(TaskFailure)
}

/// How often to ask a provider about a task (the provider's own recommendation).
public struct PollSchedule: Sendable, Equatable {
    /// Wait this long after submitting before the first poll.
    public var firstPoll: Seconds
    /// Then wait between `minimumInterval` and `maximumInterval` (jitter picks within) between polls.
    public var minimumInterval: Seconds
    /// The longest wait between polls.
    public var maximumInterval: Seconds

    /// Creates a schedule.
    public init(firstPoll: Seconds, minimumInterval: Seconds, maximumInterval: Seconds) {
        self.firstPoll = firstPoll
        self.minimumInterval = minimumInterval
        self.maximumInterval = maximumInterval
    }
}

/// One provider's API: submit a task, ask for its state. Hides the wire format entirely.
///
/// Adapters are stateless values over an ``HTTPTransport``; the executor owns retries, failover,
/// polling times and concurrency.
public protocol ProviderAdapter: Sendable {
    /// The provider this adapter speaks to (for DashScope, one adapter per region).
    var provider: ProviderID { get }
    /// The provider's recommended polling schedule.
    var pollSchedule: PollSchedule { get }
    /// Submits a task and returns the provider's task id.
    func submit(_ request: GenerationRequest, apiKey: String) async throws(ProviderError) -> String
    /// The task's current state.
    func status(taskID: String, apiKey: String) async throws(ProviderError) -> TaskState
}

/// One HTTP exchange as the adapters see it.
public struct TransportRequest: Sendable, Equatable {
    /// The HTTP method, such as `POST`.
    public var method: String
    /// The full URL, query included.
    public var url: URL
    /// The request headers (adapters send the API key in one).
    public var headers: HTTPHeaders
    /// The request body; empty for none.
    public var body: [UInt8]
    /// Give up waiting for the answer after this many seconds.
    public var timeout: Double

    /// Creates a request.
    public init(method: String, url: URL, headers: HTTPHeaders = [:], body: [UInt8] = [], timeout: Double = 30) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// A whole HTTP answer.
public struct TransportResponse: Sendable, Equatable {
    /// The HTTP status code.
    public var status: Int
    /// The response headers.
    public var headers: HTTPHeaders
    /// The whole response body.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Why an exchange produced no answer.
public enum TransportError: Error, Sendable, Equatable {
    /// Nothing was sent (the host refused the connection or could not be found): safe to retry.
    case notSent(String)
    /// The request may have been sent and no complete answer came (time-out, connection lost).
    case noAnswer(String)
}

/// The network seam: URLSession in production, anything in tests.
public protocol HTTPTransport: Sendable {
    /// Sends a request and returns the whole answer.
    func send(_ request: TransportRequest) async throws(TransportError) -> TransportResponse
}
