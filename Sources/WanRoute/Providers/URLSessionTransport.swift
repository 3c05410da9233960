import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The production ``HTTPTransport``: one shared, ephemeral URLSession (no cache, no cookies),
/// whole bodies read into memory up to a bound, and deadlines enforced here rather than by
/// FoundationNetworking (which fails sub-second time-outs at once on Linux).
///
/// Errors are classed by whether the request can have left the machine: failing to connect or
/// to resolve the host is ``TransportError/notSent(_:)``; a time-out, a lost connection, a
/// truncated or oversized answer, or a cancellation is ``TransportError/noAnswer(_:)``.
public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    /// The default bound on an answer's body: provider answers are a few kilobytes.
    public static let defaultMaximumBodyBytes = 4 << 20

    /// The largest body accepted; a longer answer is reported as ``TransportError/noAnswer(_:)``.
    public let maximumBodyBytes: Int
    // Immutable after init; URLSession and the delegate are thread-safe.
    private let session: URLSession
    private let delegate: SessionDelegate

    /// Creates a transport with its own session. Share one per process: sessions are expensive.
    public convenience init(maximumBodyBytes: Int = URLSessionTransport.defaultMaximumBodyBytes) {
        self.init(maximumBodyBytes: maximumBodyBytes, plainHTTPOverSocket: true)
    }

    /// Whether plain http goes over the socket client (always, outside tests: tests turn it off
    /// to hold the URLSession path to the same hostile servers over loopback).
    let plainHTTPOverSocket: Bool

    init(maximumBodyBytes: Int, plainHTTPOverSocket: Bool) {
        self.maximumBodyBytes = maximumBodyBytes
        self.plainHTTPOverSocket = plainHTTPOverSocket
        let configuration = URLSessionConfiguration.ephemeral
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        delegate = SessionDelegate(limit: maximumBodyBytes)
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
    }

    deinit { session.invalidateAndCancel() }

    /// Sends the request and waits at most `request.timeout` seconds for the whole answer.
    ///
    /// Plain `http://` goes over wanroute's own socket client (``SocketHTTPTransfer``: nothing is
    /// decompressed, every byte counts against ``maximumBodyBytes``, every step is held to the
    /// time-out); `https://` over URLSession, which refuses encoded bodies and caps decoded ones.
    public func send(_ request: TransportRequest) async throws(TransportError) -> TransportResponse {
        if plainHTTPOverSocket, request.url.scheme?.lowercased() == "http" { return try await sendOverSocket(request) }
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        for field in request.headers.fields { urlRequest.addValue(field.value, forHTTPHeaderField: field.name) }
        urlRequest.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }
        // Our own timer below decides; URLSession's is only a backstop after it (see the type doc).
        urlRequest.timeoutInterval = max(1, request.timeout.rounded(.up)) + 1
        let task = session.dataTask(with: urlRequest)
        let exchange = Exchange(task: task)
        let result: Result<TransportResponse, TransportError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                exchange.start(continuation)
                delegate.register(exchange)
                let timeout = request.timeout
                DispatchQueue.global().asyncAfter(deadline: .now() + max(0, timeout)) {
                    exchange.finish(.failure(.noAnswer("no complete answer within \(timeout) s")))
                }
                if !exchange.isDone { task.resume() }
            }
        } onCancel: {
            exchange.finish(.failure(.noAnswer("the request was cancelled while waiting for the answer")))
        }
        delegate.unregister(exchange)
        return try result.get()
    }

    private func sendOverSocket(_ request: TransportRequest) async throws(TransportError) -> TransportResponse {
        let holder = SocketExchangeHolder()
        let limit = maximumBodyBytes
        let result: Result<TransportResponse, TransportError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let transfer = SocketHTTPTransfer(method: request.method, url: request.url, headers: request.headers, body: request.body,
                                                  limit: limit, deadline: Date().addingTimeInterval(max(0, request.timeout))) { done in
                    continuation.resume(returning: Self.result(of: done, limit: limit, timeout: request.timeout))
                }
                holder.set(transfer)
            }
        } onCancel: {
            holder.cancel()
        }
        return try result.get()
    }

    private static func result(of t: SocketHTTPTransfer, limit: Int, timeout: Double) -> Result<TransportResponse, TransportError> {
        if t.overflowed { return .failure(.noAnswer("the answer is larger than \(limit) bytes")) }
        switch t.failure {
        case .notSent(let m): return .failure(.notSent(m))
        case .noAnswer(let m):
            return .failure(.noAnswer(m == "no complete answer before the time limit" ? "no complete answer within \(timeout) s" : m))
        case nil: break
        }
        guard let head = t.head else { return .failure(.noAnswer("the server closed the connection without answering")) }
        return .success(TransportResponse(status: head.status, headers: head.headers, body: t.takeData()))
    }

    /// Classifies a URLSession error: only failures that happen before any byte of the request
    /// can have been written are "not sent".
    static func classify(_ error: Error) -> TransportError {
        guard let urlError = error as? URLError else { return .noAnswer("the exchange failed: \(error.localizedDescription)") }
        switch urlError.code {
        case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed, .notConnectedToInternet, .badURL, .unsupportedURL,
             .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .clientCertificateRejected:
            return .notSent("could not connect (URLError \(urlError.code.rawValue))")
        case .timedOut:
            return .noAnswer("timed out waiting for the answer")
        case .networkConnectionLost:
            return .noAnswer("the connection was lost before the answer was complete")
        default:
            return .noAnswer("the exchange failed (URLError \(urlError.code.rawValue))")
        }
    }
}

