import XCTest

@testable import WanRoute

/// The HTML charts place bars with floating point, but every figure they print is exact.
final class ReportHTMLAxisTests: XCTestCase {
    func testStepsAreRoundAndCoverTheLargestDay() {
        XCTAssertEqual(ReportHTML.niceStep(nanos: 0), 1_000_000_000)
        XCTAssertEqual(ReportHTML.niceStep(nanos: 100_000_000), 25_000_000)  // USD 0.10 → 0.025 steps
        XCTAssertEqual(ReportHTML.niceStep(nanos: 3_000_000_000), 1_000_000_000)  // USD 3 → 1.00 steps
        XCTAssertEqual(ReportHTML.niceStep(nanos: 9_000_000_000), 2_500_000_000)
        XCTAssertEqual(ReportHTML.niceStep(nanos: 1), 1)
        XCTAssertEqual(ReportHTML.niceStep(nanos: Int64.max), 2_500_000_000_000_000_000)  // no overflow at the top
    }

    func testTickLabelsAreTheExactAmount() {
        // 0.025 printed through a Double with two decimals came out as 0.03 or 0.02.
        XCTAssertEqual(ReportHTML.axisLabel(nanos: 25_000_000), "0.025")
        XCTAssertEqual(ReportHTML.axisLabel(nanos: 2_005_000_000), "2.005")
        XCTAssertEqual(ReportHTML.axisLabel(nanos: 0), "0")
    }
}
