import WanRouteTestSupport
import XCTest
@testable import WanRoute

final class PolicyFileTests: XCTestCase {
    let catalog = Policies.catalog

    func diagnostics(_ body: String) -> [Diagnostic] {
        PolicyFile.validate(SourceFile(name: "p.json", text: Policies.text(body)), catalog: catalog)
    }

    /// The one diagnostic of a body, checked for its severity and path.
    func only(_ body: String, _ severity: Diagnostic.Severity = .error, file: StaticString = #filePath, line: UInt = #line) -> Diagnostic? {
        let d = diagnostics(body)
        XCTAssertEqual(d.count, 1, "\(d)", file: file, line: line)
        XCTAssertEqual(d.first?.severity, severity, file: file, line: line)
        XCTAssertEqual(d.first?.file, "p.json", file: file, line: line)
        return d.first
    }

    func rule(_ r: String) -> String { "\"objective\": \"cheapest\", \"rules\": [\(r)]" }

    // MARK: errors, one per kind of mistake

    func testACleanPolicyHasNoDiagnostics() {
        XCTAssertEqual(diagnostics("\"objective\": \"cheapest\""), [])
    }

    func testUnknownKeyWithASuggestion() {
        let d = only("\"objective\": \"cheapest\", \"constraints\": {\"max_cots\": {\"amount\": \"1\", \"currency\": \"USD\"}}")
        XCTAssertEqual(d?.path, "$.constraints.max_cots")
        XCTAssertEqual(d?.message, "unknown key \"max_cots\"; did you mean \"max_cost\"?")
    }

    func testUnknownObjective() {
        let d = only("\"objective\": \"cheapset\"")
        XCTAssertEqual(d?.path, "$.objective")
        XCTAssertEqual(d?.message, "\"cheapset\" is not an objective; use \"cheapest\", \"best-quality\", \"fastest\" or {\"weights\": {...}}; did you mean \"cheapest\"?")
    }

    func testWeightsThatDoNotSumToOne() {
        let d = only("\"objective\": {\"weights\": {\"cost\": 0.5, \"quality\": 0.3, \"latency\": 0.3}}")
        XCTAssertEqual(d?.path, "$.objective.weights")
        XCTAssertEqual(d?.message, "the weights sum to 1.1; make them sum to 1, such as cost 0.5, quality 0.3, latency 0.2")
        XCTAssertEqual(only("\"objective\": {\"weights\": {\"cost\": -0.5, \"quality\": 0.5}}")?.path, "$.objective.weights.cost")
        // Each weight is held to 0...1 where it is read, so a huge one cannot overflow their sum.
        XCTAssertEqual(only("\"objective\": {\"weights\": {\"cost\": 9223372036854, \"quality\": 9223372036854}}".replacingOccurrences(of: "\"quality\": 9223372036854", with: "\"quality\": 0"))?.message,
                       "9223372036854 is above 1; each weight is from 0 to 1 and they sum to 1")
        XCTAssertEqual(only("\"objective\": {\"weights\": {\"cost\": \"1\"}}")?.message, "expected a number from 0 to 1 such as 0.5, found a string")
    }

    func testPriceWrittenAsAJSONNumber() {
        let d = only("\"objective\": \"cheapest\", \"constraints\": {\"max_cost\": {\"amount\": 5, \"currency\": \"USD\"}}")
        XCTAssertEqual(d?.path, "$.constraints.max_cost.amount")
        XCTAssertTrue(d?.message.hasPrefix("write this as a decimal string (\"5\"), not a JSON number") ?? false)
    }

    func testNegativeBudget() {
        let d = only("\"objective\": \"cheapest\", \"budgets\": [{\"id\": \"b\", \"monthly\": {\"amount\": \"-10\", \"currency\": \"USD\"}}]")
        XCTAssertEqual(d?.path, "$.budgets[0].monthly.amount")
        XCTAssertEqual(d?.message, "\"-10\" is negative; it must be zero or more")
    }

