import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One header field as received or to be sent.
public struct HTTPField: Sendable, Equatable {
    /// The field name, as spelled by the sender.
    public var name: String
    /// The field value, trimmed of surrounding whitespace.
    public var value: String
    /// Creates a field.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Header fields in order, looked up without regard to case (HTTP names are case-insensitive).
public struct HTTPHeaders: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    /// The fields in the order they were received or added.
    public var fields: [HTTPField]

    /// Creates headers from fields.
    public init(_ fields: [HTTPField] = []) { self.fields = fields }
    /// Creates headers from a literal such as `["Content-Type": "text/plain"]`.
    public init(dictionaryLiteral elements: (String, String)...) { fields = elements.map { HTTPField($0.0, $0.1) } }

    /// The first value of the field `name`, ignoring case; nil when absent.
    public subscript(name: String) -> String? {
        fields.first(where: { $0.name.caseInsensitiveCompare(name) == .orderedSame })?.value
    }
}

/// A request received by ``LoopbackHTTPServer``.
public struct HTTPRequest: Sendable, Equatable {
    /// The method, such as `GET` or `POST`.
    public var method: String
    /// The path part of the request target, such as `/videos/a.mp4` (not percent-decoded).
    public var path: String
    /// The text after `?`, or nil.
    public var query: String?
    /// The header fields.
    public var headers: HTTPHeaders
    /// The body (empty when there is none).
    public var body: [UInt8]
}

/// A response for ``LoopbackHTTPServer`` to send: whole, or streamed by a closure.
public struct HTTPResponse: Sendable {
    /// How the body is produced.
    public enum Body: Sendable {
        /// A complete body, sent with Content-Length; the connection may be kept alive.
        case bytes([UInt8])
        /// A body written piece by piece; the connection closes when the closure returns, which
        /// also ends the body unless a Content-Length header was given.
        case stream(@Sendable (HTTPBodyWriter) -> Void)
    }

    /// The status code.
    public var status: Int
    /// Header fields to send (Content-Length and Connection are added by the server).
    public var headers: HTTPHeaders
    /// The body.
    public var body: Body

    /// Creates a response with a whole body.
    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = .bytes(body)
    }

    /// Creates a response whose body is written by `stream` after the head is sent.
    public init(status: Int, headers: HTTPHeaders = [:], stream: @escaping @Sendable (HTTPBodyWriter) -> Void) {
        self.status = status
        self.headers = headers
        self.body = .stream(stream)
    }

    /// A plain-text response, for errors and simple answers.
    public static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }
}

/// Writes a streamed response body; use it from a ``HTTPResponse/Body/stream(_:)`` closure.
public final class HTTPBodyWriter: @unchecked Sendable {
    // Only used by the one connection thread that created it; the server reference is Sendable.
    private let fd: Int32
    private unowned let server: LoopbackHTTPServer

    init(fd: Int32, server: LoopbackHTTPServer) {
        self.fd = fd
        self.server = server
    }

    /// Sends bytes; false once the client has gone or the server is stopping, so loops end.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        !server.isStopped && LoopbackHTTPServer.sendAll(fd, bytes)
    }

    /// Blocks until the client closes the connection or the server stops: a stalled response.
    public func waitUntilClosed() {
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !server.isStopped {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            // Wake every 100 ms to notice stop(); a readable socket means data or a close.
            guard poll(&p, 1, 100) >= 0 else { return }
            if p.revents != 0 && recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) <= 0 { return }
        }
    }
}

/// A small HTTP/1.1 server bound to 127.0.0.1, for tests, a provider simulator and a webhook
/// receiver; use it wherever a real socket is needed without touching the network.
///
/// Each connection is served on its own thread with keep-alive; streamed responses close the
/// connection. The threads keep the server alive until ``stop()`` is called, so always call it. Requests are bounded: oversized heads get 431, oversized bodies 413, chunked
/// request bodies 501, excess connections 503 (after closing an idle keep-alive connection, if any),
/// a client that stalls is dropped after ``Limits/readTimeout`` and an idle one after
/// ``Limits/idleTimeout``.
public final class LoopbackHTTPServer: @unchecked Sendable {
    /// Bounds that keep one bad client from holding the server.
    public struct Limits: Sendable {
        /// Largest request line plus headers, in bytes.
        public var maxHeaderBytes: Int
        /// Largest request body, in bytes.
        public var maxBodyBytes: Int
        /// Connections served at once; more are answered 503 and closed.
        public var maxConnections: Int
        /// Seconds a request may take to arrive, and a send may block, before the connection is dropped.
        public var readTimeout: Double
        /// Seconds a kept-alive connection may wait for its next request before it is closed.
        public var idleTimeout: Double

