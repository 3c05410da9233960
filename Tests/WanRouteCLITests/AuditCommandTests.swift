import Foundation
import WanRoute
import WanRouteTestSupport
import XCTest

/// `report`, `reconcile` and `whatif` over the committed fixture ledger
/// (`Tests/Fixtures/reports/ledger`, the report fixture month as the real file store writes it).
final class AuditCommandTests: XCTestCase {
    static let committed = Repository.fixtures.appendingPathComponent("reports/ledger")

    /// A fresh WANROUTE_HOME holding a copy of the committed ledger (the store writes its lock and
    /// summaries beside the month files, and the committed ones must stay as they are).
    func home() throws -> URL {
        let home = try Repository.temporaryDirectory()
        let ledger = home.appendingPathComponent("ledger")
        try FileManager.default.createDirectory(at: ledger, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.committed.path) where name.hasSuffix(".jsonl") {
            try FileManager.default.copyItem(at: Self.committed.appendingPathComponent(name), to: ledger.appendingPathComponent(name))
        }
        return home
    }

    func run(_ arguments: [String]) async throws -> CLIRunner.Result {
        let home = try home()
        defer { try? FileManager.default.removeItem(at: home) }
        return try await CLIRunner.run(arguments, in: Repository.root, environment: ["WANROUTE_HOME": home.path])
    }

    let month = ["--month", "2026-12", "--tz", "Asia/Shanghai"]

