import Foundation
import WanRouteTestSupport
import XCTest

@testable import WanRoute

/// The job summary gives back exactly what folding the ledger gives, however it was built, and
/// is rebuilt whenever it does not hold against the ledger.
final class JobSummaryTests: XCTestCase {
    let catalog = ReportFixture.catalog
    let berlin = try! ReportPeriod(month: "2026-12", timeZone: "Europe/Berlin")
    /// Balanced (no budgets: decisions remembered by shape) and production (budgets: jobs held
    /// for decision order).
    let whatIfRouters = ["balanced", "production", "tight"].map { name in
        // "tight": production's budgets small enough to bind in these months, with one over a single customer.
        var policy = try! Policy.builtIn(named: name == "tight" ? "production" : name, catalog: ReportFixture.catalog)
        if name == "tight" {
            let usd = { (s: String) in Money(decimal: s, currency: .usd)! }
            policy.name = "tight"
            policy.budgets = [Budget(id: "all", scope: .total, monthly: usd("60")), Budget(id: "per-customer", scope: .tag("customer", value: nil), monthly: usd("12")),
                              Budget(id: "film", scope: .tag("customer", value: "film"), monthly: usd("5")),
                              Budget(id: "apixo", scope: .provider(ProviderID("apixo")!), monthly: usd("9"))]
        }
        return try! Router(policy: policy, catalog: ReportFixture.catalog)
    }

