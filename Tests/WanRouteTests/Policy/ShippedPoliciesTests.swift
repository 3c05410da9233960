import XCTest
@testable import WanRoute

final class ShippedPoliciesTests: XCTestCase {
    func testEveryShippedPolicyValidatesWithoutWarnings() throws {
        let catalog = try Repository.catalog()
        let files = try SourceFile.jsonFiles(in: Repository.policies)
        XCTAssertEqual(Set(files.filter { PolicyFile.kind(of: $0) == "policy" }.map { Policy.builtInName($0.name) }),
                       ["cheapest", "fastest", "best-quality", "balanced", "production"])
        for file in files {
            XCTAssertEqual(PolicyFile.validate(file, catalog: catalog), [], file.name)
        }
    }

    func testEveryShippedPolicyHasPassingTestsThatExerciseEveryRule() throws {
        let catalog = try Repository.catalog()
        let outcomes = try PolicyTestSuite.run(directory: Repository.policies, catalog: catalog)
        XCTAssertEqual(Set(outcomes.map(\.report.policy)), ["cheapest", "fastest", "best-quality", "balanced", "production"])
        for o in outcomes {
            for r in o.report.results where !r.passed { XCTFail("\(o.file): \(r.name): \(r.difference!)") }
            XCTAssertEqual(o.report.untestedRules, [], o.file)
        }
    }

    func testBuiltInCopyEqualsThePoliciesDirectory() throws {
        let onDisk = try SourceFile.jsonFiles(in: Repository.policies).map { ($0.name.split(separator: "/").last!, $0.text) }
        let builtIn = BuiltInDefaults.policies.map { ($0.name.split(separator: "/").last!, $0.text) }
        XCTAssertEqual(builtIn.map(\.0), onDisk.map(\.0), "run `swift run embed-defaults` after changing policies/")
        for (a, b) in zip(builtIn, onDisk) {
            XCTAssertEqual(a.1, b.1, "\(a.0) differs from policies/; run `swift run embed-defaults`")
        }
        let catalog = try PriceCatalog.builtIn()
        XCTAssertEqual(Set(Policy.builtInNames), ["cheapest", "fastest", "best-quality", "balanced", "production"])
        XCTAssertEqual(try Policy.builtIn(named: "production", catalog: catalog),
                       try Policy.load(contentsOf: Repository.policies.appendingPathComponent("production.json"), catalog: catalog))
        XCTAssertTrue(try PolicyTestSuite.runBuiltIn(catalog: catalog).allSatisfy(\.report.passed))
        XCTAssertThrowsError(try Policy.builtIn(named: "nope", catalog: catalog)) { error in
            guard case PolicyError.noSuchPolicy(let name, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "nope")
        }
    }
}
