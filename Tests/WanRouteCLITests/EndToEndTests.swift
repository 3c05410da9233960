import WanRouteTestSupport
import XCTest

/// A few runs of the built binary, for what only a process shows: main.swift hands over argv, the
/// environment and stdio; exit statuses; stdout and stderr kept apart through real pipes. Every
/// other CLI test runs in-process (CLIRunner), which is the same function.
final class EndToEndTests: XCTestCase {
    func testVersionAndHelpExitZeroOnStdout() throws {
        let version = try BinaryRunner.run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(version.stdout.hasPrefix("wanroute "), version.stdout)
        XCTAssertEqual(version.stderr, "")
        let help = try BinaryRunner.run(["quote", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("Usage: wanroute quote"), help.stdout)
    }

    func testTheBinaryAndTheInProcessToolAgree() async throws {
        let args = ["quote", "--duration", "10", "--format", "json"]
        let binary = try BinaryRunner.run(args)
        let inProcess = try await CLIRunner.run(args)
        XCTAssertEqual(binary.status, 0, binary.stderr)
        XCTAssertEqual(binary.stdout, inProcess.stdout)
        assertGolden(binary.stdout, named: "quote-duration-10.json")
    }

    func testUsageAndDataErrorsExitWithTheirCodesOnStderr() throws {
        let usage = try BinaryRunner.run(["quote", "--duration"])
        XCTAssertEqual(usage.status, 64)
        XCTAssertEqual(usage.stdout, "")
        XCTAssertTrue(usage.stderr.contains("wanroute quote: error:"), usage.stderr)

        let dir = try Repository.temporaryDirectory()
        try "{\"kind\": \"pricing\",".write(to: dir.appendingPathComponent("broken.json"), atomically: true, encoding: .utf8)
        let data = try BinaryRunner.run(["validate", "broken.json"], in: dir)
        XCTAssertEqual(data.status, 65)
        XCTAssertTrue(data.stderr.hasPrefix("broken.json:1:20: error: not valid JSON"), data.stderr)
    }

    func testASandboxRunAwaitsItsJobInAProcess() throws {
        let r = try BinaryRunner.run(["run", "--sandbox", "--image", "https://media.example/face.png",
                                      "--video", "https://media.example/dance.mp4?duration=12", "--duration", "12",
                                      "--policy", "production", "--resolution", "480p", "--id", "job-1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("{\"id\":\"job-1\",\"status\":\"succeeded\""), r.stdout)
        XCTAssertEqual(r.stderr, "", "a pipe is not a terminal: no progress")
    }
}