    func directory() throws -> String {
        let dir = try Repository.temporaryDirectory().path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// Random jobs around December (some decided in November or January, some crossing a month
    /// boundary), as the executor records them, their events interleaved at random.
    func randomEvents(_ rng: inout SeededGenerator, jobs count: Int, round: Int) -> [LedgerEvent] {
        let providers = ["apixo", "dashscope-intl", "dashscope-cn", "aimlapi", "modellix"].map { ProviderID($0)! }
        let start = berlin.start
        var perJob: [[LedgerEvent]] = []
        for n in 0..<count {
            let status = ReportJob.Status.allCases.randomElement(using: &rng)!
            let currency: Currency = Bool.random(using: &rng) ? .usd : .cny
            func money() -> Money? {
                Int.random(in: 0..<5, using: &rng) == 0 ? nil : Money(nanos: Int64.random(in: 0...50_000_000_000, using: &rng), currency: currency)
            }
            func offer() -> OfferRef {
                OfferRef(provider: providers.randomElement(using: &rng)!, mode: Mode.allCases.randomElement(using: &rng)!,
                         resolution: Resolution.allCases.randomElement(using: &rng)!)
            }
            // Many near the month's edges, so that jobs cross from one ledger file to the next.
            let edge = Bool.random(using: &rng)
            let offset = edge ? TimeInterval(Int.random(in: -600...600, using: &rng)) + (Bool.random(using: &rng) ? 0 : 31 * 86_400)
                : TimeInterval(Int.random(in: -3 * 86_400...34 * 86_400, using: &rng))
            let decidedAt = start.addingTimeInterval(offset)
            var tags: [String: String] = [:]
            if Bool.random(using: &rng) { tags["customer"] = ["acme", "film", "tv", "we\tird \"c\""].randomElement(using: &rng)! }
            if Bool.random(using: &rng) { tags["project"] = "p\(Int.random(in: 0..<3, using: &rng))" }
            var failedOver: [ReportAttempt] = []
            if status != .refused {
                for k in 0..<Int.random(in: 0...2, using: &rng) {
                    failedOver.append(ReportAttempt(offer: offer(), taskID: Bool.random(using: &rng) ? "t-\(round)-\(n)-\(k)" : nil, cost: money(),
                                                    costSource: JobReport.CostSource.allCases.randomElement(using: &rng),
                                                    failure: FailureClass.allCases.randomElement(using: &rng),
                                                    submittedAt: decidedAt.addingTimeInterval(Double(k * 10 + 1)),
                                                    finishedAt: decidedAt.addingTimeInterval(Double(k * 10 + 5))))
                }
            }
            let submitted = decidedAt.addingTimeInterval(Double(failedOver.count * 10 + 1))
            let job = ReportJob(
                id: n % 17 == 0 ? "job \(round)/\(n) \"odd\"\tid" : "j\(round)-\(n)", status: status, policy: ["production", "cheap"].randomElement(using: &rng)!,
                request: Job(behavior: Behavior.allCases.randomElement(using: &rng)!, duration: Bool.random(using: &rng) ? Seconds(whole: Int64.random(in: 1...4, using: &rng))
                                 : Seconds(micros: Int64.random(in: 1...60_000_000, using: &rng)),
                             resolution: Bool.random(using: &rng) ? .p720 : nil, mode: Bool.random(using: &rng) ? .standard : nil, tags: tags),
                offer: status == .refused ? nil : offer(), taskID: status == .refused || Bool.random(using: &rng) ? nil : "task-\(round)-\(n)",
                estimatedCost: status == .refused ? nil : money(),
                reportedSeconds: Bool.random(using: &rng) ? Seconds(micros: Int64.random(in: 0...60_000_000, using: &rng)) : nil,
                actualCost: status == .refused ? nil : money(), actualCostSource: JobReport.CostSource.allCases.randomElement(using: &rng),
                retries: Int.random(in: 0...2, using: &rng), failedOver: failedOver, decidedAt: decidedAt, submittedAt: submitted,
                finishedAt: submitted.addingTimeInterval(Double(Int.random(in: 1...1_200, using: &rng))))
            var events = ReportLedgerFixture.events(for: job)
            // Steps after the end: a note and a settlement later, as resume writes them.
            if Int.random(in: 0..<6, using: &rng) == 0, let last = events.last {
                events.append(LedgerEvent(time: LedgerTime(milliseconds: last.time.milliseconds + 1_000), jobID: job.id, body: .note(text: "checked")))
            }
            perJob.append(events)
        }
        // A random merge: each job's events keep their order.
        var out: [LedgerEvent] = []
        var next = Array(repeating: 0, count: perJob.count)
        var live = Array(perJob.indices)
        while !live.isEmpty {
            let k = Int.random(in: 0..<live.count, using: &rng)
            let j = live[k]
            out.append(perJob[j][next[j]])
            next[j] += 1
            if next[j] == perJob[j].count { live.remove(at: k) }
        }
        return out
    }

    func folded(_ store: FileLedgerStore, _ period: ReportPeriod) async throws -> [ReportJob] {
        var out: [ReportJob] = []
        try await store.foldReportJobsFromRecords(in: period, catalog: catalog) { out.append($0) }
        return out
    }

    func summarized(_ store: FileLedgerStore, _ period: ReportPeriod) async throws -> [ReportJob] {
        var out: [ReportJob] = []
        try await store.forEachReportJob(in: period, catalog: catalog) { out.append($0) }
        return out
    }

    func report(_ period: ReportPeriod, rows store: FileLedgerStore?, jobs: [ReportJob] = [], _ dimensions: [ReportDimension]) async throws -> MonthlyReport {
        let budgets = [Budget(id: "all", scope: .total, monthly: Money(decimal: "100", currency: .usd)!),
                       Budget(id: "apixo", scope: .provider(ProviderID("apixo")!), monthly: Money(decimal: "50", currency: .usd)!),
                       Budget(id: "film", scope: .tag("customer", value: "film"), monthly: Money(decimal: "20", currency: .usd)!),
                       Budget(id: "per-project", scope: .tag("project", value: nil), monthly: Money(decimal: "10", currency: .usd)!)]
        var builder = MonthlyReportBuilder(period: period, dimensions: dimensions, rates: catalog.exchangeRates, budgets: budgets)
        if let store {
            try await store.addReportJobs(in: period, catalog: catalog, to: &builder)
        } else {
            for j in jobs { builder.add(j) }
        }
        return try builder.finish(asOf: period.end)
    }

    func assertSame(_ store: FileLedgerStore, _ label: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        let periods = [berlin, try ReportPeriod(month: "2026-11"), try ReportPeriod(month: "2027-01", timeZone: "Asia/Shanghai")]
        for period in periods {
            let expected = try await folded(store, period)
            let got = try await summarized(store, period)
            XCTAssertEqual(got.count, expected.count, "\(label) \(period.label)", file: file, line: line)
            for (g, e) in zip(got, expected) where g != e { XCTAssertEqual(g, e, "\(label) \(period.label)", file: file, line: line); break }
            for dims in [[ReportDimension.provider, .tag("customer")], [.status, .mode, .resolution, .behavior, .policy, .tag("project")]] {
                let a = try await report(period, rows: store, dims)
                let b = try await report(period, rows: nil, jobs: expected, dims)
                XCTAssertEqual(a, b, "\(label) \(period.label) \(dims)", file: file, line: line)
            }
            // The what-if replay of the rows is the replay of the jobs: figures, counts, lists and text.
            for router in whatIfRouters {
                for limit in [nil, 3] as [Int?] {
                    var rows = WhatIfReplay(period: period, router: router, pastRates: catalog.exchangeRates)
                    rows.listLimit = limit
                    var values = rows
                    values.remembersSpendDecisions = false  // and the rows' remembered decisions are the plain ones
                    try await store.addWhatIfJobs(in: period, catalog: catalog, to: &rows)
                    for j in expected { values.add(j) }
                    let a = rows.finish(), b = values.finish()
                    let what = "\(label) \(period.label) whatif \(router.policy.name) list \(limit.map(String.init) ?? "all")"
                    XCTAssertEqual(a, b, what, file: file, line: line)
                    XCTAssertEqual(a.tableText, b.tableText, what, file: file, line: line)
                    XCTAssertEqual(JSONWriter.pretty(a.json), JSONWriter.pretty(b.json), what, file: file, line: line)
                }
            }
        }
    }

    func testTheSummaryGivesWhatTheFoldGivesOnRandomLedgers() async throws {
        var rng = SeededGenerator(seed: 20_261_203)
        for round in 0..<8 {
            let dir = try directory()
            let events = randomEvents(&rng, jobs: Int.random(in: 0...120, using: &rng), round: round)
            // Appended in batches by several stores (as several processes would), with reports read
            // in between: summaries are built, saved with jobs in flight, loaded and continued.
            var at = 0
            var writer = try FileLedgerStore(directory: dir)
            while at < events.count {
                let n = min(events.count - at, Int.random(in: 1...60, using: &rng))
                _ = try await writer.append(Array(events[at..<(at + n)]))
                at += n
                switch Int.random(in: 0..<10, using: &rng) {
                case 0: try await assertSame(try FileLedgerStore(directory: dir), "round \(round) at \(at), a fresh reader")
                case 1: writer.saveSummaries()
                case 2: writer = try FileLedgerStore(directory: dir)
                default: break
                }
            }
            writer.saveSummaries()
            try await assertSame(writer, "round \(round), the writer")
            try await assertSame(try FileLedgerStore(directory: dir), "round \(round), a fresh reader")
        }
    }

    /// Jobs decided more than once: their rows cannot answer a period that starts between the
    /// decisions, nor one that carries a job of their id from the month before, so they are folded
    /// from their lines, in their places, also from summaries loaded from disk by a fresh reader.
    func testJobsDecidedMoreThanOnceAreFoldedFromTheirLines() async throws {
        let apixo = ProviderID("apixo")!, usd = Money(decimal: "0.70", currency: .usd)!
        func t(_ text: String) -> LedgerTime { LedgerTime(text)! }
        func decided(_ id: String, _ time: String, refused: Bool = false) -> LedgerEvent {
            LedgerEvent(time: t(time), jobID: id, provider: refused ? nil : apixo, body: .decided(LedgerDecision(
                behavior: .animate, duration: Seconds(whole: 7), policy: "cheapest", mode: refused ? nil : .standard, resolution: refused ? nil : .p720,
                estimate: refused ? nil : usd, estimateUSD: refused ? nil : usd, refusal: refused ? "the budget refused" : nil,
                reservation: refused ? nil : LedgerBudgetAmount(amount: usd, budgets: [.total]))))
        }
        func intent(_ id: String, _ time: String) -> LedgerEvent {
            LedgerEvent(time: t(time), jobID: id, provider: apixo, body: .submitIntent(mode: .standard, resolution: .p720, attempt: 1))
        }
        func succeeded(_ id: String, _ time: String) -> LedgerEvent {
            LedgerEvent(time: t(time), jobID: id, provider: apixo, taskID: "task-\(id)", body: .succeeded(LedgerSuccess(
                resultURL: nil, cost: usd, costSource: .billingRule, settlement: usd)))
        }
        // Berlin's December starts at 2026-11-30T23:00Z.
        let events = [
            decided("twice", "2026-11-29T12:00:00.000Z"),
            decided("unsure", "2026-11-30T22:00:00.000Z"),
            LedgerEvent(time: t("2026-11-30T22:30:00.000Z"), jobID: "unsure", body: .outcomeUnknown(detail: "no answer")),
            decided("late-refusal", "2026-11-30T22:59:59.900Z"),
            decided("late-refusal", "2026-11-30T23:00:00.100Z", refused: true),
            decided("unsure", "2026-11-30T23:30:00.000Z"),
            decided("between", "2026-11-30T23:35:00.000Z"),
            // Berlin's fold started "unsure" again at 23:30 and ends it here; the file's fold does not.
            decided("unsure", "2026-11-30T23:40:00.000Z", refused: true),
            succeeded("between", "2026-11-30T23:45:00.000Z"),
            succeeded("unsure", "2026-11-30T23:50:00.000Z"),
            decided("twice", "2026-12-02T12:00:00.000Z"), intent("twice", "2026-12-02T12:00:01.000Z"), succeeded("twice", "2026-12-02T12:10:00.000Z"),
        ]
        let dir = try directory()
        let writer = try FileLedgerStore(directory: dir)
        _ = try await writer.append(events)
        writer.saveSummaries()
        try await assertSame(writer, "the writer")
        let reader = try FileLedgerStore(directory: dir)
        try await assertSame(reader, "a fresh reader")
        let berlinJobs = try await summarized(reader, berlin).map { "\($0.id) \($0.status)" }
        XCTAssertEqual(Array(berlinJobs.prefix(3)), ["late-refusal refused", "unsure refused", "between succeeded"])
        let november = try await summarized(reader, try ReportPeriod(month: "2026-11")).first { $0.id == "twice" }
        XCTAssertEqual(november?.status, .succeeded)

        // A short tail on November (one more job, refused): a report first in its process reads the
        // rows without their events' offsets and the ids, and still folds those jobs' lines.
        let small = try FileLedgerStore(directory: dir)
        _ = try await small.append([decided("tail", "2026-11-30T23:56:00.000Z", refused: true)])
        small.saveSummaries(keepingShortTails: true)
        XCTAssertLessThan(try XCTUnwrap(coverage(dir, "2026-11")), try fileSize(dir + "/2026-11.jsonl"))
        for period in [berlin, try ReportPeriod(month: "2026-11")] {
            let expected = try await folded(try FileLedgerStore(directory: dir), period)
            let dims: [ReportDimension] = [.provider, .status]
            let a = try await report(period, rows: try FileLedgerStore(directory: dir), dims)
            let b = try await report(period, rows: nil, jobs: expected, dims)
            XCTAssertEqual(a, b, "report of \(period.label) from the rows and the tail")
        }
    }

    func testTheFixtureLedgerGivesTheSameJobsThroughItsSummary() async throws {
        let dir = try directory()
        try await ReportLedgerFixture.write(to: dir)
        let store = try FileLedgerStore(directory: dir)
        try await assertSame(store, "fixture")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/summaries/jobs-2026-12.bin"))
    }

    /// The summary file's coverage, read from its header.
    func coverage(_ dir: String, _ month: String = "2026-12") -> Int64? {
        JobSummaryFile.open(dir + "/summaries/jobs-\(month).bin", month: LedgerMonth(month)!, calls: POSIXSystemCalls())?.coverage.offset
    }

    func fileSize(_ path: String) throws -> Int64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? -1
    }

