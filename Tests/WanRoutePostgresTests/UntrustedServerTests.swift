import Foundation
import XCTest
@testable import WanRoutePostgres
#if canImport(Glibc)
import Glibc
#endif

/// The server's bytes are untrusted: a server that says nothing, lies about lengths or speaks another
/// protocol must end in a clear error within the time-out, never a hang or an unbounded read.
/// These run against small loopback listeners, no PostgreSQL needed.
final class UntrustedServerTests: XCTestCase {
    /// Listens on a loopback port; each accepted connection gets `reply` and is then held open until stop.
    final class FakeServer: @unchecked Sendable {
        let port: Int
        private let fd: Int32
        private let lock = NSLock()
        private var clients: [Int32] = []

        init(reply: [UInt8]?) throws {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            fd = listener
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 8) == 0 && getsockname(listener, $0, &length) == 0 }
            }
            guard ok else { throw XCTSkip("cannot listen on loopback") }
            port = Int(UInt16(bigEndian: address.sin_port))
            guard let reply else { return }  // never accept: the kernel still completes the handshake
            Thread { [self] in
                while true {
                    let client = accept(listener, nil, nil)
                    if client < 0 { return }
                    lock.lock(); clients.append(client); lock.unlock()
                    var buffer = [UInt8](repeating: 0, count: 1024)
                    _ = recv(client, &buffer, buffer.count, 0)  // the start-up packet
                    _ = reply.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
            }.start()
        }

        func stop() {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
            lock.lock()
            for client in clients { close(client) }
            lock.unlock()
        }
    }

    private func configuration(_ server: FakeServer) -> PostgresConfiguration {
        var configuration = PostgresConfiguration(endpoint: .tcp(host: "127.0.0.1", port: server.port), user: "u", password: "secret-pw")
        configuration.connectTimeout = 0.3
        return configuration
    }

    func testServerThatNeverAnswersTimesOut() throws {
        for reply: [UInt8]? in [nil, []] {  // never accepted; accepted but silent
            let server = try FakeServer(reply: reply)
            defer { server.stop() }
            XCTAssertThrowsError(try PostgresConnection.connect(configuration(server))) { error in
                guard case .timedOut(let endpoint, let during, _) = error as? PostgresError else { return XCTFail("\(error)") }
                XCTAssertEqual(endpoint, "127.0.0.1:\(server.port)")
                XCTAssertEqual(during, "connecting")
            }
        }
    }

    func testOversizedAndMalformedMessagesAreRefused() throws {
        let cases: [([UInt8], (PostgresError) -> Bool)] = [
            // An HTTP server: 'H' then "TTP/" read as a 1.4 GB length.
            (Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8), { if case .tooLarge = $0 { return true }; return false }),
            // A length below the minimum of 4.
            ([UInt8(ascii: "R"), 0, 0, 0, 2], { if case .protocolViolation = $0 { return true }; return false }),
            // An authentication request that ends early.
            ([UInt8(ascii: "R"), 0, 0, 0, 6, 0, 0], { if case .protocolViolation = $0 { return true }; return false }),
            // An unknown authentication method (GSSAPI = 7).
            ([UInt8(ascii: "R"), 0, 0, 0, 8, 0, 0, 0, 7], { if case .authenticationFailed = $0 { return true }; return false }),
            // "AuthenticationOk" after a SCRAM request was never answered: then a ReadyForQuery without SCRAM proof.
            ([UInt8(ascii: "R"), 0, 0, 0, 23, 0, 0, 0, 10] + Array("SCRAM-SHA-256".utf8) + [0, 0]
                + [UInt8(ascii: "R"), 0, 0, 0, 8, 0, 0, 0, 0], { if case .authenticationFailed = $0 { return true }; return false }),
            // MD5 is refused with advice rather than half-supported.
            ([UInt8(ascii: "R"), 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4], { if case .authenticationFailed = $0 { return true }; return false }),
            // A connection closed mid-message.
            ([UInt8(ascii: "R"), 0, 0, 0, 8, 0], { if case .timedOut = $0 { return true }; if case .connectionClosed = $0 { return true }; return false }),
        ]
        for (index, (reply, expected)) in cases.enumerated() {
            let server = try FakeServer(reply: reply)
            defer { server.stop() }
            XCTAssertThrowsError(try PostgresConnection.connect(configuration(server)), "case \(index)") { error in
                guard let error = error as? PostgresError else { return XCTFail("case \(index): \(error)") }
                XCTAssertTrue(expected(error), "case \(index): \(error)")
                XCTAssertFalse(error.description.contains("secret-pw"))
            }
        }
    }

    func testNothingListeningIsAConnectFailure() throws {
        let server = try FakeServer(reply: nil)
        let port = server.port
        server.stop()
        let configuration = PostgresConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port), user: "u")
        XCTAssertThrowsError(try PostgresConnection.connect(configuration)) { error in
            guard case .connectFailed(let endpoint, _) = error as? PostgresError else { return XCTFail("\(error)") }
            XCTAssertEqual(endpoint, "127.0.0.1:\(port)")
        }
        let missingSocket = PostgresConfiguration(endpoint: .unixSocket(directory: "/nonexistent-dir", port: 5432), user: "u")
        XCTAssertThrowsError(try PostgresConnection.connect(missingSocket)) { error in
            guard case .connectFailed(let endpoint, _) = error as? PostgresError else { return XCTFail("\(error)") }
            XCTAssertEqual(endpoint, "/nonexistent-dir/.s.PGSQL.5432")
        }
    }
}
