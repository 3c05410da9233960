import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A remote file read with HTTP Range requests, cached in chunks so a moov-first file takes one
/// request and a moov-last file three at most.
///
/// Servers that ignore Range (answering 200 with the whole body) are read as a stream that is
/// cancelled as soon as the parser has its answer, or when the byte cap is reached.
final class HTTPByteSource: ByteSource {
    private let options: ProbeOptions
    private var url: URL
    private var deadline: Date?
    private(set) var size: Int64?
    private(set) var requests = 0
    private var downloaded: Int64 = 0
    /// Ranges fetched so far: (first byte's offset, bytes).
    private var segments: [(offset: Int64, bytes: [UInt8])] = []
    /// The live whole-body answer of a server that ignored Range.
    private var stream: BodyTransfer?

    var bytesRead: Int64 { downloaded + Int64(stream?.received ?? 0) }

    init(url: URL, options: ProbeOptions) throws(ProbeError) {
        self.url = url
        self.options = options
    }

    deinit { stream?.cancel() }

    func read(offset: Int64, length: Int) throws(ProbeError) -> [UInt8] {
        guard offset >= 0, length > 0 else { return [] }
        // Offsets and lengths are held to maximumFileBytes, so offset + length never overflows.
        guard offset < maximumFileBytes else { return [] }
        let length = Int(min(Int64(length), maximumFileBytes))
        if let size, offset >= size { return [] }
        if let hit = cached(offset, length) { return hit }
        if stream == nil {
            try fetch(offset: offset, count: max(Int64(length), Int64(options.chunkSize)))
        }
        if let stream { return try streamRead(stream, offset: offset, length: length) }
        if let size, offset >= size { return [] }
        if let hit = cached(offset, length) { return hit }
        throw .truncated("the server's answer")
    }

    /// Cached bytes covering the request (clipped at the end of the file), or nil.
    private func cached(_ offset: Int64, _ length: Int) -> [UInt8]? {
        let want = size.map { min(Int64(length), $0 - offset) } ?? Int64(length)
        for s in segments where s.offset <= offset && s.offset + Int64(s.bytes.count) >= offset + want {
            let start = Int(offset - s.offset)
            return Array(s.bytes[start..<start + Int(want)])
        }
        return nil
    }

    private func remainingTime() throws(ProbeError) -> Date {
        let now = Date()
        let overall = deadline ?? now.addingTimeInterval(options.overallTimeout)
        deadline = overall
        guard now < overall else { throw .timeout(seconds: options.overallTimeout) }
        return min(overall, now.addingTimeInterval(options.requestTimeout))
    }

    private func timeoutError(_ until: Date) -> ProbeError {
        .timeout(seconds: until == deadline ? options.overallTimeout : options.requestTimeout)
    }

    /// One ranged GET (following redirects); stores a segment, or adopts a 200 answer as the stream.
    private func fetch(offset: Int64, count: Int64) throws(ProbeError) {
        var redirects = 0
        while true {
            let until = try remainingTime()
            let cap = options.maxBytes - bytesRead
            guard cap > 0 else { throw .tooManyBytes(limit: options.maxBytes) }
            var request = URLRequest(url: url)
            request.setValue("bytes=\(offset)-\(offset + count - 1)", forHTTPHeaderField: "Range")
            request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
            requests += 1
            let transfer = Self.start(request, limit: Int(cap), options: options, until: until)
            guard transfer.waitForResponse(until: until) else {
                transfer.cancel()
                throw timeoutError(until)
            }
            guard let response = transfer.head else {
                transfer.cancel()
                throw transfer.failure ?? .network("the server closed the connection without answering")
            }
            switch response.status {
            case 301, 302, 303, 307, 308:
                transfer.cancel()
                redirects += 1
                guard redirects <= options.maxRedirects else { throw .tooManyRedirects(limit: options.maxRedirects) }
                guard let location = response.headers["Location"],
                      let next = URL(string: location, relativeTo: url)?.absoluteURL else {
                    throw .httpStatus(response.status, url: url.absoluteString)
                }
                url = try MediaProbe.validatedURL(next.absoluteString)
            case 206:
                guard transfer.waitForEnd(until: until) else {
                    transfer.cancel()
                    throw timeoutError(until)
                }
                if transfer.overflowed { throw .tooManyBytes(limit: options.maxBytes) }
                if let failure = transfer.failure { throw failure }
                let (start, total) = Self.contentRange(response.headers["Content-Range"])
                if let total { size = total }
                downloaded += Int64(transfer.received)
                segments.append((start ?? offset, transfer.takeData()))
                return
            case 200:
                // The server ignored Range: keep the body flowing and read it as far as needed.
                if let failure = transfer.failure { transfer.cancel(); throw failure }
                if let stated = Self.statedSize(response.expectedLength) { size = stated }
                stream = transfer
                return
            case 416:
                // Asked beyond the end: the Content-Range says how long the file really is.
                transfer.cancel()
                size = Self.contentRange(response.headers["Content-Range"]).total ?? offset
                return
            default:
                transfer.cancel()
                throw .httpStatus(response.status, url: url.absoluteString)
            }
        }
    }

