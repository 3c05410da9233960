import Foundation

/// The plumbing the four adapters share, so each adapter holds only its wire format: one HTTP
/// exchange with the transport errors classed, one table from HTTP status to ``ProviderError``,
/// one reading of Retry-After, one classifier for failure texts, and one redaction step.
struct ProviderHTTP: Sendable {
    /// Which call an exchange belongs to: a lost answer means different things for each.
    enum Call: Sendable {
        /// Creates a task: a lost answer may have created (and will bill) one.
        case submit
        /// Reads a task: safe to repeat.
        case status
    }

    let baseURL: URL
    let transport: any HTTPTransport
    /// Seconds to wait for each answer.
    let timeout: Double

    /// `base + path (+ ?query)`. The base may carry a path prefix; a trailing slash is dropped.
    func url(_ path: String, query: [(String, String)] = []) -> URL {
        var text = baseURL.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        text += path
        if !query.isEmpty {
            text += "?" + query.map { "\(Self.escapeQuery($0.0))=\(Self.escapeQuery($0.1))" }.joined(separator: "&")
        }
        // Every part is either validated at configuration or percent-encoded above.
        return URL(string: text)!
    }

    /// One exchange with Bearer authorisation and, when given, a JSON body. Transport failures
    /// become ``ProviderError``: nothing sent is always safe to retry; no answer to a submission
    /// is an unknown outcome (a task may exist), to a status read just a retry.
    func send(_ method: String, _ url: URL, apiKey: String, json: JSONValue? = nil, headers extra: HTTPHeaders = [:],
              call: Call) async throws(ProviderError) -> TransportResponse {
        // A control character (the \r an .env file leaves) would make URLSession drop the header
        // silently, or forge another: refused before anything is sent, without quoting the key.
        if let problem = ProviderCredentials.problem(withKey: apiKey) { throw .auth("the API key \(problem); set it to the key alone") }
        var headers: HTTPHeaders = ["Authorization": "Bearer \(apiKey)", "Accept": "application/json"]
        var body: [UInt8] = []
        if let json {
            headers.fields.append(HTTPField("Content-Type", "application/json"))
            body = Array(JSONWriter.compact(json).utf8)
        }
        headers.fields += extra.fields
        do {
            let answer = try await transport.send(TransportRequest(method: method, url: url, headers: headers, body: body, timeout: timeout))
            return Self.redacted(answer, secret: apiKey)
        } catch {
            switch (error, call) {
            case (.notSent(let m), _): return try Self.fail(.retryLater("the request was not sent: \(m)"))
            case (.noAnswer(let m), .submit):
                return try Self.fail(.outcomeUnknown("the submission may have created a task, but no answer came: \(m)"))
            case (.noAnswer(let m), .status): return try Self.fail(.retryLater("no answer to the status request: \(m)"))
            }
        }
    }

    private static func fail<T>(_ e: ProviderError) throws(ProviderError) -> T { throw e }

    /// The answer with the key, and every 8-byte piece of it, removed from the headers and the
    /// body before any adapter reads it: so no task id, result URL, billed field, error text or
    /// truncated snippet built from the answer can carry it. A JSON body is redacted after its
    /// escapes are decoded (and written back compactly); any other body as text.
    static func redacted(_ answer: TransportResponse, secret: String) -> TransportResponse {
        let redactor = SecretRedactor(secret: secret)
        if redactor.isEmpty { return answer }
        var clean = answer
        clean.headers.fields = answer.headers.fields.map { HTTPField(redactor.redact($0.name), redactor.redact($0.value)) }
        if let json = try? JSONParser.parse(bytes: answer.body) {
            clean.body = Array(JSONWriter.compact(redactor.redact(json)).utf8)
        } else {
            clean.body = Array(redactor.redact(String(decoding: answer.body, as: UTF8.self)).utf8)
        }
        return clean
    }

