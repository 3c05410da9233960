import Foundation
import WanRouteTestSupport
import XCTest

@testable import WanRoute

/// Random months: the report's totals are the exact sums of the jobs' costs, and an unknown cost
/// is never added as zero.
final class ReportPropertyTests: XCTestCase {
    func testTotalsAreExactSumsAndUnknownCostsAreNeverZero() throws {
        let catalog = try PriceCatalog.builtIn()
        let period = try ReportPeriod(month: "2026-12", timeZone: "Europe/Berlin")
        let providers = ["apixo", "dashscope-intl", "dashscope-cn", "aimlapi", "modellix"].map { ProviderID($0)! }
        let tags = ["acme", "film", "tv"]
        var rng = SeededGenerator(seed: 20_261_202)
        for round in 0..<40 {
            var jobs: [ReportJob] = []
            for n in 0..<Int.random(in: 0...300, using: &rng) {
                let status = ReportJob.Status.allCases.randomElement(using: &rng)!
                let currency: Currency = Bool.random(using: &rng) ? .usd : .cny
                func money() -> Money? {
                    Int.random(in: 0..<5, using: &rng) == 0 ? nil : Money(nanos: Int64.random(in: 0...50_000_000_000, using: &rng), currency: currency)
                }
                let offset = TimeInterval(Int.random(in: -3 * 86_400...34 * 86_400, using: &rng))
                var tagsForJob: [String: String] = [:]
                if Bool.random(using: &rng) { tagsForJob["customer"] = tags.randomElement(using: &rng)! }
                let request = Job(duration: Seconds(micros: Int64.random(in: 1...60_000_000, using: &rng)), tags: tagsForJob)
                jobs.append(ReportJob(
                    id: "r\(round)-\(n)", status: status, policy: "p", request: request,
                    offer: status == .refused ? nil : OfferRef(provider: providers.randomElement(using: &rng)!, mode: .standard, resolution: .p480),
                    estimatedCost: status == .refused ? nil : money(), billedSeconds: Seconds(micros: Int64.random(in: 0...60_000_000, using: &rng)),
                    actualCost: status == .refused ? nil : money(), retries: Int.random(in: 0...3, using: &rng),
                    decidedAt: period.start.addingTimeInterval(offset),
                    submittedAt: period.start.addingTimeInterval(offset + 1), finishedAt: period.start.addingTimeInterval(offset + Double(Int.random(in: 1...5000, using: &rng)))))
            }
            var builder = MonthlyReportBuilder(period: period, dimensions: [.provider, .tag("customer")], rates: catalog.exchangeRates)
            var inMonth: [ReportJob] = []
            for j in jobs where builder.add(j) { inMonth.append(j) }
            XCTAssertEqual(inMonth.count, jobs.filter { period.contains($0.decidedAt) }.count)
            let report = try builder.finish(asOf: period.end)

            for c in [Currency.usd, .cny] {
                let expected = inMonth.compactMap(\.actualCost).filter { $0.currency == c }
                XCTAssertEqual(report.total.actual.amount(c)?.nanos, expected.isEmpty ? nil : expected.reduce(0) { $0 + $1.nanos }, "round \(round) \(c)")
                let groups = report.groups.compactMap { $0.totals.actual.amount(c)?.nanos }.reduce(0, +)
                XCTAssertEqual(groups, expected.reduce(0) { $0 + $1.nanos }, "groups add up to the total")
            }
            let usd = inMonth.compactMap { $0.actualCost.flatMap { catalog.exchangeRates.usd($0) } }.reduce(Int64(0)) { $0 + $1.nanos }
            XCTAssertEqual(report.total.actualUSD.nanos, usd)
            let unknown = inMonth.filter { $0.actualCost == nil && $0.status != .refused }.count
            XCTAssertEqual(report.total.actualUnknownJobs, unknown, "every unknown cost counted")
            XCTAssertEqual(report.groups.map(\.totals.actualUnknownJobs).reduce(0, +), unknown)
            XCTAssertEqual(report.daily.map(\.unknownCostJobs).reduce(0, +), unknown)
            XCTAssertEqual(report.daily.map(\.actualUSD.nanos).reduce(0, +), usd, "the daily series adds up to the month")
            XCTAssertEqual(report.groups.map(\.totals.jobs).reduce(0, +), inMonth.count)
            // Rendered: an all-unknown group never shows a zero amount.
            for g in report.groups where g.totals.actualUnknownJobs > 0 && g.totals.actual.amounts.isEmpty {
                XCTAssertEqual(MonthlyReport.actualUSD(g.totals), "\(g.totals.actualUnknownJobs) unknown")
            }
        }
    }
}