    /// The committed ledger holds schema version 1 lines, as users' older ledgers do, so every
    /// report golden below is also a test that version 1 still reads. Its events are exactly those
    /// the writer writes now (in version 4).
    func testTheCommittedLedgerHoldsWhatTheWriterWrites() async throws {
        let dir = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await ReportLedgerFixture.write(to: dir.path)
        let written = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".jsonl") }.sorted()
        XCTAssertEqual(written, ["2026-11.jsonl", "2026-12.jsonl"])
        func records(_ url: URL) throws -> [LedgerMonth: [LedgerRecord]] {
            try LedgerImport.records(Array(try Data(contentsOf: url)), file: url.path)
        }
        for name in written {
            let fresh = dir.appendingPathComponent(name), committed = Self.committed.appendingPathComponent(name)
            XCTAssertTrue(try String(contentsOf: fresh, encoding: .utf8).hasPrefix(#"{"v":4,"#))
            XCTAssertTrue(try String(contentsOf: committed, encoding: .utf8).hasPrefix(#"{"v":1,"#))
            XCTAssertEqual(try records(fresh), try records(committed), "\(name): the committed version 1 lines differ from the writer's events")
        }
    }

    /// The same month written now, in version 2, gives the same report byte for byte.
    func testTheReportOfTheVersion2LedgerIsTheSame() async throws {
        let home = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: home) }
        try await ReportLedgerFixture.write(to: home.appendingPathComponent("ledger").path)
        let r = try await CLIRunner.run(["report"] + month + ["--policy", "Tests/Fixtures/reports/studio.json", "--as-of", "2026-12-20T12:00:00Z",
                                         "--group-by", "provider,tag:customer"],
                                        in: Repository.root, environment: ["WANROUTE_HOME": home.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        assertGolden(r.stdout, named: "cli-report.txt")
    }

    /// Each format twice in one home: the first adds the month up (and caches its aggregates in
    /// `summaries/report-*.bin`), the second renders from that cache; both byte for byte the golden.
    func testReportInEveryFormat() async throws {
        let base = ["report"] + month + ["--policy", "Tests/Fixtures/reports/studio.json", "--as-of", "2026-12-20T12:00:00Z"]
        for (format, golden) in [("table", "cli-report.txt"), ("json", "cli-report.json"), ("csv", "cli-report.csv"), ("md", "cli-report.md"),
                                 ("html", "cli-report.html"), ("focus", "cli-report-focus.csv")] {
            let home = try home()
            defer { try? FileManager.default.removeItem(at: home) }
            for pass in ["added up", "from the cache"] {
                let r = try await CLIRunner.run(base + ["--group-by", "provider,tag:customer", "--format", format], in: Repository.root,
                                                environment: ["WANROUTE_HOME": home.path])
                XCTAssertEqual(r.status, 0, "\(format), \(pass): \(r.stderr)")
                assertGolden(r.stdout, named: golden)
            }
            let caches = try FileManager.default.contentsOfDirectory(atPath: home.path + "/ledger/summaries").filter { $0.hasPrefix("report-2026-12-") }
            XCTAssertEqual(caches.count, format == "focus" ? 0 : 1, "\(format): \(caches)")
        }
    }

    func testReportFiguresFromTheLedger() async throws {
        let r = try await run(["report"] + month + ["--format", "json", "--as-of", "2026-12-20T12:00:00Z"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"actual_unknown_jobs\": 3"), "three jobs of unknown cost, counted")
        XCTAssertTrue(r.stdout.contains("\"jobs\": 19"))
        // The FOCUS export of the ledger has the library's rows for the same month (in the order
        // the jobs ended, which is how the ledger hands them on).
        let focus = try await run(["report"] + month + ["--format", "focus"])
        let export = FOCUSExport(period: ReportFixture.period, catalog: ReportFixture.catalog)
        let expected = ReportFixture.jobs.map { export.rows(for: $0) }.joined()
        XCTAssertTrue(focus.stdout.hasPrefix(export.header))
        XCTAssertEqual(focus.stdout.dropFirst(export.header.count).split(separator: "\r\n").sorted(), expected.split(separator: "\r\n").sorted())
    }

    func testReconcileExplainsEverythingAndExitsZero() async throws {
        let r = try await run(["reconcile"] + month)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("pricing/dashscope-intl.json says USD 0.12/s; 2 jobs since 2026-12-03 billed USD 0.13/s"))
        assertGolden(r.stdout, named: "cli-reconcile.txt")
    }

    func testReconcileExitsOneWhenABillIsUnexplained() async throws {
        let home = try home()
        defer { try? FileManager.default.removeItem(at: home) }
        // One more job: APIXO billed USD 0.43 for a job its rule prices at USD 0.40.
        var job = try XCTUnwrap(ReportFixture.jobs.first { $0.id == "j19-late" })
        job.id = "j21-overbilled"
        job.taskID = "task-j21-overbilled"
        job.actualCost = ReportFixture.usd("0.43")
        let store = try FileLedgerStore(directory: home.appendingPathComponent("ledger").path)
        _ = try await store.append(ReportLedgerFixture.events(for: job))
        let r = try await CLIRunner.run(["reconcile"] + month, in: Repository.root, environment: ["WANROUTE_HOME": home.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stdout.contains("j21-overbilled: variance +USD 0.03"), r.stdout)
        let lenient = try await CLIRunner.run(["reconcile"] + month + ["--tolerance", "0.05"], in: Repository.root, environment: ["WANROUTE_HOME": home.path])
        XCTAssertEqual(lenient.status, 0, lenient.stderr)
    }

    func testWhatIfUnderTheMonthsOwnPolicyChangesNothing() async throws {
        let r = try await run(["whatif"] + month + ["--policy", "Tests/Fixtures/reports/studio.json", "--fail-above", "+0%", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"changed\": []"))
        XCTAssertTrue(r.stdout.contains("\"difference_usd\": {\n      \"amount\": \"0.00\""), r.stdout)
    }

    func testWhatIfGatesAPolicyChange() async throws {
        let r = try await run(["whatif"] + month + ["--policy", "production", "--format", "md", "--fail-above", "+5%"])
        XCTAssertEqual(r.status, 0, r.stderr)
        assertGolden(r.stdout, named: "cli-whatif.md")
        let dear = try await run(["whatif"] + month + ["--policy", "best-quality", "--fail-above", "+5%"])
        XCTAssertEqual(dear.status, 1, dear.stdout)
        XCTAssertTrue(dear.stderr.contains("above the allowed +5%"), dear.stderr)
    }

    func testWhatIfListsTheFirstJobsAndCountsAll() async throws {
        let one = try await run(["whatif"] + month + ["--policy", "production", "--list", "1"])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stdout.contains("Route changed (11):\nJOB             PAST"), one.stdout)
        XCTAssertTrue(one.stdout.contains("j04-intl-exact") && !one.stdout.contains("j05-intl-rounding"), one.stdout)
        XCTAssertTrue(one.stdout.contains("… and 10 more (--list all lists every job)"), one.stdout)
        let json = try await run(["whatif"] + month + ["--policy", "production", "--format", "json", "--list", "all"])
        XCTAssertTrue(json.stdout.contains("\"list_limit\": null,\n  \"changed_jobs\": 11,"), json.stdout)
        XCTAssertTrue(json.stdout.contains("j16-unfinished"), json.stdout)
        let cut = try await run(["whatif"] + month + ["--policy", "production", "--format", "json"])
        XCTAssertTrue(cut.stdout.contains("\"list_limit\": 50,"), cut.stdout)
        XCTAssertEqual(cut.stdout.replacingOccurrences(of: "\"list_limit\": 50,", with: "\"list_limit\": null,"), json.stdout)
    }

    func testUsageErrors() async throws {
        for (args, message) in [(["report"], "--month"), (["report", "--month", "2026-13"], "not a month"),
                                (["report", "--month", "2026-12", "--tz", "Mars/Base"], "not a time zone"),
                                (["report", "--month", "2026-12", "--group-by", "colour"], "cannot be grouped by"),
                                (["report", "--month", "2026-12", "--format", "pdf"], "not a report format"),
                                (["report", "--month", "2026-12", "--as-of", "yesterday"], "not an instant"),
                                (["reconcile", "--month", "2026-12", "--tolerance", "lots"], "not an amount"),
                                (["whatif", "--month", "2026-12"], "--policy"),
                                (["whatif", "--month", "2026-12", "--policy", "production", "--fail-above", "much"], "neither a percentage"),
                                (["whatif", "--month", "2026-12", "--policy", "production", "--list", "some"], "--list 'some'")] {
            let r = try await run(args)
            XCTAssertEqual(r.status, 64, "\(args)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "")
        }
    }

    func testNoLedgerYetIsAnEmptyMonthWithANote() async throws {
        let home = try Repository.temporaryDirectory()
        let r = try await CLIRunner.run(["report", "--month", "2026-12"], environment: ["WANROUTE_HOME": home.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("no ledger at \(home.path)/ledger yet"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: home.path + "/ledger"), "an audit never creates a ledger")
    }

    func testHelp() async throws {
        for command in ["report", "reconcile", "whatif"] {
            let r = try await CLIRunner.run([command, "--help"])
            XCTAssertEqual(r.status, 0)
            XCTAssertTrue(r.stdout.contains("Usage: wanroute \(command) --month YYYY-MM"), r.stdout)
            XCTAssertTrue(r.stdout.contains("Exit codes"))
        }
    }
}
