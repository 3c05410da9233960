import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// `wanroute probe` and `wanroute quote --video`, in-process.
final class ProbeCommandTests: XCTestCase {
    func testProbeJSONOfARotatedPhoneVideo() async throws {
        let r = try await CLIRunner.run(["probe", MediaFixtures.path("rotated.mp4"), "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let file = try XCTUnwrap(JSONParser.parse(r.stdout)["files"].flatMap { if case .array(let a) = $0 { return a.first } else { return nil } })
        XCTAssertEqual(file["kind"], .string("video"))
        XCTAssertEqual(file["duration"], .string("2"))
        XCTAssertEqual(file["width"], .number("90"))
        XCTAssertEqual(file["height"], .number("160"))
        XCTAssertEqual(file["stored_width"], .number("160"))
        XCTAssertEqual(file["stored_height"], .number("90"))
        XCTAssertEqual(file["rotation"], .number("90"))
        XCTAssertEqual(file["fps"], .number("10"))
        XCTAssertEqual(file["container"], .string("mp4"))
        XCTAssertEqual(file["layout"], .string("moov-first"))
        XCTAssertEqual(file["size_bytes"], .number(String(MediaFixtures.bytes("rotated.mp4").count)))
        guard case .number(let read)? = file["bytes_read"], let n = Int(read) else { return XCTFail("no bytes_read") }
        XCTAssertLessThan(n, MediaFixtures.bytes("rotated.mp4").count, "only the headers are read")
    }

    /// Audio that outlasts the video: quotes bill the container's duration (the longest track, as
    /// ffprobe reports it), and probe shows the video track's own beside it.
    func testAudioLongerThanVideoIsQuotedOnTheContainerDuration() async throws {
        for name in ["long-audio.mp4", "long-audio.avi"] {
            let probe = try await CLIRunner.run(["probe", MediaFixtures.path(name), "--format", "json"])
            XCTAssertEqual(probe.status, 0, probe.stderr)
            let file = try XCTUnwrap(JSONParser.parse(probe.stdout)["files"].flatMap { if case .array(let a) = $0 { return a.first } else { return nil } })
            XCTAssertEqual(file["duration"], .string("2"), name)
            XCTAssertEqual(file["video_duration"], .string("1"), name)
            let quote = try await CLIRunner.run(["quote", "--video", MediaFixtures.path(name), "--provider", "dashscope-intl", "--format", "json"])
            let offers = try JSONParser.parse(quote.stdout)["offers"]
            guard case .array(let items)? = offers, let first = items.first else { return XCTFail(quote.stdout + quote.stderr) }
            XCTAssertEqual(first["billable_seconds"], .string("2"), name)
        }
        let table = try await CLIRunner.run(["probe", MediaFixtures.path("long-audio.mp4")])
        XCTAssertTrue(table.stdout.contains("DURATION  VIDEO"), table.stdout)
    }

    func testProbeReportsEachBadFileAndExitsNonZero() async throws {
        let dir = try Repository.temporaryDirectory()
        try "not a video at all".write(to: dir.appendingPathComponent("fake.mp4"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["probe", "fake.mp4", MediaFixtures.path("image.png"), "--format", "json"], in: dir)
        XCTAssertEqual(r.status, 65)
        let files = try JSONParser.parse(r.stdout)["files"]
        guard case .array(let items)? = files, items.count == 2 else { return XCTFail(r.stdout) }
        XCTAssertTrue(items[0]["error"]?.stringValue?.contains("looks like text") ?? false, r.stdout)
        XCTAssertEqual(items[1]["format"], .string("png"))
        let missing = try await CLIRunner.run(["probe", "nowhere.mp4"], in: dir)
        XCTAssertEqual(missing.status, 64, "a missing file is a usage error in every command")
        XCTAssertTrue(missing.stderr.contains("'nowhere.mp4' does not exist"), missing.stderr)
        let none = try await CLIRunner.run(["probe"])
        XCTAssertEqual(none.status, 64)
    }

    func testQuoteFromAVideoURLUsesTheProbedDurationAndChecksLimits() async throws {
        let server = try FileServer(files: ["/dance.mp4": MediaFixtures.bytes("moov-last.mp4"), "/face.png": MediaFixtures.bytes("image.png")])
        let r = try await CLIRunner.run(["quote", "--video", server.url("/dance.mp4"), "--image", server.url("/face.png"),
                                   "--provider", "dashscope-intl", "--provider", "apixo", "--resolution", "720p", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let root = try JSONParser.parse(r.stdout)
        XCTAssertEqual(root["job"]?["duration"], .string("2"))
        guard case .array(let offers)? = root["offers"] else { return XCTFail(r.stdout) }
        let apixo = try XCTUnwrap(offers.first { $0["provider"] == .string("apixo") })
        XCTAssertEqual(apixo["billable_seconds"], .string("5"), "2 s bills APIXO's 5 s minimum")
        XCTAssertEqual(apixo["eligible"], .bool(true))
        let dashscope = try XCTUnwrap(offers.first { $0["provider"] == .string("dashscope-intl") })
        XCTAssertEqual(dashscope["reasons"], .array([
            .string("the video is 160x90 px; DashScope needs each side at least 200 px"),
            .string("the image is 64x48 px; DashScope needs each side at least 200 px"),
        ]))
        XCTAssertLessThanOrEqual(server.seen, 4, "headers only: a few range requests")
    }

    func testQuoteChecksTheVideoFormatAgainstEachProvider() async throws {
        let r = try await CLIRunner.run(["quote", "--video", MediaFixtures.path("clip.avi"), "--provider", "apixo", "--format", "csv"])
        XCTAssertEqual(r.status, 2, "no eligible offer")
        XCTAssertEqual(r.stderr, "wanroute quote: no offer is eligible: every provider that sells this job refuses it (the reasons are listed per offer)\n")
        XCTAssertTrue(r.stdout.contains("false,false,\"APIXO does not accept AVI videos (it takes MP4, MOV, M4V)\""), r.stdout)
    }

    func testDurationWithVideoSkipsProbing() async throws {
        let r = try await CLIRunner.run(["quote", "--video", "https://example.invalid/never-fetched.mp4", "--duration", "12", "--provider", "apixo", "--format", "csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("apixo,animate,standard,480p,12,0.48,USD"), r.stdout)
    }

    func testAVideoThatIsNotAVideoIsADataError() async throws {
        let dir = try Repository.temporaryDirectory()
        try "hello".write(to: dir.appendingPathComponent("clip.mp4"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["quote", "--video", "clip.mp4"], in: dir)
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.hasPrefix("wanroute quote: error: clip.mp4: The file is not an MP4, MOV, M4V or AVI video"), r.stderr)
    }
}
