import XCTest
@testable import WanRoute

final class PolicyTestRunnerTests: XCTestCase {
    let policy = SourceFile(name: "dir/p.json", text: Policies.text("""
        "objective": "cheapest",
        "rules": [
          {"id": "hd", "when": {"tags": {"tier": "hd"}}, "constraints": {"resolutions": {"allow": ["720p"]}}},
          {"id": "never-tested", "when": {"tags": {"tier": "gold"}}, "objective": "best-quality"}
        ]
        """))

    func tests(_ cases: String) -> SourceFile {
        SourceFile(name: "dir/p.tests.json", text: "{\"kind\": \"policy-tests\", \"version\": 1, \"policy\": \"p.json\", \"cases\": [\(cases)]}")
    }

    func testPassingAndFailingCasesAreExplainedAndUntestedRulesListed() throws {
        let file = tests("""
            {"name": "ok", "job": {"behavior": "animate", "duration": "10", "tags": {"tier": "hd"}},
             "expect": {"provider": "dashscope-cn", "mode": "wan-std", "resolution": "720p", "cost": {"amount": "4", "currency": "CNY"}, "usd": "0.5624", "rules": ["hd"]}},
            {"name": "wrong provider and cost", "job": {"behavior": "animate", "duration": "10"},
             "expect": {"provider": "dashscope-intl", "cost": {"amount": "1.00", "currency": "USD"}}},
            {"name": "expected refusal", "job": {"behavior": "animate", "duration": "10"}, "expect": {"refused": true}},
            {"name": "refused as expected", "job": {"behavior": "animate", "duration": "45", "mode": "wan-pro", "tags": {"tier": "hd"}},
             "spend": {"total": "5.00"}, "expect": {"refused": true, "reason_contains": "30 s limit", "rules": ["hd"]}},
            {"name": "wrong reason", "job": {"behavior": "animate", "duration": "45", "mode": "wan-pro"}, "expect": {"refused": true, "reason_contains": "budget"}},
            {"name": "unexpected refusal", "job": {"behavior": "animate", "duration": "45", "mode": "wan-pro"}, "expect": {"provider": "dashscope-intl"}}
            """)
        let outcomes = try PolicyTestSuite.run(files: [policy, file], catalog: Policies.catalog)
        XCTAssertEqual(outcomes.count, 1)
        let report = outcomes[0].report
        XCTAssertEqual(outcomes[0].file, "dir/p.tests.json")
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report.untestedRules, ["never-tested"])
        XCTAssertEqual(report.results.map(\.passed), [true, false, false, true, false, false])
        XCTAssertEqual(report.results[1].difference, "expected provider dashscope-intl, got apixo standard 480p; expected cost USD 1.00, got USD 0.40")
        XCTAssertEqual(report.results[2].difference, "expected a refusal, but the policy chose apixo standard 480p at USD 0.40")
        XCTAssertTrue(report.results[4].difference?.hasPrefix("expected a rejection saying \"budget\", but the reasons were: dashscope-cn wan-pro 720p: 45 s is above DashScope's 30 s limit") ?? false,
                      report.results[4].difference ?? "")
        XCTAssertTrue(report.results[5].difference?.hasPrefix("expected dashscope-intl, but the policy refused the job") ?? false)
    }

    func testTestFileMistakesAreDiagnosed() {
        let bad = tests("""
            {"name": "a", "job": {"behavior": "animate", "duration": 10, "tagz": {}}, "spend": {"customer": "1"}, "expect": {"refused": true, "provider": "apixo"}}
            """)
        let d = PolicyFile.validate(bad, catalog: Policies.catalog)
        XCTAssertEqual(Set(d.map(\.path)), ["$.cases[0].job.duration", "$.cases[0].job.tagz", "$.cases[0].spend.customer", "$.cases[0].expect.provider"])
        XCTAssertThrowsError(try PolicyTestFile.load(bad))
        XCTAssertThrowsError(try PolicyTestSuite.run(files: [tests("{\"name\": \"a\", \"job\": {\"behavior\": \"animate\", \"duration\": \"1\"}, \"expect\": {\"refused\": true}}")], catalog: Policies.catalog)) { error in
            guard case PolicyError.invalid(let d) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(d.first?.message, "no policy file dir/p.json beside this tests file")
        }
    }
}
