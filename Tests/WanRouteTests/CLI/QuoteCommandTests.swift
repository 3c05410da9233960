import XCTest
@testable import WanRoute

/// `wanroute quote`, run as a separate process from a directory without pricing/.
final class QuoteCommandTests: XCTestCase {
    func testTableMarksTheCheapestAndShowsUnknownPrices() throws {
        let r = try CLIRunner.run(["quote", "--duration", "12"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "animate, 12 s, any resolution, any mode")
        XCTAssertTrue(lines[2].hasPrefix("*  runware         animate   standard  480p  12 s"), lines[2])
        XCTAssertTrue(r.stdout.contains("modellix        animate   wan-std   720p  unknown  price unknown"), r.stdout)
        XCTAssertFalse(r.stdout.contains("USD 0.00"), "an unknown price must never show as zero")
        XCTAssertTrue(r.stdout.contains("~USD 0.67488"), "CNY offers show a labelled conversion")
    }

    func testJSONSchema() throws {
        let r = try CLIRunner.run(["quote", "--duration", "45", "--behavior", "replace", "--format", "json"])
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

    func testCSVHasOneRowPerOffer() throws {
        let r = try CLIRunner.run(["quote", "--duration", "3", "--provider", "apixo", "--provider", "wavespeed", "--resolution", "480p", "--format", "csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
        provider,behavior,mode,resolution,billable_seconds,cost_amount,cost_currency,usd_amount,usd_converted,confidence,eligible,cheapest,reasons,limits_published,unchecked\r
        apixo,animate,standard,480p,5,0.20,USD,0.20,false,published,true,true,,true,\r
        wavespeed,animate,standard,480p,5,0.20,USD,0.20,false,published,true,false,,false,\r

        """)
    }

    func testPricingDirectoryOverridesTheBuiltInCopy() throws {
        let dir = try Repository.temporaryDirectory()
        for name in ["apixo.json", "exchange-rates.json"] {
            let text = try String(contentsOf: Repository.pricing.appendingPathComponent(name), encoding: .utf8)
            try text.replacingOccurrences(of: "\"0.04\"", with: "\"0.05\"").write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let r = try CLIRunner.run(["quote", "--duration", "10", "--resolution", "480p", "--pricing", dir.path, "--format", "csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("apixo,animate,standard,480p,10,0.50,USD"), r.stdout)
        XCTAssertFalse(r.stdout.contains("runware"), "only the directory's providers are quoted")
    }

    func testBadPricingDirectoryExits65WithEveryDiagnostic() throws {
        let dir = try Repository.temporaryDirectory()
        let text = try String(contentsOf: Repository.pricing.appendingPathComponent("apixo.json"), encoding: .utf8)
        try text.replacingOccurrences(of: "\"amount\": \"0.04\"", with: "\"amount\": 0.04")
            .write(to: dir.appendingPathComponent("apixo.json"), atomically: true, encoding: .utf8)
        let r = try CLIRunner.run(["quote", "--duration", "10", "--pricing", dir.path])
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("apixo.json: $.offers[0].price_per_second.amount: error: write this as a decimal string"), r.stderr)
        XCTAssertTrue(r.stderr.contains("apixo.json: $.offers[2].price_per_second.amount: error:"), r.stderr)
    }

    func testBadCommandLinesExit64WithOneErrorLineAndAUsageHint() throws {
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
            let r = try CLIRunner.run(args)
            XCTAssertEqual(r.status, 64, "\(args)")
            XCTAssertEqual(r.stdout, "", "\(args)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(lines.first?.hasPrefix("wanroute quote: error: \(message)") ?? false, "\(args): \(r.stderr)")
            XCTAssertTrue(lines.last?.hasPrefix("usage: wanroute quote --duration S | --video PATH|URL") ?? false, "\(args): \(r.stderr)")
        }
    }

    func testHelpAndVersionGoToStdout() throws {
        let help = try CLIRunner.run(["quote", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.hasPrefix("Price a job on every offer"))
        for option in ["--duration", "--behavior", "--resolution", "--mode", "--provider", "--pricing", "--format", "--help"] {
            XCTAssertTrue(help.stdout.contains(option), option)
        }
        let version = try CLIRunner.run(["--version"])
        XCTAssertEqual(version.stdout, "wanroute 0.1.0\n")
        let overview = try CLIRunner.run(["--help"])
        XCTAssertTrue(overview.stdout.contains("quote") && overview.stdout.contains("validate"))
        let unknown = try CLIRunner.run(["quot"])
        XCTAssertEqual(unknown.status, 64)
        XCTAssertTrue(unknown.stderr.contains("unknown command 'quot' (did you mean 'quote'?)"))
    }

    func testNoOfferSoldOrEligibleSaysWhyAndExits2() throws {
        let unsold = try CLIRunner.run(["quote", "--duration", "12", "--resolution", "580p", "--provider", "apixo"])
        XCTAssertEqual(unsold.status, 2)
        XCTAssertEqual(unsold.stderr, "wanroute quote: no offer sells this job: apixo sells animate at 480p or 720p only\n")
        XCTAssertTrue(unsold.stdout.contains("No offer sells this job: apixo sells animate at 480p or 720p only.\n"), unsold.stdout)
        let json = try CLIRunner.run(["quote", "--duration", "45", "--provider", "dashscope-cn", "--format", "json"])
        XCTAssertEqual(json.status, 2)
        let root = try JSONParser.parse(json.stdout)
        XCTAssertEqual(root["refusal"], .string("no offer is eligible: every provider that sells this job refuses it (the reasons are listed per offer)"))
        // Named providers that sell nothing matching are noted even when others do.
        let partly = try CLIRunner.run(["quote", "--duration", "12", "--resolution", "580p", "--provider", "apixo", "--provider", "runware"])
        XCTAssertEqual(partly.status, 0, partly.stderr)
        XCTAssertTrue(partly.stdout.contains("not sold: apixo sells animate at 480p or 720p only\n"), partly.stdout)
    }

    func testEligibilitySaysWhatWasNotChecked() throws {
        let r = try CLIRunner.run(["quote", "--video", "https://example.invalid/never-fetched.mp4", "--duration", "12",
                                   "--provider", "dashscope-intl", "--provider", "wavespeed", "--mode", "standard", "--provider", "apixo"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("yes (limits not published)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("yes; not checked: video format\n"), "APIXO limits only the format: \(r.stdout)")
        XCTAssertTrue(r.stdout.contains("not checked: --duration was given, so the video was not probed"), r.stdout)
        let json = try CLIRunner.run(["quote", "--video", "https://example.invalid/never-fetched.mp4", "--duration", "12",
                                      "--provider", "dashscope-intl", "--provider", "wavespeed", "--format", "json"])
        guard case .array(let offers)? = try JSONParser.parse(json.stdout)["offers"] else { return XCTFail(json.stdout) }
        let wavespeed = try XCTUnwrap(offers.first { $0["provider"] == .string("wavespeed") })
        XCTAssertEqual(wavespeed["limits_published"], .bool(false))
        XCTAssertEqual(wavespeed["eligible"], .bool(true))
        let dashscope = try XCTUnwrap(offers.first { $0["provider"] == .string("dashscope-intl") })
        XCTAssertEqual(dashscope["unchecked"], .array(["video format", "video pixel size", "video aspect ratio", "video file size"].map(JSONValue.string)))
    }
}
