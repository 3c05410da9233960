import Foundation

/// AI/ML API: `alibaba/wan2.2-14b-animate-move` / `-replace`.
///
/// Submit: `POST {base}/v2/video/generations`; poll: `GET {base}/v2/video/generations?generation_id=ID`.
/// Errors are `{"error": {"name", "message"}}` with the HTTP status deciding the class, except a
/// 403 whose text speaks of credits or balance (out of balance) or of moderation (refused content).
/// A finished task reports `meta.usage.credits_used`, kept as the provider's decimal text.
public struct AIMLAPIAdapter: ProviderAdapter {
    /// Always `aimlapi`.
    public let provider = ProviderEndpoints.aimlapi
    /// The provider's own example polls every 10 seconds.
    public var pollSchedule: PollSchedule {
        PollSchedule(firstPoll: Seconds(whole: 10), minimumInterval: Seconds(whole: 10), maximumInterval: Seconds(whole: 15))
    }
    let http: ProviderHTTP

    /// Creates an adapter; `requestTimeout` bounds each HTTP exchange in seconds.
    public init(baseURL: URL, transport: any HTTPTransport, requestTimeout: Double = 30) {
        http = ProviderHTTP(baseURL: baseURL, transport: transport, timeout: requestTimeout)
    }

    /// The model name for a behaviour.
    static func model(_ behavior: Behavior) -> String {
        behavior == .animate ? "alibaba/wan2.2-14b-animate-move" : "alibaba/wan2.2-14b-animate-replace"
    }

    /// Submits a generation; returns its `id`.
    public func submit(_ request: GenerationRequest, apiKey: String) async throws(ProviderError) -> String {
        try await ProviderHTTP.redacting(apiKey) { () async throws(ProviderError) -> String in
            let body: JSONValue = .object([
                JSONMember("model", .string(Self.model(request.behavior))),
                JSONMember("image_url", .string(request.imageURL)),
                JSONMember("video_url", .string(request.videoURL)),
                JSONMember("resolution", .string(request.resolution.rawValue)),
            ])
            let response = try await http.send("POST", http.url("/v2/video/generations"), apiKey: apiKey, json: body, call: .submit)
            let json = ProviderHTTP.json(response.body)
            guard (200...299).contains(response.status) else { throw Self.error(response, json) }
            guard let id = json?["id"]?.wireText, !id.isEmpty else {
                throw .outcomeUnknown("AI/ML API accepted the submission but its answer has no id: \(ProviderHTTP.snippet(response.body))")
            }
            return id
        }
    }

    /// Reads `status` and, when completed, `video.url` and `meta.usage.credits_used`.
    public func status(taskID: String, apiKey: String) async throws(ProviderError) -> TaskState {
        try await ProviderHTTP.redacting(apiKey) { () async throws(ProviderError) -> TaskState in
            let response = try await http.send("GET", http.url("/v2/video/generations", query: [("generation_id", taskID)]),
                                               apiKey: apiKey, call: .status)
            let json = ProviderHTTP.json(response.body)
            guard (200...299).contains(response.status) else { throw Self.error(response, json) }
            guard let json, let status = json["status"]?.stringValue else {
                throw .retryLater("AI/ML API's status answer is unreadable: \(ProviderHTTP.snippet(response.body))")
            }
            return Self.state(status, json).redacting(apiKey)
        }
    }

    /// AI/ML API's states mapped onto ours; an unknown state reads as running.
    static func state(_ status: String, _ json: JSONValue) -> TaskState {
        switch status {
        case "queued", "waiting": return .queued
        case "generating", "active": return .running
        case "completed":
            guard let url = json["video"]?["url"]?.stringValue else {
                return .failed(.providerError(code: "NoResult", message: "AI/ML API reported completion without a video URL"))
            }
            let credits = json["meta"]?["usage"]?["credits_used"]?.wireText
            return .succeeded(resultURL: url, billed: credits.map { BilledQuantity(credits: $0, cost: Self.usd(credits: $0)) })
        case "error", "failed":
            let name = json["error"]?["name"]?.stringValue ?? "error"
            let message = json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue ?? "the generation failed"
            return .failed(FailureText.failure(code: name, message: message))
        default:
            return .running
        }
    }

    /// Credits per US dollar (https://docs.aimlapi.com/faq/how-can-i-track-my-funds).
    public static let creditsPerUSD: Int64 = 2_000_000

    /// `credits` (decimal text, at most 9 decimals) in US dollars, rounded up to the nano-dollar so
    /// it is never below the bill; nil for text that is not a non-negative decimal or is too large.
    public static func usd(credits: String) -> Money? {
        guard case .success(let creditNanos) = FixedDecimal.parse(credits, scale: Money.scale), creditNanos >= 0 else { return nil }
        let (whole, rest) = creditNanos.quotientAndRemainder(dividingBy: creditsPerUSD)
        return Money(nanos: whole + (rest > 0 ? 1 : 0), currency: .usd)
    }

    /// The one reading of an AI/ML API error answer.
    static func error(_ response: TransportResponse, _ json: JSONValue?) -> ProviderError {
        let name = json?["error"]?["name"]?.stringValue ?? ""
        let message = json?["error"]?["message"]?.stringValue ?? json?["message"]?.stringValue ?? ProviderHTTP.snippet(response.body)
        let text = "HTTP \(response.status) \(name): \(message)"
        if response.status == 403 || response.status == 402 {
            let t = message.lowercased()
            if t.contains("credit") || t.contains("balance") { return .outOfBalance(text) }
        }
        if (400...403).contains(response.status) && FailureText.isModeration(name + " " + message) { return .contentRefused(text) }
        return ProviderHTTP.error(status: response.status, headers: response.headers, message: "\(name): \(message)")
    }
}
