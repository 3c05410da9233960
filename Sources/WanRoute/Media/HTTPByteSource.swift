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
    private var stream: Transfer?

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
            let transfer = Transfer(request: request, limit: Int(cap), timeout: options.requestTimeout)
            guard transfer.waitForResponse(until: until) else {
                transfer.cancel()
                throw timeoutError(until)
            }
            guard let response = transfer.response else {
                transfer.cancel()
                throw transfer.failure ?? .network("the server closed the connection without answering")
            }
            switch response.statusCode {
            case 301, 302, 303, 307, 308:
                transfer.cancel()
                redirects += 1
                guard redirects <= options.maxRedirects else { throw .tooManyRedirects(limit: options.maxRedirects) }
                guard let location = response.value(forHTTPHeaderField: "Location"),
                      let next = URL(string: location, relativeTo: url)?.absoluteURL else {
                    throw .httpStatus(response.statusCode, url: url.absoluteString)
                }
                url = try MediaProbe.validatedURL(next.absoluteString)
            case 206:
                guard transfer.waitForEnd(until: until) else {
                    transfer.cancel()
                    throw timeoutError(until)
                }
                if transfer.overflowed { throw .tooManyBytes(limit: options.maxBytes) }
                if let failure = transfer.failure { throw failure }
                let (start, total) = Self.contentRange(response.value(forHTTPHeaderField: "Content-Range"))
                if let total { size = total }
                downloaded += Int64(transfer.received)
                segments.append((start ?? offset, transfer.takeData()))
                return
            case 200:
                // The server ignored Range: keep the body flowing and read it as far as needed.
                if let stated = Self.statedSize(response.expectedContentLength) { size = stated }
                stream = transfer
                return
            case 416:
                // Asked beyond the end: the Content-Range says how long the file really is.
                transfer.cancel()
                size = Self.contentRange(response.value(forHTTPHeaderField: "Content-Range")).total ?? offset
                return
            default:
                transfer.cancel()
                throw .httpStatus(response.statusCode, url: url.absoluteString)
            }
        }
    }

    private func streamRead(_ stream: Transfer, offset: Int64, length: Int) throws(ProbeError) -> [UInt8] {
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

/// One GET in flight: collects the response and body from URLSession's delegate queue and lets
/// the probing thread wait for them with a deadline.
private final class Transfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // Every field below is guarded by `condition`.
    private let condition = NSCondition()
    private var _response: HTTPURLResponse?
    private var data: [UInt8] = []
    private var finished = false
    private var _failure: ProbeError?
    private var _overflowed = false
    private let limit: Int
    private var session: URLSession?
    private var task: URLSessionDataTask?

    init(request: URLRequest, limit: Int, timeout: Double) {
        self.limit = limit
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        // Our own deadlines decide time-outs; FoundationNetworking truncates sub-second values to
        // 0 and fails at once, so its timer is only a backstop well after ours.
        configuration.timeoutIntervalForRequest = timeout.rounded(.up) + 1
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
        let task = session.dataTask(with: request)
        condition.lock()
        self.session = session
        self.task = task
        condition.unlock()
        task.resume()
    }

    var response: HTTPURLResponse? { locked { _response } }
    var failure: ProbeError? { locked { _failure } }
    var overflowed: Bool { locked { _overflowed } }
    var received: Int { locked { data.count } }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    private func wait(until: Date, for done: () -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !done() {
            if !condition.wait(until: until) { return done() }
        }
        return true
    }

    func waitForResponse(until: Date) -> Bool { wait(until: until) { _response != nil || finished } }
    func waitForEnd(until: Date) -> Bool { wait(until: until) { finished } }
    func waitForBytes(_ count: Int, until: Date) -> Bool { wait(until: until) { data.count >= count || finished } }

    func takeData() -> [UInt8] { locked { data } }

    func snapshot(from offset: Int, count: Int) -> ([UInt8], Bool, Bool, ProbeError?) {
        locked {
            let start = min(offset, data.count)
            return (Array(data[start..<min(data.count, start + count)]), finished, _overflowed, _failure)
        }
    }

    func cancel() {
        let session = locked { () -> URLSession? in
            finished = true
            defer { self.session = nil }
            return self.session
        }
        session?.invalidateAndCancel()
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        condition.lock()
        _response = response as? HTTPURLResponse
        condition.broadcast()
        condition.unlock()
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive received: Data) {
        condition.lock()
        let room = limit - data.count
        data.append(contentsOf: received.prefix(max(0, room)))
        let over = received.count > room
        if over { _overflowed = true; finished = true }
        condition.broadcast()
        condition.unlock()
        if over { cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        condition.lock()
        if let error, !finished {
            _failure = .network(error.localizedDescription)
        }
        finished = true
        condition.broadcast()
        condition.unlock()
        session.finishTasksAndInvalidate()
    }

    /// Redirects are followed by the caller, so each hop is validated, counted and bounded.
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}
