import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// `wanroute quote`, in-process from a directory without pricing/.
final class QuoteCommandTests: XCTestCase {
    func testTableMarksTheCheapestAndShowsUnknownPrices() async throws {
        let r = try await CLIRunner.run(["quote", "--duration", "12"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "animate, 12 s, any resolution, any mode")
        XCTAssertTrue(lines[2].hasPrefix("*  runware         animate   standard  480p  12 s"), lines[2])
        XCTAssertTrue(r.stdout.contains("modellix        animate   wan-std   720p  unknown  price unknown"), r.stdout)
        XCTAssertFalse(r.stdout.contains("USD 0.00"), "an unknown price must never show as zero")
        XCTAssertTrue(r.stdout.contains("~USD 0.67488"), "CNY offers show a labelled conversion")
    }

    func testJSONSchema() async throws {
        let r = try await CLIRunner.run(["quote", "--duration", "45", "--behavior", "replace", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let root = try JSONParser.parse(r.stdout)
        guard case .array(let offers)? = root["offers"] else { return XCTFail("no offers array") }
        XCTAssertEqual(offers.count, try Repository.catalog().offers.filter { $0.behavior == .replace }.count)
        let first = offers[0]
        XCTAssertEqual(first["provider"], .string("runware"))
        XCTAssertEqual(first["resolution"], .string("480p"))
        XCTAssertEqual(first["billable_seconds"], .string("45"))
        XCTAssertEqual(first["cost"], .object([JSONMember("amount", .string("0.45")), JSONMember("currency", .string("USD"))]))
        XCTAssertEqual(first["usd"]?["converted"], .bool(false))
        XCTAssertEqual(first["eligible"], .bool(true))
        XCTAssertEqual(first["cheapest"], .bool(true))
        XCTAssertEqual(first["confidence"], .string("published"))
        XCTAssertEqual(first["reasons"], .array([]))
        let dashscope = try XCTUnwrap(offers.first { $0["provider"] == .string("dashscope-intl") && $0["mode"] == .string("wan-pro") })
        XCTAssertEqual(dashscope["eligible"], .bool(false))
        XCTAssertEqual(dashscope["reasons"], .array([.string("45 s is above DashScope's 30 s limit")]))
        XCTAssertEqual(dashscope["confidence"], .string("third-party"))
        let unknown = try XCTUnwrap(offers.first { $0["provider"] == .string("modellix") })
        XCTAssertEqual(unknown["cost"], .null)
        XCTAssertEqual(unknown["usd"], .null)
        XCTAssertEqual(unknown["confidence"], .string("unknown"))
        let cny = try XCTUnwrap(offers.first { $0["provider"] == .string("dashscope-cn") && $0["mode"] == .string("wan-std") })
        XCTAssertEqual(cny["cost"]?["currency"], .string("CNY"))
        XCTAssertEqual(cny["usd"]?["converted"], .bool(true))
    }

    func testCSVHasOneRowPerOffer() async throws {
        let r = try await CLIRunner.run(["quote", "--duration", "3", "--provider", "apixo", "--provider", "wavespeed", "--resolution", "480p", "--format", "csv"],
                                        environment: ["WANROUTE_TODAY": "2026-12-02"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
        provider,behavior,mode,resolution,billable_seconds,cost_amount,cost_currency,usd_amount,usd_converted,confidence,eligible,cheapest,reasons,limits_published,unchecked,read_on,stale\r
        apixo,animate,standard,480p,5,0.20,USD,0.20,false,published,true,true,,true,,2026-11-20,false\r
        wavespeed,animate,standard,480p,5,0.20,USD,0.20,false,published,true,false,,false,,2026-11-20,false\r

        """)
    }

    func testPricingDirectoryOverridesTheBuiltInCopy() async throws {
        let dir = try Repository.temporaryDirectory()
        for name in ["apixo.json", "exchange-rates.json"] {
            let text = try String(contentsOf: Repository.pricing.appendingPathComponent(name), encoding: .utf8)
            try text.replacingOccurrences(of: "\"0.04\"", with: "\"0.05\"").write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let r = try await CLIRunner.run(["quote", "--duration", "10", "--resolution", "480p", "--pricing", dir.path, "--format", "csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("apixo,animate,standard,480p,10,0.50,USD"), r.stdout)
        XCTAssertFalse(r.stdout.contains("runware"), "only the directory's providers are quoted")
    }

    func testBadPricingDirectoryExits65WithEveryDiagnostic() async throws {
        let dir = try Repository.temporaryDirectory()
        let text = try String(contentsOf: Repository.pricing.appendingPathComponent("apixo.json"), encoding: .utf8)
        try text.replacingOccurrences(of: "\"amount\": \"0.04\"", with: "\"amount\": 0.04")
            .write(to: dir.appendingPathComponent("apixo.json"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["quote", "--duration", "10", "--pricing", dir.path])
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("apixo.json: $.offers[0].price_per_second.amount: error: write this as a decimal string"), r.stderr)
        XCTAssertTrue(r.stderr.contains("apixo.json: $.offers[2].price_per_second.amount: error:"), r.stderr)
    }

    func testBadCommandLinesExit64WithOneErrorLineAndAUsageHint() async throws {
        let cases: [([String], String)] = [
            (["quote"], "give the reference video with --video PATH|URL or its length with --duration S"),
            (["quote", "--duration", "-5"], "--duration must be a positive number of seconds, not '-5'"),
            (["quote", "--duration", "twelve"], "--duration 'twelve' is not a number of seconds"),
            (["quote", "--duration", "0"], "--duration must be a positive number of seconds"),
            (["quote", "--duration", "5", "--provider", "apixx"], "unknown provider 'apixx' (did you mean 'apixo'?)"),
            (["quote", "--duration", "5", "--resolution", "1080p"], "'1080p' is not a valid --resolution (480p, 580p, 720p)"),
            (["quote", "--duration", "5", "--frmat", "json"], "unknown option '--frmat' (did you mean '--format'?)"),
            (["quote", "--duration", "5", "-x"], "unknown option '-x'"),
            (["quote", "--duration"], "--duration needs a value"),
            (["quote", "--duration", "5", "--format", "xml"], "'xml' is not an output format"),
        ]
        for (args, message) in cases {
            let r = try await CLIRunner.run(args)
            XCTAssertEqual(r.status, 64, "\(args)")
            XCTAssertEqual(r.stdout, "", "\(args)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(lines.first?.hasPrefix("wanroute quote: error: \(message)") ?? false, "\(args): \(r.stderr)")
            XCTAssertTrue(lines.last?.hasPrefix("usage: wanroute quote --duration S | --video PATH|URL") ?? false, "\(args): \(r.stderr)")
        }
    }

    func testHelpAndVersionGoToStdout() async throws {
        let help = try await CLIRunner.run(["quote", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.hasPrefix("Price a job on every offer"))
        for option in ["--duration", "--behavior", "--resolution", "--mode", "--provider", "--pricing", "--format", "--help"] {
            XCTAssertTrue(help.stdout.contains(option), option)
        }
        let version = try await CLIRunner.run(["--version"])
        XCTAssertEqual(version.stdout, "wanroute 0.1.0\n")
        let overview = try await CLIRunner.run(["--help"])
        XCTAssertTrue(overview.stdout.contains("quote") && overview.stdout.contains("validate"))
        let unknown = try await CLIRunner.run(["quot"])
        XCTAssertEqual(unknown.status, 64)
        XCTAssertTrue(unknown.stderr.contains("unknown command 'quot' (did you mean 'quote'?)"))
    }

    func testNoOfferSoldOrEligibleSaysWhyAndExits2() async throws {
        let unsold = try await CLIRunner.run(["quote", "--duration", "12", "--resolution", "580p", "--provider", "apixo"])
        XCTAssertEqual(unsold.status, 2)
        XCTAssertEqual(unsold.stderr, "wanroute quote: no offer sells this job: apixo sells animate at 480p or 720p only\n")
        XCTAssertTrue(unsold.stdout.contains("No offer sells this job: apixo sells animate at 480p or 720p only.\n"), unsold.stdout)
        let json = try await CLIRunner.run(["quote", "--duration", "45", "--provider", "dashscope-cn", "--format", "json"])
        XCTAssertEqual(json.status, 2)
        let root = try JSONParser.parse(json.stdout)
        XCTAssertEqual(root["refusal"], .string("no offer is eligible: every provider that sells this job refuses it (the reasons are listed per offer)"))
        // Named providers that sell nothing matching are noted even when others do.
        let partly = try await CLIRunner.run(["quote", "--duration", "12", "--resolution", "580p", "--provider", "apixo", "--provider", "runware"])
        XCTAssertEqual(partly.status, 0, partly.stderr)
        XCTAssertTrue(partly.stdout.contains("not sold: apixo sells animate at 480p or 720p only\n"), partly.stdout)
    }

    func testEligibilitySaysWhatWasNotChecked() async throws {
        let r = try await CLIRunner.run(["quote", "--video", "https://example.invalid/never-fetched.mp4", "--duration", "12",
                                   "--provider", "dashscope-intl", "--provider", "wavespeed", "--mode", "standard", "--provider", "apixo"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("yes (limits not published)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("yes; not checked: video format\n"), "APIXO limits only the format: \(r.stdout)")
        XCTAssertTrue(r.stdout.contains("not checked: --duration was given, so the video was not probed"), r.stdout)
        let json = try await CLIRunner.run(["quote", "--video", "https://example.invalid/never-fetched.mp4", "--duration", "12",
                                      "--provider", "dashscope-intl", "--provider", "wavespeed", "--format", "json"])
        guard case .array(let offers)? = try JSONParser.parse(json.stdout)["offers"] else { return XCTFail(json.stdout) }
        let wavespeed = try XCTUnwrap(offers.first { $0["provider"] == .string("wavespeed") })
        XCTAssertEqual(wavespeed["limits_published"], .bool(false))
        XCTAssertEqual(wavespeed["eligible"], .bool(true))
        let dashscope = try XCTUnwrap(offers.first { $0["provider"] == .string("dashscope-intl") })
        XCTAssertEqual(dashscope["unchecked"], .array(["video format", "video pixel size", "video aspect ratio", "video file size"].map(JSONValue.string)))
    }

    func testContractPricesAndOldPricesAreShown() async throws {
        let dir = try Repository.temporaryDirectory()
        try Self.contract.write(to: dir.appendingPathComponent("contract.json"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["quote", "--duration", "12", "--behavior", "replace", "--contract", "contract.json",
                                   "--provider", "apixo", "--resolution", "480p"], in: dir, environment: ["WANROUTE_TODAY": "2026-12-02"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("*  apixo     replace   standard  480p  12 s    USD 0.36  USD 0.36  contract!   yes\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("! price read more than 90 days ago"), r.stdout)
        let json = try await CLIRunner.run(["quote", "--duration", "12", "--contract", "contract.json", "--provider", "apixo", "--format", "json",
                                      "--max-price-age", "10"], in: dir, environment: ["WANROUTE_TODAY": "2026-12-02"])
        guard case .array(let offers)? = try JSONParser.parse(json.stdout)["offers"] else { return XCTFail(json.stdout + json.stderr) }
        XCTAssertTrue(offers.allSatisfy { $0["stale"] == .bool(true) }, "read 2026-11-20, 12 days before, over 10")
        let fresh = try await CLIRunner.run(["quote", "--duration", "12", "--provider", "apixo"], environment: ["WANROUTE_TODAY": "2026-12-02"])
        XCTAssertFalse(fresh.stdout.contains("!"), fresh.stdout)
        let missing = try await CLIRunner.run(["quote", "--duration", "12", "--contract", "nowhere.json"], in: dir)
        XCTAssertEqual(missing.status, 64, missing.stderr)
        let validate = try await CLIRunner.run(["validate", "contract.json"], in: dir)
        XCTAssertEqual(validate.stdout, "checked 1 file: 0 errors, 0 warnings\n", validate.stderr)
    }

    func testCommandLineEdges() async throws {
        for (text, seconds) in [(".5", "0.5"), ("12.", "12")] {
            let r = try await CLIRunner.run(["quote", "--duration", text, "--provider", "apixo", "--format", "json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try JSONParser.parse(r.stdout)["job"]?["duration"], .string(seconds))
        }
        let commas = try await CLIRunner.run(["quote", "--duration", "3", "--provider", "apixo,wavespeed", "--resolution", "480p", "--format", "csv"])
        let repeated = try await CLIRunner.run(["quote", "--duration", "3", "--provider", "apixo", "--provider", "wavespeed", "--resolution", "480p", "--format", "csv"])
        XCTAssertEqual(commas.status, 0, commas.stderr)
        XCTAssertEqual(commas.stdout, repeated.stdout)
        // A missing file is a usage error (64) in every command.
        for args in [["quote", "--video", "nowhere.mp4"], ["quote", "--duration", "3", "--image", "nowhere.png"], ["probe", "nowhere.mp4"],
                     ["quote", "--duration", "3", "--pricing", "nowhere"], ["quote", "--duration", "3", "--contract", "nowhere.json"],
                     ["validate", "nowhere.json"], ["run", "--jobs", "nowhere.jsonl", "--policy", "production", "--sandbox"]] {
            let r = try await CLIRunner.run(args)
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("nowhere"), r.stderr)
        }
    }

    /// Services embedding the library write the CLI's own JSON schema, byte for byte.
    func testTheLibraryWritesTheCLIsJSON() async throws {
        let catalog = try PriceCatalog.builtIn()
        let job = Job(behavior: .replace, duration: Seconds(decimal: "12.5")!, resolution: .p720)
        let cli = try await CLIRunner.run(["quote", "--duration", "12.5", "--behavior", "replace", "--resolution", "720p", "--format", "json"])
        XCTAssertEqual(JSONWriter.pretty(catalog.quote(job).json(catalog: catalog, today: "2026-12-02")) + "\n", cli.stdout)
        let policy = try Policy.builtIn(named: "production", catalog: catalog)
        let router = try Router(policy: policy, catalog: catalog)
        var tagged = job
        tagged.tags = ["customer": "film"]
        let route = try await CLIRunner.run(["route", "--policy", "production", "--duration", "12.5", "--behavior", "replace",
                                             "--resolution", "720p", "--tag", "customer=film", "--format", "json"])
        XCTAssertEqual(JSONWriter.pretty(router.decide(tagged).json(policy: policy, catalog: catalog)) + "\n", route.stdout)
        XCTAssertEqual("\(Mode.wanPro) \(Resolution.p720) \(Behavior.replace) \(Confidence.thirdParty)", "wan-pro 720p replace third-party")
    }

    static let contract = """
    {
      "kind": "contract-prices", "version": 1,
      "providers": [
        {
          "id": "aimlapi",
          "billing": { "basis": "reference-seconds", "increment_seconds": "1", "rounding": "up", "minimum_seconds": "5" },
          "prices": [ { "resolution": "720p", "price_per_second": { "amount": "0.05", "currency": "USD" }, "read_on": "2026-11-01", "note": "AC-11" } ]
        },
        {
          "id": "apixo",
          "prices": [ { "behavior": "replace", "resolution": "480p", "price_per_second": { "amount": "0.03", "currency": "USD" }, "read_on": "2026-06-01" } ]
        }
      ]
    }
    """
}
