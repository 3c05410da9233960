import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The head of an HTTP answer, as both transfer kinds report it.
struct TransferHead: Sendable {
    /// The status code.
    var status: Int
    /// The header fields.
    var headers: HTTPHeaders
    /// The Content-Length the server stated, or -1 when it stated none (or one that is no size).
    var expectedLength: Int64
}

/// One HTTP/1.1 exchange over a plain TCP socket, for `http://` URLs.
///
/// Why not URLSession: on Linux it is libcurl, which decodes `Content-Encoding: gzip` (even
/// chained, `gzip, gzip`) although wanroute asks for `identity`, so a few kilobytes on the wire
/// become gigabytes in memory before any byte count can see them; and a `.cancel` disposition
/// in `didReceive response` is ignored (measured: the body keeps arriving). Here every byte read
/// from the socket is counted against ``limit`` before it is kept, an encoded body is refused
/// from its head, and one thread with `poll` holds every step (connect, send, head, body) to the
/// deadline, so memory is bounded by the limit and time by the deadline whatever a server sends.
/// HTTPS still goes through URLSession (TLS needs it), with the same refusal and cap applied in
/// its delegate.
///
/// The exchange runs on its own thread from `init`; callers wait on it with deadlines.
final class SocketHTTPTransfer: @unchecked Sendable {
    /// Why an exchange ended without a whole answer.
    enum Failure: Error, Sendable, Equatable {
        /// Nothing was sent: the host could not be resolved or refused the connection.
        case notSent(String)
        /// The request may have been sent; no whole, acceptable answer came.
        case noAnswer(String)

        /// The reason as a phrase.
        var message: String {
            switch self {
            case .notSent(let m), .noAnswer(let m): return m
            }
        }
    }

    /// The largest head (status line and fields) accepted.
    static let maximumHeadBytes = 64 << 10

    /// The body; every field below is guarded by its lock too.
    private let buffer: TransferBuffer<Failure>
    private var _head: TransferHead?
    private var cancelled = false
    private var descriptor: Int32 = -1
    private var onFinish: (@Sendable (SocketHTTPTransfer) -> Void)?

    private let limit: Int
    private let deadline: Date

    /// Starts `method url` with `headers` and `body`; keeps at most `limit` body bytes and gives
    /// up at `deadline`. `onFinish` runs once, on the transfer's thread, when it ends in any way, and is handed the transfer.
    init(method: String, url: URL, headers: HTTPHeaders, body: [UInt8], limit: Int, deadline: Date,
         onFinish: (@Sendable (SocketHTTPTransfer) -> Void)? = nil) {
        self.limit = limit
        self.deadline = deadline
        buffer = TransferBuffer(limit: limit)
        self.onFinish = onFinish
        let thread = Thread { [self] in run(method: method, url: url, headers: headers, body: body) }
        thread.name = "SocketHTTPTransfer"
        thread.start()
    }

    var head: TransferHead? { buffer.locked { _ in _head } }
    var failure: Failure? { buffer.failure }
    var overflowed: Bool { buffer.overflowed }
    var received: Int { buffer.received }
    var isFinished: Bool { buffer.isFinished }

    /// Waits for the head (or the end); false when `until` passed first.
    func waitForHead(until: Date) -> Bool { buffer.wait(until: until) { _head != nil || $0.finished } }
    /// Waits for the end of the body; false when `until` passed first.
    func waitForEnd(until: Date) -> Bool { buffer.waitForEnd(until: until) }
    /// Waits for `count` body bytes (or the end); false when `until` passed first.
    func waitForBytes(_ count: Int, until: Date) -> Bool { buffer.waitForBytes(count, until: until) }

    /// The body so far.
    func takeData() -> [UInt8] { buffer.takeData() }

    /// Up to `count` body bytes from `offset`, with whether the body ended, overflowed or failed.
    func snapshot(from offset: Int, count: Int) -> ([UInt8], Bool, Bool, Failure?) {
        buffer.snapshot(from: offset, count: count)
    }

    /// Stops the exchange: the socket is shut down, so the thread's next poll returns at once.
    func cancel() {
        buffer.update { _ in
            cancelled = true
            if descriptor >= 0 { shutdown(descriptor, Int32(SHUT_RDWR)) }
        }
    }

    // MARK: the exchange, on its own thread

    private func run(method: String, url: URL, headers: HTTPHeaders, body: [UInt8]) {
        let outcome: Failure?
        do throws(Failure) {
            try exchange(method: method, url: url, headers: headers, body: body)
            outcome = nil
        } catch {
            outcome = error
        }
        let callback = buffer.update { state -> (@Sendable (SocketHTTPTransfer) -> Void)? in
            if let outcome, state.failure == nil, !state.overflowed { state.failure = outcome }
            state.finished = true
            if descriptor >= 0 { close(descriptor); descriptor = -1 }
            defer { onFinish = nil }
            return onFinish
        }
        callback?(self)
    }

