import Foundation
import WanRoute

extension LedgerStoreConformance {
    /// A store's report jobs (``LedgerStore/forEachReportJob(in:catalog:_:)``, in order, and
    /// ``LedgerStore/addReportJobs(in:catalog:to:)``) and open jobs are exactly what folding its
    /// records gives, on a random ledger written in random batches: jobs crossing month ends, ids
    /// decided again (after their end, while running, across a period's start), late refusals,
    /// events after the end, events of a job never decided, events appended after later ones, a
    /// job running into a third month, a refusal at reservation just after a zoned period began of
    /// a job decided just before it, and a job decided again while running, in the next month.
    /// Each report is asked for twice (the second may come from a store's report cache), and again
    /// after one more job is appended: it must count it.
    static func reportJobsAreTheRecordFolds(_ store: any LedgerStore, _ expect: Expect) async throws {
        var rng = SplitMix64(seed: 20_261_202)
        var perJob: [[LedgerEvent]] = (0..<150).map { n in
            let id = n % 23 == 0 ? "job \(n) \"odd\"\t{id}" : "j\(n)"
            // Many near the ends of November and December (UTC and the periods' zones), so jobs cross them.
            let edges: [Int64] = [Self.november.milliseconds, Self.december.milliseconds, Self.january.milliseconds]
            let ms = Int.random(in: 0..<2, using: &rng) == 0
                ? edges.randomElement(using: &rng)! + Int64.random(in: -10 * 3_600_000...10 * 3_600_000, using: &rng)
                : Self.november.milliseconds + Int64.random(in: 0...65 * 86_400_000, using: &rng)
            return randomJob(id, LedgerTime(milliseconds: ms), &rng)
        }
        perJob += edgeCases()
        // A random merge (each job's events in order), appended in random batches.
        var merged: [LedgerEvent] = []
        var next = Array(repeating: 0, count: perJob.count)
        var live = Array(perJob.indices)
        while !live.isEmpty {
            let k = Int.random(in: 0..<live.count, using: &rng)
            let j = live[k]
            merged.append(perJob[j][next[j]])
            next[j] += 1
            if next[j] == perJob[j].count { live.remove(at: k) }
        }
        var at = 0
        while at < merged.count {
            let n = min(merged.count - at, Int.random(in: 1...40, using: &rng))
            _ = try await store.append(Array(merged[at..<(at + n)]))
            at += n
        }

        let catalog = try PriceCatalog.builtIn()
        let periods = [try ReportPeriod(month: "2026-12"), try ReportPeriod(month: "2026-12", timeZone: "Europe/Berlin"),
                       try ReportPeriod(month: "2027-01", timeZone: "Asia/Shanghai"), try ReportPeriod(month: "2026-11"),
                       try ReportPeriod(month: "2027-02", timeZone: "America/Los_Angeles")]
        let budgets = [Budget(id: "all", scope: .total, monthly: usd("100")), Budget(id: "apixo", scope: .provider(apixo), monthly: usd("50")),
                       Budget(id: "per-customer", scope: .tag("customer", value: nil), monthly: usd("10"))]
        let groupings = [[ReportDimension.provider, .tag("customer")], [.status, .mode, .resolution, .behavior, .policy]]
        /// The jobs of `period` by folding the store's records.
        func folded(_ period: ReportPeriod) async throws -> [ReportJob] {
            let months = Set(try await store.months())
            var expected: [ReportJob] = []
            var fold = LedgerReportFold(period: period, catalog: catalog)
            for month in LedgerReportFold.months(for: period) where months.contains(month) {
                try await store.forEachRecord(in: month) { fold.apply($0) { expected.append($0) } }
            }
            fold.finish { expected.append($0) }
            return expected
        }
        /// The store's report (from its report cache, when it keeps one and it matches) against the fold's.
        func checkReport(_ period: ReportPeriod, _ dimensions: [ReportDimension], _ expected: [ReportJob], _ label: String) async throws {
            var fromStore = MonthlyReportBuilder(period: period, dimensions: dimensions, rates: catalog.exchangeRates, budgets: budgets)
            try await store.addReportJobs(in: period, catalog: catalog, to: &fromStore)
            var fromFold = MonthlyReportBuilder(period: period, dimensions: dimensions, rates: catalog.exchangeRates, budgets: budgets)
            for job in expected { fromFold.add(job) }
            expect.equal(try fromStore.finish(asOf: period.end), try fromFold.finish(asOf: period.end),
                         "\(period.label) \(period.timeZone.identifier) \(dimensions) report, \(label)")
        }
        for period in periods {
            let expected = try await folded(period)
            var got: [ReportJob] = []
            try await store.forEachReportJob(in: period, catalog: catalog) { got.append($0) }
            expect.equal(got.count, expected.count, "\(period.label) \(period.timeZone.identifier): jobs")
            if let i = zip(got, expected).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                expect.fail("\(period.label) \(period.timeZone.identifier): job \(i) is \(got[i]), the fold gives \(expected[i])")
            }
            for dimensions in groupings {
                try await checkReport(period, dimensions, expected, "first")
                try await checkReport(period, dimensions, expected, "again")
            }
        }
        // One more job, in December: every report that reads December counts it (none is served
        // from aggregates saved before it), and the others are unchanged.
        _ = try await store.append(lifecycle("after the reports", from: LedgerTime("2026-12-31T20:00:00.000Z")!))
        for period in periods {
            let expected = try await folded(period)
            for dimensions in groupings {
                try await checkReport(period, dimensions, expected, "after an append")
                try await checkReport(period, dimensions, expected, "after an append, again")
            }
        }
        let months = Set(try await store.months())
        var book = JobBook()
        for month in months.sorted() { try await store.forEachRecord(in: month) { book.apply($0) } }
        let open = try await store.openJobs()
        expect.equal(open.map(\.id), book.unfinished.map(\.id), "open jobs")
        expect.equal(open, book.unfinished, "open jobs' states")
    }

    static let november = LedgerTime("2026-11-01T00:00:00.000Z")!
    static let december = LedgerTime("2026-12-01T00:00:00.000Z")!
    static let january = LedgerTime("2027-01-01T00:00:00.000Z")!

    /// One job as the executor records it: decided (or refused), attempts that fail over, an end.
    static func randomJob(_ id: String, _ decidedAt: LedgerTime, _ rng: inout SplitMix64) -> [LedgerEvent] {
        func later(_ t: LedgerTime, _ most: Int64) -> LedgerTime { LedgerTime(milliseconds: t.milliseconds + Int64.random(in: 0...most, using: &rng)) }
        func money() -> Money? {
            let nanos = Int64.random(in: 0...5_000_000_000, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: return nil
            case 1: return Money(nanos: nanos, currency: .cny)
            default: return Money(nanos: nanos, currency: .usd)
            }
        }
        let providers = [apixo, dashscope, ProviderID("aimlapi")!]
        let tags = Bool.random(using: &rng) ? ["customer": ["acme", "film", "we\tird \"c\""].randomElement(using: &rng)!] : [:]
        let refused = Int.random(in: 0..<8, using: &rng) == 0
        let provider = providers.randomElement(using: &rng)!
        let estimate = money()
        var events = [LedgerEvent(time: decidedAt, jobID: id, runID: "run-r", provider: refused ? nil : provider, body: .decided(LedgerDecision(
            behavior: Behavior.allCases.randomElement(using: &rng)!, duration: Seconds(micros: Int64.random(in: 1...60_000_000, using: &rng)),
            requiredResolution: Bool.random(using: &rng) ? .p720 : nil, tags: tags, policy: Bool.random(using: &rng) ? "cheapest" : "production",
            mode: refused ? nil : .standard, resolution: refused ? nil : .p720, estimate: refused ? nil : estimate,
            estimateUSD: refused ? nil : estimate.flatMap { $0.currency == .usd ? $0 : nil }, refusal: refused ? "no offer" : nil,
            reservation: refused ? nil : LedgerBudgetAmount(amount: usd("0.50"), budgets: BudgetKey.keys(provider: provider, tags: tags)))))]
        if refused { return events }
        var t = decidedAt
        var current = provider
        for _ in 0..<Int.random(in: 0...2, using: &rng) {
            t = later(t, 600_000)
            events.append(LedgerEvent(time: t, jobID: id, provider: current, body: .submitIntent(mode: .standard, resolution: .p720, attempt: 1)))
            if Bool.random(using: &rng) { events.append(LedgerEvent(time: t, jobID: id, provider: current, taskID: "t-\(id)-\(events.count)", body: .accepted)) }
            t = later(t, 600_000)
            events.append(LedgerEvent(time: t, jobID: id, provider: current, body: .failed(LedgerFailure(
                failure: FailureClass.allCases.randomElement(using: &rng)!, cost: money(), costSource: JobReport.CostSource.allCases.randomElement(using: &rng), final: false))))
            current = providers.randomElement(using: &rng)!
        }
        for attempt in 1...Int.random(in: 1...3, using: &rng) {
            t = later(t, 60_000)
            events.append(LedgerEvent(time: t, jobID: id, provider: current, body: .submitIntent(mode: .wanStd, resolution: .p480, attempt: attempt)))
        }
        if Bool.random(using: &rng) {
            events.append(LedgerEvent(time: t, jobID: id, provider: current, taskID: "task-\(id)", body: .accepted))
            events.append(LedgerEvent(time: later(t, 1_000), jobID: id, provider: current, taskID: "task-\(id)", body: .state(.running)))
        }
        t = later(t, 1_800_000)
        let cost = money()
        switch Int.random(in: 0..<7, using: &rng) {
        case 0, 1, 2:
            let billed = Bool.random(using: &rng) ? Seconds(micros: Int64.random(in: 0...60_000_000, using: &rng)) : nil
            events.append(LedgerEvent(time: t, jobID: id, provider: current, body: .succeeded(LedgerSuccess(
                resultURL: "https://r.test/\(events.count)", billedSeconds: billed, cost: cost, costSource: .billingRule,
                settlement: Bool.random(using: &rng) ? usd("0.40") : nil))))
        case 3:
            events.append(LedgerEvent(time: t, jobID: id, provider: current, body: .failed(LedgerFailure(
                failure: .contentRefused, cost: cost, costSource: .failedTaskFree, final: true, settlement: usd("0")))))
        case 4:
            events.append(LedgerEvent(time: t, jobID: id, body: .outcomeUnknown(detail: "no answer")))
            if Bool.random(using: &rng) { events.append(LedgerEvent(time: later(t, 5_000), jobID: id, body: .needsAttention(detail: "a task may exist"))) }
        case 5:
            events.append(LedgerEvent(time: t, jobID: id, body: .unfinished(detail: "deadline")))
        default:
            break  // still running
        }
        if Int.random(in: 0..<5, using: &rng) == 0 {
            let after = later(t, 3 * 86_400_000)
            events.append([LedgerEvent(time: after, jobID: id, body: .note(text: "checked")), LedgerEvent(time: after, jobID: id, body: .settled(usd("0.45"))),
                           LedgerEvent(time: after, jobID: id, body: .released(detail: nil))].randomElement(using: &rng)!)
        }
        return events
    }

    static func decision(_ id: String, _ time: LedgerTime, refused: Bool = false) -> LedgerEvent {
        LedgerEvent(time: time, jobID: id, provider: refused ? nil : apixo, body: .decided(LedgerDecision(
            behavior: .animate, duration: Seconds(whole: 7), policy: "cheapest", mode: refused ? nil : .standard, resolution: refused ? nil : .p720,
            estimate: refused ? nil : usd("0.70"), estimateUSD: refused ? nil : usd("0.70"), refusal: refused ? "the budget refused" : nil,
            reservation: refused ? nil : LedgerBudgetAmount(amount: usd("0.70"), budgets: [.total]))))
    }

    static func intent(_ id: String, _ time: LedgerTime) -> LedgerEvent {
        LedgerEvent(time: time, jobID: id, provider: apixo, body: .submitIntent(mode: .standard, resolution: .p720, attempt: 1))
    }

    static func success(_ id: String, _ time: LedgerTime) -> LedgerEvent {
        LedgerEvent(time: time, jobID: id, provider: apixo, taskID: "task-\(id)", body: .succeeded(LedgerSuccess(
            resultURL: nil, cost: usd("0.70"), costSource: .billingRule, settlement: usd("0.70"))))
    }

    /// Ledgers no executor writes in one piece but a ledger may hold.
    static func edgeCases() -> [[LedgerEvent]] {
        func t(_ text: String) -> LedgerTime { LedgerTime(text)! }
        return [
            // The same id again after its end, in another month.
            [decision("again", t("2026-11-20T10:00:00.000Z")), intent("again", t("2026-11-20T10:00:01.000Z")), success("again", t("2026-11-20T10:05:00.000Z")),
             decision("again", t("2026-12-10T10:00:00.000Z")), intent("again", t("2026-12-10T10:00:01.000Z"))],
            // An event appended after a later one of its job (a clock behind), across a month end.
            [decision("behind", t("2026-12-31T23:59:58.000Z")), intent("behind", t("2027-01-01T00:00:01.000Z")),
             LedgerEvent(time: t("2026-12-31T23:59:59.000Z"), jobID: "behind", provider: apixo, taskID: "task-behind", body: .accepted),
             success("behind", t("2027-01-01T00:03:00.000Z"))],
            // Reserved and submitted again after its end: open again.
            [decision("reopened", t("2026-12-05T08:00:00.000Z")), intent("reopened", t("2026-12-05T08:00:01.000Z")), success("reopened", t("2026-12-05T08:01:00.000Z")),
             LedgerEvent(time: t("2026-12-06T08:00:00.000Z"), jobID: "reopened", provider: apixo,
                         body: .reserved(LedgerBudgetAmount(amount: usd("0.30"), budgets: [.total]))),
             intent("reopened", t("2026-12-06T08:00:01.000Z"))],
            // Events of a job never decided.
            [intent("orphan", t("2026-12-07T08:00:00.000Z")), LedgerEvent(time: t("2026-12-07T08:00:02.000Z"), jobID: "orphan", body: .note(text: "?"))],
            // Running from December into February.
            [decision("long", t("2026-12-31T20:00:00.000Z")), intent("long", t("2027-01-15T00:00:00.000Z")), success("long", t("2027-02-01T01:00:00.000Z"))],
            // Decided in October and again in December while running.
            [decision("october", t("2026-10-31T23:00:00.000Z")), decision("october", t("2026-12-03T00:00:00.000Z"), refused: true)],
            // Refused at reservation just after Berlin's December began, decided just before it.
            [decision("late-refusal", t("2026-11-30T22:59:59.900Z")), decision("late-refusal", t("2026-11-30T23:00:00.100Z"), refused: true)],
            // Decided again while running, in the next month.
            [decision("twice", t("2026-11-29T12:00:00.000Z")), decision("twice", t("2026-12-02T12:00:00.000Z")), intent("twice", t("2026-12-02T12:00:01.000Z")),
             success("twice", t("2026-12-02T12:10:00.000Z"))],
        ]
    }
}
