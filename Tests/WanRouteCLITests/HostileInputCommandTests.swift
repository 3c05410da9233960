import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoute
@testable import WanRouteCLI

/// The command line against hostile input, in-process (the binary runs the corpus in CI).
final class HostileInputCommandTests: XCTestCase {
    func testEverythingPrintedHasItsControlCharactersEscaped() async throws {
        let dir = try Repository.temporaryDirectory()
        try Data("\u{1b}]0;pwned\u{07}\u{1b}[2J text".utf8).write(to: dir.appendingPathComponent("evil.mp4"))
        let r = try await CLIRunner.run(["probe", "evil.mp4"], in: dir)
        XCTAssertEqual(r.status, 65)
        XCTAssertFalse((r.stdout + r.stderr).contains("\u{1b}"), r.stderr)
        XCTAssertTrue(r.stderr.contains("1b 5d 30 3b"), r.stderr)
    }

    func testMessagesNameTheRightOption() async throws {
        for (value, expected) in [("-1", "--deadline must be a positive number of seconds, not '-1'"),
                                  ("1h", "--deadline '1h' is not a number of seconds")] {
            let r = try await CLIRunner.run(["run", "--sandbox", "--image", "https://a/i.png", "--video", "https://a/v.mp4", "--duration", "5",
                                             "--deadline", value, "--policy", "production"])
            XCTAssertEqual(r.status, 64)
            XCTAssertTrue(r.stderr.contains(expected), r.stderr)
        }
        let file = try await CLIRunner.run(["probe", "file:///nonexistent/x.mp4", "ftp://example.invalid/y.mp4"])
        XCTAssertTrue(file.stderr.contains("/nonexistent/x.mp4 does not exist"), file.stderr)
        XCTAssertTrue(file.stderr.contains("the scheme ftp is not http or https"), file.stderr)
        XCTAssertFalse(file.stderr.contains(NSTemporaryDirectory()), "no current directory glued onto a URL")
        let tag = try await CLIRunner.run(["route", "--duration", "5", "--policy", "cheapest", "--tag", "customer =film"])
        XCTAssertEqual(tag.status, 64)
        XCTAssertTrue(tag.stderr.contains("no spaces"), tag.stderr)
    }

    func testJobsFilesThatAreNotFilesOrUseCRLF() async throws {
        let dir = try Repository.temporaryDirectory()
        let empty = try await CLIRunner.run(["run", "--sandbox", "--jobs", "/dev/null", "--policy", "production"], in: dir)
        XCTAssertEqual(empty.status, 65)
        XCTAssertTrue(empty.stderr.contains("/dev/null holds no jobs"), empty.stderr)
        let line = "{\"image\": \"https://media.example/a.png\", \"video\": \"https://media.example/v.mp4?duration=5\", \"duration\": \"5\"}"
        try Data((line + "\r\n" + line + "\r\n").utf8).write(to: dir.appendingPathComponent("crlf.jsonl"))
        let crlf = try await CLIRunner.run(["run", "--sandbox", "--jobs", "crlf.jsonl", "--policy", "production"], in: dir)
        XCTAssertEqual(crlf.status, 0, crlf.stderr)
        XCTAssertEqual(crlf.stdout.split(separator: "\n").count, 2, "two CRLF lines are two jobs")
        try Data("{\"image\": \"https://a/i.png\", \"video\": \"https://a/v.mp4\"}\n".utf8).write(to: dir.appendingPathComponent("probe.jsonl"))
        let sandbox = try await CLIRunner.run(["run", "--sandbox", "--jobs", "probe.jsonl", "--policy", "production"], in: dir)
        XCTAssertEqual(sandbox.status, 64)
        XCTAssertTrue(sandbox.stderr.contains("--sandbox fetches no real files"), sandbox.stderr)
        let huge = try await CLIRunner.run(["run", "--sandbox", "--jobs", "-", "--policy", "production"], in: dir)
        XCTAssertNotEqual(huge.status, 0)
    }

    func testKeysAndBaseURLsNeverEchoTheirSecrets() async throws {
        // A local image (sent inline, which only the AI/ML API takes) and a policy for it: nothing
        // is fetched, so only the configuration is in question.
        let dir = try Repository.temporaryDirectory()
        try Data(#"{"kind": "policy", "version": 1, "name": "aiml", "objective": "cheapest", "constraints": {"providers": {"allow": ["aimlapi"]}, "min_confidence": "unknown"}}"#.utf8)
            .write(to: dir.appendingPathComponent("aiml.json"))
        let job = ["run", "--image", MediaFixtures.path("image.png"), "--video", "https://media.example/v.mp4", "--duration", "5",
                   "--policy", "aiml.json"]
        let key = try await CLIRunner.run(job, in: dir, environment: ["AIMLAPI_API_KEY": "sk-abcdefgh12345678\r"])
        XCTAssertEqual(key.status, 1, key.stderr)
        XCTAssertTrue(key.stderr.contains("AIMLAPI_API_KEY holds a control character"), key.stderr)
        XCTAssertFalse(key.stderr.contains("abcdefgh"), key.stderr)
        let url = try await CLIRunner.run(job, in: dir, environment: ["WANROUTE_AIMLAPI_BASE_URL": "https://u:sk-in-userinfo@example.invalid/x?k=sk-in-query",
                                                                      "AIMLAPI_API_KEY": "k"])
        XCTAssertNotEqual(url.status, 0)
        XCTAssertFalse((url.stdout + url.stderr).contains("sk-in-"), url.stderr)
    }

    func testSimulatePortZeroIsAcceptedAndKeysAreQuoted() async throws {
        let bad = try await CLIRunner.run(["simulate", "--key", "a\rb"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("control character"), bad.stderr)
        XCTAssertEqual(SimulateCommand.shellQuoted("it's"), "'it'\\''s'")
    }
}