    private func exchange(method: String, url: URL, headers: HTTPHeaders, body: [UInt8]) throws(Failure) {
        guard let host = url.host, !host.isEmpty else { throw .notSent("the URL has no host") }
        let port = url.port ?? 80
        let fd = try connect(host: host, port: port)
        let adopted = buffer.locked { _ in
            if cancelled { return false }
            descriptor = fd
            return true
        }
        guard adopted else {
            close(fd)
            throw .notSent("cancelled")
        }

        try sendAll(fd, requestBytes(method: method, url: url, host: host, port: port, headers: headers, body: body))

        var buffer: [UInt8] = []
        var head: TransferHead
        var bodyStart: Int
        repeat {
            (head, bodyStart) = try readHead(fd, &buffer)
            buffer.removeFirst(bodyStart)
        } while (100...199).contains(head.status)
        // An encoded body is refused from its head: nothing a server sends is decompressed.
        if let encoding = head.headers["Content-Encoding"]?.trimmingCharacters(in: .whitespaces).lowercased(),
           !encoding.isEmpty, encoding != "identity" {
            publish(head)
            throw .noAnswer("the server sent a body encoded as \"\(String(encoding.prefix(40)))\" although wanroute asked for identity; encoded bodies are refused because they can expand without bound")
        }
        let chunked = head.headers["Transfer-Encoding"]?.lowercased().contains("chunked") == true
        let length = head.headers["Content-Length"]
        var stated: Int64?
        if !chunked, let length {
            guard let n = Int64(length.trimmingCharacters(in: .whitespaces)), n >= 0, n <= maximumFileBytes else {
                publish(head)
                throw .noAnswer("the server's Content-Length \"\(String(length.prefix(40)))\" is not a size")
            }
            stated = n
        }
        head.expectedLength = stated ?? -1
        publish(head)
        if method == "HEAD" || head.status == 204 || head.status == 304 { return }
        if chunked {
            try readChunked(fd, &buffer)
        } else if let stated {
            try readBody(fd, &buffer, upTo: stated)
        } else {
            try readBody(fd, &buffer, upTo: nil)
        }
    }

    private func publish(_ head: TransferHead) {
        buffer.update { _ in _head = head }
    }

    /// Keeps body bytes up to the limit; past it, marks the overflow and ends the exchange.
    private func keep(_ bytes: ArraySlice<UInt8>) throws(Failure) {
        let over = buffer.update { $0.keep(bytes) }
        if over { throw .noAnswer("the answer is larger than \(limit) bytes") }
    }

    private func readBody(_ fd: Int32, _ buffer: inout [UInt8], upTo length: Int64?) throws(Failure) {
        var got: Int64 = 0
        if !buffer.isEmpty {
            let take = length.map { Int(min(Int64(buffer.count), $0)) } ?? buffer.count
            try keep(buffer[..<take])
            got = Int64(take)
            buffer.removeAll()
        }
        while length.map({ got < $0 }) ?? true {
            var chunk = try receive(fd)
            if chunk.isEmpty {
                if let length { throw .noAnswer("the connection closed after \(got) of the \(length) bytes the server announced") }
                return
            }
            if let length, got + Int64(chunk.count) > length { chunk = Array(chunk.prefix(Int(length - got))) }
            got += Int64(chunk.count)
            try keep(chunk[...])
        }
    }

    private func readChunked(_ fd: Int32, _ buffer: inout [UInt8]) throws(Failure) {
        while true {
            let line = try readLine(fd, &buffer, what: "a chunk size")
            let sizeText = line.prefix { $0 != ";" }.trimmingCharacters(in: .whitespaces)
            guard !sizeText.isEmpty, sizeText.count <= 12, let size = Int64(sizeText, radix: 16), size >= 0 else {
                throw .noAnswer("the server sent a malformed chunk size")
            }
            if size == 0 {
                // Trailer fields, up to the empty line that ends the message.
                while try !readLine(fd, &buffer, what: "the trailer").isEmpty {}
                return
            }
            var remaining = size
            while remaining > 0 {
                if buffer.isEmpty {
                    let more = try receive(fd)
                    if more.isEmpty { throw .noAnswer("the connection closed inside a chunk") }
                    buffer = more
                }
                let take = Int(min(Int64(buffer.count), remaining))
                try keep(buffer[..<take])
                buffer.removeFirst(take)
                remaining -= Int64(take)
            }
            guard try readLine(fd, &buffer, what: "a chunk's end").isEmpty else {
                throw .noAnswer("the server sent a chunk longer than its size")
            }
        }
    }

    /// One CRLF-terminated line (at most 1 KiB) from the buffer, reading more as needed.
    private func readLine(_ fd: Int32, _ buffer: inout [UInt8], what: String) throws(Failure) -> String {
        while true {
            if let i = Self.find([13, 10], in: buffer, from: 0) {
                let line = String(decoding: buffer[..<i], as: UTF8.self)
                buffer.removeFirst(i + 2)
                return line
            }
            guard buffer.count <= 1024 else { throw .noAnswer("the server sent an overlong line in \(what)") }
            let more = try receive(fd)
            if more.isEmpty { throw .noAnswer("the connection closed inside \(what)") }
            buffer += more
        }
    }

