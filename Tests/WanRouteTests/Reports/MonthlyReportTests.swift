import Foundation
import WanRouteTestSupport
import XCTest

@testable import WanRoute

final class MonthlyReportTests: XCTestCase {
    typealias F = ReportFixture

    func report(_ dims: String = "provider", zone: String = F.zone, budgets: Bool = true) throws -> MonthlyReport {
        var b = MonthlyReportBuilder(period: try ReportPeriod(month: "2026-12", timeZone: zone), dimensions: try ReportDimension.parse(dims),
                                     rates: F.catalog.exchangeRates, budgets: budgets ? F.policy.budgets : [])
        for j in F.jobs { b.add(j) }
        return try b.finish(spend: F.spend, asOf: F.asOf)
    }

    func testFixtureRoutesAsDescribed() {
        let byID = Dictionary(uniqueKeysWithValues: F.jobs.map { ($0.id, $0) })
        XCTAssertEqual(byID["j04-intl-exact"]?.offer?.provider.rawValue, "dashscope-intl")
        XCTAssertEqual(byID["j10-cn-pro"]?.estimatedCost?.currency, .cny)
        XCTAssertEqual(byID["j12-aimlapi"]?.offer?.provider.rawValue, "aimlapi")
        XCTAssertNil(byID["j12-aimlapi"]?.estimatedCost)
        XCTAssertEqual(byID["j13-modellix-unknown"]?.offer?.provider.rawValue, "modellix")
        XCTAssertEqual(byID["j17-refused"]?.status, .refused)
        XCTAssertEqual(byID["j15-failover"]?.failedOver.first?.offer.provider.rawValue, "dashscope-cn")
        XCTAssertEqual(byID["j15-failover"]?.offer?.provider.rawValue, "apixo")
        XCTAssertEqual(byID["j02-apixo-min"]?.billedSeconds, Seconds(whole: 5))
        XCTAssertEqual(byID["j18-apixo-cap"]?.billedSeconds, Seconds(whole: 120))
    }

    func testMonthBoundaryIsReadInTheReportZone() throws {
        let shanghai = try report()
        let utc = try report(zone: "UTC")
        // Shanghai: j01 (04:00 on 1 Dec) is in, j00 (23:59 on 30 Nov) and j20 (00:30 on 1 Jan) are out.
        XCTAssertEqual(shanghai.total.jobs, F.jobs.count - 2)
        XCTAssertEqual(shanghai.daily.first { $0.date == "2026-12-01" }?.jobs, 2)
        // UTC: j00 and j01 are November; j20 is December.
        XCTAssertEqual(utc.total.jobs, F.jobs.count - 2)
        XCTAssertEqual(utc.daily.first { $0.date == "2026-12-31" }?.jobs, 1)
        XCTAssertEqual(utc.daily.first { $0.date == "2026-12-01" }?.jobs, 1)
        XCTAssertEqual(shanghai.period.boundaries.first, Int64(F.instant("2026-11-30T16:00:00Z").timeIntervalSince1970))
    }

    func testUnknownCostsAreCountedNeverSummed() throws {
        let r = try report()
        // j13 (modellix, no answer), j14 (apixo, needs attention), j16 (unfinished).
        XCTAssertEqual(r.total.actualUnknownJobs, 3)
        let known = F.jobs.filter { r.period.contains($0.decidedAt) }.compactMap(\.actualCost)
        for c in [Currency.usd, .cny] {
            let sum = known.filter { $0.currency == c }.reduce(Int64(0)) { $0 + $1.nanos }
            XCTAssertEqual(r.total.actual.amount(c)?.nanos, sum)
        }
        XCTAssertTrue(r.total.actualUSDConverted)
        XCTAssertTrue(r.tableText.contains("3 jobs"))
        XCTAssertEqual(r.total.refused, 1)
        XCTAssertEqual(r.total.estimatedUnknownJobs, 2, "aimlapi and modellix have no price")
    }

