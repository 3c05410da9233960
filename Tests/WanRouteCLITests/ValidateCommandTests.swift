import WanRouteTestSupport
import XCTest
@testable import WanRoute

final class ValidateCommandTests: XCTestCase {
    func testShippedFilesAreClean() async throws {
        let r = try await CLIRunner.run(["validate"], in: Repository.root)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("checked "), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix(": 0 errors, 0 warnings\n"), r.stdout)
    }

    func testReportsEveryProblemWithFileAndPathAndExits65() async throws {
        let dir = try Repository.temporaryDirectory()
        var text = try String(contentsOf: Repository.pricing.appendingPathComponent("apixo.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"cap_seconds\": \"120\"", with: "\"cap_seconds\": \"4\"")
        text = text.replacingOccurrences(of: "\"behavior\": \"animate\"", with: "\"behaviour\": \"animate\"")
        try text.write(to: dir.appendingPathComponent("apixo.json"), atomically: true, encoding: .utf8)
        try "{\"kind\": \"pricing\", \"version\": 1,}".write(to: dir.appendingPathComponent("broken.json"), atomically: true, encoding: .utf8)
        let missing = try await CLIRunner.run(["validate", "no-such-dir"], in: dir)
        XCTAssertEqual(missing.status, 64, "a missing path is a usage error")
        let run = try await CLIRunner.run(["validate", "."], in: dir)
        XCTAssertEqual(run.status, 65)
        XCTAssertTrue(run.stderr.contains("apixo.json: $.billing.minimum_seconds: error: the minimum (5 s) is above the cap (4 s)"), run.stderr)
        XCTAssertTrue(run.stderr.contains("apixo.json: $.offers[0].behaviour: error: unknown key \"behaviour\"; did you mean \"behavior\"?"), run.stderr)
        XCTAssertTrue(run.stderr.contains("apixo.json: $.offers[1]: error: missing the required key \"behavior\""), run.stderr)
        XCTAssertTrue(run.stderr.contains("broken.json:1:34: error: not valid JSON: expected a quoted key"), run.stderr)
        XCTAssertTrue(run.stdout.contains("checked 2 files: "), run.stdout)
    }

    func testASinglePricingFileIsCheckedAgainstTheBuiltInRates() async throws {
        let r = try await CLIRunner.run(["validate", Repository.pricing.appendingPathComponent("dashscope-cn.json").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "checked 1 file: 0 errors, 0 warnings\n")
    }

    func testUnknownKindIsAnError() async throws {
        let dir = try Repository.temporaryDirectory()
        try "{\"kind\": \"pricin\"}".write(to: dir.appendingPathComponent("x.json"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["validate", "x.json"], in: dir)
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains("x.json: $.kind: error: \"pricin\" is not a kind of file wanroute reads"), r.stderr)
        XCTAssertTrue(r.stderr.contains("did you mean \"pricing\"?"), r.stderr)
    }
}

final class ValidatePolicyCommandTests: XCTestCase {
    func testPolicyMistakesAreReportedWithPathsAndWarningsDoNotFail() async throws {
        let dir = try Repository.temporaryDirectory()
        try """
        {"kind": "policy", "version": 1, "name": "p", "objective": "cheapset",
         "rules": [{"id": "a", "when": {"duration": {"gt": "30", "lt": "10"}}, "objective": "fastest"}]}
        """.write(to: dir.appendingPathComponent("p.json"), atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["validate", "p.json"], in: dir)
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains("p.json: $.objective: error: \"cheapset\" is not an objective"), r.stderr)
        XCTAssertTrue(r.stderr.contains("p.json: $.rules[0].when: warning: rule \"a\" can never fire"), r.stderr)
        try """
        {"kind": "policy", "version": 1, "name": "p", "objective": "cheapest", "prefer": ["apixxo"]}
        """.write(to: dir.appendingPathComponent("p.json"), atomically: true, encoding: .utf8)
        let w = try await CLIRunner.run(["validate", "p.json"], in: dir)
        XCTAssertEqual(w.status, 0, w.stderr)
        XCTAssertEqual(w.stdout, "checked 1 file: 0 errors, 1 warning\n")
    }
}