        /// Creates limits; the defaults suit tests and local simulators.
        public init(maxHeaderBytes: Int = 16 << 10, maxBodyBytes: Int = 1 << 20, maxConnections: Int = 32, readTimeout: Double = 10,
                    idleTimeout: Double = 5) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
            self.maxConnections = maxConnections
            self.readTimeout = readTimeout
            self.idleTimeout = idleTimeout
        }
    }

    /// Why the server could not start.
    public struct StartError: Error, CustomStringConvertible {
        /// A plain sentence naming the failed call and errno.
        public var description: String
    }

    /// The port actually bound (the ephemeral one when 0 was asked for).
    public let port: UInt16
    /// `http://127.0.0.1:PORT`, for building request URLs.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private let limits: Limits
    private let handler: @Sendable (HTTPRequest) -> HTTPResponse
    private let listener: Int32
    // Guarded by `lock`.
    private let lock = NSLock()
    private var stopped = false
    private var connections: Set<Int32> = []
    /// Connections waiting for the first byte of their next request (kept alive, doing nothing):
    /// the ones given up first when the server is full, so idle clients never lock others out.
    private var idle: Set<Int32> = []
    private let running = DispatchGroup()

    /// Binds 127.0.0.1:`port` (0 = any free port) and starts serving `handler` at once.
    public init(port: UInt16 = 0, limits: Limits = Limits(), handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws {
        self.limits = limits
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "could not open a socket: \(String(cString: strerror(errno)).lowercased())") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            let why = switch code {
            case EADDRINUSE: "the port is already in use (another simulator or server?); choose another port, or 0 for any free one"
            case EACCES: "permission denied (ports below 1024 need privileges); choose a port from 1024 up"
            default: String(cString: strerror(code)).lowercased()
            }
            throw StartError(description: "could not listen on 127.0.0.1:\(port): \(why)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = UInt16(bigEndian: address.sin_port)
        self.listener = fd
        running.enter()
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "LoopbackHTTPServer.accept"
        thread.start()
    }

    deinit { stop() }

    var isStopped: Bool { lock.withLock { stopped } }

    /// Closes the listener and every connection, and waits for their threads (at most a few
    /// seconds for a handler that is still busy). Safe to call more than once.
    public func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            if stopped { return false }
            // shutdown() wakes the threads blocked in accept/recv; each closes its own descriptor.
            shutdown(listener, Int32(SHUT_RDWR))
            for fd in connections { shutdown(fd, Int32(SHUT_RDWR)) }
            return true
        }
        if first { _ = running.wait(timeout: .now() + 5) }
    }

    private func acceptLoop() {
        defer {
            close(listener)
            running.leave()
        }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if isStopped { return }
                if errno == EINTR || errno == ECONNABORTED { continue }
                return  // the listener is unusable (EMFILE and the like): stop accepting
            }
            let admitted = lock.withLock { () -> Bool in
                guard !stopped else { return false }
                if connections.count >= limits.maxConnections {
                    // Full: close an idle connection (one with nothing sent: its client reconnects
                    // when it has something to ask) rather than refuse a client with a request.
                    guard let victim = idle.first(where: { !Self.hasPendingBytes($0) }) else { return false }
                    idle.remove(victim)
                    shutdown(victim, Int32(SHUT_RDWR))
                }
                connections.insert(client)
                // Idle until its first byte arrives (serve() takes it out of the set then).
                idle.insert(client)
                running.enter()
                return true
            }
            guard admitted else {
                _ = Self.sendAll(client, Self.head(status: 503, headers: [:], contentLength: 0, keepAlive: false))
                close(client)
                continue
            }
            let thread = Thread { [self] in
                serve(client)
                lock.withLock {
                    connections.remove(client)
                    idle.remove(client)
                    close(client)
                }
                running.leave()
            }
            thread.name = "LoopbackHTTPServer.connection"
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        var timeout = timeval(tv_sec: Int(limits.readTimeout), tv_usec: Int((limits.readTimeout.truncatingRemainder(dividingBy: 1)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer: [UInt8] = []
        while !isStopped {
            let request: HTTPRequest
            switch readRequest(fd, &buffer) {
            case .request(let r): request = r
            case .closed: return
            case .refuse(let status, let message):
                _ = Self.sendAll(fd, Self.head(status: status, headers: [:], contentLength: message.utf8.count, keepAlive: false) + Array(message.utf8))
                return
            }
            let response = handler(request)
            let keepAlive = request.headers["Connection"]?.lowercased() != "close"
            switch response.body {
            case .bytes(let body):
                guard Self.sendAll(fd, Self.head(status: response.status, headers: response.headers, contentLength: body.count, keepAlive: keepAlive) + body),
                      keepAlive else { return }
            case .stream(let produce):
                guard Self.sendAll(fd, Self.head(status: response.status, headers: response.headers, contentLength: nil, keepAlive: false)) else { return }
                produce(HTTPBodyWriter(fd: fd, server: self))
                return
            }
        }
    }

    private enum ReadResult {
        case request(HTTPRequest)
        case closed
        case refuse(Int, String)
    }

    /// Reads one request from `fd`, keeping any bytes after it in `buffer` for the next one.
    private func readRequest(_ fd: Int32, _ buffer: inout [UInt8]) -> ReadResult {
        var deadline = Date().addingTimeInterval(limits.readTimeout)
        var headEnd: Int?
        if buffer.isEmpty {
            // Between requests the connection is idle: it may be closed to admit another client,
            // and it is kept at most the idle time-out.
            lock.withLock { _ = idle.insert(fd) }
            let arrived = waitReadable(fd, seconds: limits.idleTimeout)
            lock.withLock { _ = idle.remove(fd) }
            guard arrived, !isStopped else { return .closed }
            deadline = Date().addingTimeInterval(limits.readTimeout)
        }
        while true {
            headEnd = Self.find([13, 10, 13, 10], in: buffer)
            if headEnd != nil { break }
            if buffer.count > limits.maxHeaderBytes { return .refuse(431, "request headers are too large\n") }
            guard Date() < deadline, receive(fd, &buffer) else { return .closed }
        }
        guard let end = headEnd, end <= limits.maxHeaderBytes else { return .refuse(431, "request headers are too large\n") }
        let lines = String(decoding: buffer[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else { return .refuse(400, "malformed request line\n") }
        var headers = HTTPHeaders()
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { return .refuse(400, "malformed header line\n") }
            headers.fields.append(HTTPField(String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        if headers["Transfer-Encoding"] != nil { return .refuse(501, "chunked request bodies are not supported; send Content-Length\n") }
        let length = headers["Content-Length"].map { Int($0) } ?? 0
        guard let length, length >= 0 else { return .refuse(400, "invalid Content-Length\n") }
        guard length <= limits.maxBodyBytes else { return .refuse(413, "request body is too large\n") }
        let bodyStart = end + 4
        while buffer.count < bodyStart + length {
            guard Date() < deadline, receive(fd, &buffer) else { return .closed }
        }
        let body = Array(buffer[bodyStart..<bodyStart + length])
        buffer.removeFirst(bodyStart + length)
        let target = String(parts[1])
        let question = target.firstIndex(of: "?")
        return .request(HTTPRequest(method: String(parts[0]), path: String(target[..<(question ?? target.endIndex)]),
                                    query: question.map { String(target[target.index(after: $0)...]) },
                                    headers: headers, body: body))
    }

    /// Whether `fd` has bytes waiting to be read (a request on its way): such a connection is
    /// never chosen to make room.
    static func hasPendingBytes(_ fd: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0
    }

    /// Whether `fd` becomes readable (data or a close) within `seconds`.
    private func waitReadable(_ fd: Int32, seconds: Double) -> Bool {
        let until = Date().addingTimeInterval(seconds)
        while !isStopped {
            let left = until.timeIntervalSinceNow
            guard left > 0 else { return false }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, Int32(min(100, max(1, left * 1000))))
            if n > 0 { return true }
            if n < 0, errno != EINTR { return false }
        }
        return false
    }

    /// Appends what one recv returns; false on close, error or the socket time-out.
    private func receive(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[..<n])
        return true
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<i + needle.count]) == needle { return i }
        }
        return nil
    }

    static func head(status: Int, headers: HTTPHeaders, contentLength: Int?, keepAlive: Bool) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(reason(status))\r\n"
        for field in headers.fields where field.name.lowercased() != "connection" {
            text += "\(field.name): \(field.value)\r\n"
        }
        if let contentLength, headers["Content-Length"] == nil { text += "Content-Length: \(contentLength)\r\n" }
        text += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(text.utf8)
    }

    static func reason(_ status: Int) -> String {
        [200: "OK", 201: "Created", 204: "No Content", 206: "Partial Content", 301: "Moved Permanently", 302: "Found",
         304: "Not Modified", 307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized",
         403: "Forbidden", 404: "Not Found", 408: "Request Timeout", 413: "Content Too Large", 416: "Range Not Satisfiable",
         429: "Too Many Requests", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
         501: "Not Implemented", 503: "Service Unavailable"][status] ?? "Status"
    }

    /// Sends every byte; false when the peer is gone. MSG_NOSIGNAL keeps a closed peer from
    /// raising SIGPIPE, which would kill the whole process.
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }
}
