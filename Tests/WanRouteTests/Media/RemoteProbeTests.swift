import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoute

final class RemoteProbeTests: XCTestCase {
    static let fixtures: [String: [UInt8]] = Dictionary(uniqueKeysWithValues:
        (MediaFixtures.videos + MediaFixtures.images).map { ("/" + $0, MediaFixtures.bytes($0)) })

    /// ftyp, a 5 MB mdat, then the moov: big enough that the moov is beyond the first chunk.
    static let bigMoovLast: [UInt8] = Box.ftyp() + Box.make("mdat", [UInt8](repeating: 0, count: 5_000_000)) + VideoProbeTests.moov()

    func expectError(_ location: String, options: ProbeOptions = ProbeOptions(), _ check: (ProbeError) -> Bool,
                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            let p = try MediaProbe.probeVideo(location, options: options)
            XCTFail("expected an error, got \(p)", file: file, line: line)
        } catch {
            XCTAssertTrue(check(error), "unexpected error: \(error)", file: file, line: line)
        }
    }

    func testRemoteFixturesMatchLocalProbes() throws {
        let files = try FileServer(files: Self.fixtures)
        for name in MediaFixtures.videos {
            var remote = try MediaProbe.probeVideo(files.url("/" + name))
            let local = try MediaProbe.probeVideo(MediaFixtures.path(name))
            XCTAssertEqual(remote.requests, 1, name)  // every fixture fits in the first 64 KiB
            XCTAssertLessThanOrEqual(remote.bytesRead, local.sizeBytes!, name)
            remote.bytesRead = local.bytesRead
            remote.requests = 0
            XCTAssertEqual(remote, local, name)
        }
        let image = try MediaProbe.probeImage(files.url("/image-orientation6.jpg"))
        XCTAssertEqual([image.width, image.height, image.requests], [48, 64, 1])
    }

    func testMoovFirstTakesOneRequestAndMoovLastAtMostThree() throws {
        let files = try FileServer(files: Self.fixtures.merging(["/big.mp4": Self.bigMoovLast]) { a, _ in a })
        let small = ProbeOptions(chunkSize: 1024)
        let first = try MediaProbe.probeVideo(files.url("/moov-first.mp4"), options: small)
        XCTAssertEqual(first.requests, 1)
        XCTAssertEqual(first.layout, .moovFirst)
        let last = try MediaProbe.probeVideo(files.url("/moov-last.mp4"), options: small)
        XCTAssertLessThanOrEqual(last.requests, 3)
        XCTAssertEqual(last.layout, .moovLast)
        XCTAssertEqual(last.duration, Seconds(whole: 2))

        let big = try MediaProbe.probeVideo(files.url("/big.mp4"))
        XCTAssertEqual(big.layout, .moovLast)
        XCTAssertEqual(big.sizeBytes, Int64(Self.bigMoovLast.count))
        XCTAssertLessThanOrEqual(big.requests, 3)
        XCTAssertLessThanOrEqual(big.bytesRead, 256 << 10)
        XCTAssertEqual(files.seen, 1 + last.requests + big.requests)
    }

    func testServerThatIgnoresRangeIsReadAsAStream() throws {
        let files = try FileServer(files: Self.fixtures.merging(["/big.mp4": Self.bigMoovLast]) { a, _ in a }, honorRange: false)
        let p = try MediaProbe.probeVideo(files.url("/moov-first.mp4"))
        XCTAssertEqual(p.duration, Seconds(whole: 2))
        XCTAssertEqual(p.requests, 1)
        // The moov-last file must be read through its mdat: fine under the default 8 MiB cap...
        let big = try MediaProbe.probeVideo(files.url("/big.mp4"))
        XCTAssertEqual(big.duration, Seconds(whole: 5))
        XCTAssertEqual(big.requests, 1)
        // ...and refused under a 1 MiB one.
        expectError(files.url("/big.mp4"), options: ProbeOptions(maxBytes: 1 << 20)) { $0 == .tooManyBytes(limit: 1 << 20) }
    }

    func testEndlessBodiesStopAtTheAnswerOrTheCap() throws {
        let moovFirst = MediaFixtures.bytes("moov-first.mp4")
        let server = try LoopbackHTTPServer { request in
            HTTPResponse(status: 200) { writer in
                // A valid file followed by endless filler, or endless 'free' boxes that never end.
                if request.path == "/answer" && !writer.write(moovFirst) { return }
                let filler = [UInt8](repeating: 0, count: 8_184) + Box.make("free", [])
                let boxes = Array([[UInt8]](repeating: Box.make("free", []), count: 1024).joined())
                while writer.write(request.path == "/answer" ? filler : boxes) {}
            }
        }
        defer { server.stop() }
        let cap: Int64 = 1 << 20
        let p = try MediaProbe.probeVideo(server.baseURL + "/answer", options: ProbeOptions(maxBytes: cap))
        XCTAssertEqual(p.duration, Seconds(whole: 2))
        XCTAssertLessThanOrEqual(p.bytesRead, cap)
        expectError(server.baseURL + "/junk", options: ProbeOptions(maxBytes: cap)) { $0 == .tooManyBytes(limit: cap) }
    }

    func testStalledServersTimeOut() throws {
        let release = DispatchSemaphore(value: 0)
        let server = try LoopbackHTTPServer { request in
            if request.path == "/silent" {
                // Never answers until the test is over.
                release.wait()
                return .text(500, "late")
            }
            return HTTPResponse(status: 206, headers: ["Content-Range": "bytes 0-65535/100000", "Content-Length": "65536"]) { writer in
                writer.write(Box.ftyp())
                writer.waitUntilClosed()
            }
        }
        defer {
            release.signal()
            server.stop()
        }
        let quick = ProbeOptions(requestTimeout: 0.5, overallTimeout: 5)
        expectError(server.baseURL + "/stall", options: quick) { $0 == .timeout(seconds: 0.5) }
        expectError(server.baseURL + "/silent", options: quick) { $0 == .timeout(seconds: 0.5) }
    }

    func testRedirectsStatusesAndBadURLs() throws {
        let files = try FileServer(files: Self.fixtures) { request in
            switch request.path {
            case "/go": return HTTPResponse(status: 302, headers: ["Location": "/moov-first.mp4"])
            case "/loop": return HTTPResponse(status: 307, headers: ["Location": "/loop"])
            case "/ftp": return HTTPResponse(status: 301, headers: ["Location": "ftp://127.0.0.1/a.mp4"])
            default: return nil
            }
        }
        let p = try MediaProbe.probeVideo(files.url("/go"))
        XCTAssertEqual(p.requests, 2)
        XCTAssertEqual(p.duration, Seconds(whole: 2))
        expectError(files.url("/loop")) { $0 == .tooManyRedirects(limit: 5) }
        expectError(files.url("/ftp")) { if case .invalidURL(_, let reason) = $0 { return reason.contains("ftp") } else { return false } }
        expectError(files.url("/missing.mp4")) { $0 == .httpStatus(404, url: files.url("/missing.mp4")) }
        let before = files.seen
        expectError("ftp://127.0.0.1/a.mp4") { if case .invalidURL = $0 { return true } else { return false } }
        expectError(files.url("/vidéo.mp4")) { if case .invalidURL(_, let reason) = $0 { return reason.contains("non-ASCII") } else { return false } }
        expectError("http:///nohost.mp4") { if case .invalidURL = $0 { return true } else { return false } }
        XCTAssertEqual(files.seen, before, "refused URLs must not be requested")
        XCTAssertTrue(ProbeError.invalidURL("ftp://x", reason: "r").description.contains("http"))
    }

    func testEmptyAndTruncatedRemoteFiles() throws {
        let moovFirst = MediaFixtures.bytes("moov-first.mp4")
        let files = try FileServer(files: ["/empty.mp4": [], "/cut.mp4": Array(moovFirst.prefix(600)), "/a.png": MediaFixtures.bytes("image.png")])
        expectError(files.url("/empty.mp4")) { $0 == .empty }
        expectError(files.url("/cut.mp4")) { if case .boxTooLarge("moov", _, _, _) = $0 { return true } else { return false } }
        guard case .image(let image) = try MediaProbe.probe(files.url("/a.png")) else { return XCTFail("not an image") }
        XCTAssertEqual([image.width, image.height, image.requests], [64, 48, 1])
    }

    func testUnreachableServerIsANetworkError() throws {
        let server = try LoopbackHTTPServer { _ in .text(200, "") }
        let url = server.baseURL + "/a.mp4"
        server.stop()
        expectError(url) { if case .network = $0 { return true } else { return false } }
    }
}