    /// Plain http goes over wanroute's own socket client (no decoding, every byte counted, every
    /// step held to the deadline: see ``SocketHTTPTransfer``); https over URLSession.
    private static func start(_ request: URLRequest, limit: Int, options: ProbeOptions, until: Date) -> BodyTransfer {
        if request.url?.scheme?.lowercased() == "http", let url = request.url {
            var headers = HTTPHeaders()
            for (name, value) in request.allHTTPHeaderFields ?? [:] { headers.fields.append(HTTPField(name, value)) }
            // A little after the caller's own deadline, so the caller's message is the one shown.
            return SocketBodyTransfer(SocketHTTPTransfer(method: "GET", url: url, headers: headers, body: [], limit: limit,
                                                         deadline: until.addingTimeInterval(1)))
        }
        return Transfer(request: request, limit: limit, timeout: options.requestTimeout)
    }

    private func streamRead(_ stream: BodyTransfer, offset: Int64, length: Int) throws(ProbeError) -> [UInt8] {
        let until = try remainingTime()
        let end = offset + Int64(length)
        guard stream.waitForBytes(Int(min(end, Int64(Int.max))), until: until) else {
            stream.cancel()
            throw timeoutError(until)
        }
        let (bytes, finished, overflowed, failure) = stream.snapshot(from: Int(offset), count: length)
        if bytes.count == length { return bytes }
        if overflowed { throw .tooManyBytes(limit: options.maxBytes) }
        if let failure { throw failure }
        if finished, size == nil || size == Int64(stream.received) {
            size = Int64(stream.received)
            return bytes
        }
        throw .truncated("the server's answer")
    }

    /// Parses `bytes START-END/TOTAL` (or `bytes */TOTAL`, or `/*` for an unknown total). Values
    /// outside 0...maximumFileBytes are dropped as lies, so no later offset arithmetic can overflow.
    static func contentRange(_ header: String?) -> (start: Int64?, total: Int64?) {
        guard let header, header.utf8.count <= 200, let slash = header.lastIndex(of: "/") else { return (nil, nil) }
        func bounded(_ text: Substring?) -> Int64? {
            guard let text, let n = Int64(text.trimmingCharacters(in: .whitespaces)), n >= 0, n <= maximumFileBytes else { return nil }
            return n
        }
        let total = bounded(header[header.index(after: slash)...])
        let range = header[..<slash].replacingOccurrences(of: "bytes", with: "").trimmingCharacters(in: .whitespaces)
        let start = bounded(range.split(separator: "-").first)
        return (start, total)
    }

    /// A size a server states (Content-Length), or nil when absent or beyond any file.
    static func statedSize(_ length: Int64) -> Int64? {
        length >= 0 && length <= maximumFileBytes ? length : nil
    }
}

/// One GET in flight, as the byte source waits on it.
private protocol BodyTransfer: AnyObject {
    var head: TransferHead? { get }
    var failure: ProbeError? { get }
    var overflowed: Bool { get }
    var received: Int { get }
    func waitForResponse(until: Date) -> Bool
    func waitForEnd(until: Date) -> Bool
    func waitForBytes(_ count: Int, until: Date) -> Bool
    func takeData() -> [UInt8]
    func snapshot(from offset: Int, count: Int) -> ([UInt8], Bool, Bool, ProbeError?)
    func cancel()
}

/// A plain-http GET over ``SocketHTTPTransfer``.
private final class SocketBodyTransfer: BodyTransfer {
    let transfer: SocketHTTPTransfer
    init(_ transfer: SocketHTTPTransfer) { self.transfer = transfer }
    deinit { transfer.cancel() }

