import WanRouteTestSupport
import XCTest
@testable import WanRoute

final class ShippedPoliciesTests: XCTestCase {
    func testEveryShippedPolicyValidatesWithoutWarnings() throws {
        let catalog = try Repository.catalog()
        let files = try SourceFile.jsonFiles(in: Repository.policies)
        XCTAssertEqual(Set(files.filter { DocumentKind(of: $0) == .policy }.map { Policy.builtInName($0.name) }),
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
}