    func testADamagedStaleTruncatedOrForeignSummaryIsRebuilt() async throws {
        let dir = try directory()
        try await ReportLedgerFixture.write(to: dir)
        let expected = try await folded(try FileLedgerStore(directory: dir), berlin)
        _ = try await summarized(try FileLedgerStore(directory: dir), berlin)
        let path = dir + "/summaries/jobs-2026-12.bin"
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let ledgerSize = try fileSize(dir + "/2026-12.jsonl")
        XCTAssertEqual(coverage(dir), ledgerSize)

        let other = try directory()
        var rng = SeededGenerator(seed: 7)
        _ = try await FileLedgerStore(directory: other).append(randomEvents(&rng, jobs: 40, round: 99))
        _ = try await summarized(try FileLedgerStore(directory: other), berlin)
        let foreign = try Data(contentsOf: URL(fileURLWithPath: other + "/summaries/jobs-2026-12.bin"))
        var november = try Data(contentsOf: URL(fileURLWithPath: dir + "/summaries/jobs-2026-11.bin"))
        if november.isEmpty { november = Data([1]) }

        var flipped = good
        flipped[good.count / 2] ^= 0x40
        var header = good
        header[20] ^= 1
        // A summary whose checksums hold but whose row names a string that does not exist.
        let opened = try XCTUnwrap(JobSummaryFile.open(path, month: LedgerMonth("2026-12")!, calls: POSIXSystemCalls()))
        var forged = try XCTUnwrap(JobSummaryFile.load(opened, heap: true))
        forged.rows.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(9_999), toByteOffset: JobSummary.Field.policy, as: UInt32.self) }
        let cases: [(String, Data)] = [
            ("a flipped byte", flipped), ("a damaged header", header), ("cut short", good.prefix(good.count - 9)), ("cut to its header", good.prefix(100)),
            ("empty", Data()), ("another ledger's", foreign), ("another month's", november), ("random bytes", Data((0..<4_096).map { _ in UInt8.random(in: 0...255) })),
            ("forged", Data(JobSummaryFile.encode(forged))),
        ]
        for (name, bytes) in cases {
            try bytes.write(to: URL(fileURLWithPath: path))
            let got = try await summarized(try FileLedgerStore(directory: dir), berlin)
            XCTAssertEqual(got, expected, name)
            XCTAssertEqual(coverage(dir), ledgerSize, "\(name): rebuilt and written again")
            var builder = MonthlyReportBuilder(period: berlin, dimensions: [.provider], rates: catalog.exchangeRates)
            try bytes.write(to: URL(fileURLWithPath: path))
            try await FileLedgerStore(directory: dir).addReportJobs(in: berlin, catalog: catalog, to: &builder)
            let want = try await report(berlin, rows: nil, jobs: expected, [.provider]).withoutBudgets
            XCTAssertEqual(try builder.finish(asOf: berlin.end), want, name)
        }

        // A summary of a longer ledger than the file holds now (the file was replaced): rebuilt.
        let store = try FileLedgerStore(directory: dir)
        _ = try await store.append([LedgerEvent(time: LedgerTime(berlin.start.addingTimeInterval(86_400)), jobID: "later", body: .note(text: "x"))])
        _ = try await summarized(store, berlin)
        store.saveSummaries()
        let longer = try Data(contentsOf: URL(fileURLWithPath: path))
        let fresh = try directory()
        try await ReportLedgerFixture.write(to: fresh)
        try FileManager.default.createDirectory(atPath: fresh + "/summaries", withIntermediateDirectories: true)
        try longer.write(to: URL(fileURLWithPath: fresh + "/summaries/jobs-2026-12.bin"))
        let stale = try await summarized(try FileLedgerStore(directory: fresh), berlin)
        XCTAssertEqual(stale, expected, "stale: covers more than the file")
        XCTAssertEqual(coverage(fresh), try fileSize(fresh + "/2026-12.jsonl"))
    }

    func testLinesAnotherProcessAppendedAfterTheSummaryAreFolded() async throws {
        let dir = try directory()
        var rng = SeededGenerator(seed: 11)
        let events = randomEvents(&rng, jobs: 80, round: 1)
        let half = events.count / 2
        let reader = try FileLedgerStore(directory: dir)
        let writer = try FileLedgerStore(directory: dir)
        _ = try await writer.append(Array(events[..<half]))
        writer.saveSummaries()
        let before = try await summarized(reader, berlin)
        // Another store (another process) appends; the reader's summary no longer covers the file.
        let other = try FileLedgerStore(directory: dir)
        _ = try await other.append(Array(events[half...]))
        let after = try await summarized(reader, berlin)
        let want = try await folded(reader, berlin)
        XCTAssertEqual(after, want)
        XCTAssertGreaterThanOrEqual(after.count, before.count)
        // And the first writer, whose own summary is now behind, folds the other's lines before its own.
        _ = try await writer.append([LedgerEvent(time: LedgerTime(berlin.start.addingTimeInterval(3_600)), jobID: "last", body: .note(text: "x"))])
        writer.saveSummaries()
        try await assertSame(try FileLedgerStore(directory: dir), "after both")
        XCTAssertEqual(coverage(dir), try fileSize(dir + "/2026-12.jsonl"))
    }
}

