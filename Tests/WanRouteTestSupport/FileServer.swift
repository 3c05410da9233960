import Foundation
import WanRoute

/// Serves byte arrays by path over loopback HTTP, honouring `Range: bytes=A-B` unless told to
/// ignore it, and counts the requests it sees.
public final class FileServer: @unchecked Sendable {
    /// The loopback server doing the serving.
    public let server: LoopbackHTTPServer
    private let counter = Counter()
    /// Requests served so far.
    public var seen: Int { counter.value }

    /// Serves `files` (by path, such as `/dance.mp4`); `extra` answers first when it returns a response.
    public init(files: [String: [UInt8]], honorRange: Bool = true, extra: @escaping @Sendable (HTTPRequest) -> HTTPResponse? = { _ in nil }) throws {
        let counter = self.counter
        server = try LoopbackHTTPServer { request in
            counter.add()
            if let response = extra(request) { return response }
            guard let file = files[request.path] else { return .text(404, "not found") }
            guard honorRange, let range = request.headers["Range"], range.hasPrefix("bytes=") else {
                return HTTPResponse(status: 200, body: file)
            }
            let bounds = range.dropFirst(6).split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard bounds.count == 2, let start = bounds[0], start < file.count else {
                return HTTPResponse(status: 416, headers: ["Content-Range": "bytes */\(file.count)"])
            }
            let end = min(file.count - 1, bounds[1] ?? file.count - 1)
            return HTTPResponse(status: 206, headers: ["Content-Range": "bytes \(start)-\(end)/\(file.count)"],
                                body: Array(file[start...end]))
        }
    }

    /// The URL of a served path.
    public func url(_ path: String) -> String { server.baseURL + path }
    deinit { server.stop() }

    /// A request count shared with the server's handler.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func add() { lock.withLock { n += 1 } }
        var value: Int { lock.withLock { n } }
    }
}
