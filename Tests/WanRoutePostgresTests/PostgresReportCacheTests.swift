import Foundation
import WanRouteCLI
import WanRouteTestSupport
import WanRouteTesting
import XCTest
@testable import WanRoute
@testable import WanRoutePostgres

/// The report cache in PostgreSQL (`wanroute_report_cache`): the same report again is read from it
/// and prints exactly what the first printed; any event appended to a month the report reads makes
/// the next one add the jobs up again; a row that does not match is ignored and written anew; and
/// a cache that cannot be read or written never fails a report.
final class PostgresReportCacheTests: XCTestCase {
    private func run(_ arguments: [String], _ environment: [String: String]) async -> (code: Int32, out: String, err: String) {
        await runCLI(arguments, environment)
    }

    /// The committed fixture ledger in a fresh database (migrated by `ledger migrate`) and in a file
    /// ledger; `report` in every format that adds jobs up, by the default grouping and by provider
    /// and customer, prints the file ledger's bytes the first time (added up and saved), the second
    /// (read from the cache, the row not written again), after an event was appended to both
    /// ledgers (added up again: the row written anew), and over a damaged or misplaced row.
    func testTheSecondReportIsTheCachesToTheByteAndAnAppendOrADamagedRowIsAddedUpAgain() async throws {
        let server = try PostgresTestServer.shared()
        let database = try server.createDatabase("rcache")
        addTeardownBlock { server.dropDatabase(database) }
        let url = "postgres://wr_scram@127.0.0.1:\(server.port)/\(database)"
        let home = try Repository.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let environment = ["WANROUTE_HOME": home, "PGPASSWORD": PostgresTestServer.scramPassword]
        let migrated = await run(["ledger", "migrate", "--ledger", url], environment)
        XCTAssertEqual(migrated.code, 0, migrated.err)
        let committed = Repository.fixtures.appendingPathComponent("reports/ledger").path
        let files = home + "/files"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: committed) where name.hasSuffix(".jsonl") {
            try FileManager.default.copyItem(atPath: committed + "/" + name, toPath: files + "/" + name)
        }
        let imported = await run(["ledger", "import", committed, "--ledger", url], environment)
        XCTAssertEqual(imported.code, 0, imported.err)
        let owner = try PostgresConnection.connect(server.tcp(user: "wr_scram", password: PostgresTestServer.scramPassword, database: database))
        defer { owner.close() }
        /// Each row's key and the transaction that last wrote it.
        func rows() throws -> [String: String] {
            Dictionary(uniqueKeysWithValues: try owner.query("SELECT encode(key, 'hex'), xmin::text FROM wanroute_report_cache").rows.map {
                (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1))
            })
        }

        let policy = Repository.fixtures.appendingPathComponent("reports/studio.json").path
        var commands: [[String]] = []
        for grouping in ["provider", "provider,tag:customer"] {
            for format in ["table", "json", "csv", "md", "html"] {
                commands.append(["report", "--month", "2026-12", "--tz", "Asia/Shanghai", "--policy", policy, "--as-of", "2026-12-20T12:00:00Z",
                                 "--group-by", grouping, "--format", format])
            }
        }
        /// Each command's output from the file ledger, checked against PostgreSQL's.
        func fromFiles() async -> [String] {
            var outputs: [String] = []
            for command in commands {
                let r = await run(command + ["--ledger", files], environment)
                XCTAssertEqual(r.code, 0, "\(command): \(r.err)")
                XCTAssertFalse(r.out.isEmpty, "\(command)")
                outputs.append(r.out)
            }
            return outputs
        }
        func fromPostgres(_ label: String, _ want: [String]) async {
            for (command, expected) in zip(commands, want) {
                let r = await run(command + ["--ledger", url], environment)
                XCTAssertEqual(r.code, 0, "\(label) \(command): \(r.err)")
                XCTAssertEqual(r.out, expected, "\(label) \(command)")
                XCTAssertEqual(r.err, "", "\(label) \(command)")
            }
        }

        let want = await fromFiles()
        XCTAssertEqual(try rows().count, 0)
        await fromPostgres("added up", want)
        let saved = try rows()
        XCTAssertEqual(saved.count, 2, "one row per query: the format is not part of it")
        await fromPostgres("from the cache", want)
        XCTAssertEqual(try rows(), saved, "read, not written again")
        // From here on one format per query (each in-process run leaves its pool's connection open
        // until the test's database is dropped, and the test server allows 60).
        commands = commands.filter { ($0.last == "table" && $0.contains("provider")) || ($0.last == "json" && $0.contains("provider,tag:customer")) }
        let wantShort = await fromFiles()
        XCTAssertEqual(wantShort.count, 2)

        // One more job in the month, in both ledgers: the report changes, and the cache does not hide it.
        let late = LedgerStoreConformance.lifecycle("late job", from: LedgerTime("2026-12-18T08:00:00.000Z")!)
        _ = try await FileLedgerStore(directory: files).append(late)
        let pool = PostgresPool(configuration: server.tcp(user: "wr_scram", password: PostgresTestServer.scramPassword, database: database),
                                maximumConnections: 1)
        defer { pool.close() }
        _ = try await PostgresLedgerStore(pool: pool).append(late)
        let afterAppend = await fromFiles()
        XCTAssertNotEqual(afterAppend, wantShort, "the appended job shows in the reports")
        await fromPostgres("after an append", afterAppend)
        let rewritten = try rows()
        XCTAssertEqual(Set(rewritten.keys), Set(saved.keys), "the same queries")
        XCTAssertTrue(rewritten.allSatisfy { saved[$0.key] != $0.value }, "each written anew")
        await fromPostgres("after an append, from the cache", afterAppend)
        XCTAssertEqual(try rows(), rewritten)

        // Any event, even one no report counts (a note), makes the next report add the jobs up again.
        let note = [LedgerEvent(time: LedgerTime("2026-12-19T08:00:00.000Z")!, jobID: "late job", body: .note(text: "checked"))]
        _ = try await FileLedgerStore(directory: files).append(note)
        _ = try await PostgresLedgerStore(pool: pool).append(note)
        await fromPostgres("after a note", afterAppend)
        let afterNote = try rows()
        XCTAssertTrue(afterNote.allSatisfy { rewritten[$0.key] != $0.value }, "each written anew after a note")

        // Garbage in every row's body, then every row holding another query's aggregates: ignored,
        // the report added up, the row replaced by one that is read again.
        for (label, damage) in [("garbage", "UPDATE wanroute_report_cache SET body = '\\x0001ff'::bytea"),
                                ("another query's row", "UPDATE wanroute_report_cache c SET body = (SELECT body FROM wanroute_report_cache o WHERE o.key <> c.key)")] {
            try owner.query(damage)
            let damaged = try rows()
            await fromPostgres(label, afterAppend)
            let replaced = try rows()
            XCTAssertTrue(replaced.allSatisfy { damaged[$0.key] != $0.value }, "\(label): each row written anew")
            await fromPostgres("\(label), then from the cache", afterAppend)
            XCTAssertEqual(try rows(), replaced, "\(label): the new rows are read")
        }
        XCTAssertEqual(try owner.query("SELECT count(*) FROM wanroute_report_cache WHERE octet_length(body) < 100").rows[0].decode(Int.self, at: 0), 0)

        // Emptied (it is derived): the next report adds up and saves again.
        try owner.query("TRUNCATE wanroute_report_cache")
        await fromPostgres("after TRUNCATE", afterAppend)
        XCTAssertEqual(try rows().count, 2)
    }

    /// A row forged for the query (well formed, its retries 777,000) is what the store reads while
    /// the ledger's identity matches, and only for its own query and ledger; a role that may not
    /// write the cache, and a schema before migration 3 (no cache table), get the ledger's report.
    func testTheStoreReadsOnlyAMatchingRowAndNeverFailsOverTheCache() async throws {
        let server = try PostgresTestServer.shared()
        let owner = PostgresPool(configuration: server.tcp(user: "wr_scram", password: PostgresTestServer.scramPassword), maximumConnections: 2)
        defer { owner.close() }
        let schema = PostgresTestServer.uniqueTable("rcache")
        try await owner.withConnection { connection in
            _ = try connection.query("CREATE SCHEMA \(schema)")
            _ = try PostgresLedgerStore.migrate(connection, schema: schema, grantTo: "wr_password")
        }
        let store = PostgresLedgerStore(pool: owner, schema: schema)
        _ = try await store.append(ReportLedgerFixture.events)
        let catalog = ReportFixture.catalog, period = ReportFixture.period
        func builder() -> MonthlyReportBuilder {
            MonthlyReportBuilder(period: period, dimensions: [.provider, .tag("customer")], rates: catalog.exchangeRates, budgets: ReportFixture.policy.budgets)
        }
        func report(_ store: PostgresLedgerStore) async throws -> MonthlyReport {
            var b = builder()
            try await store.addReportJobs(in: period, catalog: catalog, to: &b)
            return try b.finish(spend: ReportFixture.spend, asOf: ReportFixture.asOf)
        }
        func folded() async throws -> MonthlyReport {
            var b = builder()
            try await store.foldReportJobsFromRecords(in: period, catalog: catalog) { b.add($0) }
            return try b.finish(spend: ReportFixture.spend, asOf: ReportFixture.asOf)
        }
        func count() async throws -> Int {
            try await owner.withConnection { try $0.query("SELECT count(*) FROM \(schema).wanroute_report_cache").rows[0].decode(Int.self, at: 0) }
        }
        let want = try await folded()
        let first = try await report(store)
        XCTAssertEqual(first, want, "added up")
        let saved = try await count()
        XCTAssertEqual(saved, 1)

        let key = try XCTUnwrap(ReportCacheFile.key(builder(), catalog: catalog))
        let identity = try await store.reportLedgerIdentity(period)
        XCTAssertEqual(identity.count, 4 + LedgerReportFold.months(for: period).count * 48, "count, then month, last sequence and its line's SHA-256 per UTC month read")
        var forged = builder()
        try await store.foldReportJobsFromRecords(in: period, catalog: catalog) { forged.add($0) }
        forged.total.t.retries = 777_000
        forged.compactTimes()
        let body = ReportCacheFile.encode(forged, key: key, identity: identity)
        try await owner.withConnection { _ = try $0.query("UPDATE \(schema).wanroute_report_cache SET body = $1", [.bytes(body)]) }
        let read = try await report(store)
        XCTAssertEqual(read.total.retries, 777_000, "the matching row is read")
        var utc = MonthlyReportBuilder(period: try ReportPeriod(month: "2026-12"), dimensions: [.provider, .tag("customer")], rates: catalog.exchangeRates)
        try await store.addReportJobs(in: utc.period, catalog: catalog, to: &utc)
        XCTAssertNotEqual(utc.total.t.retries, 777_000, "another query does not read it")
        let savedBoth = try await count()
        XCTAssertEqual(savedBoth, 2)

        // Another event in the month: the forged row's identity no longer matches.
        _ = try await store.append([LedgerEvent(time: LedgerTime("2026-12-10T00:00:00.000Z")!, jobID: "noted", body: .note(text: "x"))])
        let changed = try await store.reportLedgerIdentity(period)
        XCTAssertNotEqual(changed, identity)
        let afterNote = try await report(store)
        XCTAssertEqual(afterNote, want, "added up again (a note counts for nothing)")

        // The last event replaced by another under its number (only with the append-only trigger
        // switched off): the same last sequence, and still another identity.
        let events = "\(schema).wanroute_ledger_events"
        try await owner.withConnection { connection in
            _ = try connection.query("ALTER TABLE \(events) DISABLE TRIGGER wanroute_ledger_append_only")
            _ = try connection.query("DELETE FROM \(events) WHERE month = '2026-12' AND sequence = (SELECT max(sequence) FROM \(events) WHERE month = '2026-12')")
            _ = try connection.query("ALTER TABLE \(events) ENABLE TRIGGER wanroute_ledger_append_only")
        }
        _ = try await store.append([LedgerEvent(time: LedgerTime("2026-12-10T00:00:00.000Z")!, jobID: "noted", body: .note(text: "replaced"))])
        let replaced = try await store.reportLedgerIdentity(period)
        XCTAssertNotEqual(replaced, changed)
        XCTAssertEqual(replaced.count, changed.count)
        let sequences = { (identity: [UInt8]) in stride(from: 4, to: identity.count, by: 48).map { identity[($0 + 8)..<($0 + 16)] } }
        XCTAssertEqual(sequences(replaced), sequences(changed), "the same last sequences")

        // A role that may read the cache but not write it: the ledger's report, and the row stays.
        try await owner.withConnection { _ = try $0.query("REVOKE INSERT, UPDATE ON \(schema).wanroute_report_cache FROM wr_password") }
        let runtime = PostgresPool(configuration: server.tcp(user: "wr_password", password: PostgresTestServer.cleartextPassword), maximumConnections: 2)
        defer { runtime.close() }
        _ = try await store.append([LedgerEvent(time: LedgerTime("2026-12-11T00:00:00.000Z")!, jobID: "noted", body: .note(text: "y"))])
        let unsaved = try await report(PostgresLedgerStore(pool: runtime, schema: schema))
        XCTAssertEqual(unsaved, want, "not saved, not failed")

        // A schema at version 2 (no cache table): reports as before.
        try await owner.withConnection { _ = try $0.query("DROP TABLE \(schema).wanroute_report_cache") }
        for label in ["no cache table", "no cache table, again"] {
            let got = try await report(store)
            XCTAssertEqual(got, want, label)
        }
    }
}
