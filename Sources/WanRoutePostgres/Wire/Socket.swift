#if canImport(Glibc)
import Glibc
#endif

/// A point on the monotonic clock by which an operation must finish.
struct Deadline {
    let nanoseconds: UInt64

    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    init(secondsFromNow seconds: Double) {
        let clamped = max(0, min(seconds, 86_400 * 365))
        nanoseconds = Deadline.now() + UInt64(clamped * 1e9)
    }

    /// Milliseconds left for poll(2), rounded up so a nearly-due deadline still waits once; 0 when past.
    var remainingMilliseconds: Int32 {
        let now = Deadline.now()
        guard nanoseconds > now else { return 0 }
        return Int32(min((nanoseconds - now + 999_999) / 1_000_000, UInt64(Int32.max)))
    }
}

/// Why a socket operation stopped.
enum SocketFailure: Error {
    case timedOut
    case closed
    case failed(String)
    /// The bytes broke the protocol or a bound.
    case rejected(PostgresError)
}

/// A connected stream socket (TCP or Unix) with deadline-bounded reads and writes, and a buffered
/// reader of length-prefixed PostgreSQL messages.
final class PostgresSocket {
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0

    private init(fd: Int32) { self.fd = fd }

    deinit { close() }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Connects to the endpoint by `deadline`; TCP host names are resolved and each address tried in turn.
    static func connect(to endpoint: PostgresConfiguration.Endpoint, by deadline: Deadline) throws(SocketFailure) -> PostgresSocket {
        switch endpoint {
        case .unixSocket:
            let path = endpoint.description
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let capacity = MemoryLayout.size(ofValue: address.sun_path)
            let pathBytes = Array(path.utf8)
            guard pathBytes.count < capacity else { throw .failed("the socket path is longer than \(capacity - 1) bytes") }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in pathBytes.enumerated() { raw[i] = byte }
            }
            let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw .failed("socket() failed: \(errorText())") }
            let candidate = PostgresSocket(fd: fd)
            try withUnsafePointer(to: &address) { pointer throws(SocketFailure) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(SocketFailure) in
                    try candidate.finishConnect(sa, socklen_t(MemoryLayout<sockaddr_un>.size), deadline)
                }
            }
            return candidate
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            hints.ai_family = AF_UNSPEC
            var list: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, String(port), &hints, &list)
            guard status == 0, let first = list else {
                throw .failed("cannot resolve host: \(String(cString: gai_strerror(status)))")
            }
            defer { freeaddrinfo(list) }
            var lastFailure = SocketFailure.failed("no address")
            var entry: UnsafeMutablePointer<addrinfo>? = first
            while let info = entry {
                entry = info.pointee.ai_next
                let fd = Glibc.socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
                guard fd >= 0 else { lastFailure = .failed("socket() failed: \(errorText())"); continue }
                let candidate = PostgresSocket(fd: fd)
                do {
                    try candidate.finishConnect(info.pointee.ai_addr, info.pointee.ai_addrlen, deadline)
                    var one: Int32 = 1
                    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    return candidate
                } catch {
                    lastFailure = error
                    if case .timedOut = error { throw error }
                }
            }
            throw lastFailure
        }
    }

    /// Non-blocking connect, then poll for writability until the deadline; the socket stays non-blocking,
    /// since every later read and write also waits in poll(2).
    private func finishConnect(_ address: UnsafePointer<sockaddr>, _ length: socklen_t, _ deadline: Deadline) throws(SocketFailure) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if Glibc.connect(fd, address, length) == 0 { return }
        guard errno == EINPROGRESS || errno == EAGAIN || errno == EINTR else { throw .failed(errorText()) }
        try wait(for: Int16(POLLOUT), deadline)
        var socketError: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &size)
        guard socketError == 0 else { throw .failed(String(cString: strerror(socketError))) }
    }

    private func wait(for events: Int16, _ deadline: Deadline) throws(SocketFailure) {
        guard fd >= 0 else { throw .closed }
        while true {
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let timeout = deadline.remainingMilliseconds
            if timeout == 0 { throw .timedOut }
            let ready = poll(&entry, 1, timeout)
            if ready > 0 { return }
            if ready == 0 { continue }  // re-check the deadline
            if errno == EINTR { continue }
            throw .failed("poll() failed: \(errorText())")
        }
    }

    /// Writes everything by the deadline. MSG_NOSIGNAL: a peer that has gone must be an error, not SIGPIPE.
    func send(_ bytes: [UInt8], by deadline: Deadline) throws(SocketFailure) {
        var sent = 0
        while sent < bytes.count {
            guard fd >= 0 else { throw .closed }
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { sent += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                try wait(for: Int16(POLLOUT), deadline)
                continue
            }
            if n < 0 && (errno == EPIPE || errno == ECONNRESET) { throw .closed }
            throw .failed("send() failed: \(errorText())")
        }
    }

    /// Reads one message: type byte, then a length that must lie within 4...maximumLength + 4.
    func readMessage(by deadline: Deadline, maximumLength: Int) throws(SocketFailure) -> BackendMessage {
        try fill(5, deadline)
        let type = buffer[start]
        let length = Int(UInt32(buffer[start + 1]) << 24 | UInt32(buffer[start + 2]) << 16 | UInt32(buffer[start + 3]) << 8 | UInt32(buffer[start + 4]))
        guard length >= 4 else { throw .rejected(.protocolViolation("message '\(BackendMessage(type: type, body: []).typeName)' has length \(length)")) }
        guard length - 4 <= maximumLength else {
            throw .rejected(.tooLarge(what: "message '\(BackendMessage(type: type, body: []).typeName)'", bytes: length - 4, limit: maximumLength))
        }
        try fill(1 + length, deadline)
        let body = Array(buffer[(start + 5)..<(start + 1 + length)])
        start += 1 + length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            start = 0
        }
        return BackendMessage(type: type, body: body)
    }

    /// Reads until `count` unread bytes are buffered.
    private func fill(_ count: Int, _ deadline: Deadline) throws(SocketFailure) {
        while buffer.count - start < count {
            if start > 0 && start >= buffer.count / 2 {
                buffer.removeFirst(start)
                start = 0
            }
            guard fd >= 0 else { throw .closed }
            let want = max(count - (buffer.count - start), 16_384)
            let oldCount = buffer.count
            buffer += repeatElement(0, count: want)
            let n = buffer.withUnsafeMutableBytes { raw in recv(fd, raw.baseAddress! + oldCount, want, 0) }
            buffer.removeLast(want - max(n, 0))
            if n > 0 { continue }
            if n == 0 { throw .closed }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                try wait(for: Int16(POLLIN), deadline)
                continue
            }
            if errno == ECONNRESET { throw .closed }
            throw .failed("recv() failed: \(errorText())")
        }
    }
}

private func errorText() -> String { String(cString: strerror(errno)) }
