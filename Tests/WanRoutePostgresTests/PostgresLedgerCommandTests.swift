import Foundation
import WanRoute
import WanRouteCLI
import XCTest
@testable import WanRoutePostgres

/// The commands that read or write the ledger, in-process, with the ledger in the test cluster:
/// the same answers as with the file ledger.
final class PostgresLedgerCommandTests: XCTestCase {
    private func run(_ arguments: [String], _ environment: [String: String]) async -> (code: Int32, out: String, err: String) {
        let out = BufferOutput(), err = BufferOutput()
        let code = await CommandLineTool.run(arguments: arguments, environment: environment, stdout: out, stderr: err)
        return (code, out.text, err.text)
    }

    /// A fresh database owned by wr_scram, migrated; its URL (without the password).
    private func migratedDatabase(_ server: PostgresTestServer, migrate: Bool = true) async throws -> String {
        let database = PostgresTestServer.uniqueTable("cli")
        let admin = try server.superuser()
        defer { admin.close() }
        try admin.query("CREATE DATABASE \(database) OWNER wr_scram")
        addTeardownBlock {
            let admin = try server.superuser()
            defer { admin.close() }
            _ = try? admin.query("DROP DATABASE \(database) WITH (FORCE)")
        }
        let url = "postgres://wr_scram@127.0.0.1:\(server.port)/\(database)"
        if migrate {
            let migrated = await run(["ledger", "migrate", "--ledger", url], ["WANROUTE_LEDGER_PASSWORD": PostgresTestServer.scramPassword])
            XCTAssertEqual(migrated.code, 0, migrated.err)
        }
        return url
    }

    /// A job's JSON without what differs between two runs of it (times, the simulator's task id).
    private func comparable(_ jobsJSON: String) throws -> [String] {
        guard case .array(let jobs)? = try JSONParser.parse(jobsJSON)["jobs"] else { XCTFail(jobsJSON); return [] }
        return jobs.map { job in
            guard case .object(let members) = job else { return "\(job)" }
            return JSONWriter.compact(.object(members.filter { !["submitted_at", "finished_at", "task_id"].contains($0.key) }))
        }
    }

    func testRunJobsAndReportGiveTheFileLedgersAnswers() async throws {
        let server = try PostgresTestServer.shared()
        let url = try await migratedDatabase(server)
        let home = NSTemporaryDirectory() + "wanroute-pgcli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: home) }
        let files = home + "/files"
        let postgres = ["WANROUTE_HOME": home, "WANROUTE_LEDGER": url, "PGPASSWORD": PostgresTestServer.scramPassword]
        let job = ["--image", "https://media.example/face.png", "--video", "https://media.example/dance.mp4?duration=12",
                   "--duration", "12", "--policy", "production", "--resolution", "480p"]

        // The same job, once into each store (sandbox: --ledger names the ledger it writes).
        let intoPostgres = await run(["run", "--sandbox", "--ledger", url] + job, postgres)
        XCTAssertEqual(intoPostgres.code, 0, intoPostgres.err)
        let intoFiles = await run(["run", "--sandbox", "--ledger", files] + job, ["WANROUTE_HOME": home])
        XCTAssertEqual(intoFiles.code, 0, intoFiles.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: home + "/ledger"), "WANROUTE_LEDGER kept the run off the file ledger")

        let month = LedgerTime(Date()).month.description
        let jobsPostgres = await run(["jobs", "--month", month, "--format", "json"], postgres)
        let jobsFiles = await run(["jobs", "--month", month, "--format", "json", "--ledger", files], ["WANROUTE_HOME": home])
        XCTAssertEqual(jobsPostgres.code, 0, jobsPostgres.err)
        XCTAssertEqual(jobsFiles.code, 0, jobsFiles.err)
        let listed = try comparable(jobsPostgres.out)
        XCTAssertEqual(listed.count, 1)
        XCTAssertTrue(listed.first?.contains("\"status\":\"succeeded\"") == true, jobsPostgres.out)
        XCTAssertEqual(listed, try comparable(jobsFiles.out))

