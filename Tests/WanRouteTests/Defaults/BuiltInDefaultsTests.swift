import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// The copy of pricing/ and policies/ built into the binary (BuiltInDefaults.generated.swift) must
/// equal the directories; `swift run embed-defaults` rewrites it.
final class BuiltInDefaultsTests: XCTestCase {
    func testBuiltInCopyEqualsThePricingDirectory() throws {
        let onDisk = try Repository.pricingFiles().map { ($0.name.split(separator: "/").last!, $0.text) }
        let builtIn = BuiltInDefaults.pricing.map { ($0.name.split(separator: "/").last!, $0.text) }
        XCTAssertEqual(builtIn.map(\.0), onDisk.map(\.0), "run `swift run embed-defaults` after changing pricing/")
        for (a, b) in zip(builtIn, onDisk) {
            XCTAssertEqual(a.1, b.1, "\(a.0) differs from pricing/; run `swift run embed-defaults`")
        }
        XCTAssertEqual(try PriceCatalog.builtIn().offers, try Repository.catalog().offers)
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

    func testTheGeneratedFileSaysSoAndTheGeneratorWritesIt() throws {
        let generated = "Sources/WanRoute/Defaults/BuiltInDefaults.generated.swift"
        let text = try String(contentsOf: Repository.root.appendingPathComponent(generated), encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("// GENERATED FILE: written by `swift run embed-defaults`"))
        let generator = try String(contentsOf: Repository.root.appendingPathComponent("Sources/embed-defaults/main.swift"), encoding: .utf8)
        XCTAssertTrue(generator.contains("\"\(generated)\""), "embed-defaults writes another file")
    }
}
