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

    /// A job of the fixture month as the ledger hands it on, decided at `minute` past 1 December.
    func job(_ id: String, seconds: String, minute: Int, tags: [String: String] = [:], router: Router = F.router) -> ReportJob {
        let request = Job(behavior: .animate, duration: Seconds(decimal: seconds)!, resolution: .p480, tags: tags)
        let choice = router.decide(request).choice!
        return ReportJob(id: id, status: .succeeded, policy: router.policy.name, request: request, offer: F.ref(choice),
                         estimatedCost: choice.estimate.cost, estimatedUSD: choice.estimate.usd, actualCost: choice.estimate.cost,
                         decidedAt: F.instant("2026-12-01T12:00:00Z").addingTimeInterval(Double(minute * 60)))
    }

    func replay(_ jobs: [ReportJob], _ router: Router) -> WhatIfReport {
        var w = WhatIfReplay(period: F.period, router: router, pastRates: F.catalog.exchangeRates)
        for j in jobs { w.add(j) }
        return w.finish()
    }

    /// APIXO only, cheapest, with the given budgets.
    func apixoRouter(_ budgets: [Budget]) throws -> Router {
        let policy = Policy(name: "apixo-budget", constraints: Constraints(providers: Filter(allow: [ProviderID("apixo")!])), budgets: budgets)
        return try Router(policy: policy, catalog: F.catalog)
    }

    func testThePastSideIsTheUSDEstimateRecordedWhenDecided() throws {
        // A job priced in CNY: the ledger recorded USD 1.50 for it on the day (a rate the tables no
        // longer hold). The past side is that figure, not today's conversion.
        var cny = try XCTUnwrap(F.jobs.first { $0.id == "j11-cn-std" })
        let today = try XCTUnwrap(F.catalog.exchangeRates.usd(try XCTUnwrap(cny.estimatedCost)))
        cny.estimatedUSD = F.usd("1.50")
        XCTAssertNotEqual(today, F.usd("1.50"))
        let w = replay([cny], F.router)
        XCTAssertEqual(w.total.past, F.usd("1.50"))
        XCTAssertTrue(w.total.pastConverted)
        XCTAssertEqual(w.total.pastConvertedToday, 0)
        XCTAssertEqual(w.total.new, today, "the replay prices with the tables it is given")
        // An older ledger without the USD figure: converted at the tables' rates, and said so.
        cny.estimatedUSD = nil
        let old = replay([cny], F.router)
        XCTAssertEqual(old.total.past, today)
        XCTAssertTrue(old.total.pastConverted)
        XCTAssertEqual(old.total.pastConvertedToday, 1)
        XCTAssertTrue(old.tableText.contains("1 past estimate had no recorded USD figure"), old.tableText)
    }

    func testBudgetsBindInTheOrderJobsWereDecided() throws {
        // USD 1.00 a month; each job is estimated at USD 0.80 on APIXO. The first decided gets the
        // budget, the second is refused, whatever order the ledger hands them on in (the second
        // ended first).
        let router = try apixoRouter([Budget(id: "month", scope: .total, monthly: F.usd("1.00"))])
        let first = job("first", seconds: "20", minute: 0, router: router)
        let second = job("second", seconds: "20", minute: 5, router: router)
        XCTAssertEqual(first.estimatedCost, F.usd("0.80"))
        let w = replay([second, first], router)
        XCTAssertEqual(w.refused.map(\.id), ["second"])
        XCTAssertEqual(w.total.new, F.usd("0.80"))
    }

    func testEachJobCountsOnceAgainstBudgetsSharingAKey() throws {
        // Two budgets over the same key (every job): the replay's running spend counts each job once,
        // as the ledger's reservations do, so the smaller budget admits two USD 0.40 jobs of three.
        let router = try apixoRouter([Budget(id: "tight", scope: .total, monthly: F.usd("1.00")),
                                      Budget(id: "loose", scope: .total, monthly: F.usd("100.00"))])
        let jobs = (0..<3).map { job("j\($0)", seconds: "10", minute: $0, router: router) }
        XCTAssertEqual(jobs[0].estimatedCost, F.usd("0.40"))
        let w = replay(jobs, router)
        XCTAssertEqual(w.refused.map(\.id), ["j2"])
        XCTAssertEqual(w.total.new, F.usd("0.80"))
    }

    func testATagBudgetSeesOnlyItsOwnJobsSpend() throws {
        // USD 1.00 for customer=film: acme's jobs neither use it up nor are limited by it.
        let router = try apixoRouter([Budget(id: "film", scope: .tag("customer", value: "film"), monthly: F.usd("1.00"))])
        let jobs = [job("acme-1", seconds: "20", minute: 0, tags: ["customer": "acme"], router: router),
                    job("film-1", seconds: "20", minute: 1, tags: ["customer": "film"], router: router),
                    job("acme-2", seconds: "20", minute: 2, tags: ["customer": "acme"], router: router),
                    job("film-2", seconds: "20", minute: 3, tags: ["customer": "film"], router: router)]
        let w = replay(jobs.reversed(), router)
        XCTAssertEqual(w.refused.map(\.id), ["film-2"])
        XCTAssertEqual(w.total.new, F.usd("2.40"))
    }

    func testRememberedDecisionsAreTheRoutersOwn() throws {
        // Production without its budgets: rules read tags, no job depends on spend, so the replay
        // remembers decisions by shape. Every job, fed three times over, gets exactly what the
        // router decides for it alone.
        var policy = try Policy.load(contentsOf: Repository.policies.appendingPathComponent("production.json"), catalog: F.catalog)
        policy.budgets = []
        let router = try Router(policy: policy, catalog: F.catalog)
        var rng = SystemRandomNumberGenerator()
        var jobs: [ReportJob] = []
        for n in 0..<300 {
            var tags: [String: String] = [:]
            if Bool.random(using: &rng) { tags["customer"] = ["film", "acme", "tv"].randomElement(using: &rng)! }
            if Bool.random(using: &rng) { tags["purpose"] = ["preview", "final"].randomElement(using: &rng)! }
            let request = Job(behavior: Bool.random(using: &rng) ? .animate : .replace, duration: Seconds(whole: Int64.random(in: 1...40, using: &rng)),
                              resolution: [nil, .p480, .p720].randomElement(using: &rng)!, tags: tags)
            jobs.append(ReportJob(id: "r\(n)", status: .succeeded, policy: "other", request: request, offer: nil, estimatedCost: nil, actualCost: nil,
                                  decidedAt: F.instant("2026-12-02T00:00:00Z").addingTimeInterval(Double(n))))
        }
        let w = replay(jobs + jobs + jobs, router)
        var expected = Money.zero(.usd)
        var refused: [String] = []
        for job in jobs {
            let d = router.decide(job.request)
            if let c = d.choice { expected = expected + c.estimate.usd! } else { refused.append(job.id) }
        }
        XCTAssertEqual(w.jobs, 900)
        XCTAssertEqual(w.total.new, expected + expected + expected)
        XCTAssertEqual(Set(w.refused.map(\.id)), Set(refused))
        XCTAssertEqual(w.refused.count, refused.count * 3)
    }

    func testDecisionsAgainstSpendAreThoseOfThePlainReplay() throws {
        // Jobs a budget covers are decided against the replay's running spend, and remembered by
        // shape until the spend changes. On random months under random budgets (over everything, a
        // provider, each customer, one customer, each project) that bind part-way through, the
        // replay is the plain one: every job decided by the router alone against the spend of the
        // jobs decided before it, and the replay that remembers nothing.
        let production = try Policy.load(contentsOf: Repository.policies.appendingPathComponent("production.json"), catalog: F.catalog)
        let offers = [OfferRef(provider: ProviderID("apixo")!, mode: .standard, resolution: .p480),
                      OfferRef(provider: ProviderID("dashscope-intl")!, mode: .wanStd, resolution: .p720)]
        var rng = SeededGenerator(seed: 20_261_202)
        var bound = 0, routedAfterBinding = 0
        for round in 0..<16 {
            var policy = production
            func tenths(_ range: ClosedRange<Int64>) -> Money { Money(nanos: Int64.random(in: range, using: &rng) * 100_000_000, currency: .usd) }
            var budgets: [Budget] = []
            if Bool.random(using: &rng) { budgets.append(Budget(id: "all", scope: .total, monthly: tenths(20...400))) }
            if Bool.random(using: &rng) {
                let p = ["apixo", "dashscope-intl", "dashscope-cn"].randomElement(using: &rng)!
                budgets.append(Budget(id: "one-provider", scope: .provider(ProviderID(p)!), monthly: tenths(5...200)))
            }
            if Bool.random(using: &rng) { budgets.append(Budget(id: "per-customer", scope: .tag("customer", value: nil), monthly: tenths(5...200))) }
            if Bool.random(using: &rng) { budgets.append(Budget(id: "film", scope: .tag("customer", value: "film"), monthly: tenths(1...100))) }
            if Bool.random(using: &rng) { budgets.append(Budget(id: "per-project", scope: .tag("project", value: nil), monthly: tenths(5...100))) }
            policy.budgets = budgets
            let router = try Router(policy: policy, catalog: F.catalog)
            var jobs: [WhatIfJob] = []
            for n in 0..<Int.random(in: 50...400, using: &rng) {
                var tags: [String: String] = [:]
                if Bool.random(using: &rng) { tags["customer"] = ["film", "acme", "tv"].randomElement(using: &rng)! }
                if Int.random(in: 0..<4, using: &rng) == 0 { tags["purpose"] = ["preview", "final"].randomElement(using: &rng)! }
                if Bool.random(using: &rng) { tags["project"] = "p\(Int.random(in: 0..<3, using: &rng))" }
                let request = Job(behavior: Bool.random(using: &rng) ? .animate : .replace, duration: Seconds(whole: Int64.random(in: 1...40, using: &rng)),
                                  resolution: [nil, .p480, .p720].randomElement(using: &rng)!, tags: tags)
                // Hours apart at most 200 of them, so many jobs share an instant; a few outside the month.
                let hour = Int.random(in: -2...200, using: &rng)
                let past = Bool.random(using: &rng) ? offers.randomElement(using: &rng)! : nil
                let estimate = past.map { _ in Money(nanos: Int64.random(in: 0...3_000_000_000, using: &rng), currency: .usd) }
                jobs.append(WhatIfJob(id: "r\(round)-\(n)", policy: "month", request: request, decidedAt: F.period.start.addingTimeInterval(Double(hour * 3_600)),
                                      pastOffer: past, pastEstimate: estimate, pastEstimateUSD: estimate))
            }
            var remembering = WhatIfReplay(period: F.period, router: router, pastRates: F.catalog.exchangeRates)
            var plain = remembering
            plain.remembersSpendDecisions = false
            for j in jobs {
                remembering.add(j)
                plain.add(j)
            }
            let got = remembering.finish(), want = plain.finish()
            XCTAssertEqual(got, want, "round \(round)")
            XCTAssertEqual(got.tableText, want.tableText, "round \(round)")
            XCTAssertEqual(JSONWriter.pretty(got.json), JSONWriter.pretty(want.json), "round \(round)")

            // The router alone, job by job in decision order (equal instants in the order added).
            let order = jobs.indices.filter { F.period.contains(jobs[$0].decidedAt) }
                .sorted { (jobs[$0].decidedAt, $0) < (jobs[$1].decidedAt, $1) }
            var spend = SpendSnapshot()
            var total = Money.zero(.usd)
            var refused: [String] = [], moved: [String: OfferRef] = [:]
            var binding = false
            for i in order {
                let job = jobs[i]
                let d = router.decide(job.request, spend: spend)
                guard let c = d.choice else {
                    refused.append(job.id)
                    if router.decide(job.request).choice != nil { binding = true }
                    continue
                }
                if binding { routedAfterBinding += 1 }
                if F.ref(c) != job.pastOffer { moved[job.id] = F.ref(c) }
                guard let usd = c.estimate.usd else { continue }
                total = total + usd
                spend.addSpent(usd, to: .total)
                spend.addSpent(usd, to: .provider(c.offer.provider))
                for (k, v) in job.request.tags { spend.addSpent(usd, to: .tag(k, v)) }
            }
            if binding { bound += 1 }
            XCTAssertEqual(got.jobs, order.count, "round \(round)")
            XCTAssertEqual(got.total.new, total, "round \(round)")
            XCTAssertEqual(got.refused.map(\.id).sorted(), refused.sorted(), "round \(round)")
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: got.changed.map { ($0.id, $0.new!) }), moved, "round \(round)")
        }
        XCTAssertGreaterThan(bound, 4, "budgets bind in several rounds")
        XCTAssertGreaterThan(routedAfterBinding, 20, "and cheaper jobs still pass after a budget first refuses one")
    }

    func testTheMarkdownListsAreCutToFitAPullRequestComment() {
        // 2,000 jobs whose route changed: the comment lists 50 and says how many more.
        let moved = (0..<2_000).map { n in
            RouteChange(id: String(format: "job-%05d", n), past: OfferRef(provider: ProviderID("apixo")!, mode: .standard, resolution: .p480),
                        pastCost: F.usd("0.40"), new: OfferRef(provider: ProviderID("dashscope-intl")!, mode: .wanStd, resolution: .p720),
                        newCost: F.usd("0.48"), refusal: nil)
        }
        let w = WhatIfReport(period: F.period, pastPolicies: ["studio"], newPolicy: "other", total: WhatIfTotals(), byProvider: [], byTag: [],
                             changed: moved, refused: [], unpriceable: [], jobs: 2_000, threshold: nil)
        let md = w.markdownText
        XCTAssertTrue(md.contains("job-00049"))
        XCTAssertFalse(md.contains("job-00050"))
        XCTAssertTrue(md.contains("… and 1950 more (`--format json --list all` lists every job)"), md)
        XCTAssertLessThan(md.utf8.count, 65_536)
        XCTAssertEqual(w.tableText.components(separatedBy: "job-0").count - 1, 2_000, "the table lists every job")
    }

    func testListsShowTheFirstJobsByIdAndCountEveryOne() throws {
        // 300 jobs fed in a shuffled order, every one refused by a policy that forbids APIXO (the one seller of 480p);
        // listed 7 per list: the first 7 by id, and the count of all 300.
        let policy = Policy(name: "no-apixo", constraints: Constraints(providers: Filter(deny: [ProviderID("apixo")!])))
        let router = try Router(policy: policy, catalog: F.catalog)
        let apixo = try apixoRouter([])
        var jobs = (0..<300).map { n in job(String(format: "m%03d", n), seconds: "10", minute: n % 50, router: apixo) }
        var rng = SeededGenerator(seed: 9)
        jobs.shuffle(using: &rng)
        var all = WhatIfReplay(period: F.period, router: router, pastRates: F.catalog.exchangeRates)
        var some = all
        some.listLimit = 7
        for j in jobs {
            all.add(j)
            some.add(j)
        }
        let full = all.finish(), cut = some.finish()
        XCTAssertEqual(WhatIfList.allCases.map { full.count($0) }, [0, 300, 0], full.tableText)
        XCTAssertEqual(full.count(.refused), 300)
        XCTAssertEqual(cut.count(.refused), 300)
        XCTAssertEqual(full.refused.map(\.id), (0..<300).map { String(format: "m%03d", $0) })
        XCTAssertEqual(cut.refused, Array(full.refused.prefix(7)))
        XCTAssertEqual(cut.total, full.total)
        XCTAssertTrue(cut.tableText.contains("Refused under the replay (300):\n"), cut.tableText)
        XCTAssertTrue(cut.tableText.contains("… and 293 more (--list all lists every job)\n"), cut.tableText)
        XCTAssertFalse(full.tableText.contains("more (--list all"))
        XCTAssertTrue(cut.markdownText.contains("… and 293 more"))
        let json = JSONWriter.pretty(cut.json)
        XCTAssertTrue(json.contains("\"list_limit\": 7,\n  \"changed_jobs\": 0,\n  \"changed\": [],\n  \"refused_jobs\": 300,"), json)
        XCTAssertTrue(json.contains("m006") && !json.contains("m007"))
        // Written in pieces, every format is the same text as the whole.
        for report in [full, cut] {
            var streamed = ""
            report.writeJSON { streamed += $0 }
            XCTAssertEqual(streamed, JSONWriter.pretty(report.json) + "\n")
            var table = ""
            report.writeTable { table += $0 }
            XCTAssertEqual(table, report.tableText)
        }
    }

    func testIdsOrderAsSwiftOrdersStrings() {
        // Ids listed in String order, which for text beyond ASCII is not the order of its bytes.
        let ids = ["b", "a", "é", "e\u{301}x", "Z", "ab", "a", "日本", "e", "ez", "\u{0}"]
        let moved = ids.map { RouteChange(id: $0, past: nil, pastCost: nil, new: nil, newCost: nil, refusal: nil) }
        var replay = WhatIfReplay(period: F.period, router: F.router, pastRates: F.catalog.exchangeRates)
        for (n, id) in ids.enumerated() {
            let job = WhatIfJob(id: id, policy: "p", request: Job(behavior: .animate, duration: Seconds(whole: 5), resolution: .p480),
                                decidedAt: F.instant("2026-12-02T00:00:00Z").addingTimeInterval(Double(n)),
                                pastOffer: OfferRef(provider: ProviderID("nowhere")!, mode: .standard, resolution: .p480), pastEstimate: nil, pastEstimateUSD: nil)
            replay.add(job)
        }
        XCTAssertEqual(replay.finish().changed.map(\.id), moved.map(\.id).sorted())
        replay.listLimit = 4
        XCTAssertEqual(replay.finish().changed.map(\.id), Array(moved.map(\.id).sorted().prefix(4)))
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