        let show = await run(["jobs", "show", "job-1"], postgres)
        XCTAssertEqual(show.code, 0, show.err)
        XCTAssertTrue(show.out.hasPrefix("job job-1: succeeded on apixo"), show.out)

        let report = ["report", "--month", month, "--as-of", "\(month)-28T00:00:00Z", "--format", "json"]
        let reportPostgres = await run(report, postgres)
        let reportFiles = await run(report + ["--ledger", files], ["WANROUTE_HOME": home])
        XCTAssertEqual(reportPostgres.code, 0, reportPostgres.err)
        // Equal but for the time to result, which the two runs measured.
        let timing = /"p(50|90)_seconds": "[0-9.]+"/
        XCTAssertEqual(reportPostgres.out.replacing(timing, with: ""), reportFiles.out.replacing(timing, with: ""))
        XCTAssertTrue(reportPostgres.out.contains("apixo"), reportPostgres.out)
        for command in [["reconcile", "--month", month], ["whatif", "--month", month, "--policy", "cheapest"]] {
            let a = await run(command, postgres), b = await run(command + ["--ledger", files], ["WANROUTE_HOME": home])
            XCTAssertEqual(a.code, b.code, "\(command): \(a.err)")
            XCTAssertEqual(a.out, b.out, "\(command)")
        }
        let resume = await run(["resume", "--dry-run"], postgres)
        XCTAssertEqual(resume.code, 0, resume.err)
        XCTAssertEqual(resume.out, "nothing to resume\n")
        let route = await run(["route", "--policy", "production", "--duration", "12", "--resolution", "480p"], postgres)
        XCTAssertEqual(route.code, 0, route.err)
    }

    func testAWrongPasswordOrNoServerIsAClearFailureWithoutThePassword() async throws {
        let server = try PostgresTestServer.shared()
        let url = try await migratedDatabase(server)
        let secret = "Wr0ng-Secret-\(UUID().uuidString.prefix(6))"
        let home = NSTemporaryDirectory() + "wanroute-pgcli-" + UUID().uuidString
        let closedPort = "postgres://wr_scram@127.0.0.1:1/postgres?connect_timeout=2"
        let cases: [([String], [String: String], String)] = [
            (["jobs"], ["WANROUTE_LEDGER": url, "WANROUTE_LEDGER_PASSWORD": secret], "28P01"),
            (["report", "--month", "2026-12"], ["WANROUTE_LEDGER": url, "PGPASSWORD": secret], "28P01"),
            (["run", "--sandbox", "--ledger", url, "--duration", "12", "--policy", "production", "--image", "https://media.example/a.png",
              "--video", "https://media.example/b.mp4?duration=12"], ["WANROUTE_HOME": home, "PGPASSWORD": secret], "28P01"),
            (["jobs"], ["WANROUTE_LEDGER": closedPort, "PGPASSWORD": secret], "cannot use the PostgreSQL ledger at postgres://wr_scram@127.0.0.1:1/postgres"),
            (["jobs"], ["WANROUTE_LEDGER": url.replacingOccurrences(of: "wr_scram@", with: "wr_scram:\(secret)@")], "28P01"),
        ]
        for (arguments, environment, expected) in cases {
            let (code, out, err) = await run(arguments, environment)
            XCTAssertEqual(code, 1, "\(arguments): \(err)")
            XCTAssertTrue(err.contains(expected), "\(arguments): \(err)")
            XCTAssertFalse(out.contains(secret) || err.contains(secret), "\(arguments) leaked the password: \(err)")
        }
        let unmigrated = await run(["jobs"], ["WANROUTE_LEDGER": try await migratedDatabase(server, migrate: false),
                                              "PGPASSWORD": PostgresTestServer.scramPassword])
        XCTAssertEqual(unmigrated.code, 1)
        XCTAssertTrue(unmigrated.err.contains("wanroute ledger migrate"), unmigrated.err)
    }
}
