import Foundation
import XCTest
@testable import WanRoute

/// A loopback server that lies and never stops: endless bodies, endless gzip, lying
/// Content-Length and Content-Range, slowloris, redirect loops. Every probe and every provider
/// exchange must end within its documented time limit (plus scheduling slack) with resident
/// memory growing by less than ``memoryBound``, whatever the server does.
final class HostileServerTests: XCTestCase {
    /// How much resident memory one hostile exchange may add. The caps under test are 1 MiB
    /// (probe) and 64 KiB (transport); a decoder running away grows by hundreds of megabytes.
    static let memoryBound = 48 << 20
    /// Scheduling slack on top of a documented time limit (two busy cores, parallel builds).
    static let slack = 5.0

    static let probeOptions = ProbeOptions(maxBytes: 1 << 20, chunkSize: 16 << 10, requestTimeout: 1, overallTimeout: 2, maxRedirects: 3)

    var server: LoopbackHTTPServer!

    override func tearDown() {
        server?.stop()
        server = nil
    }

    // MARK: what the server sends

    /// A file that looks like an MP4 whose media data never ends.
    static let mp4Head: [UInt8] = Array(repeating: 0, count: 0) + be32(24) + Array("ftyp".utf8) + Array("isom".utf8) + be32(512) + Array("isomiso2".utf8)
        + be32(1) + Array("mdat".utf8) + be64(1 << 40)

