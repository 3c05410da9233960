import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// `wanroute route`, in-process from a directory without pricing/ or policies/.
final class RouteCommandTests: XCTestCase {
    func testTableShowsTheChoiceAndTheFailoverOrder() async throws {
        let r = try await CLIRunner.run(["route", "--policy", "cheapest", "--duration", "12"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines[0], "policy cheapest: animate, 12 s, any resolution, any mode")
        XCTAssertEqual(lines[1], "             PROVIDER  BEHAVIOR  MODE      RES   COST        USD         CONFIDENCE  LATENCY")
        XCTAssertEqual(lines[2], "choice       runware   animate   standard  480p  USD 0.12    USD 0.12    published   480 s")
        XCTAssertTrue(lines[3].hasPrefix("alternate 1  runware   animate   standard  580p  USD 0.168"), lines[3])
        XCTAssertTrue(lines[4].hasPrefix("alternate 2  "), lines[4])
        XCTAssertTrue(r.stdout.contains("offers rejected; --explain says why"), r.stdout)
        XCTAssertFalse(r.stdout.contains("Rules:"), "the rule trace is only shown with --explain")
    }

    func testExplainNamesTheRulesTheRankingAndEveryRejection() async throws {
        let r = try await CLIRunner.run(["route", "--policy", "production", "--duration", "45", "--explain"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("choice       apixo     animate   standard  480p  USD 1.80"), r.stdout)
        XCTAssertTrue(r.stdout.contains("""
        Rules:
          preview: did not match
          film-replace: did not match
          long-clips: fired
          customer-published: did not match
        """), r.stdout)
        XCTAssertTrue(r.stdout.contains("Objective: weighted (cost 0.5, quality 0.3, latency 0.2)\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Ranking: lowest weighted score, then preferred providers apixo, dashscope-intl, then quote order"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Failover: up to 2 alternates, tried in order on rate-limited, provider-error, out-of-balance"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  dashscope-intl wan-pro 720p: 45 s is above DashScope's 30 s limit; provider dashscope-intl is denied by the policy (rule long-clips)\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  runware standard 480p: wanroute has no adapter for Runware, so it can only be quoted"), r.stdout)
        let rejected = r.stdout.components(separatedBy: "Rejected (")[1]
        let offers = try Repository.catalog().offers.filter { $0.behavior == .animate }.count
        XCTAssertEqual(rejected.split(separator: "\n").count - 1 + 2, offers, "every offer is the choice, an alternate or rejected")

        let stopped = try await CLIRunner.run(["route", "--policy", "production", "--duration", "3", "--tag", "purpose=preview", "--explain"])
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertTrue(stopped.stdout.contains("  preview: fired\n  film-replace: not evaluated (rule preview stopped)\n"), stopped.stdout)
        XCTAssertTrue(stopped.stdout.contains("Objective: cheapest (set by rule preview)\n"), stopped.stdout)
    }

    /// The `cheapest` policy chooses exactly the quote's cheapest eligible offer, at the same cost.
    func testCheapestPolicyAgreesWithTheQuote() async throws {
        let jobs: [[String]] = [
            ["--duration", "3"],
            ["--duration", "12.345"],
            ["--duration", "45"],
            ["--duration", "3", "--behavior", "replace"],
            ["--duration", "12.345", "--behavior", "replace"],
            ["--duration", "45", "--behavior", "replace"],
            ["--duration", "12.345", "--resolution", "720p"],
            ["--duration", "45", "--behavior", "replace", "--resolution", "580p"],
            ["--duration", "3", "--mode", "wan-pro"],
            ["--duration", "45", "--mode", "wan-pro"],
        ]
        let same = ["provider", "behavior", "mode", "resolution", "billable_seconds", "cost", "usd", "confidence"]
        for job in jobs {
            let quote = try await CLIRunner.run(["quote", "--format", "json"] + job)
            XCTAssertTrue(quote.status == 0 || quote.status == 2 && quote.stderr.contains("no offer is eligible"), quote.stderr)
            let route = try await CLIRunner.run(["route", "--policy", "cheapest", "--format", "json"] + job)
            let q = try JSONParser.parse(quote.stdout), d = try JSONParser.parse(route.stdout)
            guard case .array(let offers)? = q["offers"] else { return XCTFail("no offers for \(job)") }
            XCTAssertEqual(d["job"]?["duration"], q["job"]?["duration"], "\(job)")
            if let cheapest = offers.first(where: { $0["cheapest"] == .bool(true) }) {
                XCTAssertEqual(route.status, 0, "\(job): \(route.stderr)")
                for key in same { XCTAssertEqual(d["choice"]?[key], cheapest[key], "\(job): \(key)") }
            } else {
                XCTAssertEqual(route.status, 2, "\(job): the quote has no eligible offer, so the policy refuses")
                XCTAssertEqual(d["choice"], .null)
            }
        }
    }

    func testJSONSchema() async throws {
        let r = try await CLIRunner.run(["route", "--policy", "production", "--duration", "12", "--behavior", "replace", "--tag", "customer=film", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let root = try JSONParser.parse(r.stdout)
        XCTAssertEqual(root["policy"], .string("production"))
        XCTAssertEqual(root["job"], .object([
            JSONMember("behavior", .string("replace")), JSONMember("duration", .string("12")), JSONMember("resolution", .null),
            JSONMember("mode", .null), JSONMember("tags", .object([JSONMember("customer", .string("film"))])),
        ]))
        let choice = try XCTUnwrap(root["choice"])
        XCTAssertEqual(choice["provider"], .string("dashscope-cn"))
        XCTAssertEqual(choice["behavior"], .string("replace"))
        XCTAssertEqual(choice["mode"], .string("wan-pro"))
        XCTAssertEqual(choice["resolution"], .string("720p"))
        XCTAssertEqual(choice["cost"], .object([JSONMember("amount", .string("10.80")), JSONMember("currency", .string("CNY"))]))
        XCTAssertEqual(choice["usd"], .object([JSONMember("amount", .string("1.51848")), JSONMember("currency", .string("USD")), JSONMember("converted", .bool(true))]))
        XCTAssertEqual(choice["confidence"], .string("published"))
        guard case .number? = choice["expected_latency_seconds"] else { return XCTFail("expected_latency_seconds is a number") }
        XCTAssertEqual(root["alternates"], .array([]))
        XCTAssertEqual(root["rules"], .array([
            .object([JSONMember("id", .string("preview")), JSONMember("status", .string("not-matched")), JSONMember("stopped_by", .null)]),
            .object([JSONMember("id", .string("film-replace")), JSONMember("status", .string("fired")), JSONMember("stopped_by", .null)]),
            .object([JSONMember("id", .string("long-clips")), JSONMember("status", .string("not-matched")), JSONMember("stopped_by", .null)]),
            .object([JSONMember("id", .string("customer-published")), JSONMember("status", .string("fired")), JSONMember("stopped_by", .null)]),
        ]))
        XCTAssertEqual(root["objective"], .object([JSONMember("name", .string("cheapest")), JSONMember("weights", .null), JSONMember("set_by", .string("film-replace"))]))
        XCTAssertEqual(root["preference"], .object([
            JSONMember("providers", .array([.string("apixo"), .string("dashscope-intl")])), JSONMember("rank", .string("tie-break")), JSONMember("set_by", .null),
        ]))
        XCTAssertEqual(root["failover"], .object([
            JSONMember("alternates", .number("2")),
            JSONMember("on", .array([.string("rate-limited"), .string("provider-error"), .string("out-of-balance")])),
        ]))
        XCTAssertEqual(root["refused"], .bool(false))
        XCTAssertEqual(root["refusal"], .null)
        guard case .array(let rejected)? = root["rejected"] else { return XCTFail("no rejected array") }
        XCTAssertEqual(rejected.count, try Repository.catalog().offers.filter { $0.behavior == .replace }.count - 1)
        let intl = try XCTUnwrap(rejected.first { $0["provider"] == .string("dashscope-intl") && $0["mode"] == .string("wan-pro") })
        XCTAssertEqual(intl["reasons"], .array([.string("price confidence third-party; the policy requires published (rule customer-published)")]))
    }

    func testRefusalExits2WithTheReasons() async throws {
        let dir = try Repository.temporaryDirectory()
        try """
        {"kind": "policy", "version": 1, "name": "tight", "objective": "cheapest",
         "constraints": {"allow_quote_only": true, "max_cost": {"amount": "0.01", "currency": "USD"}}}
        """.write(to: dir.appendingPathComponent("tight.json"), atomically: true, encoding: .utf8)
        let table = try await CLIRunner.run(["route", "--policy", "tight.json", "--duration", "12"], in: dir)
        XCTAssertEqual(table.status, 2)
        XCTAssertEqual(table.stderr, "wanroute route: refused: no offer meets policy \"tight\": 19 considered, all rejected\n")
        XCTAssertTrue(table.stdout.contains("refused: no offer meets policy \"tight\""), table.stdout)
        XCTAssertTrue(table.stdout.contains("  runware standard 480p: costs USD 0.12, above the policy's USD 0.01 limit per job\n"), table.stdout)
        let json = try await CLIRunner.run(["route", "--policy", "tight.json", "--duration", "12", "--format", "json"], in: dir)
        XCTAssertEqual(json.status, 2)
        let root = try JSONParser.parse(json.stdout)
        XCTAssertEqual(root["choice"], .null)
        XCTAssertEqual(root["alternates"], .array([]))
        XCTAssertEqual(root["refused"], .bool(true))
        XCTAssertEqual(root["refusal"], .string("no offer meets policy \"tight\": 19 considered, all rejected"))
    }

    func testEveryBuiltInPolicyRoutesAndAFileOfThatNameWins() async throws {
        for name in ["cheapest", "fastest", "best-quality", "balanced", "production"] {
            let r = try await CLIRunner.run(["route", "--policy", name, "--duration", "10", "--format", "json"])
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            XCTAssertEqual(try JSONParser.parse(r.stdout)["policy"], .string(name))
        }
        let dir = try Repository.temporaryDirectory()
        try #"{"kind": "policy", "version": 1, "name": "local", "objective": "fastest"}"#
            .write(to: dir.appendingPathComponent("cheapest"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["route", "--policy", "cheapest", "--duration", "10", "--format", "json"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try JSONParser.parse(r.stdout)["policy"], .string("local"))
    }

    func testBadTagsAreUsageErrors() async throws {
        for (tags, message) in [(["customer"], "--tag 'customer' is not KEY=VALUE"), (["=film"], "--tag '=film' is not KEY=VALUE"),
                                (["customer=film", "customer=tv"], "--tag customer is given more than once")] {
            let r = try await CLIRunner.run(["route", "--policy", "production", "--duration", "10"] + tags.flatMap { ["--tag", $0] })
            XCTAssertEqual(r.status, 64, "\(tags)")
            XCTAssertTrue(r.stderr.contains("wanroute route: error: \(message)"), r.stderr)
        }
    }

    func testUnknownPolicyNameIsAUsageErrorListingTheBuiltInNames() async throws {
        let r = try await CLIRunner.run(["route", "--policy", "cheapst", "--duration", "10"])
        XCTAssertEqual(r.status, 64)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("--policy 'cheapst' is neither a policy file nor a built-in policy (did you mean 'cheapest'?); built-in: balanced, best-quality, cheapest, fastest, production"), r.stderr)
        let missing = try await CLIRunner.run(["route", "--duration", "10"])
        XCTAssertEqual(missing.status, 64)
        XCTAssertTrue(missing.stderr.contains("give the routing policy with --policy FILE|NAME"), missing.stderr)
    }

    func testBadPolicyFileExits65WithEveryDiagnostic() async throws {
        let dir = try Repository.temporaryDirectory()
        try """
        {"kind": "policy", "version": 1, "name": "p", "objective": "cheapset", "constraints": {"max_cots": {"amount": "1", "currency": "USD"}}}
        """.write(to: dir.appendingPathComponent("p.json"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["route", "--policy", "p.json", "--duration", "10"], in: dir)
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("p.json: $.objective: error: \"cheapset\" is not an objective"), r.stderr)
        XCTAssertTrue(r.stderr.contains("p.json: $.constraints.max_cots: error: unknown key \"max_cots\""), r.stderr)
        XCTAssertTrue(r.stderr.contains("wanroute route: error: 2 problems in the data files above"), r.stderr)
    }

    func testHelpListsEveryOptionAndTheOverviewListsTheCommand() async throws {
        let r = try await CLIRunner.run(["route", "--help"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for option in ["--duration S", "--video PATH|URL", "--image PATH|URL", "--behavior B", "--resolution R", "--mode M", "--pricing DIR",
                       "--policy FILE|NAME", "--tag KEY=VALUE ...", "--explain", "--format F", "--help"] {
            XCTAssertTrue(r.stdout.contains("  \(option)  "), "\(option) missing from:\n\(r.stdout)")
        }
        XCTAssertTrue(r.stdout.contains("(balanced, best-quality, cheapest, fastest, production)"), r.stdout)
        let overview = try await CLIRunner.run(["--help"])
        XCTAssertTrue(overview.stdout.contains("\n  route        Choose where a job goes"), overview.stdout)
        XCTAssertTrue(overview.stdout.contains("\n  policy test  Run routing policy test files"), overview.stdout)
    }
}