extension JobSummaryTests {
    /// As `run` ends (`keepingShortTails`): a few new lines on a month leave its summary as it was
    /// (the next reader folds them); more than an eighth of the file (or 4 MiB) and it is written.
    func testARunThatAddsLittleLeavesTheSummaryAndTheNextReaderFoldsTheTail() async throws {
        let dir = try directory()
        var rng = SeededGenerator(seed: 41)
        let events = randomEvents(&rng, jobs: 120, round: 3)
        let writer = try FileLedgerStore(directory: dir)
        _ = try await writer.append(Array(events.dropLast(3)))
        writer.saveSummaries(keepingShortTails: true)
        let path = dir + "/summaries/jobs-2026-12.bin"
        let written = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(coverage(dir), try fileSize(dir + "/2026-12.jsonl"), "a new summary is always written")

        // A small run: three more lines.
        let small = try FileLedgerStore(directory: dir)
        _ = try await small.append(Array(events.suffix(3)))
        small.saveSummaries(keepingShortTails: true)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), written, "not rewritten for a short tail")
        XCTAssertLessThan(try XCTUnwrap(coverage(dir)), try fileSize(dir + "/2026-12.jsonl"))
        try await assertSame(try FileLedgerStore(directory: dir), "the tail folded by the reader")
        // A report first in its process reads the rows without the ids and folds the tail into
        // them (whatif with the ids alone): the same figures, and nothing kept or written.
        for period in [berlin, try ReportPeriod(month: "2026-11")] {
            let expected = try await folded(try FileLedgerStore(directory: dir), period)
            let dims: [ReportDimension] = [.provider, .status, .tag("customer")]
            let a = try await report(period, rows: try FileLedgerStore(directory: dir), dims)
            let b = try await report(period, rows: nil, jobs: expected, dims)
            XCTAssertEqual(a, b, "report of \(period.label) from the rows and the tail")
            var rows = WhatIfReplay(period: period, router: whatIfRouters[0], pastRates: catalog.exchangeRates)
            var values = rows
            try await FileLedgerStore(directory: dir).addWhatIfJobs(in: period, catalog: catalog, to: &rows)
            for j in expected { values.add(j) }
            XCTAssertEqual(rows.finish(), values.finish(), "whatif of \(period.label) from the rows and the tail")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), written, "a reader folding a short tail writes nothing")

        // A bigger one: written.
        let big = try FileLedgerStore(directory: dir)
        _ = try await big.append(randomEvents(&rng, jobs: 40, round: 4))
        big.saveSummaries(keepingShortTails: true)
        XCTAssertEqual(coverage(dir), try fileSize(dir + "/2026-12.jsonl"))
        try await assertSame(try FileLedgerStore(directory: dir), "after the bigger run")
    }

    /// What the whole fold says: every job's state, and the unfinished ones in first-seen order.
    func fullFold(_ dir: String) async throws -> JobBook {
        let store = try FileLedgerStore(directory: dir)
        var book = JobBook()
        for m in try await store.months() { try await store.forEachRecord(in: m) { book.apply($0) } }
        return book
    }

    func testOpenJobsAndStatesFromTheSummaryEqualTheFold() async throws {
        var rng = SeededGenerator(seed: 20_261_204)
        for round in 0..<6 {
            let dir = try directory()
            var events = randomEvents(&rng, jobs: Int.random(in: 1...100, using: &rng), round: round)
            // Reservations left open, settled later (in the next month, too), and released.
            let ids = Array(Set(events.map(\.jobID))).sorted()
            for id in ids.prefix(10) {
                let t = LedgerTime(milliseconds: (events.last { $0.jobID == id }?.time.milliseconds ?? 0) + 60_000)
                let amount = LedgerBudgetAmount(amount: Money(decimal: "0.50", currency: .usd)!, budgets: [.total])
                events.append(LedgerEvent(time: t, jobID: id, body: .reserved(amount)))
                if Bool.random(using: &rng) {
                    events.append(LedgerEvent(time: LedgerTime(milliseconds: t.milliseconds + 40 * 86_400_000), jobID: id,
                                              body: Bool.random(using: &rng) ? .settled(Money(decimal: "0.40", currency: .usd)!) : .released(detail: nil)))
                }
            }
            var writer = try FileLedgerStore(directory: dir)
            var at = 0
            while at < events.count {
                let n = min(events.count - at, Int.random(in: 1...50, using: &rng))
                _ = try await writer.append(Array(events[at..<(at + n)]))
                at += n
                if Int.random(in: 0..<5, using: &rng) == 0 {
                    writer.saveSummaries()
                    writer = try FileLedgerStore(directory: dir)
                }
            }
            writer.saveSummaries()
            let book = try await fullFold(dir)
            for store in [writer, try FileLedgerStore(directory: dir)] {
                let open = try await store.openJobs()
                XCTAssertEqual(open, book.unfinished, "round \(round)")
                let asked = Set(ids.shuffled(using: &rng).prefix(20) + ["never-seen", "j\(round)-unknown"])
                let states = try await store.states(of: asked)
                XCTAssertEqual(states, book.states.filter { asked.contains($0.key) }, "round \(round)")
            }
            // A damaged summary: the same answers, from a rebuild.
            for name in try FileManager.default.contentsOfDirectory(atPath: dir + "/summaries") where name.hasPrefix("jobs-") {
                try Data("junk".utf8).write(to: URL(fileURLWithPath: dir + "/summaries/" + name))
            }
            let rebuilt = try await FileLedgerStore(directory: dir).openJobs()
            XCTAssertEqual(rebuilt, book.unfinished, "round \(round), rebuilt")
        }
    }
}

extension MonthlyReport {
    /// The same report without the budgets (a builder made without them).
    var withoutBudgets: MonthlyReport {
        MonthlyReport(period: period, dimensions: dimensions, groups: groups, total: total, byProvider: byProvider, providers: providers,
                      daily: daily, budgets: [], asOf: asOf, conversions: conversions)
    }
}