    private static func escapeQuery(_ s: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// A task id made safe for one path segment.
    static func pathSegment(_ s: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#;")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// Parses a body as JSON, or nil.
    static func json(_ body: [UInt8]) -> JSONValue? { try? JSONParser.parse(bytes: body) }

    /// The one table from an HTTP error status to an error class. Providers map their own error
    /// codes first and fall back to this.
    ///
    /// 400, 404 and other 4xx: bad request. 401: auth. 402: out of balance. 403: auth (callers
    /// that know 403 can mean refused content decide before). 408: retry. 429: rate limited with
    /// the Retry-After delay. 503 with Retry-After: rate limited. Other 5xx: retry later.
    /// 3xx: bad request (a provider API that redirects means the base URL is wrong).
    static func error(status: Int, headers: HTTPHeaders, message: String) -> ProviderError {
        let text = "HTTP \(status): \(message)"
        switch status {
        case 401: return .auth(text)
        case 402: return .outOfBalance(text)
        case 403: return .auth(text)
        case 408: return .retryLater(text)
        case 429: return .rateLimited(retryAfter: retryAfter(headers), text)
        case 503 where retryAfter(headers) != nil: return .rateLimited(retryAfter: retryAfter(headers), text)
        case 500...599: return .retryLater(text)
        default: return .badRequest(text)
        }
    }

    /// The longest wait a provider may ask for: a hostile or broken Retry-After of years is held
    /// to an hour, so a job's time stays bounded (its deadline decides the rest).
    static let longestRetryAfter = Seconds(whole: 3_600)

    /// The Retry-After header in seconds (decimal accepted), at most ``longestRetryAfter``; nil
    /// when absent or an HTTP date.
    static func retryAfter(_ headers: HTTPHeaders) -> Seconds? {
        guard let text = headers["Retry-After"]?.trimmingCharacters(in: .whitespaces),
              let s = Seconds(decimal: text), s.micros >= 0 else { return nil }
        return min(s, longestRetryAfter)
    }

    /// A JSON error body's words for a message, or the first bytes of a non-JSON body.
    static func snippet(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return text.isEmpty ? "(empty body)" : text
    }

    /// Runs `body` and removes `apiKey` from any error it throws, so keys never reach output.
    static func redacting<T: Sendable>(_ apiKey: String, _ body: () async throws(ProviderError) -> T) async throws(ProviderError) -> T {
        do { return try await body() } catch { throw error.redacting(apiKey) }
    }
}

/// Words that say a provider's moderation refused the content, in any provider's spelling.
enum FailureText {
    private static let moderationWords = ["datainspection", "ipinfringement", "moderation", "content policy", "contentpolicy",
                                          "sensitive", "inappropriate", "nsfw", "safety", "content was rejected", "content rejected"]
    private static let inputWords = ["invalid", "unsupported", "download", "cannot be probed", "badrequest"]

    /// Whether a code or message says the content was refused.
    static func isModeration(_ text: String) -> Bool {
        let t = text.lowercased()
        return moderationWords.contains { t.contains($0) }
    }

    /// The one classification of a failed task's code and message: moderation words mean refused
    /// content, input words (invalid, unsupported, download) bad input, anything else a provider
    /// error (retrying elsewhere may work).
    static func failure(code: String, message: String) -> TaskFailure {
        let both = code + " " + message
        if isModeration(both) { return .contentRefused(code: code, message: message) }
        let t = both.lowercased()
        if inputWords.contains(where: { t.contains($0) }) { return .badInput(code: code, message: message) }
        return .providerError(code: code, message: message)
    }
}

extension TaskFailure {
    /// The same failure with `secret` removed from its message and code.
    func redacting(_ secret: String) -> TaskFailure {
        let redactor = SecretRedactor(secret: secret)
        func r(_ s: String) -> String { redactor.redact(s) }
        switch self {
        case .contentRefused(let c, let m): return .contentRefused(code: r(c), message: r(m))
        case .badInput(let c, let m): return .badInput(code: r(c), message: r(m))
        case .providerError(let c, let m): return .providerError(code: r(c), message: r(m))
        }
    }
}

extension TaskState {
    /// The same state with `secret` removed from any failure text.
    func redacting(_ secret: String) -> TaskState {
        if case .failed(let f) = self { return .failed(f.redacting(secret)) }
        return self
    }
}

extension JSONValue {
    /// The items of an array, or nil (named for the wire readers, apart from other modules' helpers).
    var wireArray: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The literal text of a number, or nil.
    var wireNumber: String? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// A string, or a number's text: providers are loose about which they send for codes and ids.
    var wireText: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return n
        default: return nil
        }
    }

    /// An integer from a number (or numeric string), or nil.
    var wireInt: Int? { wireText.flatMap { Int($0) } }
}
