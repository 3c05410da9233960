import Foundation
import WanRoute
import WanRouteTestSupport
import WanRouteTesting
import XCTest
@testable import WanRoutePostgres

/// The PostgreSQL ledger store against the ledger's conformance suite and its own guarantees.
final class PostgresLedgerStoreTests: XCTestCase {
    private var server: PostgresTestServer!

    override func setUpWithError() throws {
        server = try PostgresTestServer.shared()
    }

    private func pool(user: String = "wr_scram", password: String = PostgresTestServer.scramPassword) -> PostgresPool {
        PostgresPool(configuration: server.tcp(user: user, password: password), maximumConnections: 4)
    }

    /// A fresh schema with the ledger's tables, owned by wr_scram.
    private func freshSchema(_ pool: PostgresPool, grantTo role: String? = nil) async throws -> String {
        let schema = PostgresTestServer.uniqueTable("ledger")
        try await pool.withConnection { connection in
            _ = try connection.query("CREATE SCHEMA \(schema)")
            _ = try PostgresLedgerStore.migrate(connection, schema: schema, grantTo: role)
        }
        return schema
    }

    func testConformance() async throws {
        let pool = pool()
        defer { pool.close() }
        let failures = await LedgerStoreConformance.run {
            PostgresLedgerStore(pool: pool, schema: try await self.freshSchema(pool))
        }
        XCTAssertEqual(failures, [])
    }

    /// The report check with the edge cases the file store's summary does not yet answer as the fold does.
    func testReportJobsAreTheFoldsOnEveryEdgeCase() async throws {
        let pool = pool()
        defer { pool.close() }
        let failures = await LedgerStoreConformance.runReportCheckWithEveryEdgeCase {
            PostgresLedgerStore(pool: pool, schema: try await self.freshSchema(pool))
        }
        XCTAssertEqual(failures, [])
    }

    /// The job summary is written with the events; a month whose events got ahead of it (written by
    /// an older wanroute) is left alone by writers and folded by the next reader; a role that may not
    /// update it reads the events instead; a damaged row is a clear error.
    func testTheJobSummaryKeepsUpCatchesUpAndFallsBack() async throws {
        typealias C = LedgerStoreConformance
        let owner = pool()
        defer { owner.close() }
        let schema = try await freshSchema(owner, grantTo: "wr_password")
        let store = PostgresLedgerStore(pool: owner, schema: schema)
        let catalog = try PriceCatalog.builtIn()
        let period = try ReportPeriod(month: "2026-12")
        func reportJobs(_ store: PostgresLedgerStore) async throws -> [ReportJob] {
            var jobs: [ReportJob] = []
            try await store.forEachReportJob(in: period, catalog: catalog) { jobs.append($0) }
            return jobs
        }
        func folded() async throws -> [ReportJob] {
            var jobs: [ReportJob] = []
            try await store.foldReportJobsFromRecords(in: period, catalog: catalog) { jobs.append($0) }
            return jobs
        }
        func scalar(_ sql: String) async throws -> Int64 {
            try await owner.withConnection { try $0.query(sql).rows[0].decode(Int64.self, at: 0) }
        }
        let jobs = "\(schema).wanroute_ledger_jobs", coverage = "\(schema).wanroute_ledger_job_coverage"

        _ = try await store.append(C.lifecycle("a") + Array(C.lifecycle("b", from: C.at(100)).prefix(4)))
        let rows1 = try await scalar("SELECT count(*) FROM \(jobs)")
        let covered1 = try await scalar("SELECT last_sequence FROM \(coverage)")
        let open1 = try await scalar("SELECT count(*) FROM \(jobs) WHERE open")
        XCTAssertEqual([rows1, covered1, open1], [2, 11, 1], "one row per job, every event covered, b still open")

        // An older wanroute's events: the coverage falls behind; writers leave the month to readers.
        try await owner.withConnection { _ = try $0.query("UPDATE \(coverage) SET last_sequence = 5") }
        _ = try await store.append(C.lifecycle("c", from: C.at(200)))
        let behind = try await scalar("SELECT last_sequence FROM \(coverage)")
        XCTAssertEqual(behind, 5)
        let readOnly = PostgresPool(configuration: server.tcp(user: "wr_password", password: PostgresTestServer.cleartextPassword), maximumConnections: 2)
        defer { readOnly.close() }
        try await owner.withConnection { _ = try $0.query("REVOKE UPDATE ON \(jobs) FROM wr_password") }
        let fromEvents = try await reportJobs(PostgresLedgerStore(pool: readOnly, schema: schema))
        let expected = try await folded()
        XCTAssertEqual(expected.map(\.id), ["a", "c", "b"])
        XCTAssertEqual(fromEvents, expected, "a role that may not update the summary reads the events")
        let stillBehind = try await scalar("SELECT last_sequence FROM \(coverage)")
        XCTAssertEqual(stillBehind, 5)
        let caughtUp = try await reportJobs(store)
        XCTAssertEqual(caughtUp, expected)
        let covered2 = try await scalar("SELECT last_sequence FROM \(coverage)")
        XCTAssertEqual(covered2, 18, "the reader folded the events after the coverage")
        let open = try await store.openJobs()
        XCTAssertEqual(open.map(\.id), ["b"])

        try await owner.withConnection { _ = try $0.query("UPDATE \(jobs) SET fold = '\\x0102'::bytea WHERE job_id = 'c'") }
        do {
            _ = try await reportJobs(store)
            XCTFail("a damaged summary row was read")
        } catch let error as LedgerError {
            XCTAssertTrue("\(error)".contains("wanroute_ledger_jobs"), "\(error)")
        }
    }

