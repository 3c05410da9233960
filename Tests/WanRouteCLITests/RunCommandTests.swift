import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// `wanroute run` and `wanroute simulate`, in-process.
final class RunCommandTests: XCTestCase {
    let image = "https://media.example/face.png"
    let video = "https://media.example/dance.mp4?duration=12"

    func lines(_ stdout: String) throws -> [JSONValue] {
        try stdout.split(separator: "\n").map { try JSONParser.parse(String($0)) }
    }

    func testSandboxRunsAJobAndPrintsOneJSONLine() async throws {
        let r = try await CLIRunner.run(["run", "--sandbox", "--image", image, "--video", video, "--duration", "12", "--policy", "production", "--resolution", "480p"])
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

    func testMaxInFlightTakesRepeatedAndCommaSeparatedLimits() async throws {
        let r = try await CLIRunner.run(["run", "--sandbox", "--image", image, "--video", video, "--duration", "12", "--policy", "production",
                                         "--max-in-flight", "dashscope-cn=3,dashscope-intl=2", "--max-in-flight", "apixo=20"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for (value, message) in [("dashscope-cn", "takes PROVIDER=N such as dashscope-cn=3, not 'dashscope-cn'"),
                                 ("dashscope-cm=3", "unknown provider 'dashscope-cm' (did you mean 'dashscope-cn'?)"),
                                 ("apixo=0", "--max-in-flight apixo: '0' is not a whole number of tasks from 1 to 1000"),
                                 ("apixo=3,", "not ''")] {
            let bad = try await CLIRunner.run(["run", "--sandbox", "--image", image, "--video", video, "--duration", "12", "--policy", "production",
                                               "--max-in-flight", value])
            XCTAssertEqual(bad.status, 64, value)
            XCTAssertTrue(bad.stderr.contains(message), bad.stderr)
        }
    }

    func testABatchFromAJobsFile() async throws {
        let dir = try Repository.temporaryDirectory()
        let jobs = """
        {"id": "a", "image": "\(image)", "video": "https://media.example/a.mp4?duration=8", "duration": "8", "behavior": "replace", "resolution": "720p", "tags": {"customer": "acme"}}

        {"id": "b", "image": "\(image)", "video": "https://media.example/b.mp4?duration=20", "duration": "20", "mode": "wan-std"}
        {"id": "c", "image": "\(image)", "video": "https://media.example/c.mp4?duration=3", "duration": "3", "tags": {"purpose": "preview"}}
        """
        try jobs.write(to: dir.appendingPathComponent("jobs.jsonl"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["run", "--sandbox", "--jobs", "jobs.jsonl", "--concurrency", "3", "--policy", "production"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
        let out = try lines(r.stdout)
        XCTAssertEqual(Set(out.compactMap { $0["id"]?.stringValue }), ["a", "b", "c"])
        XCTAssertTrue(out.allSatisfy { $0["status"] == .string("succeeded") }, r.stdout)
        let b = try XCTUnwrap(out.first { $0["id"] == .string("b") })
        XCTAssertEqual(b["mode"], .string("wan-std"))
    }

    func testABadJobsFileReportsEveryLineAndRunsNothing() async throws {
        let dir = try Repository.temporaryDirectory()
        let jobs = """
        {"id": "a", "image": "\(image)", "video": "ftp://x/a.mp4", "duration": "8"}
        {"id": "b", "image": "\(image)", "video": "\(video)", "duraton": "8"}
        not json
        {"id": "a", "image": "\(image)", "video": "\(video)", "duration": "-1"}
        """
        try jobs.write(to: dir.appendingPathComponent("jobs.jsonl"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["run", "--sandbox", "--jobs", "jobs.jsonl", "--policy", "cheapest"], in: dir)
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stdout, "")
        for expected in ["jobs.jsonl:1: $.video: error: \"ftp://x/a.mp4\" is not an http(s) URL",
                         "jobs.jsonl:2: $.duraton: error: unknown key \"duraton\"; did you mean \"duration\"?",
                         "jobs.jsonl:3:2: error: not valid JSON: unexpected character",
                         "jobs.jsonl:4: $.duration: error: \"-1\" is negative"] {
            XCTAssertTrue(r.stderr.contains(expected), "missing \(expected) in\n\(r.stderr)")
        }
    }

    func testAMissingKeyStopsTheRunBeforeAnythingIsSubmitted() async throws {
        let files = try FileServer(files: ["/face.png": MediaFixtures.bytes("image.png")])
        // The base URL points at a port nothing listens on: any submission would fail loudly.
        let r = try await CLIRunner.run(["run", "--image", files.url("/face.png"), "--video", video, "--duration", "12", "--policy", "production", "--resolution", "480p"],
                                  environment: ["WANROUTE_APIXO_BASE_URL": "http://127.0.0.1:9"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("routes to apixo, but APIXO_API_KEY is not set"), r.stderr)
    }

    func testRunsAgainstASimulatorNamedByTheEnvironmentAndNeverPrintsTheKey() async throws {
        let secret = "sk-live-SECRET-4242"
        var configuration = ProviderSimulator.Configuration(apiKey: "another-key")
        configuration.echoKeyInErrors = true
        let simulator = ProviderSimulator(configuration: configuration)
        let base = try simulator.start()
        defer { simulator.stop() }
        let files = try FileServer(files: ["/face.png": MediaFixtures.bytes("image.png")])
        // A wrong key: the simulator's 401 echoes it; wanroute must not.
        let r = try await CLIRunner.run(["run", "--image", files.url("/face.png"), "--video", video, "--duration", "12", "--policy", "production", "--resolution", "480p"],
                                  environment: ["WANROUTE_APIXO_BASE_URL": base.absoluteString, "APIXO_API_KEY": secret])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(simulator.submissionCount(), 0, "a refused key creates nothing")
        let out = try lines(r.stdout)
        XCTAssertEqual(out.first?["status"], .string("failed"))
        XCTAssertEqual(out.first?["attempts"].flatMap { if case .array(let a) = $0 { return a.first?["failure"] } else { return nil } }, .string("auth"))
        XCTAssertFalse(r.stdout.contains("SECRET") || r.stderr.contains("SECRET"), r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("[redacted]"), r.stdout)
    }

    func testAQuoteOnlyChoiceIsAnErrorBeforeAnythingRuns() async throws {
        let r = try await CLIRunner.run(["run", "--sandbox", "--image", image, "--video", video, "--duration", "12", "--policy", "cheapest", "--id", "job-1"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("policy \"cheapest\" chose runware for job job-1, which wanroute can only quote"), r.stderr)
    }

    func testRefusedByPolicyExitsTwo() async throws {
        let dir = try Repository.temporaryDirectory()
        try """
        {"kind": "policy", "version": 1, "name": "tight", "objective": "cheapest",
         "constraints": {"max_cost": {"amount": "0.01", "currency": "USD"}}}
        """.write(to: dir.appendingPathComponent("tight.json"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["run", "--sandbox", "--image", image, "--video", video, "--duration", "12", "--policy", "tight.json"], in: dir)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(try lines(r.stdout).first?["status"], .string("refused"))
    }

    func testABudgetWithRoomForTwoOfThreeJobsRefusesTheThirdWithExitTwoAndClosesIt() async throws {
        // Three 12 s APIXO 480p jobs at USD 0.48 each against USD 1.00: run together, all three may pass
        // the router's check before any reserves; the reservation under the lock then refuses the
        // third. Either way the third is a refusal (exit 2) that names the budget, never a failure.
        let dir = try Repository.temporaryDirectory()
        try """
        {"kind": "policy", "version": 1, "name": "tight", "objective": "cheapest", "constraints": {"providers": {"allow": ["apixo"]}},
         "failover": {"alternates": 0, "on": []}, "budgets": [{"id": "month", "monthly": {"amount": "1.00", "currency": "USD"}}]}
        """.write(to: dir.appendingPathComponent("tight.json"), atomically: true, encoding: .utf8)
        let jobs = ["a", "b", "c"].map {
            #"{"id": "\#($0)", "image": "\#(image)", "video": "https://media.example/\#($0).mp4?duration=12", "duration": "12", "resolution": "480p"}"#
        }
        try jobs.joined(separator: "\n").write(to: dir.appendingPathComponent("jobs.jsonl"), atomically: true, encoding: .utf8)
        let home = ["WANROUTE_HOME": try Repository.temporaryDirectory().path]
        let r = try await CLIRunner.run(["run", "--sandbox", "--jobs", "jobs.jsonl", "--concurrency", "3", "--policy", "tight.json"], in: dir, environment: home)
        XCTAssertEqual(r.status, 2, r.stderr + r.stdout)
        let out = try lines(r.stdout)
        XCTAssertEqual(out.filter { $0["status"] == .string("succeeded") }.count, 2, r.stdout)
        let refused = try XCTUnwrap(out.first { $0["status"] == .string("refused") }, r.stdout)
        XCTAssertTrue(refused["message"]?.stringValue?.contains("budget \"month\" (total)") ?? false, r.stdout)
        let resume = try await CLIRunner.run(["resume", "--sandbox", "--dry-run"], in: dir, environment: home)
        XCTAssertEqual(resume.status, 0, resume.stderr + resume.stdout)
        XCTAssertFalse((resume.stdout + resume.stderr).contains(refused["id"]?.stringValue ?? "?"), "the refused job is closed: " + resume.stdout)
    }

    func testBadCommandLines() async throws {
        let cases: [([String], String)] = [
            (["run", "--image", image, "--video", video, "--duration", "5"], "give the routing policy with --policy FILE|NAME"),
            (["run", "--sandbox", "--image", image, "--video", video, "--policy", "cheapest"], "--sandbox fetches no real files"),
            (["run", "--image", "face.png", "--video", video, "--duration", "5", "--policy", "cheapest"], "--image 'face.png' does not exist"),
            (["run", "--image", image, "--video", "dance.mp4", "--duration", "5", "--policy", "cheapest"], "--video must be an http(s) URL"),
            (["run", "--jobs", "x.jsonl", "--duration", "5", "--policy", "cheapest"], "--duration describes a single job"),
            (["run", "--sandbox", "--image", image, "--video", video, "--duration", "5", "--policy", "nope"], "--policy 'nope' is neither a policy file nor a built-in policy"),
            (["run", "--sandbox", "--image", image, "--video", video, "--duration", "5", "--policy", "cheapest", "--tag", "oops"], "--tag 'oops' is not KEY=VALUE"),
        ]
        for (args, message) in cases {
            let r = try await CLIRunner.run(args)
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("wanroute run: error: \(message)"), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "")
        }
    }
}

extension RunCommandTests {
    func testJobsFromStandardInputAndOneRuleForDurations() async throws {
        let jobs = """
        {"id": "a", "image": "\(image)", "video": "\(video)", "duration": "12", "resolution": "480p"}
        """
        let r = try await CLIRunner.run(["run", "--sandbox", "--jobs", "-", "--policy", "production"], standardInput: Data(jobs.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try lines(r.stdout).first?["id"], .string("a"))
        // A duration as a JSON number is an error, as in policy files, with stdin's own line number.
        let number = "\n" + jobs.replacingOccurrences(of: "\"12\"", with: "12")
        let bad = try await CLIRunner.run(["run", "--sandbox", "--jobs", "-", "--policy", "production"], standardInput: Data(number.utf8))
        XCTAssertEqual(bad.status, 65)
        XCTAssertTrue(bad.stderr.hasPrefix("stdin:2: $.duration: error: write this as a decimal string (\"12\"), not a JSON number"), bad.stderr)
    }

    func testADeadlineBeforeTheFirstPollAndAnUndeclaredTagAreCaught() async throws {
        let r = try await CLIRunner.run(["run", "--sandbox", "--image", image, "--video", video, "--duration", "12", "--policy", "production",
                                         "--resolution", "480p", "--deadline", "30"])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.hasPrefix("wanroute run: error: --deadline 30 s is shorter than apixo's first poll, 60 s after submitting"), r.stderr)
        let tag = try await CLIRunner.run(["route", "--policy", "production", "--duration", "12", "--tag", "custmer=film"])
        XCTAssertEqual(tag.status, 0, tag.stderr)
        XCTAssertTrue(tag.stderr.contains("warning: tag \"custmer\" is not among policy \"production\"'s declared tags (customer, project, purpose), so no rule or budget reads it; did you mean \"customer\"?"), tag.stderr)
    }
}

extension RunCommandTests {
    /// A local image goes inline (a data URI) to the AI/ML API; providers that fetch a URL cannot
    /// take it, and a policy that leaves nothing else is an error before anything runs.
    func testALocalImageIsSentInlineToTheAIMLAPIOnly() async throws {
        let dir = try Repository.temporaryDirectory()
        try """
        {"kind": "contract-prices", "version": 1, "providers": [{"id": "aimlapi",
          "billing": {"basis": "reference-seconds", "increment_seconds": "1", "rounding": "up"},
          "prices": [{"price_per_second": {"amount": "0.05", "currency": "USD"}, "read_on": "2026-11-01"}]}]}
        """.write(to: dir.appendingPathComponent("contract.json"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: MediaFixtures.url("image.png"), to: dir.appendingPathComponent("face.png"))
        let args = ["run", "--sandbox", "--image", "face.png", "--video", video, "--duration", "12", "--resolution", "720p", "--policy", "production"]
        let r = try await CLIRunner.run(args + ["--contract", "contract.json"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = try XCTUnwrap(lines(r.stdout).first)
        XCTAssertEqual(line["provider"], .string("aimlapi"))
        XCTAssertEqual(line["status"], .string("succeeded"))
        XCTAssertFalse(r.stdout.contains("base64"), "the inline image is never echoed")
        let refused = try await CLIRunner.run(args, in: dir)
        XCTAssertEqual(refused.status, 64)
        XCTAssertTrue(refused.stderr.hasPrefix("wanroute run: error: --image face.png is a local file, which only AI/ML API takes (inline, as a data URI)"), refused.stderr)
        XCTAssertEqual(refused.stdout, "")
        let help = try await CLIRunner.run(["run", "--help"])
        XCTAssertTrue(help.stdout.contains("a local file sent inline as a data URI (only the AI/ML API takes that)"), help.stdout)
    }
}

extension RunCommandTests {
    func testProgressGoesToStderrOnlyWhenItIsATerminal() async throws {
        let args = ["run", "--sandbox", "--image", image, "--video", video, "--duration", "12", "--policy", "production", "--resolution", "480p", "--id", "job-1"]
        let watched = try await CLIRunner.run(args, terminal: true)
        XCTAssertEqual(watched.status, 0, watched.stderr)
        XCTAssertTrue(watched.stderr.hasPrefix("job-1: submitted to apixo as task "), watched.stderr)
        let piped = try await CLIRunner.run(args)
        XCTAssertEqual(piped.stderr, "")
        XCTAssertEqual(try lines(piped.stdout).count, 1)
    }
}
