import WanRouteTestSupport
import XCTest
@testable import WanRoute

final class BillingRuleTests: XCTestCase {
    func rule(_ rounding: BillingRule.Rounding, unitMicros: Int64 = 1_000_000, divisor: Int64 = 1, min: String? = nil, cap: String? = nil) -> BillingRule {
        BillingRule(basis: .referenceSeconds, rounding: rounding, unitMicros: unitMicros, unitDivisor: divisor,
                    minimum: min.flatMap(Seconds.init(decimal:)), cap: cap.flatMap(Seconds.init(decimal:)), flatFee: nil, failedTasksFree: nil, notes: nil)
    }

    func testRoundingModes() {
        let d = Seconds(decimal: "12.5")!
        XCTAssertEqual(rule(.up).billableUnits(for: d), 13)
        XCTAssertEqual(rule(.nearest).billableUnits(for: d), 13, "halves round up")
        XCTAssertEqual(rule(.nearest).billableUnits(for: Seconds(decimal: "12.499999")!), 12)
        XCTAssertEqual(rule(.down).billableUnits(for: d), 12)
        XCTAssertEqual(rule(.up).billableUnits(for: Seconds(whole: 12)), 12, "a whole number needs no rounding")
    }

    func testMinimumRoundsUpAndCapRoundsDownToWholeUnits() {
        // A 2.5 s minimum in whole seconds bills at least 3; a 9.5 s cap bills at most 9.
        let r = rule(.down, min: "2.5", cap: "9.5")
        XCTAssertEqual(r.billableUnits(for: Seconds(whole: 1)), 3)
        XCTAssertEqual(r.billableUnits(for: Seconds(whole: 100)), 9)
    }

    func testFramesAtFifteenPerSecondReportSecondsToTheMicrosecond() {
        let r = rule(.up, unitMicros: 1_000_000, divisor: 15)
        XCTAssertEqual(r.billableUnits(for: Seconds(decimal: "1.01")!), 16)      // 15.15 frames → 16
        XCTAssertEqual(r.seconds(forUnits: 16), Seconds(micros: 1_066_667))     // 16/15 s, nearest µs
    }

    func testUnknownBasisBillsNothingKnown() {
        let r = BillingRule(basis: .unknown, rounding: .up, unitMicros: 1_000_000, unitDivisor: 1, minimum: nil, cap: nil, flatFee: nil, failedTasksFree: nil, notes: nil)
        XCTAssertNil(r.billableUnits(for: Seconds(whole: 5)))
    }

    func testTheQuotePathAgreesWithTheRuleForEveryOffer() throws {
        let catalog = try Repository.catalog()
        var generator = SeededGenerator(seed: 2026)
        for _ in 0..<500 {
            let job = Job(behavior: Bool.random(using: &generator) ? .animate : .replace, duration: Seconds(micros: Int64.random(in: 1...200_000_000, using: &generator)))
            for index in catalog.offers.indices where catalog.offer(at: index, matches: job) {
                let billing = catalog.providers[catalog.offers[index].providerIndex].billing
                let e = catalog.estimate(offerAt: index, for: job)
                XCTAssertEqual(e.billableUnits, billing.billableUnits(for: job.duration))
                XCTAssertEqual(e.billableSeconds, e.billableUnits.map { billing.seconds(forUnits: $0) })
                if let units = e.billableUnits, let unit = catalog.offers[index].pricePerUnit {
                    XCTAssertEqual(e.cost, unit * units)
                }
            }
        }
    }
}