    /// A reader that folded a big budget month saves its tally; a new process starts from it and
    /// folds only what came after, with the same state; a damaged checkpoint is ignored.
    func testBudgetCheckpointsSpareANewProcessTheMonthAndNeverChangeTheAnswer() async throws {
        typealias C = LedgerStoreConformance
        let pool = pool()
        defer { pool.close() }
        let schema = try await freshSchema(pool)
        let month = BudgetMonth(C.t0.month)
        let events = (0..<Int(PostgresLedgerStore.checkpointEvery) + 10).map { C.reserved("job-\($0 / 2)", C.at(Int64($0)), $0 % 2 == 0 ? "0.01" : "0.02") }
        _ = try await PostgresLedgerStore(pool: pool, schema: schema).append(events)
        let first = try await PostgresLedgerStore(pool: pool, schema: schema).budgetState(for: month)
        let saved = try await pool.withConnection { try $0.query("SELECT folded FROM \(schema).wanroute_ledger_budget_checkpoints").rows.map { try $0.decode(String.self, at: 0) } }
        XCTAssertEqual(saved, ["2026-12=\(events.count)"])
        _ = try await PostgresLedgerStore(pool: pool, schema: schema).append([C.settled("job-0", C.at(90_000), "0.03")])
        let later = try await PostgresLedgerStore(pool: pool, schema: schema).budgetState(for: month)
        var fold = BudgetTally(month: month)
        for e in events + [C.settled("job-0", C.at(90_000), "0.03")] { fold.apply(e) }
        XCTAssertEqual(later, fold.state, "the checkpoint and the events after it")
        XCTAssertNotEqual(first, later)
        XCTAssertEqual(BudgetTally(encoded: fold.encoded(), month: month), fold)
        try await pool.withConnection { _ = try $0.query("UPDATE \(schema).wanroute_ledger_budget_checkpoints SET tally = '\\x01ff'::bytea") }
        let despiteDamage = try await PostgresLedgerStore(pool: pool, schema: schema).budgetState(for: month)
        XCTAssertEqual(despiteDamage, fold.state)
    }