    var head: TransferHead? { transfer.head }
    var failure: ProbeError? { transfer.failure.map { Self.probeError($0) } }
    var overflowed: Bool { transfer.overflowed }
    var received: Int { transfer.received }
    func waitForResponse(until: Date) -> Bool { transfer.waitForHead(until: until) }
    func waitForEnd(until: Date) -> Bool { transfer.waitForEnd(until: until) }
    func waitForBytes(_ count: Int, until: Date) -> Bool { transfer.waitForBytes(count, until: until) }
    func takeData() -> [UInt8] { transfer.takeData() }
    func snapshot(from offset: Int, count: Int) -> ([UInt8], Bool, Bool, ProbeError?) {
        let (bytes, finished, overflowed, failure) = transfer.snapshot(from: offset, count: count)
        return (bytes, finished, overflowed, failure.map { Self.probeError($0) })
    }
    func cancel() { transfer.cancel() }

    static func probeError(_ f: SocketHTTPTransfer.Failure) -> ProbeError { .network(f.message) }
}

/// One GET in flight over URLSession (https): collects the response and body from URLSession's
/// delegate queue and lets the probing thread wait for them with a deadline. An encoded body is
/// refused at its head by cancelling the task (a `.cancel` disposition is ignored on Linux), and
/// decoded bytes count against the cap.
private final class Transfer: NSObject, URLSessionDataDelegate, BodyTransfer, @unchecked Sendable {
    /// The body; every field below is guarded by its lock too.
    private let buffer: TransferBuffer<ProbeError>
    private var _response: HTTPURLResponse?
    private var session: URLSession?
    private var task: URLSessionDataTask?

    init(request: URLRequest, limit: Int, timeout: Double) {
        buffer = TransferBuffer(limit: limit)
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        // Our own deadlines decide time-outs; FoundationNetworking truncates sub-second values to
        // 0 and fails at once, so its timer is only a backstop well after ours.
        configuration.timeoutIntervalForRequest = timeout.rounded(.up) + 1
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
        let task = session.dataTask(with: request)
        buffer.locked { _ in
            self.session = session
            self.task = task
        }
        task.resume()
    }

    var response: HTTPURLResponse? { buffer.locked { _ in _response } }
    var head: TransferHead? {
        response.map { r in
            var headers = HTTPHeaders()
            for (name, value) in r.allHeaderFields {
                if let name = name as? String, let value = value as? String { headers.fields.append(HTTPField(name, value)) }
            }
            return TransferHead(status: r.statusCode, headers: headers, expectedLength: r.expectedContentLength)
        }
    }
    var failure: ProbeError? { buffer.failure }
    var overflowed: Bool { buffer.overflowed }
    var received: Int { buffer.received }

    func waitForResponse(until: Date) -> Bool { buffer.wait(until: until) { _response != nil || $0.finished } }
    func waitForEnd(until: Date) -> Bool { buffer.waitForEnd(until: until) }
    func waitForBytes(_ count: Int, until: Date) -> Bool { buffer.waitForBytes(count, until: until) }

    func takeData() -> [UInt8] { buffer.takeData() }

    func snapshot(from offset: Int, count: Int) -> ([UInt8], Bool, Bool, ProbeError?) {
        buffer.snapshot(from: offset, count: count)
    }

    func cancel() {
        let session = buffer.locked { state -> URLSession? in
            state.finished = true
            defer { self.session = nil }
            return self.session
        }
        session?.invalidateAndCancel()
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let http = response as? HTTPURLResponse
        let encoding = (http?.value(forHTTPHeaderField: "Content-Encoding") ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let refused = !encoding.isEmpty && encoding != "identity"
        buffer.update { state in
            _response = http
            if refused {
                state.failure = .network("the server sent a body encoded as \"\(encoding.prefix(40))\" although wanroute asked for identity; encoded bodies are refused because they can expand without bound")
                state.finished = true
            }
        }
        completionHandler(.allow)
        if refused { dataTask.cancel(); cancel() }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive received: Data) {
        // Refused or over the cap already: whatever libcurl still delivers is dropped (nil).
        let over = buffer.update { state -> Bool? in
            if state.finished { return nil }
            let over = state.keep(received)
            if over { state.finished = true }
            return over
        }
        guard let over else {
            dataTask.cancel()
            return
        }
        if over { cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        buffer.update { state in
            if let error, !state.finished {
                state.failure = .network(error.localizedDescription)
            }
            state.finished = true
        }
        session.finishTasksAndInvalidate()
    }

    /// Redirects are followed by the caller, so each hop is validated, counted and bounded.
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}