    func testBudgetsProjectAndRunOut() throws {
        let r = try report()
        // asOf is 20:00 on 20 December in Shanghai: 19 days 20 hours (476 h) of a 744-hour month.
        let alpha = try XCTUnwrap(r.budgets.first { $0.key == .tag("project", "alpha") })
        XCTAssertEqual(alpha.remaining, F.usd("1.50"))
        XCTAssertEqual(alpha.projectedMonthEnd?.decimalString, "5.470588235")   // 3.50 * 744 / 476, rounded down
        XCTAssertEqual(alpha.runsOutOn, "2026-12-29")                         // 1.50 more at 3.50 per 476 h: 204 h later
        let film = try XCTUnwrap(r.budgets.first { $0.key == .tag("customer", "film") })
        XCTAssertEqual(film.remaining, F.usd("6.95"))
        XCTAssertEqual(film.runsOutOn, "2026-12-31")
        let intl = try XCTUnwrap(r.budgets.first { $0.key == .provider(ProviderID("dashscope-intl")!) })
        XCTAssertEqual(intl.projectedMonthEnd?.decimalString, "10.784873949")
        XCTAssertEqual(intl.runsOutOn, "2026-12-29")                          // 3.10 more at 6.90 per 476 h: 213.9 h later
        XCTAssertEqual(r.budgets.map(\.key.description), ["tag:customer=acme", "tag:customer=film", "tag:project=alpha", "provider:dashscope-intl"])
    }

    func testPercentilesAreNearestRank() {
        func percentile(_ values: [Int32], _ p: Int) -> Int32 {
            var a = TotalsAccumulator()
            a.times = values
            a.compactTimes()
            return TotalsAccumulator.value(in: a.timeRuns, rank: TotalsAccumulator.rank(values.count, p))
        }
        XCTAssertEqual(percentile([10, 3, 7, 1, 9, 2, 8, 6, 4, 5], 50), 5)
        XCTAssertEqual(percentile([10, 3, 7, 1, 9, 2, 8, 6, 4, 5], 90), 9)
        XCTAssertEqual(percentile([7], 90), 7)
        // Against sorting, on random values with many repeats (the larger sizes take the radix sort),
        // and with times added after a compaction (runs merged with new values).
        var rng = SeededGenerator(seed: 5)
        for n in [2, 3, 10, 101, 1_000, 5_000, 70_000] {
            let v = (0..<n).map { _ in n > 1_000 && Bool.random(using: &rng) ? Int32.random(in: Int32.min...Int32.max, using: &rng) : Int32.random(in: 0...50, using: &rng) }
            let sorted = v.sorted()
            XCTAssertEqual(TotalsAccumulator.sorted(v), sorted, "n \(n)")
            var split = TotalsAccumulator()
            split.times = Array(v[..<(n / 2)])
            split.compactTimes()
            split.times = Array(v[(n / 2)...])
            split.compactTimes()
            XCTAssertEqual(split.timeRuns.reduce(0) { $0 + $1.count }, n)
            XCTAssertEqual(split.timeRuns.map(\.millis), Array(Set(sorted)).sorted())
            for p in [1, 50, 90, 99, 100] {
                let r = TotalsAccumulator.rank(n, p)
                XCTAssertEqual(percentile(v, p), sorted[r], "n \(n) p \(p)")
                XCTAssertEqual(TotalsAccumulator.value(in: split.timeRuns, rank: r), sorted[r], "n \(n) p \(p), merged")
            }
        }
    }

    func testGroupByParsing() throws {
        XCTAssertEqual(try ReportDimension.parse("provider,tag:customer,status"), [.provider, .tag("customer"), .status])
        XCTAssertThrowsError(try ReportDimension.parse("provider,provider"))
        XCTAssertThrowsError(try ReportDimension.parse("colour"))
        XCTAssertThrowsError(try ReportDimension.parse("tag:"))
        XCTAssertThrowsError(try ReportPeriod(month: "2026-13"))
        XCTAssertThrowsError(try ReportPeriod(month: "2026-12", timeZone: "Mars/Olympus"))
    }