/// The socket exchange of one request, for a cancellation that may come before it starts.
private final class SocketExchangeHolder: @unchecked Sendable {
    private let lock = NSLock()
    private var transfer: SocketHTTPTransfer?
    private var cancelled = false

    func set(_ t: SocketHTTPTransfer) {
        let cancelNow = lock.withLock { () -> Bool in
            transfer = t
            return cancelled
        }
        if cancelNow { t.cancel() }
    }

    func cancel() {
        let t = lock.withLock { () -> SocketHTTPTransfer? in
            cancelled = true
            return transfer
        }
        t?.cancel()
    }
}

/// One request in flight: collects the answer and resumes its caller exactly once, whichever of
/// completion, overflow, deadline or cancellation comes first.
private final class Exchange: @unchecked Sendable {
    // Every field is guarded by `lock`.
    private let lock = NSLock()
    let task: URLSessionDataTask
    private var continuation: CheckedContinuation<Result<TransportResponse, TransportError>, Never>?
    private var pending: Result<TransportResponse, TransportError>?
    private var done = false
    private var response: HTTPURLResponse?
    private var body: [UInt8] = []

    init(task: URLSessionDataTask) { self.task = task }

    func start(_ c: CheckedContinuation<Result<TransportResponse, TransportError>, Never>) {
        let early: Result<TransportResponse, TransportError>? = lock.withLock {
            // Cancellation can arrive before the continuation exists.
            if let pending { return pending }
            continuation = c
            return nil
        }
        if let early { c.resume(returning: early) }
    }

    var isDone: Bool { lock.withLock { done } }

    func received(_ r: HTTPURLResponse) { lock.withLock { response = r } }

    /// Appends body bytes; false when the bound is crossed (the exchange is then finished).
    func append(_ data: Data, limit: Int) -> Bool {
        let over = lock.withLock { () -> Bool in
            body.append(contentsOf: data)
            return body.count > limit
        }
        if over { finish(.failure(.noAnswer("the answer is larger than \(limit) bytes"))) }
        return !over
    }

    func complete(_ error: Error?) {
        if let error { finish(.failure(URLSessionTransport.classify(error))); return }
        let answer = lock.withLock { () -> TransportResponse? in
            guard let response else { return nil }
            var headers = HTTPHeaders()
            for (name, value) in response.allHeaderFields {
                if let name = name as? String, let value = value as? String { headers.fields.append(HTTPField(name, value)) }
            }
            return TransportResponse(status: response.statusCode, headers: headers, body: body)
        }
        finish(answer.map { .success($0) } ?? .failure(.noAnswer("the server closed the connection without answering")))
    }

    /// Delivers the first result; later ones are ignored. Anything but a completed answer also
    /// cancels the URLSession task so its connection is closed.
    func finish(_ result: Result<TransportResponse, TransportError>) {
        let c = lock.withLock { () -> CheckedContinuation<Result<TransportResponse, TransportError>, Never>?? in
            if done { return .none }
            done = true
            defer { continuation = nil }
            if continuation == nil { pending = result }
            return .some(continuation)
        }
        guard case .some(let waiting) = c else { return }
        if case .failure = result { task.cancel() }
        waiting?.resume(returning: result)
    }
}

/// The session's delegate: routes callbacks to the exchange of each task.
private final class SessionDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    // Guarded by `lock`.
    private var exchanges: [Int: Exchange] = [:]
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    func register(_ e: Exchange) { lock.withLock { exchanges[e.task.taskIdentifier] = e } }
    func unregister(_ e: Exchange) { lock.withLock { _ = exchanges.removeValue(forKey: e.task.taskIdentifier) } }
    private func exchange(_ task: URLSessionTask) -> Exchange? { lock.withLock { exchanges[task.taskIdentifier] } }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let http = response as? HTTPURLResponse
        if let http { exchange(dataTask)?.received(http) }
        completionHandler(.allow)
        // libcurl decodes gzip whatever we ask for, and ignores a `.cancel` disposition: an
        // encoded answer is refused here by cancelling the task itself.
        let encoding = (http?.value(forHTTPHeaderField: "Content-Encoding") ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        if !encoding.isEmpty, encoding != "identity" {
            exchange(dataTask)?.finish(.failure(.noAnswer("the answer was encoded as \"\(encoding.prefix(40))\", which wanroute refuses because it can expand without bound")))
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        // An exchange already answered (or one unregistered) keeps nothing more: cancel.
        guard let e = exchange(dataTask), !e.isDone else { dataTask.cancel(); return }
        if !e.append(data, limit: limit) { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        exchange(task)?.complete(error)
    }

    /// Provider APIs do not redirect; a redirect is returned as-is so a wrong base URL shows up
    /// instead of a POST being replayed somewhere else.
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}