    func testBudgetInAnotherCurrencyOrWithBothScopes() {
        XCTAssertEqual(only("\"objective\": \"cheapest\", \"budgets\": [{\"id\": \"b\", \"monthly\": {\"amount\": \"10\", \"currency\": \"CNY\"}}]")?.path, "$.budgets[0].monthly.currency")
        XCTAssertEqual(only("\"objective\": \"cheapest\", \"budgets\": [{\"id\": \"b\", \"provider\": \"apixo\", \"tag\": \"customer\", \"monthly\": {\"amount\": \"10\", \"currency\": \"USD\"}}]")?.message,
                       "a budget covers a provider or a tag, not both; write two budgets")
        XCTAssertEqual(only("\"objective\": \"cheapest\", \"budgets\": [{\"id\": \"b\", \"value\": \"x\", \"monthly\": {\"amount\": \"10\", \"currency\": \"USD\"}}]")?.path, "$.budgets[0].value")
        let dup = diagnostics("\"objective\": \"cheapest\", \"budgets\": [{\"id\": \"b\", \"monthly\": {\"amount\": \"1\", \"currency\": \"USD\"}}, {\"id\": \"b\", \"monthly\": {\"amount\": \"1\", \"currency\": \"USD\"}}]")
        XCTAssertEqual(dup.map(\.path), ["$.budgets[1].id"])
    }

    func testDuplicateRuleIDs() {
        let d = only(rule("{\"id\": \"a\", \"objective\": \"fastest\"}, {\"id\": \"a\", \"objective\": \"cheapest\", \"when\": {\"behavior\": \"replace\"}}"))
        XCTAssertEqual(d?.path, "$.rules[1].id")
        XCTAssertEqual(d?.message, "the rule id \"a\" is also used at $.rules[0]; give each rule its own id")
    }

    func testBadOperators() {
        let d = only(rule("{\"id\": \"a\", \"when\": {\"duration\": {\"gtt\": \"30\"}}, \"objective\": \"fastest\"}"))
        XCTAssertEqual(d?.path, "$.rules[0].when.duration.gtt")
        XCTAssertEqual(d?.message, "\"gtt\" is not an operator for duration; use eq, ne, gt, gte, lt or lte; did you mean \"gt\"?")
        let e = only(rule("{\"id\": \"a\", \"when\": {\"resolution\": {\"gt\": \"480p\"}}, \"objective\": \"fastest\"}"))
        XCTAssertEqual(e?.path, "$.rules[0].when.resolution.gt")
        XCTAssertEqual(e?.message, "\"gt\" is not an operator for resolution; use eq, ne, in, not_in or exists")
        let f = only(rule("{\"id\": \"a\", \"when\": {\"behaviour\": \"replace\"}, \"objective\": \"fastest\"}"))
        XCTAssertEqual(f?.path, "$.rules[0].when.behaviour")
        XCTAssertTrue(f?.message.hasSuffix("did you mean \"behavior\"?") ?? false, f?.message ?? "")
    }

    func testWrongValueTypes() {
        XCTAssertEqual(only(rule("{\"id\": \"a\", \"when\": {\"duration\": {\"gt\": 30}}, \"objective\": \"fastest\"}"))?.message,
                       "write this as a decimal string (\"30\"), not a JSON number: durations are compared exactly")
        XCTAssertEqual(only(rule("{\"id\": \"a\", \"when\": {\"tags\": {\"customer\": 7}}, \"objective\": \"fastest\"}"))?.path, "$.rules[0].when.tags.customer")
        XCTAssertEqual(only(rule("{\"id\": \"a\", \"when\": {\"mode\": \"wan-max\"}, \"objective\": \"fastest\"}"))?.message,
                       "\"wan-max\" is not one of \"wan-std\", \"wan-pro\", \"standard\"")
        XCTAssertEqual(only("\"objective\": \"cheapest\", \"constraints\": {\"min_quality\": \"high\"}")?.path, "$.constraints.min_quality")
        XCTAssertEqual(only("\"objective\": \"cheapest\", \"constraints\": {\"min_confidence\": \"sure\"}")?.path, "$.constraints.min_confidence")
        XCTAssertEqual(only("\"objective\": \"cheapest\", \"failover\": {\"on\": [\"explosion\"]}")?.path, "$.failover.on[0]")
        XCTAssertEqual(only("\"objective\": \"cheapest\", \"rules\": {}")?.message, "expected an array, found an object")
        XCTAssertEqual(only("\"objective\": 3")?.path, "$.objective")
    }

    func testARuleCannotAllowQuoteOnlyProviders() {
        let d = only(rule("{\"id\": \"a\", \"constraints\": {\"allow_quote_only\": true}}"))
        XCTAssertEqual(d?.path, "$.rules[0].constraints.allow_quote_only")
    }