    func testUTCTimestamps() {
        XCTAssertEqual(UTCTimestamp.string(epochSeconds: 0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(UTCTimestamp.string(F.instant("2026-12-31T23:59:59Z")), "2026-12-31T23:59:59Z")
        XCTAssertEqual(UTCTimestamp.string(F.instant("2028-02-29T12:00:00Z")), "2028-02-29T12:00:00Z")
        XCTAssertEqual(UTCTimestamp.string(epochSeconds: -1), "1969-12-31T23:59:59Z")
    }

    /// README, "Auditing spend": the snippet, statement for statement.
    func testReadmeSnippet() throws {
        let catalog = F.catalog, policy = F.policy, jobs = F.jobs, snapshot = F.spend
        let period = try ReportPeriod(month: "2026-12", timeZone: "Asia/Shanghai")
        var builder = MonthlyReportBuilder(period: period, dimensions: try ReportDimension.parse("provider,tag:customer"),
                                           rates: catalog.exchangeRates, budgets: policy.budgets)
        for job in jobs { builder.add(job) }                 // one pass; jobs outside the month are skipped
        let report = try builder.finish(spend: snapshot, asOf: F.asOf)
        XCTAssertTrue(report.rendered(.table).hasPrefix("Spend report 2026-12 (Asia/Shanghai), grouped by provider, tag:customer\n"))
    }

    // MARK: golden outputs

    func testGoldenTable() throws { assertGolden(try report().rendered(.table), named: "report.txt") }
    func testGoldenJSON() throws { assertGolden(try report("provider,tag:customer").rendered(.json), named: "report.json") }
    func testGoldenCSV() throws { assertGolden(try report("provider,tag:customer").rendered(.csv), named: "report.csv") }
    func testGoldenMarkdown() throws { assertGolden(try report("status").rendered(.md), named: "report.md") }
    func testGoldenHTML() throws { assertGolden(try report().rendered(.html), named: "report.html") }

    func testGoldenFOCUS() throws {
        let export = FOCUSExport(period: F.period, catalog: F.catalog)
        var out = export.header
        for j in F.jobs { out += export.rows(for: j) }
        assertGolden(out, named: "report-focus.csv")
    }

    func testFOCUSRowsFlagUnknownCostsAndSkipFreeTasks() throws {
        let export = FOCUSExport(period: F.period, catalog: F.catalog)
        let lines = F.jobs.map { export.rows(for: $0) }.joined().split(separator: "\r\n").map(String.init)
        let ids = lines.map { $0.split(separator: ",").count }
        XCTAssertTrue(ids.allSatisfy { _ in true })
        XCTAssertFalse(lines.contains { $0.contains("j09-intl-free-failure") }, "a free failure bills nothing")
        XCTAssertFalse(lines.contains { $0.contains("j17-refused") })
        XCTAssertFalse(lines.contains { $0.contains("j00-boundary-out") || $0.contains("j20-boundary-next") })
        let unfinished = try XCTUnwrap(lines.first { $0.contains("j16-unfinished") })
        XCTAssertTrue(unfinished.hasPrefix(","), "unknown BilledCost is empty, never 0")
        XCTAssertTrue(unfinished.contains(",unknown,"))
        XCTAssertFalse(lines.contains { $0.hasPrefix("0,") || $0.hasPrefix("0.00,") })
        let header = export.header.trimmingCharacters(in: .newlines).split(separator: ",").map(String.init)
        for column in ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
                       "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ChargeClass",
                       "ChargeDescription", "InvoiceIssuerName", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
                       "PricingQuantity", "PricingUnit", "ConsumedQuantity", "ConsumedUnit", "SkuId", "ResourceId", "Tags"] {
            XCTAssertTrue(header.contains(column), column)
        }
        XCTAssertTrue(header.filter { !FOCUSExport.columns.prefix { !$0.hasPrefix("x_") }.contains($0) }.allSatisfy { $0.hasPrefix("x_") })
    }

    /// The FOCUS rows as records by column name (RFC 4180 quoting).
    func focusRecords(_ export: FOCUSExport, _ jobs: [ReportJob]) -> [[String: String]] {
        let text = jobs.map { export.rows(for: $0) }.joined()
        var records: [[String: String]] = []
        var fields: [String] = [], field = "", quoted = false, previousQuote = false
        for ch in text {
            if quoted {
                if ch == "\"" { quoted = false; previousQuote = true } else { field.append(ch) }
                continue
            }
            switch ch {
            case "\"": if previousQuote { field.append("\"") }; quoted = true
            case ",": fields.append(field); field = ""
            case "\r\n", "\n":
                fields.append(field); field = ""
                records.append(Dictionary(uniqueKeysWithValues: zip(FOCUSExport.columns, fields)))
                XCTAssertEqual(fields.count, FOCUSExport.columns.count)
                fields = []
            default: field.append(ch)
            }
            previousQuote = false
        }
        return records
    }

    func testFOCUSCostsFollowTheirUnitPricesAndQuantities() throws {
        let rows = focusRecords(FOCUSExport(period: F.period, catalog: F.catalog), F.jobs)
        XCTAssertFalse(rows.isEmpty)
        func money(_ s: String?, _ currency: String?) -> Money? {
            guard let s, !s.isEmpty, let c = currency.flatMap(Currency.init(code:)) else { return nil }
            return Money(decimal: s, currency: c)
        }
        for r in rows {
            let id = r["x_JobId"]!
            let currency = r["BillingCurrency"]
            XCTAssertFalse(r["BillingAccountId"]!.isEmpty, id)
            XCTAssertEqual(r["EffectiveCost"], r["BilledCost"], id)
            // PricingQuantity, SkuPriceId and the unit prices stand or fall together.
            XCTAssertEqual(r["PricingQuantity"]!.isEmpty, r["SkuPriceId"]!.isEmpty, id)
            XCTAssertEqual(r["PricingQuantity"]!.isEmpty, r["ContractedUnitPrice"]!.isEmpty, id)
            let quantity = r["PricingQuantity"].flatMap { Seconds(decimal: $0) }
            for (cost, price) in [("ListCost", "ListUnitPrice"), ("ContractedCost", "ContractedUnitPrice")] {
                if let p = money(r[price], currency), let q = quantity {
                    XCTAssertEqual(money(r[cost], currency), FOCUSExport.product(p, q), "\(id) \(cost)")
                } else if cost == "ListCost" {
                    XCTAssertEqual(r[cost], r["BilledCost"], "\(id): without a list price, ListCost is BilledCost")
                }
            }
        }
        // DashScope billed USD 0.13/s against the table's 0.12: billed and list differ.
        let priced = try XCTUnwrap(rows.first { $0["x_JobId"] == "j07-intl-price" })
        XCTAssertEqual(priced["BilledCost"], "0.65")
        XCTAssertEqual(priced["ListUnitPrice"], "0.12")
        XCTAssertEqual(priced["ListCost"], "0.60")
        XCTAssertEqual(priced["ContractedCost"], "0.60")
        // A free CNY attempt (no task created) before a USD one leaves the USD bill known.
        let failover = try XCTUnwrap(rows.first { $0["x_JobId"] == "j15-failover" })
        XCTAssertEqual(failover["BilledCost"], "0.48")
        XCTAssertEqual(failover["x_CostStatus"], "known")
    }

    func testFOCUSUnderAContractHasNoListPrice() throws {
        let contract = SourceFile(name: "contract.json", text: """
        { "kind": "contract-prices", "version": 1, "providers": [ { "id": "apixo",
          "prices": [ { "behavior": "animate", "resolution": "480p", "price_per_second": { "amount": "0.03", "currency": "USD" }, "read_on": "2026-11-01" } ] } ] }
        """)
        let catalog = try PriceCatalog.builtIn(overlays: [contract])
        let job = ReportJob(id: "c1", status: .succeeded, policy: "studio", request: Job(duration: Seconds(whole: 10), resolution: .p480),
                            offer: OfferRef(provider: ProviderID("apixo")!, mode: .standard, resolution: .p480), taskID: "t-c1",
                            estimatedCost: F.usd("0.30"), billedSeconds: Seconds(whole: 10), actualCost: F.usd("0.30"), actualCostSource: .billingRule,
                            decidedAt: F.instant("2026-12-05T00:00:00Z"))
        let contracted = try XCTUnwrap(focusRecords(FOCUSExport(period: F.period, catalog: catalog), [job]).first)
        XCTAssertEqual(contracted["ContractedUnitPrice"], "0.03")
        XCTAssertEqual(contracted["ContractedCost"], "0.30")
        XCTAssertEqual(contracted["ListUnitPrice"], "", "the catalog holds the contract's price, not the list's")
        XCTAssertEqual(contracted["ListCost"], "0.30")
        let listed = try XCTUnwrap(focusRecords(FOCUSExport(period: F.period, catalog: F.catalog), [job]).first)
        XCTAssertEqual(listed["ListUnitPrice"], "0.04")
        XCTAssertEqual(listed["ListCost"], "0.40")
        XCTAssertEqual(listed["ContractedCost"], "0.40")
        XCTAssertEqual(listed["BilledCost"], "0.30")
    }
}
