import Foundation
import WanRouteCLI
import WanRouteTestSupport
import XCTest
@testable import WanRoutePostgres

/// `wanroute ledger migrate`, in-process, against the test cluster.
final class LedgerMigrateCommandTests: XCTestCase {
    private func run(_ arguments: [String], _ environment: [String: String]) async -> (Int32, String, String) {
        await runCLI(arguments, environment)
    }

    func testMigrateCreatesTheSchemaOnceAndGrants() async throws {
        let server = try PostgresTestServer.shared()
        let schema = PostgresTestServer.uniqueTable("cli")
        let admin = try server.superuser()
        defer { admin.close() }
        try admin.query("CREATE SCHEMA \(schema) AUTHORIZATION wr_scram")
        let url = "postgres://wr_scram@127.0.0.1:\(server.port)/postgres"
        let environment = ["WANROUTE_LEDGER": url, "WANROUTE_LEDGER_PASSWORD": PostgresTestServer.scramPassword]

        var (code, out, err) = await run(["ledger", "migrate", "--schema", schema, "--grant", "wr_password"], environment)
        XCTAssertEqual(code, 0, err)
        XCTAssertEqual(out, """
            ledger schema at \(url) (schema \(schema)): applied versions 1, 2, 3; now at version 3
            granted wr_password: USAGE on schema \(schema); SELECT, INSERT on wanroute_ledger_events; SELECT, INSERT, UPDATE on wanroute_ledger_jobs, wanroute_ledger_job_coverage, wanroute_ledger_budget_checkpoints and wanroute_report_cache
            job summary current for every month

            """)
        (code, out, err) = await run(["ledger", "migrate", "--schema", schema], environment)
        XCTAssertEqual(code, 0, err)
        XCTAssertEqual(out, "ledger schema at \(url) (schema \(schema)) is current: version 3\njob summary current for every month\n")
        let privileges = try admin.query(
            "SELECT table_name || ' ' || privilege_type FROM information_schema.role_table_grants WHERE grantee = 'wr_password' AND table_schema = $1 ORDER BY 1",
            [.text(schema)]
        ).rows.map { try $0.decode(String.self, at: 0) }
        // The events: only SELECT and INSERT (append-only); the derived job summary is kept up to date.
        XCTAssertEqual(privileges, ["wanroute_ledger_budget_checkpoints INSERT", "wanroute_ledger_budget_checkpoints SELECT", "wanroute_ledger_budget_checkpoints UPDATE",
                                    "wanroute_ledger_events INSERT", "wanroute_ledger_events SELECT",
                                    "wanroute_ledger_job_coverage INSERT", "wanroute_ledger_job_coverage SELECT", "wanroute_ledger_job_coverage UPDATE",
                                    "wanroute_ledger_jobs INSERT", "wanroute_ledger_jobs SELECT", "wanroute_ledger_jobs UPDATE",
                                    "wanroute_report_cache INSERT", "wanroute_report_cache SELECT", "wanroute_report_cache UPDATE"])
    }

    func testRefusalsAndFailuresNeverShowThePassword() async throws {
        let server = try PostgresTestServer.shared()
        let secret = "Wr0ng-Secret"
        let base = "postgres://wr_scram@127.0.0.1:\(server.port)/postgres"
        let cases: [([String], [String: String], Int32, String)] = [
            (["ledger", "migrate"], [:], 64, "no ledger named"),
            (["ledger", "migrate", "--ledger", base + "?sslmode=require"], ["PGPASSWORD": secret], 64, "PgBouncer"),
            (["ledger", "migrate", "--ledger", "postgres://wr_scram:\(secret)@127.0.0.1:\(server.port)/postgres?sslmode=verify-full"], [:], 64, "sslmode=verify-full"),
            (["ledger", "migrate", "--ledger", base], ["PGPASSWORD": secret], 1, "28P01"),
            (["ledger", "migrate", "--ledger", base.replacingOccurrences(of: "wr_scram@", with: "wr_scram:\(secret)@")], [:], 1, "28P01"),
            (["ledger", "migrat"], [:], 64, "did you mean 'migrate'"),
            (["ledger", "migrate", "--ledger", "/tmp/ledger"], [:], 64, "postgres://"),
        ]
        for (arguments, environment, expectedCode, expectedText) in cases {
            let (code, out, err) = await run(arguments, environment)
            XCTAssertEqual(code, expectedCode, "\(arguments): \(err)")
            XCTAssertTrue(err.contains(expectedText), "\(arguments): \(err)")
            XCTAssertFalse(out.contains(secret) || err.contains(secret), "\(arguments) leaked the password: \(err)")
        }
    }
}
