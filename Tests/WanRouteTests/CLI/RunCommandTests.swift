import XCTest
@testable import WanRoute

/// `wanroute run` and `wanroute simulate`, run as separate processes.
final class RunCommandTests: XCTestCase {
    let image = "https://media.example/face.png"
    let video = "https://media.example/dance.mp4?duration=12"

    func lines(_ stdout: String) throws -> [JSONValue] {
        try stdout.split(separator: "\n").map { try JSONParser.parse(String($0)) }
    }

    func testSandboxRunsAJobAndPrintsOneJSONLine() throws {
        let r = try CLIRunner.run(["run", "--sandbox", "--image", image, "--video", video, "--duration", "12", "--policy", "production", "--resolution", "480p"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = try lines(r.stdout)
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(out[0]["status"], .string("succeeded"))
        XCTAssertEqual(out[0]["provider"], .string("apixo"), "the only published 480p offer with an adapter")
        XCTAssertEqual(out[0]["estimated_cost"], .object([JSONMember("amount", .string("0.48")), JSONMember("currency", .string("USD"))]))
        XCTAssertEqual(out[0]["actual_cost"], out[0]["estimated_cost"])
        XCTAssertEqual(out[0]["actual_cost_source"], .string("billing-rule"))
        guard case .string(let task)? = out[0]["task_id"], case .string(let url)? = out[0]["result_url"] else { return XCTFail(r.stdout) }
        XCTAssertFalse(task.isEmpty)
        XCTAssertTrue(url.hasPrefix("https://"), url)
        XCTAssertEqual(r.stderr, "", "progress only on a terminal")
    }

    func testABatchFromAJobsFile() throws {
        let dir = try Repository.temporaryDirectory()
        let jobs = """
        {"id": "a", "image": "\(image)", "video": "https://media.example/a.mp4?duration=8", "duration": "8", "behavior": "replace", "resolution": "720p", "tags": {"customer": "acme"}}

        {"id": "b", "image": "\(image)", "video": "https://media.example/b.mp4?duration=20", "duration": 20, "mode": "wan-std"}
        {"id": "c", "image": "\(image)", "video": "https://media.example/c.mp4?duration=3", "duration": "3", "tags": {"purpose": "preview"}}
        """
        try jobs.write(to: dir.appendingPathComponent("jobs.jsonl"), atomically: true, encoding: .utf8)
        let r = try CLIRunner.run(["run", "--sandbox", "--jobs", "jobs.jsonl", "--concurrency", "3", "--policy", "production"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
        let out = try lines(r.stdout)
        XCTAssertEqual(Set(out.compactMap { $0["id"]?.stringValue }), ["a", "b", "c"])
        XCTAssertTrue(out.allSatisfy { $0["status"] == .string("succeeded") }, r.stdout)
        let b = try XCTUnwrap(out.first { $0["id"] == .string("b") })
        XCTAssertEqual(b["mode"], .string("wan-std"))
    }

    func testABadJobsFileReportsEveryLineAndRunsNothing() throws {
        let dir = try Repository.temporaryDirectory()
        let jobs = """
        {"id": "a", "image": "\(image)", "video": "ftp://x/a.mp4", "duration": "8"}
        {"id": "b", "image": "\(image)", "video": "\(video)", "duraton": "8"}
        not json
        {"id": "a", "image": "\(image)", "video": "\(video)", "duration": "-1"}
        """
        try jobs.write(to: dir.appendingPathComponent("jobs.jsonl"), atomically: true, encoding: .utf8)
        let r = try CLIRunner.run(["run", "--sandbox", "--jobs", "jobs.jsonl", "--policy", "cheapest"], in: dir)
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stdout, "")
        for expected in ["jobs.jsonl:1: $.video: error: \"ftp://x/a.mp4\" is not an http(s) URL",
                         "jobs.jsonl:2: $.duraton: error: unknown key \"duraton\"; did you mean \"duration\"?",
                         "jobs.jsonl:3:2: error: not valid JSON: unexpected character",
                         "jobs.jsonl:4: $.duration: error: expected a positive number of seconds"] {
            XCTAssertTrue(r.stderr.contains(expected), "missing \(expected) in\n\(r.stderr)")
        }
    }

    func testAMissingKeyStopsTheRunBeforeAnythingIsSubmitted() throws {
        let files = try FileServer(files: ["/face.png": MediaFixtures.bytes("image.png")])
        // The base URL points at a port nothing listens on: any submission would fail loudly.
        let r = try CLIRunner.run(["run", "--image", files.url("/face.png"), "--video", video, "--duration", "12", "--policy", "production", "--resolution", "480p"],
                                  environment: ["WANROUTE_APIXO_BASE_URL": "http://127.0.0.1:9"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("routes to apixo, but APIXO_API_KEY is not set"), r.stderr)
    }

    func testRunsAgainstASimulatorNamedByTheEnvironmentAndNeverPrintsTheKey() throws {
        let secret = "sk-live-SECRET-4242"
        var configuration = ProviderSimulator.Configuration(apiKey: "another-key")
        configuration.echoKeyInErrors = true
        let simulator = ProviderSimulator(configuration: configuration)
        let base = try simulator.start()
        defer { simulator.stop() }
        let files = try FileServer(files: ["/face.png": MediaFixtures.bytes("image.png")])
        // A wrong key: the simulator's 401 echoes it; wanroute must not.
        let r = try CLIRunner.run(["run", "--image", files.url("/face.png"), "--video", video, "--duration", "12", "--policy", "production", "--resolution", "480p"],
                                  environment: ["WANROUTE_APIXO_BASE_URL": base.absoluteString, "APIXO_API_KEY": secret])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(simulator.submissionCount(), 0, "a refused key creates nothing")
        let out = try lines(r.stdout)
        XCTAssertEqual(out.first?["status"], .string("failed"))
        XCTAssertEqual(out.first?["attempts"].flatMap { if case .array(let a) = $0 { return a.first?["failure"] } else { return nil } }, .string("auth"))
        XCTAssertFalse(r.stdout.contains("SECRET") || r.stderr.contains("SECRET"), r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("[redacted]"), r.stdout)
    }

    func testAQuoteOnlyChoiceIsAnErrorBeforeAnythingRuns() throws {
        let r = try CLIRunner.run(["run", "--sandbox", "--image", image, "--video", video, "--duration", "12", "--policy", "cheapest"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("policy \"cheapest\" chose runware for job job-1, which wanroute can only quote"), r.stderr)
    }

    func testRefusedByPolicyExitsTwo() throws {
        let dir = try Repository.temporaryDirectory()
        try """
        {"kind": "policy", "version": 1, "name": "tight", "objective": "cheapest",
         "constraints": {"max_cost": {"amount": "0.01", "currency": "USD"}}}
        """.write(to: dir.appendingPathComponent("tight.json"), atomically: true, encoding: .utf8)
        let r = try CLIRunner.run(["run", "--sandbox", "--image", image, "--video", video, "--duration", "12", "--policy", "tight.json"], in: dir)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(try lines(r.stdout).first?["status"], .string("refused"))
    }

    func testBadCommandLines() throws {
        let cases: [([String], String)] = [
            (["run", "--image", image, "--video", video, "--duration", "5"], "give the routing policy with --policy FILE|NAME"),
            (["run", "--sandbox", "--image", image, "--video", video, "--policy", "cheapest"], "--sandbox fetches no real files"),
            (["run", "--image", "face.png", "--video", video, "--duration", "5", "--policy", "cheapest"], "--image must be an http(s) URL"),
            (["run", "--jobs", "x.jsonl", "--duration", "5", "--policy", "cheapest"], "--duration describes a single job"),
            (["run", "--sandbox", "--image", image, "--video", video, "--duration", "5", "--policy", "nope"], "--policy 'nope' is neither a policy file nor a built-in policy"),
            (["run", "--sandbox", "--image", image, "--video", video, "--duration", "5", "--policy", "cheapest", "--tag", "oops"], "--tag 'oops' is not KEY=VALUE"),
        ]
        for (args, message) in cases {
            let r = try CLIRunner.run(args)
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("wanroute run: error: \(message)"), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "")
        }
    }
}