    static func be32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
    static func be64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }

    /// Writes bytes until the client goes away or the server stops.
    static func forever(_ w: HTTPBodyWriter, _ chunk: [UInt8]) {
        while w.write(chunk) {}
    }

    /// An endless gzip stream of zeros (each 8 KB on the wire inflates to about 1.3 MB): fixed
    /// Huffman deflate blocks of one literal then a thousand 258-byte matches, never final.
    static func endlessGzip(_ w: HTTPBodyWriter) {
        guard w.write([0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xFF]) else { return }
        var bits = BitWriter()
        while true {
            bits.bits(0, 1)            // not the final block
            bits.bits(1, 2)            // fixed Huffman codes
            bits.huffman(0x30, 8)      // literal 0
            for _ in 0..<1_000 {
                bits.huffman(0xC5, 8)  // length 258
                bits.huffman(0, 5)     // distance 1
            }
            bits.huffman(0, 7)         // end of block
            guard w.write(bits.take()) else { return }
        }
    }

    struct BitWriter {
        var out: [UInt8] = []
        var acc: UInt32 = 0
        var count = 0
        mutating func bits(_ v: UInt32, _ n: Int) {
            acc |= v << UInt32(count)
            count += n
            while count >= 8 { out.append(UInt8(acc & 0xFF)); acc >>= 8; count -= 8 }
        }
        mutating func huffman(_ code: UInt32, _ n: Int) {
            var reversed: UInt32 = 0
            for i in 0..<n { reversed = reversed << 1 | (code >> UInt32(i) & 1) }
            bits(reversed, n)
        }
        mutating func take() -> [UInt8] { defer { out.removeAll(keepingCapacity: true) }; return out }
    }

    enum Hostility: String, CaseIterable {
        case endlessBody, endlessGzip, doubleGzip, longerThanLength, shorterThanLength, hugeContentRange, unknownContentRange,
             noLength, slowloris, redirectLoop, endlessHeader
    }

    func serve(_ kind: Hostility) throws -> String {
        server = try LoopbackHTTPServer(limits: .init(readTimeout: 5)) { request in
            switch kind {
            case .endlessBody:
                return HTTPResponse(status: 200, stream: { Self.forever($0, Self.mp4Head + [UInt8](repeating: 0, count: 64 << 10)) })
            case .endlessGzip, .doubleGzip:
                return HTTPResponse(status: 200, headers: ["Content-Encoding": kind == .endlessGzip ? "gzip" : "gzip, gzip",
                                                           "Content-Type": "application/json"], stream: Self.endlessGzip)
            case .longerThanLength:
                // Claims 100 bytes, sends endlessly.
                return HTTPResponse(status: 200, headers: ["Content-Length": "100"], stream: { Self.forever($0, [UInt8](repeating: 0x41, count: 16 << 10)) })
            case .shorterThanLength:
                // Claims a megabyte, sends ten bytes and stalls.
                return HTTPResponse(status: 206, headers: ["Content-Length": "1000000", "Content-Range": "bytes 0-999999/1000000"],
                                    stream: { w in _ = w.write(Array(Self.mp4Head.prefix(10))); w.waitUntilClosed() })
            case .hugeContentRange:
                return HTTPResponse(status: 206, headers: ["Content-Range": "bytes 0-39/9223372036854775807"], body: Self.mp4Head)
            case .unknownContentRange:
                return HTTPResponse(status: 206, headers: ["Content-Range": "bytes 0-39/*"], body: Self.mp4Head)
            case .noLength:
                return HTTPResponse(status: 200, stream: { w in _ = w.write(Self.mp4Head + Array(repeating: 0, count: 1000)) })
            case .slowloris:
                return HTTPResponse(status: 200, stream: { w in
                    for byte in Self.mp4Head + [UInt8](repeating: 0, count: 1 << 20) {
                        guard w.write([byte]) else { return }
                        usleep(20_000)
                    }
                })
            case .redirectLoop:
                return HTTPResponse(status: 302, headers: ["Location": request.path + "x"], body: [])
            case .endlessHeader:
                return HTTPResponse(status: 200, headers: ["X-Filler": String(repeating: "a", count: 100)], stream: { w in
                    // Never-ending header lines, so the head never ends.
                    Self.forever(w, Array("X-More: \(String(repeating: "b", count: 1000))\r\n".utf8))
                })
            }
        }
        return server.baseURL + "/video.mp4"
    }

    // MARK: measuring

    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }

    /// Runs `body`, asserting it ends within `limit` seconds (plus slack) and grows resident
    /// memory by less than the bound.
    func bounded<T>(_ what: String, limit: Double, _ body: () throws -> T) rethrows -> T {
        let before = Self.residentBytes()
        let start = Date()
        let result = try body()
        let elapsed = Date().timeIntervalSince(start)
        let grown = Self.residentBytes() - before
        XCTAssertLessThan(elapsed, limit + Self.slack, "\(what) took \(elapsed) s")
        XCTAssertLessThan(grown, Self.memoryBound, "\(what) grew resident memory by \(grown) bytes")
        return result
    }

    func boundedAsync<T>(_ what: String, limit: Double, _ body: () async throws -> T) async rethrows -> T {
        let before = Self.residentBytes()
        let start = Date()
        let result = try await body()
        let elapsed = Date().timeIntervalSince(start)
        let grown = Self.residentBytes() - before
        XCTAssertLessThan(elapsed, limit + Self.slack, "\(what) took \(elapsed) s")
        XCTAssertLessThan(grown, Self.memoryBound, "\(what) grew resident memory by \(grown) bytes")
        return result
    }

    // MARK: probes

    func testEveryHostileServerEndsAProbeInTimeAndMemory() throws {
        for kind in Hostility.allCases {
            let url = try serve(kind)
            let outcome: Result<VideoProbe, ProbeError> = bounded("probe \(kind)", limit: Self.probeOptions.overallTimeout) {
                Result { () throws(ProbeError) -> VideoProbe in try MediaProbe.probeVideo(url, options: Self.probeOptions) }
            }
            switch (kind, outcome) {
            case (.endlessGzip, .failure(let e)), (.doubleGzip, .failure(let e)):
                XCTAssertTrue(e.description.contains("encoded"), "\(kind): \(e)")
            case (.redirectLoop, .failure(let e)):
                XCTAssertEqual(e, .tooManyRedirects(limit: 3))
            case (_, .failure(let e)):
                XCTAssertFalse(e.description.isEmpty, "\(kind)")
            case (_, .success(let p)):
                XCTFail("\(kind): a lying server gave a probe: \(p)")
            }
            server.stop()
        }
    }

    // MARK: provider exchanges

    func exchange(_ transport: URLSessionTransport, _ url: String, timeout: Double) async -> Result<TransportResponse, TransportError> {
        do {
            return .success(try await transport.send(TransportRequest(method: "GET", url: URL(string: url)!, timeout: timeout)))
        } catch {
            return .failure(error)
        }
    }

    func testEveryHostileServerEndsAProviderExchangeInTimeAndMemory() async throws {
        try await hostileExchanges(overSocket: true, kinds: Hostility.allCases.filter { ![.hugeContentRange, .unknownContentRange, .noLength].contains($0) })
    }

    /// URLSession (what https needs) cannot be held to a memory bound: on Linux it is libcurl,
    /// which decodes gzip whatever is asked and hands every decoded piece to the delegate queue
    /// asynchronously, with no back-pressure, so a cancel lands after the damage (measured over
    /// loopback: an endless gzip answer grew the process by 5.3 GB in 31 s, an endless header by
    /// 690 MB, an endless plain body by 400 MB). Plain http therefore never goes through it; for
    /// https the servers that stall or loop are still held to the time limit, checked here.
    func testURLSessionHoldsTheTimeLimitAgainstStallingServers() async throws {
        try await hostileExchanges(overSocket: false, kinds: [.shorterThanLength, .slowloris, .redirectLoop, .longerThanLength])
    }

    func hostileExchanges(overSocket: Bool, kinds: [Hostility]) async throws {
        do {
            let transport = URLSessionTransport(maximumBodyBytes: 64 << 10, plainHTTPOverSocket: overSocket)
            for kind in kinds {
                let url = try serve(kind)
                let outcome = await boundedAsync("\(overSocket ? "socket" : "URLSession") \(kind)", limit: 1) {
                    await exchange(transport, url, timeout: 1)
                }
                switch (kind, outcome) {
                case (.redirectLoop, .success(let r)):
                    XCTAssertEqual(r.status, 302, "a provider API's redirect is returned as it is, never followed")
                case (.endlessGzip, .failure(.noAnswer(let m))), (.doubleGzip, .failure(.noAnswer(let m))):
                    XCTAssertTrue(m.contains("encoded") || m.contains("larger than"), "\(kind) over \(overSocket ? "socket" : "URLSession"): \(m)")
                case (.longerThanLength, .success(let r)):
                    XCTAssertEqual(r.body.count, 100, "Content-Length frames the body; the rest is never read")
                case (_, .failure(.noAnswer)):
                    break
                default:
                    XCTFail("\(kind) over \(overSocket ? "socket" : "URLSession"): \(outcome)")
                }
                server.stop()
            }
        }
    }

    func testTheEndlessGzipStreamReallyInflates() {
        // The fixture is a real bomb: its first blocks are valid deflate that inflates ~150x.
        var bits = BitWriter()
        bits.bits(1, 1)
        bits.bits(1, 2)
        bits.huffman(0x30, 8)
        bits.huffman(0xC5, 8)
        bits.huffman(0, 5)
        bits.huffman(0, 7)
        bits.bits(0, 7)
        XCTAssertEqual(bits.take().count, 4, "one literal and one 258-byte match fit in four bytes")
    }
}