    func testMissingRequiredKeysAndWrongKind() {
        let d = PolicyFile.validate(SourceFile(name: "p.json", text: "{\"kind\": \"policy\", \"version\": 2}"), catalog: catalog)
        XCTAssertEqual(Set(d.map(\.message)), ["version 2 is not supported by this wanroute (it reads version 1); upgrade wanroute or rewrite the file",
                                               "missing the required key \"name\"", "missing the required key \"objective\""])
        let k = PolicyFile.validate(SourceFile(name: "p.json", text: "{\"kind\": \"pricing\"}"), catalog: catalog)
        XCTAssertEqual(k.map(\.path), ["$.kind"])
        let j = PolicyFile.validate(SourceFile(name: "p.json", text: "{\"kind\": \"policy\", "), catalog: catalog)
        XCTAssertTrue(j.first?.message.hasPrefix("not valid JSON") ?? false)
    }

    func testEveryProblemIsReportedAtOnceAndLoadThrowsThemAll() {
        let body = """
            "objective": "cheapset", "colour": "red", "constraints": {"min_quality": 101},
            "rules": [{"id": "a", "when": {"duration": {"gtt": "1"}}, "objective": "fastest"}]
            """
        XCTAssertEqual(Set(diagnostics(body).map(\.path)), ["$.objective", "$.colour", "$.constraints.min_quality", "$.rules[0].when.duration.gtt"])
        XCTAssertThrowsError(try Policy.load(SourceFile(name: "p.json", text: Policies.text(body)), catalog: catalog)) { error in
            guard case PolicyError.invalid(let d) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(d.count, 4)
        }
    }

    // MARK: warnings

    func testContradictoryDurationBoundsCanNeverFire() {
        let d = only(rule("{\"id\": \"a\", \"when\": {\"duration\": {\"gt\": \"30\", \"lt\": \"10\"}}, \"objective\": \"fastest\"}"), .warning)
        XCTAssertEqual(d?.path, "$.rules[0].when")
        XCTAssertEqual(d?.message, "rule \"a\" can never fire: its duration bounds contradict each other (above 30 s and below 10 s)")
        let e = only(rule("{\"id\": \"a\", \"when\": {\"all\": [{\"duration\": {\"gte\": \"10\"}}, {\"duration\": {\"lt\": \"10\"}}]}, \"objective\": \"fastest\"}"), .warning)
        XCTAssertEqual(e?.path, "$.rules[0].when")
        let f = only(rule("{\"id\": \"a\", \"when\": {\"all\": [{\"tags\": {\"customer\": \"x\"}}, {\"tags\": {\"customer\": \"y\"}}]}, \"objective\": \"fastest\"}"), .warning)
        XCTAssertEqual(f?.message, "rule \"a\" can never fire: it requires two different values of the same field")
        // Touching bounds that both include the value are fine.
        XCTAssertEqual(diagnostics(rule("{\"id\": \"a\", \"when\": {\"duration\": {\"gte\": \"10\", \"lte\": \"10\"}}, \"objective\": \"fastest\"}")), [])
    }

    func testValuesTheCatalogDoesNotSellProvidersAndTagsNobodyKnows() {
        let pricing = try! Repository.pricingFiles().filter { !$0.name.hasSuffix("aimlapi.json") && !$0.name.hasSuffix("fal.json") && !$0.name.hasSuffix("runware.json") }
        let small = try! PriceCatalog.load(files: pricing)
        let d = PolicyFile.validate(SourceFile(name: "p.json", text: Policies.text(rule("{\"id\": \"a\", \"when\": {\"resolution\": \"580p\"}, \"objective\": \"fastest\"}"))), catalog: small)
        XCTAssertEqual(d.map(\.message), ["no offer in the price catalog sells resolution 580p, so this test is never true"])
        XCTAssertEqual(d.first?.severity, .warning)
        let p = only("\"objective\": \"cheapest\", \"prefer\": [\"apixxo\"]", .warning)
        XCTAssertEqual(p?.path, "$.prefer[0]")
        XCTAssertTrue(p?.message.hasSuffix("did you mean \"apixo\"?") ?? false, p?.message ?? "")
        let t = only("\"tags\": [\"customer\"], " + rule("{\"id\": \"a\", \"when\": {\"tags\": {\"custmer\": \"film\"}}, \"objective\": \"fastest\"}"), .warning)
        XCTAssertEqual(t?.path, "$.rules[0].when.tags.custmer")
        XCTAssertEqual(t?.message, "tag \"custmer\" is not among the policy's declared tags (customer); did you mean \"customer\"?")
        // Warnings alone do not stop loading.
        XCTAssertNoThrow(try Policy.load(SourceFile(name: "p.json", text: Policies.text("\"objective\": \"cheapest\", \"prefer\": [\"apixxo\"]")), catalog: catalog))
    }

