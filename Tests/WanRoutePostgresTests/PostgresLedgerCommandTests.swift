import Foundation
import WanRoute
import WanRouteCLI
import WanRouteTestSupport
import XCTest
@testable import WanRoutePostgres

/// The commands that read or write the ledger, in-process, with the ledger in the test cluster:
/// the same answers as with the file ledger.
final class PostgresLedgerCommandTests: XCTestCase {
    private func run(_ arguments: [String], _ environment: [String: String]) async -> (code: Int32, out: String, err: String) {
        await runCLI(arguments, environment)
    }

    /// A fresh database owned by wr_scram, migrated; its URL (without the password).
    private func migratedDatabase(_ server: PostgresTestServer, migrate: Bool = true) async throws -> String {
        let database = try server.createDatabase("cli")
        addTeardownBlock { server.dropDatabase(database) }
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
                   "--duration", "12", "--policy", "production", "--resolution", "480p", "--id", "job-1"]

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

        // --sandbox without --ledger keeps simulated spend off the shared ledger.
        let sandbox = await run(["run", "--sandbox"] + job, postgres)
        XCTAssertEqual(sandbox.code, 0, sandbox.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: home + "/sandbox-ledger/\(month).jsonl"))
        let still = await run(["jobs", "--month", month, "--format", "json"], postgres)
        XCTAssertEqual(try comparable(still.out), listed, "the PostgreSQL ledger still holds one job")
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

    /// The committed fixture ledger imported into PostgreSQL: report (every format, three zones),
    /// reconcile and whatif print to the byte what they print from the file ledger, and again once
    /// the job summary was folded from nothing.
    func testTheFixtureLedgerGivesTheFileLedgersAnswersToTheByte() async throws {
        let server = try PostgresTestServer.shared()
        let url = try await migratedDatabase(server)
        let home = try Repository.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let committed = Repository.fixtures.appendingPathComponent("reports/ledger").path
        let files = home + "/files"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: committed) where name.hasSuffix(".jsonl") {
            try FileManager.default.copyItem(atPath: committed + "/" + name, toPath: files + "/" + name)
        }
        let environment = ["WANROUTE_HOME": home, "PGPASSWORD": PostgresTestServer.scramPassword]
        let imported = await run(["ledger", "import", committed, "--ledger", url], environment)
        XCTAssertEqual(imported.code, 0, imported.err)

        let policy = Repository.fixtures.appendingPathComponent("reports/studio.json").path
        var commands: [[String]] = []
        for zone in ["UTC", "Asia/Shanghai", "Europe/Berlin"] {
            let month = ["--month", "2026-12", "--tz", zone]
            for format in ["table", "json", "csv", "md", "html", "focus"] {
                commands.append(["report"] + month + ["--policy", policy, "--as-of", "2026-12-20T12:00:00Z", "--group-by", "provider,tag:customer", "--format", format])
            }
            commands.append(["report"] + month + ["--as-of", "2026-12-31T00:00:00Z", "--group-by", "status,mode,resolution,behavior,policy", "--format", "json"])
            commands += [["reconcile"] + month, ["reconcile"] + month + ["--format", "json"]]
            commands += ["table", "json", "md"].map { ["whatif"] + month + ["--policy", policy, "--format", $0] }
        }
        func compare(_ label: String) async {
            for command in commands {
                let fromPostgres = await run(command + ["--ledger", url], environment)
                let fromFiles = await run(command + ["--ledger", files], environment)
                XCTAssertEqual(fromPostgres.code, fromFiles.code, "\(label) \(command): \(fromPostgres.err)")
                XCTAssertEqual(fromPostgres.out, fromFiles.out, "\(label) \(command)")
                XCTAssertEqual(fromPostgres.err, fromFiles.err, "\(label) \(command)")
                XCTAssertFalse(fromPostgres.out.isEmpty, "\(label) \(command)")
            }
        }
        await compare("kept as imported")
        // Folded from nothing: the owner empties the derived tables, the next report catches up.
        let owner = try PostgresConnection.connect(server.tcp(user: "wr_scram", password: PostgresTestServer.scramPassword,
                                                              database: String(url.split(separator: "/").last!)))
        defer { owner.close() }
        XCTAssertGreaterThan(try owner.query("SELECT count(*) FROM wanroute_ledger_jobs").rows[0].decode(Int.self, at: 0), 20)
        try owner.query("DELETE FROM wanroute_ledger_jobs")
        try owner.query("DELETE FROM wanroute_ledger_job_coverage")
        commands = commands.filter { $0.contains("Asia/Shanghai") }
        await compare("folded from nothing")
    }

    func testExportAndImportRoundTripIdempotentlyAndRefuseDamage() async throws {
        let server = try PostgresTestServer.shared()
        let url = try await migratedDatabase(server)
        let other = try await migratedDatabase(server)
        let home = NSTemporaryDirectory() + "wanroute-pgcli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: home) }
        let files = home + "/files", back = home + "/back", exported = home + "/exported"
        let password = ["WANROUTE_HOME": home, "PGPASSWORD": PostgresTestServer.scramPassword]
        for id in ["a", "b"] {
            let written = await run(["run", "--sandbox", "--ledger", files, "--image", "https://media.example/face.png",
                                     "--video", "https://media.example/dance-\(id).mp4?duration=12", "--duration", "12",
                                     "--policy", "production", "--resolution", "480p"], password)
            XCTAssertEqual(written.code, 0, written.err)
        }
        let month = LedgerTime(Date()).month.description
        let original = try String(contentsOfFile: "\(files)/\(month).jsonl", encoding: .utf8)
        let count = original.split(separator: "\n").count
        XCTAssertGreaterThan(count, 8)

        // Files into PostgreSQL, twice: the second adds nothing.
        var imported = await run(["ledger", "import", files, "--ledger", url], password)
        XCTAssertEqual(imported.code, 0, imported.err)
        XCTAssertEqual(imported.out, "\(month): \(count) events added, 0 already in the ledger at \(url)\n")
        imported = await run(["ledger", "import", files, "--ledger", url], password)
        XCTAssertEqual(imported.code, 0, imported.err)
        XCTAssertEqual(imported.out, "\(month): 0 events added, \(count) already in the ledger at \(url)\n")

        // The same answers, to the byte, from either store.
        for command in [["jobs", "--month", month, "--format", "json"], ["report", "--month", month, "--as-of", "\(month)-28T00:00:00Z", "--format", "json"]] {
            let fromPostgres = await run(command + ["--ledger", url], password)
            let fromFiles = await run(command + ["--ledger", files], password)
            XCTAssertEqual(fromPostgres.code, 0, fromPostgres.err)
            XCTAssertEqual(fromPostgres.out, fromFiles.out, "\(command)")
        }

        // PostgreSQL out again: the file ledger's own lines, on stdout or as files.
        let stdout = await run(["ledger", "export", "--ledger", url], password)
        XCTAssertEqual(stdout.code, 0, stdout.err)
        XCTAssertEqual(stdout.out, original)
        let toFiles = await run(["ledger", "export", "--ledger", url, "--month", month, "--output", exported], password)
        XCTAssertEqual(toFiles.code, 0, toFiles.err)
        XCTAssertEqual(try String(contentsOfFile: "\(exported)/\(month).jsonl", encoding: .utf8), original)
        let again = await run(["ledger", "export", "--ledger", url, "--output", exported], password)
        XCTAssertEqual(again.code, 1, "export never overwrites")

        // And back into a file ledger, idempotently.
        imported = await run(["ledger", "import", "\(exported)/\(month).jsonl", "--ledger", back], password)
        XCTAssertEqual(imported.out, "\(month): \(count) events added, 0 already in the ledger at \(back)\n", imported.err)
        imported = await run(["ledger", "import", exported, "--ledger", back], password)
        XCTAssertEqual(imported.out, "\(month): 0 events added, \(count) already in the ledger at \(back)\n", imported.err)
        XCTAssertEqual(try String(contentsOfFile: "\(back)/\(month).jsonl", encoding: .utf8), original)

        // A damaged line is refused with its file and line, and nothing is written.
        var lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[2] = lines[2].replacingOccurrences(of: "\"v\":", with: "\"v\" :")
        let damaged = home + "/damaged.jsonl"
        try lines.joined(separator: "\n").write(toFile: damaged, atomically: true, encoding: .utf8)
        let refused = await run(["ledger", "import", damaged, "--ledger", other], password)
        XCTAssertEqual(refused.code, 65, refused.err)
        XCTAssertTrue(refused.err.contains("\(damaged):3:"), refused.err)
        let empty = await run(["ledger", "export", "--ledger", other], password)
        XCTAssertEqual(empty.out, "", "nothing imported from a damaged file")

        // A ledger that differs from the one imported is refused, not merged.
        let different = home + "/different.jsonl"
        try String(original.split(separator: "\n")[5...].joined(separator: "\n") + "\n").write(toFile: different, atomically: true, encoding: .utf8)
        let gap = await run(["ledger", "import", different, "--ledger", other], password)
        XCTAssertEqual(gap.code, 65, "a month must start at event 1: \(gap.err)")
        let firstJobOnly = original.split(separator: "\n").prefix(3).joined(separator: "\n") + "\n"
        let partial = home + "/partial.jsonl"
        try firstJobOnly.write(toFile: partial, atomically: true, encoding: .utf8)
        let started = await run(["ledger", "import", partial, "--ledger", other], password)
        XCTAssertEqual(started.code, 0, started.err)
        let finished = await run(["ledger", "import", files, "--ledger", other], password)
        XCTAssertEqual(finished.out, "\(month): \(count - 3) events added, 3 already in the ledger at \(other)\n", "an import cut short is finished: \(finished.err)")
        let elsewhere = home + "/elsewhere"
        let written = await run(["run", "--sandbox", "--ledger", elsewhere, "--image", "https://media.example/face.png",
                                 "--video", "https://media.example/other.mp4?duration=20", "--duration", "20", "--policy", "production"], password)
        XCTAssertEqual(written.code, 0, written.err)
        let diverged = await run(["ledger", "import", elsewhere, "--ledger", url], password)
        XCTAssertEqual(diverged.code, 1, diverged.err)
        XCTAssertTrue(diverged.err.contains("month \(month), event 1: the target holds a different event here"), diverged.err)
    }
}
