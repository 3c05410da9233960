import Foundation

/// APIXO: `wan-2-2-animate` (mode `standard`, type `animate` or `replace`, 480p or 720p).
///
/// Submit: `POST {base}/api/v1/generateTask/wan-2-2-animate`; poll:
/// `GET {base}/api/v1/statusTask/wan-2-2-animate?taskId=ID`. Answers are `{code, message, data}`
/// with `code` 200 for success; a failed answer's HTTP status (or, on a 200, its `code`) decides
/// the class. A 403 is refused content unless its message speaks of a key, permission, access or
/// route, which makes it an auth error. `resultJson` is a JSON string parsed a second time.
public struct APIXOAdapter: ProviderAdapter {
    /// Always `apixo`.
    public let provider = ProviderEndpoints.apixo
    /// APIXO recommends the first poll 60 s after creation, then every 5-10 s.
    public var pollSchedule: PollSchedule {
        PollSchedule(firstPoll: Seconds(whole: 60), minimumInterval: Seconds(whole: 5), maximumInterval: Seconds(whole: 10))
    }
    let http: ProviderHTTP

    /// Creates an adapter; `requestTimeout` bounds each HTTP exchange in seconds.
    public init(baseURL: URL, transport: any HTTPTransport, requestTimeout: Double = 30) {
        http = ProviderHTTP(baseURL: baseURL, transport: transport, timeout: requestTimeout)
    }

    /// Submits a task (in callback mode when the request names a callback URL); returns `data.taskId`.
    public func submit(_ request: GenerationRequest, apiKey: String) async throws(ProviderError) -> String {
        try await ProviderHTTP.redacting(apiKey) { () async throws(ProviderError) -> String in
            guard request.resolution == .p480 || request.resolution == .p720 else {
                throw .badRequest("APIXO renders 480p or 720p, not \(request.resolution.rawValue)")
            }
            let input: JSONValue = .object([
                JSONMember("mode", .string("standard")),
                JSONMember("type", .string(request.behavior == .animate ? "animate" : "replace")),
                JSONMember("image_urls", .array([.string(request.imageURL)])),
                JSONMember("video_urls", .array([.string(request.videoURL)])),
                JSONMember("resolution", .string(request.resolution.rawValue)),
                JSONMember("seed", .number("-1")),
            ])
            var members = [JSONMember("request_type", .string(request.callbackURL == nil ? "async" : "callback"))]
            if let callback = request.callbackURL { members.append(JSONMember("callback_url", .string(callback))) }
            members.append(JSONMember("input", input))
            let response = try await http.send("POST", http.url("/api/v1/generateTask/wan-2-2-animate"), apiKey: apiKey,
                                               json: .object(members), call: .submit)
            let json = ProviderHTTP.json(response.body)
            if let e = Self.error(response, json) { throw e }
            guard let id = json?["data"]?["taskId"]?.wireText, !id.isEmpty else {
                throw .outcomeUnknown("APIXO accepted the submission but its answer has no taskId: \(ProviderHTTP.snippet(response.body))")
            }
            return id
        }
    }

    /// Reads `data.state` and, on success, the first of `resultJson`'s `resultUrls`.
    public func status(taskID: String, apiKey: String) async throws(ProviderError) -> TaskState {
        try await ProviderHTTP.redacting(apiKey) { () async throws(ProviderError) -> TaskState in
            let response = try await http.send("GET", http.url("/api/v1/statusTask/wan-2-2-animate", query: [("taskId", taskID)]),
                                               apiKey: apiKey, call: .status)
            let json = ProviderHTTP.json(response.body)
            if let e = Self.error(response, json) { throw e }
            guard let data = json?["data"], let state = Self.state(data) else {
                throw .retryLater("APIXO's status answer is unreadable: \(ProviderHTTP.snippet(response.body))")
            }
            return state.redacting(apiKey)
        }
    }

    /// A task's `data` object (from a status answer or a callback) as our state; nil when it has
    /// no `state`. An unknown state reads as running.
    static func state(_ data: JSONValue) -> TaskState? {
        guard let state = data["state"]?.stringValue else { return nil }
        switch state {
        case "pending": return .queued
        case "processing": return .running
        case "success":
            let payload = data["resultJson"]?.stringValue.flatMap { try? JSONParser.parse($0) }
            guard let url = payload?["resultUrls"]?.wireArray?.first?.stringValue else {
                return .failed(.providerError(code: "NoResult", message: "APIXO reported success without a readable resultJson"))
            }
            return .succeeded(resultURL: url, billed: nil)
        case "failed":
            return .failed(FailureText.failure(code: data["failCode"]?.wireText ?? "failed",
                                               message: data["failMsg"]?.stringValue ?? "the task failed"))
        default:
            return .running
        }
    }

    /// The one reading of APIXO's envelope: nil when the answer is a success.
    static func error(_ response: TransportResponse, _ json: JSONValue?) -> ProviderError? {
        let code = json?["code"]?.wireInt
        let httpOK = (200...299).contains(response.status)
        if httpOK && (code == nil || code == 200) { return nil }
        let message = json?["message"]?.stringValue ?? json?["msg"]?.stringValue ?? ProviderHTTP.snippet(response.body)
        let status = httpOK ? code! : response.status
        let text = "HTTP \(status): \(message)"
        if status == 403 {
            let t = message.lowercased()
            let aboutAccess = ["key", "permission", "access", "route", "unauthori"].contains { t.contains($0) }
            return aboutAccess ? .auth(text) : .contentRefused(text)
        }
        return ProviderHTTP.error(status: status, headers: response.headers, message: message)
    }
}