    func testAppendOnlyEvenForTheOwnerAndARoleWithOnlySelectAndInsertSuffices() async throws {
        let owner = pool()
        defer { owner.close() }
        let schema = try await freshSchema(owner, grantTo: "wr_password")
        let runtime = pool(user: "wr_password", password: PostgresTestServer.cleartextPassword)
        defer { runtime.close() }
        let store = PostgresLedgerStore(pool: runtime, schema: schema)
        let t0 = LedgerStoreConformance.t0
        let written = try await store.append(LedgerStoreConformance.lifecycle("job-1"))
        XCTAssertEqual(written.map(\.sequence), Array(1...7))
        let limits = [BudgetLimit(budgetID: "all", key: .total, monthly: LedgerStoreConformance.usd("2.00"))]
        let outcome = try await store.reserve(ReservationRequest(
            event: LedgerStoreConformance.reserved("job-2", LedgerStoreConformance.at(100), "0.50"), limits: limits, month: BudgetMonth(t0.month)))
        guard case .reserved = outcome else { return XCTFail("\(outcome)") }

        for (pool, who) in [(runtime, "the runtime role"), (owner, "the owner")] {
            for statement in ["UPDATE \(schema).wanroute_ledger_events SET job_id = 'x'", "DELETE FROM \(schema).wanroute_ledger_events",
                              "TRUNCATE \(schema).wanroute_ledger_events"] {
                do {
                    try await pool.withConnection { _ = try $0.query(statement) }
                    XCTFail("\(who): \(statement) was allowed")
                } catch {
                    XCTAssertEqual((error as? PostgresError)?.sqlState, "42501", "\(who): \(statement): \(error)")
                }
            }
        }
        let count = try await store.records(in: t0.month).count
        XCTAssertEqual(count, 8)
        // Migrating again changes nothing.
        let again = try await owner.withConnection { try PostgresLedgerStore.migrate($0, schema: schema) }
        XCTAssertEqual(again, [])
    }

    /// Two stores on one schema stand for two machines: each keeps its own folded tally and must
    /// still see every reservation the other committed.
    func testStoresWithSeparateCachesNeverOvershootTogether() async throws {
        let pool = pool()
        defer { pool.close() }
        let schema = try await freshSchema(pool)
        let a = PostgresLedgerStore(pool: pool, schema: schema)
        let b = PostgresLedgerStore(pool: pool, schema: schema)
        let month = BudgetMonth(LedgerStoreConformance.t0.month)
        let limits = [BudgetLimit(budgetID: "all", key: .total, monthly: LedgerStoreConformance.usd("2.00"))]
        func request(_ job: String, _ amount: String, _ second: Int64) -> ReservationRequest {
            ReservationRequest(event: LedgerStoreConformance.reserved(job, LedgerStoreConformance.at(second), amount), limits: limits, month: month)
        }
        var admitted: [String] = []
        for (store, job, amount) in [(a, "a1", "0.50"), (b, "b1", "1.00"), (a, "a2", "0.60"), (b, "b2", "0.50"), (a, "a3", "0.40"), (b, "b3", "0.01")] {
            if case .reserved = try await store.reserve(request(job, amount, Int64(admitted.count))) { admitted.append(job) }
        }
        XCTAssertEqual(admitted, ["a1", "b1", "b2"], "a2 and a3 are refused only if store a sees the reservations b committed")
        let state = try await a.budgetState(for: month)
        XCTAssertEqual(state.committed(.total), LedgerStoreConformance.usd("2.00"))
    }

