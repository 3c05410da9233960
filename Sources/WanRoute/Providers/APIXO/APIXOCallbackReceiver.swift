import Foundation

/// Receives APIXO's webhook calls (`request_type: "callback"`) on a loopback port.
///
/// APIXO posts the task's final `data` object (the status answer's shape, with or without the
/// `{code, message, data}` envelope) and retries three times unless answered 200 within 30 s, so
/// every well-formed call is answered 200 at once and handed over through ``callbacks``.
///
/// Callbacks are not signed: anyone who can reach the URL can claim anything. A callback is
/// therefore only a hint that a task may have finished; ``confirm(_:adapter:apiKey:)`` asks the
/// status endpoint, and only its answer counts.
public final class APIXOCallbackReceiver: @unchecked Sendable {
    /// One received call: the task it names and what it claims (unverified).
    public struct Callback: Sendable, Equatable {
        /// `data.taskId`.
        public var taskID: String
        /// The state the payload claims; never act on it without ``APIXOCallbackReceiver/confirm(_:adapter:apiKey:)``.
        public var claimedState: TaskState?
    }

    /// The path the receiver answers on.
    public static let path = "/apixo/callback"

    /// Every received callback, in arrival order.
    public let callbacks: AsyncStream<Callback>
    private let continuation: AsyncStream<Callback>.Continuation
    // Set once in init.
    private var server: LoopbackHTTPServer?

    /// Starts a loopback server on `port` (0 = any free port).
    public init(port: UInt16 = 0) throws {
        (callbacks, continuation) = AsyncStream.makeStream(of: Callback.self)
        let continuation = self.continuation
        server = try LoopbackHTTPServer(port: port) { request in
            let (response, callback) = Self.handle(request)
            if let callback { continuation.yield(callback) }
            return response
        }
    }

    /// The URL to pass as ``GenerationRequest/callbackURL``.
    public var url: String { (server?.baseURL ?? "") + Self.path }

    /// Stops the server and ends ``callbacks``. Must be called.
    public func stop() {
        server?.stop()
        continuation.finish()
    }

    deinit { stop() }

    /// Reads one request: 200 and the callback for a well-formed POST to ``path``; 404 or 400
    /// otherwise. Usable from any ``LoopbackHTTPServer`` handler.
    public static func handle(_ request: HTTPRequest) -> (HTTPResponse, Callback?) {
        guard request.path == path else { return (.text(404, "not found\n"), nil) }
        guard request.method == "POST" else { return (.text(405, "POST only\n"), nil) }
        guard let json = ProviderHTTP.json(request.body) else { return (.text(400, "the body is not JSON\n"), nil) }
        let data = json["data"] ?? json
        guard let id = data["taskId"]?.wireText, !id.isEmpty else { return (.text(400, "no data.taskId\n"), nil) }
        let ok = HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: Array(#"{"code":200,"message":"received"}"#.utf8))
        return (ok, Callback(taskID: id, claimedState: APIXOAdapter.state(data)))
    }

    /// The task's state as the status endpoint reports it: the only answer to trust after a callback.
    public func confirm(_ callback: Callback, adapter: any ProviderAdapter, apiKey: String) async throws(ProviderError) -> TaskState {
        try await adapter.status(taskID: callback.taskID, apiKey: apiKey)
    }
}