    func testARuleShadowedByAnEarlierStopRuleIsNeverReached() {
        let d = only(rule("""
            {"id": "a", "when": {"behavior": "replace"}, "objective": "fastest", "stop": true},
            {"id": "b", "when": {"behavior": "replace"}, "objective": "cheapest"}
            """), .warning)
        XCTAssertEqual(d?.path, "$.rules[1]")
        XCTAssertEqual(d?.message, "rule \"b\" is never reached: rule \"a\" before it stops on the same condition")
    }

    // MARK: operators

    func condition(_ json: String) throws -> Condition {
        let policy = try Policy.load(SourceFile(name: "p.json", text: Policies.text(rule("{\"id\": \"r\", \"when\": \(json), \"objective\": \"fastest\"}"))), catalog: catalog)
        return policy.rules[0].when
    }

    func testEveryOperator() throws {
        let film = job(.replace, "12.5", .p720, .wanPro, tags: ["customer": "film", "project": "p1"])
        let bare = job(.animate, "30")
        let cases: [(String, Bool, Bool)] = [
            ("{\"behavior\": \"replace\"}", true, false),
            ("{\"behavior\": {\"eq\": \"animate\"}}", false, true),
            ("{\"behavior\": {\"ne\": \"animate\"}}", true, false),
            ("{\"behavior\": {\"in\": [\"animate\", \"replace\"]}}", true, true),
            ("{\"mode\": \"wan-pro\"}", true, false),
            ("{\"mode\": {\"ne\": \"wan-pro\"}}", false, true),
            ("{\"mode\": {\"exists\": false}}", false, true),
            ("{\"resolution\": {\"in\": [\"480p\", \"720p\"]}}", true, false),
            ("{\"resolution\": {\"not_in\": [\"480p\"]}}", true, true),
            ("{\"resolution\": {\"exists\": true}}", true, false),
            ("{\"tags\": {\"customer\": \"film\"}}", true, false),
            ("{\"tags\": {\"customer\": {\"ne\": \"film\"}}}", false, true),
            ("{\"tags\": {\"customer\": {\"in\": [\"film\", \"tv\"]}}}", true, false),
            ("{\"tags\": {\"customer\": {\"not_in\": [\"tv\"]}}}", true, true),
            ("{\"tags\": {\"customer\": {\"exists\": true}, \"project\": \"p1\"}}", true, false),
            ("{\"duration\": \"12.5\"}", true, false),
            ("{\"duration\": {\"eq\": \"30\"}}", false, true),
            ("{\"duration\": {\"ne\": \"30\"}}", true, false),
            ("{\"duration\": {\"gt\": \"12.5\"}}", false, true),
            ("{\"duration\": {\"gte\": \"12.5\"}}", true, true),
            ("{\"duration\": {\"lt\": \"30\"}}", true, false),
            ("{\"duration\": {\"lte\": \"30\"}}", true, true),
            ("{\"duration\": {\"gt\": \"12.499999\", \"lt\": \"12.500001\"}}", true, false),
            ("{\"all\": [{\"behavior\": \"replace\"}, {\"duration\": {\"lt\": \"20\"}}]}", true, false),
            ("{\"any\": [{\"behavior\": \"replace\"}, {\"duration\": {\"gte\": \"30\"}}]}", true, true),
            ("{\"any\": [{\"mode\": \"wan-std\"}, {\"duration\": {\"gt\": \"30\"}}]}", false, false),
            ("{\"not\": {\"tags\": {\"customer\": {\"exists\": true}}}}", false, true),
            ("{\"behavior\": \"replace\", \"tags\": {\"project\": \"p2\"}}", false, false),
        ]
        for (json, onFilm, onBare) in cases {
            let c = try condition(json)
            XCTAssertEqual(c.holds(for: film), onFilm, "\(json) on the film job")
            XCTAssertEqual(c.holds(for: bare), onBare, "\(json) on the bare job")
        }
        XCTAssertEqual(try condition("{\"duration\": {\"gt\": \"30\", \"lte\": \"120\"}}"),
                       .all([.duration(DurationTest(.gt, Seconds(whole: 30))), .duration(DurationTest(.lte, Seconds(whole: 120)))]))
    }
}
