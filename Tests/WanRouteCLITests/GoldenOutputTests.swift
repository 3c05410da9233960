import WanRouteTestSupport
import XCTest

/// The stable `--format json` outputs, locked byte for byte as golden files in Tests/Fixtures/golden.
///
/// They read the built-in pricing and policies, so a change to a price or a policy shows up here as
/// a reviewed diff: re-record with `WANROUTE_RECORD_GOLDEN=1 swift test --filter GoldenOutputTests`.
final class GoldenOutputTests: XCTestCase {
    func testQuoteJSON() async throws {
        let r = try await CLIRunner.run(["quote", "--duration", "10", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        assertGolden(r.stdout, named: "quote-duration-10.json")
    }

    func testQuoteJSONForAProbedVideoAndImage() async throws {
        let r = try await CLIRunner.run(["quote", "--video", "moov-last.mp4", "--image", "image.jpg", "--behavior", "replace", "--format", "json"],
                                        in: MediaFixtures.directory)
        XCTAssertEqual(r.status, 0, r.stderr)
        assertGolden(r.stdout, named: "quote-video-replace.json")
    }

    func testRouteJSON() async throws {
        let r = try await CLIRunner.run(["route", "--policy", "production", "--duration", "12", "--behavior", "replace",
                                         "--tag", "customer=film", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        assertGolden(r.stdout, named: "route-production-film.json")
    }

    func testRouteJSONWhenThePolicyRefuses() async throws {
        let r = try await CLIRunner.run(["route", "--policy", "production", "--duration", "45", "--behavior", "replace",
                                         "--tag", "customer=film", "--format", "json"])
        XCTAssertEqual(r.status, 2, r.stderr)
        assertGolden(r.stdout, named: "route-production-refused.json")
    }

    func testProbeJSON() async throws {
        let r = try await CLIRunner.run(["probe", "rotated.mp4", "clip.avi", "image-orientation6.jpg", "--format", "json"],
                                        in: MediaFixtures.directory)
        XCTAssertEqual(r.status, 0, r.stderr)
        assertGolden(r.stdout, named: "probe.json")
    }

    func testAGoldenDifferenceNamesTheFirstDifferingLine() {
        XCTAssertNil(GoldenFile.difference("a\nb\n", "a\nb\n"))
        XCTAssertEqual(GoldenFile.difference("a\nc\n", "a\nb\n"), "line 2:\n  expected: b\n  actual:   c")
        XCTAssertEqual(GoldenFile.difference("a\n", "a\nb\n"), "line 2:\n  expected: b\n  actual:   (end of output)")
    }
}
