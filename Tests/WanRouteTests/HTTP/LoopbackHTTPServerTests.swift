import Foundation
import XCTest
@testable import WanRoute
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A raw loopback client: sends bytes, reads until the server closes (or `until` is seen).
enum RawClient {
    static func exchange(port: UInt16, _ text: String, until marker: String? = nil) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { return "" }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = LoopbackHTTPServer.sendAll(fd, Array(text.utf8))
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            received += chunk[..<n]
            if let marker, String(decoding: received, as: UTF8.self).components(separatedBy: marker).count > 2 { break }
        }
        return String(decoding: received, as: UTF8.self)
    }
}

/// A blocking URLSession GET/POST for tests.
enum SyncHTTP {
    static func send(_ request: URLRequest) -> (Int, [UInt8]) {
        final class Box: @unchecked Sendable { var status = 0; var body: [UInt8] = [] }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, _ in
            box.status = (response as? HTTPURLResponse)?.statusCode ?? 0
            box.body = data.map { [UInt8]($0) } ?? []
            done.signal()
        }.resume()
        done.wait()
        return (box.status, box.body)
    }
}

final class LoopbackHTTPServerTests: XCTestCase {
    func echoServer(limits: LoopbackHTTPServer.Limits = .init()) throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer(limits: limits) { request in
            let text = "\(request.method) \(request.path) q=\(request.query ?? "-") h=\(request.headers["x-TEST"] ?? "-") body=\(String(decoding: request.body, as: UTF8.self))"
            return .text(200, text)
        }
    }

    func testGetAndPostOnAnEphemeralPort() throws {
        let server = try echoServer()
        defer { server.stop() }
        XCTAssertGreaterThan(server.port, 0)
        var get = URLRequest(url: URL(string: server.baseURL + "/a/b?x=1&y=2")!)
        get.setValue("yes", forHTTPHeaderField: "X-Test")
        let (status, body) = SyncHTTP.send(get)
        XCTAssertEqual(status, 200)
        XCTAssertEqual(String(decoding: body, as: UTF8.self), "GET /a/b q=x=1&y=2 h=yes body=")
        var post = URLRequest(url: URL(string: server.baseURL + "/hook")!)
        post.httpMethod = "POST"
        post.httpBody = Data("{\"ok\":true}".utf8)
        let (postStatus, postBody) = SyncHTTP.send(post)
        XCTAssertEqual(postStatus, 200)
        XCTAssertEqual(String(decoding: postBody, as: UTF8.self), "POST /hook q=- h=- body={\"ok\":true}")
    }

    func testKeepAliveServesTwoRequestsOnOneConnectionThenCloses() throws {
        let server = try echoServer()
        defer { server.stop() }
        let reply = RawClient.exchange(port: server.port,
            "GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        XCTAssertTrue(reply.contains("GET /one"), reply)
        XCTAssertTrue(reply.contains("GET /two"), reply)
        XCTAssertTrue(reply.contains("Connection: keep-alive"), reply)
        XCTAssertTrue(reply.hasSuffix("body="), reply)  // the server closed after the second answer
    }

    func testOversizedHeadersAndBodiesAreRefused() throws {
        let server = try echoServer(limits: .init(maxHeaderBytes: 1024, maxBodyBytes: 10))
        defer { server.stop() }
        let big = RawClient.exchange(port: server.port, "GET / HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: 4000))\r\n\r\n")
        XCTAssertTrue(big.hasPrefix("HTTP/1.1 431 "), big)
        let body = RawClient.exchange(port: server.port, "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world")
        XCTAssertTrue(body.hasPrefix("HTTP/1.1 413 "), body)
        let chunked = RawClient.exchange(port: server.port, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        XCTAssertTrue(chunked.hasPrefix("HTTP/1.1 501 "), chunked)
        let garbage = RawClient.exchange(port: server.port, "HELLO\r\n\r\n")
        XCTAssertTrue(garbage.hasPrefix("HTTP/1.1 400 "), garbage)
    }

    func testIdleConnectionsAtTheCapDoNotLockOtherClientsOut() throws {
        let server = try LoopbackHTTPServer(limits: .init(maxConnections: 4, readTimeout: 30, idleTimeout: 30)) { _ in .text(200, "ok") }
        defer { server.stop() }
        // Four clients connect and say nothing: every slot is held by an idle connection.
        var idle: [Int32] = []
        defer { for fd in idle { close(fd) } }
        for _ in 0..<4 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = server.port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            idle.append(fd)
        }
        // A client with a request is still served (an idle one gives up its slot), at once, not after
        // the 30 s time-outs.
        let start = Date()
        for _ in 0..<3 {
            let answer = RawClient.exchange(port: server.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200"), answer)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    func testStalledClientIsDroppedAfterTheReadTimeout() throws {
        let server = try echoServer(limits: .init(readTimeout: 0.2))
        defer { server.stop() }
        // The request never completes; the server closes the connection instead of waiting forever.
        XCTAssertEqual(RawClient.exchange(port: server.port, "GET / HTTP/1.1\r\nHost:"), "")
    }

    func testStopClosesStreamsAndTheListener() throws {
        let started = DispatchSemaphore(value: 0)
        let server = try LoopbackHTTPServer { _ in
            HTTPResponse(status: 200) { writer in
                writer.write(Array("partial".utf8))
                started.signal()
                writer.waitUntilClosed()
            }
        }
        let port = server.port
        let client = Thread {
            _ = RawClient.exchange(port: port, "GET / HTTP/1.1\r\n\r\n")
        }
        client.start()
        started.wait()
        server.stop()
        server.stop()  // idempotent
        XCTAssertTrue(server.isStopped)
        XCTAssertEqual(RawClient.exchange(port: port, "GET / HTTP/1.1\r\n\r\n"), "")
    }
}
