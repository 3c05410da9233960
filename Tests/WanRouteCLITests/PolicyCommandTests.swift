import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// `wanroute policy test`, in-process.
final class PolicyCommandTests: XCTestCase {
    /// CI runs the shipped policies' tests through the binary, exactly as a user would.
    func testShippedPoliciesPass() async throws {
        let r = try await CLIRunner.run(["policy", "test"], in: Repository.root)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("policies/production.tests.json: policy production\n  pass  "), r.stdout)
        XCTAssertFalse(r.stdout.contains("FAIL"), r.stdout)
        let summary = try XCTUnwrap(r.stdout.split(separator: "\n").last.map(String.init))
        let passed = r.stdout.components(separatedBy: "\n  pass  ").count - 1
        XCTAssertGreaterThan(passed, 0)
        XCTAssertEqual(summary, "\(passed) passed, 0 failed")
        let explicit = try await CLIRunner.run(["policy", "test", Repository.policies.path])
        XCTAssertEqual(explicit.status, 0, explicit.stderr)
        XCTAssertTrue(explicit.stdout.hasSuffix("\(passed) passed, 0 failed\n"), explicit.stdout)
    }

    func testAFailingCaseExits1WithTheDifference() async throws {
        let dir = try Repository.temporaryDirectory()
        try """
        {"kind": "policy", "version": 1, "name": "p", "objective": "cheapest", "constraints": {"allow_quote_only": true},
         "rules": [{"id": "never", "when": {"tags": {"customer": "nobody"}}, "objective": "fastest"}]}
        """.write(to: dir.appendingPathComponent("p.json"), atomically: true, encoding: .utf8)
        try """
        {"kind": "policy-tests", "version": 1, "policy": "p.json", "cases": [
          {"name": "right", "job": {"behavior": "animate", "duration": "12"}, "expect": {"provider": "runware", "resolution": "480p"}},
          {"name": "wrong", "job": {"behavior": "animate", "duration": "12"}, "expect": {"provider": "apixo"}}
        ]}
        """.write(to: dir.appendingPathComponent("p.tests.json"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["policy", "test", "p.tests.json"], in: dir)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stdout, """
        p.tests.json: policy p
          pass  right
          FAIL  wrong: expected provider apixo, got runware standard 480p
        1 passed, 1 failed

        """)
        XCTAssertEqual(r.stderr, "p.tests.json: $.cases: warning: no case makes rule \"never\" of policy \"p\" fire\n")
        let all = try await CLIRunner.run(["policy", "test"], in: dir)
        XCTAssertEqual(all.status, 64, "no ./policies here")
    }

    func testMalformedTestsFileExits65() async throws {
        let dir = try Repository.temporaryDirectory()
        try FileManager.default.copyItem(at: Repository.policies.appendingPathComponent("cheapest.json"), to: dir.appendingPathComponent("cheapest.json"))
        try """
        {"kind": "policy-tests", "version": 1, "policy": "cheapest.json", "cases": [
          {"name": "x", "job": {"behavior": "animate", "duration": 12}, "expect": {"provider": "runware"}}
        ]}
        """.write(to: dir.appendingPathComponent("cheapest.tests.json"), atomically: true, encoding: .utf8)
        try "{\"kind\": \"policy-tests\",".write(to: dir.appendingPathComponent("broken.tests.json"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["policy", "test", "."], in: dir)
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("cheapest.tests.json: $.cases[0].job.duration: error:"), r.stderr)
        XCTAssertTrue(r.stderr.contains("broken.tests.json:1:25: error: not valid JSON"), r.stderr)

        try FileManager.default.removeItem(at: dir.appendingPathComponent("broken.tests.json"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("cheapest.json"))
        try """
        {"kind": "policy-tests", "version": 1, "policy": "cheapest.json", "cases": [
          {"name": "x", "job": {"behavior": "animate", "duration": "12"}, "expect": {"provider": "runware"}}
        ]}
        """.write(to: dir.appendingPathComponent("cheapest.tests.json"), atomically: true, encoding: .utf8)
        let orphan = try await CLIRunner.run(["policy", "test", "cheapest.tests.json"], in: dir)
        XCTAssertEqual(orphan.status, 65)
        XCTAssertTrue(orphan.stderr.contains("cheapest.tests.json: $.policy: error: no policy file cheapest.json beside this tests file"), orphan.stderr)
    }

    func testPricingDirectoryIsTheCatalogDecidedAgainst() async throws {
        let dir = try Repository.temporaryDirectory()
        let pricing = dir.appendingPathComponent("pricing")
        try FileManager.default.createDirectory(at: pricing, withIntermediateDirectories: true)
        for name in ["apixo.json", "exchange-rates.json"] {
            try FileManager.default.copyItem(at: Repository.pricing.appendingPathComponent(name), to: pricing.appendingPathComponent(name))
        }
        try FileManager.default.copyItem(at: Repository.policies.appendingPathComponent("cheapest.json"), to: dir.appendingPathComponent("cheapest.json"))
        try """
        {"kind": "policy-tests", "version": 1, "policy": "cheapest.json", "cases": [
          {"name": "only apixo is priced", "job": {"behavior": "animate", "duration": "12"},
           "expect": {"provider": "apixo", "cost": {"amount": "0.48", "currency": "USD"}}}
        ]}
        """.write(to: dir.appendingPathComponent("cheapest.tests.json"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["policy", "test", "cheapest.tests.json", "--pricing", "pricing"], in: dir)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.hasSuffix("1 passed, 0 failed\n"), r.stdout)
        let builtIn = try await CLIRunner.run(["policy", "test", "cheapest.tests.json"], in: dir)
        XCTAssertEqual(builtIn.status, 1, "the built-in catalog has cheaper offers")
    }

    func testTheSubcommandIsRequired() async throws {
        let none = try await CLIRunner.run(["policy"])
        XCTAssertEqual(none.status, 64)
        XCTAssertTrue(none.stderr.contains("wanroute policy: error: missing the subcommand; write 'wanroute policy test [FILE|DIR]...'"), none.stderr)
        let typo = try await CLIRunner.run(["policy", "tset"])
        XCTAssertEqual(typo.status, 64)
        XCTAssertTrue(typo.stderr.contains("unknown subcommand 'tset' (did you mean 'test'?)"), typo.stderr)
        let help = try await CLIRunner.run(["policy", "test", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("Usage: wanroute policy test [FILE|DIR]... [--pricing DIR]"), help.stdout)
        XCTAssertTrue(help.stdout.contains("  --pricing DIR  "), help.stdout)
    }
}
