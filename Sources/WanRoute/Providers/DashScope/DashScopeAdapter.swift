import Foundation

/// Alibaba Cloud Model Studio (DashScope), either region: `wan2.2-animate-move` / `-mix`.
///
/// Submit: `POST {base}/api/v1/services/aigc/image2video/video-synthesis` with
/// `X-DashScope-Async: enable`; poll: `GET {base}/api/v1/tasks/{task_id}`. Errors are
/// `{code, message, request_id}`; the code decides the class when it is one we know, the HTTP
/// status otherwise. `UNKNOWN` (DashScope's word for a task that does not exist or has expired;
/// task ids live 24 h) and `CANCELED` end the task as a provider error; a state we do not know
/// reads as running, so polling continues until the executor's own deadline.
public struct DashScopeAdapter: ProviderAdapter {
    /// `dashscope-intl` or `dashscope-cn`: the wire format is the same, the base URL differs.
    public let provider: ProviderID
    /// DashScope suggests polling every 15 s.
    public var pollSchedule: PollSchedule {
        PollSchedule(firstPoll: Seconds(whole: 15), minimumInterval: Seconds(whole: 15), maximumInterval: Seconds(whole: 20))
    }
    let http: ProviderHTTP

    /// Creates an adapter; `requestTimeout` bounds each HTTP exchange in seconds.
    public init(provider: ProviderID = ProviderEndpoints.dashscopeIntl, baseURL: URL, transport: any HTTPTransport, requestTimeout: Double = 30) {
        self.provider = provider
        http = ProviderHTTP(baseURL: baseURL, transport: transport, timeout: requestTimeout)
    }

    /// The model name for a behaviour.
    static func model(_ behavior: Behavior) -> String {
        behavior == .animate ? "wan2.2-animate-move" : "wan2.2-animate-mix"
    }

    /// Submits a task; returns `output.task_id`.
    public func submit(_ request: GenerationRequest, apiKey: String) async throws(ProviderError) -> String {
        try await ProviderHTTP.redacting(apiKey) { () async throws(ProviderError) -> String in
            guard request.mode == .wanStd || request.mode == .wanPro else {
                throw .badRequest("DashScope takes mode wan-std or wan-pro, not \(request.mode.rawValue)")
            }
            let body: JSONValue = .object([
                JSONMember("model", .string(Self.model(request.behavior))),
                JSONMember("input", .object([JSONMember("image_url", .string(request.imageURL)),
                                             JSONMember("video_url", .string(request.videoURL))])),
                JSONMember("parameters", .object([JSONMember("mode", .string(request.mode.rawValue))])),
            ])
            let response = try await http.send("POST", http.url("/api/v1/services/aigc/image2video/video-synthesis"),
                                               apiKey: apiKey, json: body, headers: ["X-DashScope-Async": "enable"], call: .submit)
            let json = ProviderHTTP.json(response.body)
            guard (200...299).contains(response.status) else { throw Self.error(response, json) }
            guard let id = json?["output"]?["task_id"]?.stringValue, !id.isEmpty else {
                throw .outcomeUnknown("DashScope accepted the submission but its answer has no task id: \(ProviderHTTP.snippet(response.body))")
            }
            return id
        }
    }

    /// Reads `output.task_status` and, on success, the result URL and `usage`.
    public func status(taskID: String, apiKey: String) async throws(ProviderError) -> TaskState {
        try await ProviderHTTP.redacting(apiKey) { () async throws(ProviderError) -> TaskState in
            let response = try await http.send("GET", http.url("/api/v1/tasks/" + ProviderHTTP.pathSegment(taskID)), apiKey: apiKey, call: .status)
            let json = ProviderHTTP.json(response.body)
            guard (200...299).contains(response.status) else { throw Self.error(response, json) }
            guard let output = json?["output"], let state = output["task_status"]?.stringValue else {
                throw .retryLater("DashScope's status answer is unreadable: \(ProviderHTTP.snippet(response.body))")
            }
            return Self.state(state, output: output, usage: json?["usage"]).redacting(apiKey)
        }
    }

    /// DashScope's task states mapped onto ours.
    static func state(_ status: String, output: JSONValue, usage: JSONValue?) -> TaskState {
        switch status {
        case "PENDING": return .queued
        case "RUNNING": return .running
        case "SUCCEEDED":
            guard let url = output["results"]?["video_url"]?.stringValue ?? output["video_url"]?.stringValue else {
                return .failed(.providerError(code: "NoResult", message: "DashScope reported success without a video URL"))
            }
            var billed: BilledQuantity?
            if let usage {
                // Held to what a job can be: a reported day or more is a lie, and is not used to price.
                let seconds = usage["video_duration"]?.wireNumber.flatMap { Seconds(decimal: $0) }.flatMap { $0.isValidJobDuration ? $0 : nil }
                let ratio = usage["video_ratio"]?.stringValue
                if seconds != nil || ratio != nil { billed = BilledQuantity(seconds: seconds, ratio: ratio) }
            }
            return .succeeded(resultURL: url, billed: billed)
        case "FAILED":
            let code = output["code"]?.wireText ?? "FAILED"
            return .failed(FailureText.failure(code: code, message: output["message"]?.stringValue ?? "the task failed"))
        case "CANCELED":
            return .failed(.providerError(code: "CANCELED", message: "the task was cancelled"))
        case "UNKNOWN":
            return .failed(.providerError(code: "UNKNOWN", message: "DashScope does not know the task (it does not exist or is older than 24 h)"))
        default:
            return .running
        }
    }

    /// The one reading of a DashScope error answer: known codes first, then the HTTP status.
    static func error(_ response: TransportResponse, _ json: JSONValue?) -> ProviderError {
        let code = json?["code"]?.wireText ?? ""
        let message = json?["message"]?.stringValue ?? ProviderHTTP.snippet(response.body)
        let text = "HTTP \(response.status) \(code): \(message)"
        switch code {
        case "InvalidApiKey": return .auth(text)
        case "Arrearage": return .outOfBalance(text)
        case "DataInspectionFailed", "IPInfringementSuspect": return .contentRefused(text)
        default:
            if code.hasPrefix("Throttling") { return .rateLimited(retryAfter: ProviderHTTP.retryAfter(response.headers), text) }
            if code.hasPrefix("InvalidParameter") { return .badRequest(text) }
            return ProviderHTTP.error(status: response.status, headers: response.headers, message: "\(code): \(message)")
        }
    }
}