    /// Concurrent callers share transactions (group commit) and every guarantee holds: each call's
    /// events contiguous and in order, one unbroken sequence, reservations checked one after the
    /// other inside a batch so that together they never pass the limit, and settlements in the same
    /// batch counted.
    func testConcurrentCallersShareCommitsAndKeepEveryGuarantee() async throws {
        typealias C = LedgerStoreConformance
        let pool = pool()
        defer { pool.close() }
        let schema = try await freshSchema(pool)
        let store = PostgresLedgerStore(pool: pool, schema: schema)
        let month = BudgetMonth(C.t0.month)
        let limits = [BudgetLimit(budgetID: "all", key: .total, monthly: C.usd("50.00"))]
        // 30 reservations of USD 1.00 first; then, all at once, 150 reservations of USD 0.70 beside
        // 150 three-event appends, 30 of which settle one of the first jobs at USD 0.50.
        for i in 0..<30 {
            guard case .reserved = try await store.reserve(ReservationRequest(event: C.reserved("early-\(i)", C.at(Int64(i)), "1.00"), limits: limits, month: month)) else {
                return XCTFail("the early reservations fit")
            }
        }
        let outcomes = try await withThrowingTaskGroup(of: (String, [LedgerRecord]?).self) { group in
            for i in 0..<150 {
                group.addTask {
                    let job = "r-\(i)"
                    let intent = LedgerEvent(time: C.at(100 + Int64(i)), jobID: job, provider: C.apixo, body: .submitIntent(mode: .standard, resolution: .p720, attempt: 1))
                    let outcome = try await store.reserve(ReservationRequest(event: C.reserved(job, C.at(100 + Int64(i)), "0.70"), limits: limits, month: month,
                                                                             following: [intent]))
                    if case .reserved(let records) = outcome { return (job, records) }
                    return (job, nil)
                }
                group.addTask {
                    let job = "a-\(i)"
                    var events = [C.decided(job, C.at(100 + Int64(i))), C.decided(job, C.at(101 + Int64(i))), C.decided(job, C.at(102 + Int64(i)))]
                    if i < 30 { events[2] = C.settled("early-\(i)", C.at(102 + Int64(i)), "0.50") }
                    return (job, try await store.append(events))
                }
            }
            var all: [(String, [LedgerRecord]?)] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        // Before any settlement 20.00 is left (28 fit); after all of them 35.00 (50 fit): how many
        // fit depends on when the settlements landed, and never more than 50.
        let admitted = outcomes.filter { $0.0.hasPrefix("r-") && $0.1 != nil }.count
        XCTAssertGreaterThanOrEqual(admitted, 28)
        XCTAssertLessThanOrEqual(admitted, 50)
        let state = try await store.budgetState(for: month)
        XCTAssertLessThanOrEqual(state.committed(.total).nanos, C.usd("50.00").nanos)
        XCTAssertEqual(state.committed(.total), Money(nanos: C.usd("15.00").nanos + Int64(admitted) * C.usd("0.70").nanos, currency: .usd))

        let records = try await store.records(in: C.t0.month)
        XCTAssertEqual(records.map(\.sequence), Array(1...Int64(records.count)), "one unbroken sequence")
        XCTAssertEqual(records.count, 30 + 150 * 3 + admitted * 2)
        for (job, written) in outcomes {
            guard let written else { continue }
            let sequences = written.map(\.sequence)
            XCTAssertEqual(sequences, Array(sequences[0]..<(sequences[0] + Int64(sequences.count))), "\(job)'s events are contiguous")
            XCTAssertEqual(written.map { records[Int($0.sequence) - 1] }, written, "\(job): read back as recorded")
        }
        // The rows' inserting transactions: far fewer than the 300 calls.
        let transactions = try await pool.withConnection { connection in
            try connection.query("SELECT count(DISTINCT xmin::text) FROM \(schema).wanroute_ledger_events WHERE sequence > 30").rows[0].decode(Int.self, at: 0)
        }
        XCTAssertLessThan(transactions, 150, "concurrent appends and reservations share commits")
        print("group commit: 300 concurrent calls in \(transactions) transactions, \(admitted) of 150 reservations admitted")
    }

    /// A month with more budget events than one page: a new process's budget state and first
    /// reservation read them a page at a time (a reply is bounded; a month may hold millions).
    func testBudgetsOfAMonthLargerThanAPageAreFoldedAPageAtATime() async throws {
        typealias C = LedgerStoreConformance
        let pool = pool()
        defer { pool.close() }
        let schema = try await freshSchema(pool)
        let count = PostgresLedgerStore.pageSize * 2 + 7
        let events = (0..<count).map { C.reserved("job-\($0)", C.at(Int64($0)), "0.01") }
        _ = try await PostgresLedgerStore(pool: pool, schema: schema).append(events)
        let month = BudgetMonth(C.t0.month)
        let expected = Money(nanos: Int64(count) * C.usd("0.01").nanos, currency: .usd)
        let state = try await PostgresLedgerStore(pool: pool, schema: schema).budgetState(for: month)
        XCTAssertEqual(state.committed(.total), expected)
        let limits = [BudgetLimit(budgetID: "all", key: .total, monthly: expected + C.usd("0.50"))]
        let fresh = PostgresLedgerStore(pool: pool, schema: schema)
        let fits = try await fresh.reserve(ReservationRequest(event: C.reserved("fits", C.at(20_000), "0.50"), limits: limits, month: month))
        guard case .reserved = fits else { return XCTFail("\(fits): the month's \(count) reservations are \(expected)") }
        let over = try await fresh.reserve(ReservationRequest(event: C.reserved("over", C.at(20_001), "0.01"), limits: limits, month: month))
        guard case .refused = over else { return XCTFail("\(over)") }
    }

    /// `states(of:)` reads the named jobs through the index by job, whatever their ids hold, and
    /// answers as folding the whole ledger does; `months()` finds every month.
    func testStatesOfJobsAndMonthsComeFromTheIndexesWithTheFoldsAnswers() async throws {
        typealias C = LedgerStoreConformance
        let pool = pool()
        defer { pool.close() }
        let store = PostgresLedgerStore(pool: pool, schema: try await freshSchema(pool))
        let weird = ["a,b", "{c}", "d\"e", "f\\g", "NULL", " h ", "jöb"]
        for (index, job) in weird.enumerated() {
            _ = try await store.append(Array(C.lifecycle(job, from: C.at(Int64(index) * 100)).prefix(index % 2 == 0 ? 7 : 3)))
        }
        let november = LedgerTime("2026-11-30T23:00:00.000Z")!
        _ = try await store.append(C.lifecycle("november", from: november))
        var book = JobBook()
        for month in try await store.months() {
            for record in try await store.records(in: month) { book.apply(record) }
        }
        let asked = Set(weird + ["november", "absent", "a", "b"])
        let states = try await store.states(of: asked)
        XCTAssertEqual(Set(states.keys), Set(weird + ["november"]))
        XCTAssertEqual(states, book.states)
        let months = try await store.months()
        XCTAssertEqual(months, [november.month, C.t0.month])
    }

    func testAFailedWriteStopsTheStore() async throws {
        let pool = pool()
        defer { pool.close() }
        let schema = try await freshSchema(pool)
        let store = PostgresLedgerStore(pool: pool, schema: schema)
        _ = try await store.append([LedgerStoreConformance.decided("a", LedgerStoreConformance.t0)])
        try await pool.withConnection { _ = try $0.query("ALTER TABLE \(schema).wanroute_ledger_events ADD CONSTRAINT no_b CHECK (job_id <> 'b')") }
        do {
            _ = try await store.append([LedgerStoreConformance.decided("b", LedgerStoreConformance.t0)])
            XCTFail("the append should fail")
        } catch {
            guard case .writeFailed? = error as? LedgerError else { return XCTFail("\(error)") }
            XCTAssertFalse("\(error)".contains(PostgresTestServer.scramPassword))
        }
        do {
            _ = try await store.append([LedgerStoreConformance.decided("c", LedgerStoreConformance.t0)])
            XCTFail("a stopped store must refuse writes")
        } catch {
            guard case .stopped? = error as? LedgerError else { return XCTFail("\(error)") }
        }
        let ids = try await store.records(in: LedgerStoreConformance.t0.month).map(\.event.jobID)
        XCTAssertEqual(ids, ["a"])
    }
}
