import Foundation
import WanRouteTestSupport
import XCTest

@testable import WanRoute

final class WhatIfTests: XCTestCase {
    typealias F = ReportFixture

    func replay(_ router: Router, threshold: CostThreshold? = nil) -> WhatIfReport {
        var w = WhatIfReplay(period: F.period, router: router, pastRates: F.catalog.exchangeRates, threshold: threshold)
        for j in F.jobs { w.add(j) }
        return w.finish()
    }

    func testTheMonthsOwnPolicyAndPricesReproduceItsEstimatesExactly() {
        let w = replay(F.router, threshold: CostThreshold("+0%"))
        XCTAssertEqual(w.jobs, 19)
        XCTAssertEqual(w.total.past, w.total.new)
        XCTAssertEqual(w.total.pastUnpriced, w.total.newUnpriced)
        XCTAssertEqual(w.changed, [], "every job keeps its offer")
        XCTAssertEqual(w.refused.map(\.id), ["j17-refused"])
        XCTAssertNil(w.gateFailure)
        for (_, t) in w.byProvider + w.byTag { XCTAssertEqual(t.past, t.new) }
        // Job by job: the replayed estimate is the recorded one, to the nano-unit.
        for job in F.jobs where F.period.contains(job.decidedAt) && job.status != .refused {
            let d = F.router.decide(job.request)
            XCTAssertEqual(d.choice.map(F.ref), job.decidedOffer, job.id)
            let recorded = job.failedOver.isEmpty ? job.estimatedCost : job.estimatedCost
            XCTAssertEqual(d.choice?.estimate.cost, recorded, job.id)
        }
    }

    func testAnotherPolicyMovesJobsAndTheGateFails() throws {
        // The shipped production policy: published prices only for customer work, no modellix.
        let production = try Policy.load(contentsOf: Repository.policies.appendingPathComponent("production.json"), catalog: F.catalog)
        let w = replay(try Router(policy: production, catalog: F.catalog), threshold: CostThreshold("+5%"))
        XCTAssertFalse(w.changed.isEmpty)
        XCTAssertTrue(w.refused.contains { $0.id == "j13-modellix-unknown" } || w.changed.contains { $0.id == "j13-modellix-unknown" })
        assertGolden(w.tableText, named: "whatif.txt")
        assertGolden(JSONWriter.pretty(w.json) + "\n", named: "whatif.json")
        assertGolden(w.markdownText, named: "whatif.md")
    }

    func testCheaperPricesPassAndDearerPricesFailTheGate() throws {
        // The same policy over a catalog where APIXO costs twice as much.
        var files = try Repository.pricingFiles()
        let i = try XCTUnwrap(files.firstIndex { $0.name.hasSuffix("apixo.json") })
        files[i] = SourceFile(name: files[i].name, text: files[i].text.replacingOccurrences(of: "\"0.04\"", with: "\"0.08\"").replacingOccurrences(of: "\"0.08\",", with: "\"0.16\","))
        let dear = try PriceCatalog.load(files: files)
        let policy = try Policy.load(contentsOf: Repository.fixtures.appendingPathComponent("reports/studio.json"), catalog: dear)
        let w = replay(try Router(policy: policy, catalog: dear), threshold: CostThreshold("+5%"))
        XCTAssertGreaterThan(w.total.new.nanos, w.total.past.nanos)
        XCTAssertNotNil(w.gateFailure)
        let lenient = replay(try Router(policy: policy, catalog: dear), threshold: CostThreshold("1000"))
        XCTAssertNil(lenient.gateFailure)
    }

    func testThresholdParsing() {
        XCTAssertEqual(CostThreshold("+5%"), .percent(micros: 5_000_000))
        XCTAssertEqual(CostThreshold("12.5%"), .percent(micros: 12_500_000))
        XCTAssertEqual(CostThreshold("100"), .amount(F.usd("100")))
        XCTAssertEqual(CostThreshold("USD 2.50"), .amount(F.usd("2.50")))
        XCTAssertNil(CostThreshold("five"))
        XCTAssertNil(CostThreshold("-5%"))
        XCTAssertEqual(CostThreshold.percent(micros: 5_000_000).allowance(past: 2_000_000_000), 100_000_000)
    }
}
