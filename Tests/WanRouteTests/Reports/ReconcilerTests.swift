import Foundation
import WanRouteTestSupport
import XCTest

@testable import WanRoute

final class ReconcilerTests: XCTestCase {
    typealias F = ReportFixture

    func reconcile(_ jobs: [ReportJob] = F.jobs, tolerance: String = "0") -> Reconciliation {
        var r = Reconciler(period: F.period, catalog: F.catalog, tolerance: F.usd(tolerance))
        for j in jobs { r.add(j) }
        return r.finish()
    }

    func causes(_ r: Reconciliation, _ id: String) -> [VarianceCause] {
        r.jobs.first { $0.id == id }?.components.map(\.cause) ?? []
    }

    func testEveryFixtureVarianceIsExplained() {
        let r = reconcile()
        XCTAssertEqual(r.unexplained.map(\.id), [])
        XCTAssertEqual(r.checked, 18, "19 jobs in the month, one refused")
        XCTAssertEqual(causes(r, "j05-intl-rounding"), [.rounding])
        XCTAssertEqual(causes(r, "j06-intl-longer"), [.quantity])
        XCTAssertEqual(causes(r, "j07-intl-price"), [.priceChange])
        XCTAssertEqual(causes(r, "j09-intl-free-failure"), [.freeFailure])
        XCTAssertEqual(causes(r, "j11-cn-std"), [.quantity], "20.1 s is a whole billing unit (0.1 s) longer than 20 s: a longer output, not rounding")
        XCTAssertEqual(causes(r, "j12-aimlapi"), [.unpriced])
        XCTAssertEqual(causes(r, "j13-modellix-unknown"), [.unknownOutcome])
        XCTAssertEqual(causes(r, "j15-failover"), [.failover])
        XCTAssertEqual(Set(r.unknown.map(\.id)), ["j13-modellix-unknown", "j14-apixo-attention", "j16-unfinished"])
        XCTAssertNil(r.jobs.first { $0.id == "j04-intl-exact" }, "billed exactly as estimated")
    }

    func testPriceChangeSaysWhatTheTableSaysAndWhatWasBilled() {
        let r = reconcile()
        XCTAssertEqual(r.priceChanges.map(\.description),
                       ["pricing/dashscope-intl.json says USD 0.12/s; 2 jobs since 2026-12-03 billed USD 0.13/s (dashscope-intl animate wan-std 720p)"])
    }

    func testFailoverAcrossCurrenciesIsMeasuredInUSD() throws {
        let j = try XCTUnwrap(reconcile().jobs.first { $0.id == "j15-failover" })
        // Estimated CNY 2.40 on dashscope-cn (USD 0.33744); billed USD 0.48 on apixo.
        XCTAssertEqual(j.variance, F.usd("0.14256"))
        XCTAssertEqual(j.components.first?.amount, F.usd("0.14256"))
        XCTAssertEqual(j.unexplained, F.usd("0"))
    }

    func testUnexplainedAboveToleranceIsListed() throws {
        var jobs = F.jobs
        let i = try XCTUnwrap(jobs.firstIndex { $0.id == "j19-late" })
        // APIXO bills by its rule and reports nothing: one bill 3 cents above the rule (an implied
        // USD 0.043/s that no other job shows) is unexplained.
        jobs[i].actualCost = F.usd("0.43")
        let strict = reconcile(jobs)
        XCTAssertEqual(strict.unexplained.map(\.id), ["j19-late"])
        XCTAssertEqual(strict.unexplained.first?.unexplained, F.usd("0.03"))
        XCTAssertTrue(strict.tableText.contains("Unexplained above USD 0.00"))
        XCTAssertEqual(reconcile(jobs, tolerance: "0.05").unexplained.map(\.id), [])
    }

    func testAMinimumThatAppliesToTheBillIsNamed() throws {
        var jobs = F.jobs
        let i = try XCTUnwrap(jobs.firstIndex { $0.id == "j19-late" })
        // An APIXO bill for 3.4 s of a 10 s reference: its 5 s minimum applies to the bill.
        jobs[i].reportedSeconds = Seconds(decimal: "3.4")!
        jobs[i].billedSeconds = Seconds(whole: 5)
        jobs[i].actualCost = F.usd("0.20")
        let j = try XCTUnwrap(reconcile(jobs).jobs.first { $0.id == "j19-late" })
        XCTAssertEqual(j.components.map(\.cause), [.minimumOrCap])
        XCTAssertEqual(j.components.first?.amount, F.usd("-0.20"))
        XCTAssertEqual(j.unexplained, F.usd("0"))
    }

    func testGoldenTable() { assertGolden(reconcile().tableText, named: "reconcile.txt") }
    func testGoldenJSON() { assertGolden(JSONWriter.pretty(reconcile().json) + "\n", named: "reconcile.json") }
}