    private func readHead(_ fd: Int32, _ buffer: inout [UInt8]) throws(Failure) -> (TransferHead, Int) {
        var searched = 0
        while true {
            if let end = Self.find([13, 10, 13, 10], in: buffer, from: max(0, searched - 3)) {
                return (try parseHead(buffer[..<end]), end + 4)
            }
            searched = buffer.count
            guard buffer.count <= Self.maximumHeadBytes else {
                throw .noAnswer("the server's header is larger than \(Self.maximumHeadBytes) bytes")
            }
            let more = try receive(fd)
            if more.isEmpty {
                throw .noAnswer(buffer.isEmpty ? "the server closed the connection without answering" : "the connection closed inside the server's header")
            }
            buffer += more
        }
    }

    private func parseHead(_ bytes: ArraySlice<UInt8>) throws(Failure) -> TransferHead {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let parts = lines[0].split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]), status >= 100 else {
            throw .noAnswer("the server's answer is not HTTP/1.x")
        }
        var headers = HTTPHeaders()
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":"), line.first != " ", line.first != "\t" else {
                throw .noAnswer("the server sent a malformed header line")
            }
            headers.fields.append(HTTPField(String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return TransferHead(status: status, headers: headers, expectedLength: -1)
    }

    private func requestBytes(method: String, url: URL, host: String, port: Int, headers: HTTPHeaders, body: [UInt8]) throws(Failure) -> [UInt8] {
        var target = url.path.isEmpty ? "/" : url.path
        if let components = URLComponents(url: url, resolvingAgainstBaseURL: false) {
            target = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
            if let query = components.percentEncodedQuery { target += "?" + query }
        }
        var text = "\(method) \(target) HTTP/1.1\r\nHost: \(host.contains(":") ? "[\(host)]" : host)\(url.port.map { ":\($0)" } ?? "")\r\n"
        let managed: Set<String> = ["host", "content-length", "connection", "accept-encoding", "transfer-encoding"]
        for field in headers.fields where !managed.contains(field.name.lowercased()) {
            // A line break in a name or value would let a value forge headers: refused, never sent.
            guard !(field.name + field.value).unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw .notSent("the header \(field.name.prefix(40)) holds a line break")
            }
            text += "\(field.name): \(field.value)\r\n"
        }
        text += "Accept-Encoding: identity\r\nConnection: close\r\n"
        if !body.isEmpty || method == "POST" || method == "PUT" { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        return Array(text.utf8) + body
    }

    // MARK: sockets, every wait bounded by the deadline

    /// Milliseconds left before the deadline, at most 100 so cancellation is noticed; nil when past.
    private func slice() -> Int32? {
        let left = deadline.timeIntervalSinceNow
        guard left > 0 else { return nil }
        return Int32(min(100, max(1, (left * 1000).rounded(.up))))
    }

    private var isCancelled: Bool { buffer.locked { _ in cancelled } }

    /// Polls `fd` for `events` until ready; throws at the deadline or on cancellation.
    private func waitReady(_ fd: Int32, _ events: Int32, failure: (String) -> Failure) throws(Failure) {
        while true {
            if isCancelled { throw failure("cancelled") }
            guard let ms = slice() else { throw failure("no complete answer before the time limit") }
            var p = pollfd(fd: fd, events: Int16(events), revents: 0)
            let n = poll(&p, 1, ms)
            if n > 0 { return }
            if n < 0, errno != EINTR { throw failure("poll failed (errno \(errno))") }
        }
    }

    private func connect(host: String, port: Int) throws(Failure) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let name = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let status = getaddrinfo(name, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .notSent("could not resolve \(host.prefix(100))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let a = entry {
            entry = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { lastError = "socket() failed"; continue }
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return fd }
            guard errno == EINPROGRESS else {
                lastError = String(cString: strerror(errno))
                close(fd)
                continue
            }
            do throws(Failure) {
                try waitReady(fd, Int32(POLLOUT), failure: { .notSent("could not connect to \(host.prefix(100)):\(port): \($0)") })
            } catch {
                close(fd)
                throw error
            }
            var code: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size)
            if code == 0 { return fd }
            lastError = String(cString: strerror(code))
            close(fd)
        }
        throw .notSent("could not connect to \(host.prefix(100)):\(port) (\(lastError))")
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws(Failure) {
        var sent = 0
        while sent < bytes.count {
            try waitReady(fd, Int32(POLLOUT), failure: { .noAnswer("sending the request failed: \($0)") })
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw .noAnswer("the connection failed while sending the request")
            }
            sent += n
        }
    }

    /// The next bytes from the socket; empty at the end of the stream.
    private func receive(_ fd: Int32) throws(Failure) -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            try waitReady(fd, Int32(POLLIN), failure: { .noAnswer($0) })
            let n = recv(fd, &chunk, chunk.count, 0)
            if n > 0 { return Array(chunk[..<n]) }
            if n == 0 { return [] }
            if errno == EAGAIN || errno == EINTR { continue }
            throw .noAnswer("the connection was lost")
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var i = start
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] {
                var match = true
                for k in 1..<needle.count where haystack[i + k] != needle[k] { match = false; break }
                if match { return i }
            }
            i += 1
        }
        return nil
    }
}
