import Foundation

/// Modellix, a gateway that resells Alibaba's `wan2.2-animate-move` / `-mix`.
///
/// Submit: `POST {base}/api/v1/alibaba/{model}/async`; poll: `GET {base}/api/v1/tasks/{task_id}`.
/// Every answer is an envelope `{code, message, data}` where `code` 0 is success. A non-zero code
/// in the HTTP 400-599 range is read as that HTTP status; any other non-zero code is a bad request
/// (an explicit refusal: no task was created). A 429 waits for `Retry-After`, else for
/// `X-RateLimit-Reset`, which is seconds to wait, or a Unix time in seconds when above 10^9.
public struct ModellixAdapter: ProviderAdapter {
    /// Always `modellix`.
    public let provider = ProviderEndpoints.modellix
    /// Modellix publishes no schedule; its results arrive in minutes, so 10-15 s is plenty.
    public var pollSchedule: PollSchedule {
        PollSchedule(firstPoll: Seconds(whole: 10), minimumInterval: Seconds(whole: 10), maximumInterval: Seconds(whole: 15))
    }
    let http: ProviderHTTP
    /// The clock that turns an epoch `X-RateLimit-Reset` into a delay (injected: the library reads no clock of its own).
    let now: @Sendable () -> Date

    /// Creates an adapter; `requestTimeout` bounds each HTTP exchange in seconds.
    public init(baseURL: URL, transport: any HTTPTransport, requestTimeout: Double = 30, now: @escaping @Sendable () -> Date) {
        http = ProviderHTTP(baseURL: baseURL, transport: transport, timeout: requestTimeout)
        self.now = now
    }

    /// The model path segment for a behaviour.
    static func model(_ behavior: Behavior) -> String {
        behavior == .animate ? "wan2.2-animate-move" : "wan2.2-animate-mix"
    }

    /// Submits a task; returns `data.task_id`.
    public func submit(_ request: GenerationRequest, apiKey: String) async throws(ProviderError) -> String {
        try await ProviderHTTP.redacting(apiKey) { () async throws(ProviderError) -> String in
            guard request.mode == .wanStd || request.mode == .wanPro else {
                throw .badRequest("Modellix takes mode wan-std or wan-pro, not \(request.mode.rawValue)")
            }
            let body: JSONValue = .object([
                JSONMember("image_url", .string(request.imageURL)),
                JSONMember("video_url", .string(request.videoURL)),
                JSONMember("mode", .string(request.mode.rawValue)),
            ])
            let response = try await http.send("POST", http.url("/api/v1/alibaba/\(Self.model(request.behavior))/async"),
                                               apiKey: apiKey, json: body, call: .submit)
            let json = ProviderHTTP.json(response.body)
            if let e = error(response, json) { throw e }
            guard let id = json?["data"]?["task_id"]?.wireText, !id.isEmpty else {
                throw .outcomeUnknown("Modellix accepted the submission but its answer has no task id: \(ProviderHTTP.snippet(response.body))")
            }
            return id
        }
    }

    /// Reads `data.status` and, on success, the first resource URL.
    public func status(taskID: String, apiKey: String) async throws(ProviderError) -> TaskState {
        try await ProviderHTTP.redacting(apiKey) { () async throws(ProviderError) -> TaskState in
            let response = try await http.send("GET", http.url("/api/v1/tasks/" + ProviderHTTP.pathSegment(taskID)), apiKey: apiKey, call: .status)
            let json = ProviderHTTP.json(response.body)
            if let e = error(response, json) { throw e }
            guard let data = json?["data"], let status = data["status"]?.stringValue else {
                throw .retryLater("Modellix's status answer is unreadable: \(ProviderHTTP.snippet(response.body))")
            }
            return Self.state(status, data: data).redacting(apiKey)
        }
    }

    /// Modellix's task states mapped onto ours; an unknown state reads as running.
    static func state(_ status: String, data: JSONValue) -> TaskState {
        switch status {
        case "pending": return .queued
        case "processing": return .running
        case "success":
            let resources = data["result"]?["resources"]?.wireArray ?? data["resources"]?.wireArray ?? []
            guard let url = resources.lazy.compactMap({ $0["url"]?.stringValue }).first else {
                return .failed(.providerError(code: "NoResult", message: "Modellix reported success without a resource URL"))
            }
            return .succeeded(resultURL: url, billed: nil)
        case "failed":
            // Failure details appear as `data.error {code, message}`, or as flat fields.
            let error = data["error"]
            let code = error?["code"]?.wireText ?? data["error_code"]?.wireText ?? "failed"
            let message = error?["message"]?.stringValue ?? error?.stringValue ?? data["error_message"]?.stringValue
                ?? data["message"]?.stringValue ?? "the task failed"
            return .failed(FailureText.failure(code: code, message: message))
        default:
            return .running
        }
    }

    /// The one reading of the envelope: nil when the answer is a success.
    func error(_ response: TransportResponse, _ json: JSONValue?) -> ProviderError? {
        let code = json?["code"]?.wireInt
        let httpOK = (200...299).contains(response.status)
        if httpOK && (code == nil || code == 0) { return nil }
        let message = json?["message"]?.stringValue ?? ProviderHTTP.snippet(response.body)
        // An HTTP error decides; a 200 carrying a non-zero code is read through that code.
        let status = !httpOK ? response.status : ((400...599).contains(code!) ? code! : 400)
        if status == 429 {
            return .rateLimited(retryAfter: ProviderHTTP.retryAfter(response.headers) ?? resetDelay(response.headers),
                                "HTTP 429: \(message)")
        }
        if (400...403).contains(status) && FailureText.isModeration(message) { return .contentRefused("HTTP \(status): \(message)") }
        return ProviderHTTP.error(status: status, headers: response.headers, message: "code \(code.map(String.init) ?? "-"): \(message)")
    }

    /// `X-RateLimit-Reset` as a delay: seconds to wait, or an epoch (above 10^9) minus now.
    func resetDelay(_ headers: HTTPHeaders) -> Seconds? {
        guard let text = headers["X-RateLimit-Reset"]?.trimmingCharacters(in: .whitespaces),
              let value = Seconds(decimal: text), value.micros >= 0 else { return nil }
        guard value.micros > 1_000_000_000 * 1_000_000 else { return min(value, ProviderHTTP.longestRetryAfter) }
        let nowMicros = Int64((now().timeIntervalSince1970 * 1_000_000).rounded())
        return min(Seconds(micros: max(0, value.micros - nowMicros)), ProviderHTTP.longestRetryAfter)
    }
}
