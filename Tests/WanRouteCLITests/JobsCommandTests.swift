import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// `wanroute run` records into the ledger; `wanroute jobs` reads it back.
final class JobsCommandTests: XCTestCase {
    let image = "https://media.example/face.png"
    let video = "https://media.example/dance.mp4?duration=12"

    func testRunRecordsEveryStepAndJobsListsAndShowsIt() async throws {
        let home = try Repository.temporaryDirectory().path
        let env = ["WANROUTE_HOME": home]
        let run = try await CLIRunner.run(["run", "--sandbox", "--image", image, "--video", video, "--duration", "12", "--policy", "production", "--resolution", "480p", "--id", "job-1"],
                                          environment: env)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: home + "/sandbox-ledger"), "sandbox runs keep their own ledger")
        XCTAssertFalse(FileManager.default.fileExists(atPath: home + "/ledger"))

        let list = try await CLIRunner.run(["jobs", "--sandbox", "--format", "json"], environment: env)
        XCTAssertEqual(list.status, 0, list.stderr)
        let root = try JSONParser.parse(list.stdout)
        guard case .array(let jobs)? = root["jobs"], let first = jobs.first else { return XCTFail(list.stdout) }
        XCTAssertEqual(jobs.count, 1)
        XCTAssertEqual(first["id"], .string("job-1"))
        XCTAssertEqual(first["status"], .string("succeeded"))
        XCTAssertEqual(first["provider"], .string("apixo"))
        XCTAssertEqual(first["actual_cost"], .object([JSONMember("amount", .string("0.48")), JSONMember("currency", .string("USD"))]))
        XCTAssertEqual(first["settled_usd"], first["actual_cost"], "the reservation was settled to the actual")
        XCTAssertEqual(first["reserved_usd"], .null)

        let table = try await CLIRunner.run(["jobs", "--sandbox"], environment: env)
        XCTAssertTrue(table.stdout.hasPrefix("JOB"), table.stdout)
        XCTAssertTrue(table.stdout.contains("job-1  succeeded  apixo"), table.stdout)
        let failed = try await CLIRunner.run(["jobs", "--sandbox", "--status", "failed"], environment: env)
        XCTAssertTrue(failed.stdout.hasPrefix("no jobs in "), failed.stdout)

        let show = try await CLIRunner.run(["jobs", "--sandbox", "show", "job-1"], environment: env)
        XCTAssertEqual(show.status, 0, show.stderr)
        XCTAssertTrue(show.stdout.hasPrefix("job job-1: succeeded on apixo"), show.stdout)
        for ev in ["decided", "submit-intent", "accepted", "succeeded"] {
            XCTAssertTrue(show.stdout.contains("\"e\":\"\(ev)\""), "missing \(ev): \(show.stdout)")
        }
        // The decision and its reservation are one line.
        XCTAssertFalse(show.stdout.contains("\"e\":\"reserved\""), show.stdout)
        XCTAssertTrue(show.stdout.contains("\"rsv\":\"0.48\""), show.stdout)
        let showJSON = try await CLIRunner.run(["jobs", "--sandbox", "show", "job-1", "--format", "json"], environment: env)
        guard case .array(let events)? = try JSONParser.parse(showJSON.stdout)["events"] else { return XCTFail(showJSON.stdout) }
        XCTAssertEqual(events.first?["e"], .string("decided"))
        // The decision names the policy and the pricing tables in force by their digests.
        let production = try XCTUnwrap(Policy.builtInFile(named: "production"))
        XCTAssertEqual(events.first?["pd"], .string(SourceDigest.policy(production)))
        XCTAssertEqual(events.first?["td"], .string(try XCTUnwrap(PriceCatalog.builtIn().sourceDigest)))
    }

    func testRouteChecksBudgetsAgainstTheLedgersSpend() async throws {
        let home = try Repository.temporaryDirectory().path
        let env = ["WANROUTE_HOME": home]
        let args = ["route", "--policy", "production", "--duration", "12", "--resolution", "480p"]
        let free = try await CLIRunner.run(args, environment: env)
        XCTAssertEqual(free.status, 0, free.stderr)
        // This month, USD 2,999.90 of the studio's USD 3,000 is already reserved.
        let store = try FileLedgerStore(directory: home + "/ledger")
        let event = LedgerEvent(time: LedgerTime(Date()), jobID: "earlier", provider: ProviderID("apixo")!,
                                body: .reserved(LedgerBudgetAmount(amount: Money(decimal: "2999.90", currency: .usd)!, budgets: [.total])))
        _ = try await store.append([event])
        let spent = try await CLIRunner.run(args, environment: env)
        XCTAssertEqual(spent.status, 2, spent.stdout + spent.stderr)
        XCTAssertTrue((spent.stdout + spent.stderr).contains("studio-monthly"), spent.stdout + spent.stderr)
    }

    func testResumeEndsUnknownOutcomesAndUnsentJobsOnceAndNeverSubmits() async throws {
        let home = try Repository.temporaryDirectory().path
        let env = ["WANROUTE_HOME": home]
        let store = try FileLedgerStore(directory: home + "/ledger")
        let p = ProviderID("apixo")!
        let t = LedgerTime(Date())
        let decision = LedgerDecision(behavior: .animate, duration: Seconds(whole: 8), policy: "production", mode: .standard,
                                      resolution: .p480, estimate: Money(decimal: "0.32", currency: .usd), estimateUSD: nil)
        let reserve = LedgerBudgetAmount(amount: Money(decimal: "0.32", currency: .usd)!, budgets: [.total, .provider(p)])
        _ = try await store.append([
            LedgerEvent(time: t, jobID: "lost", runID: "dead", provider: p, body: .decided(decision)),
            LedgerEvent(time: t, jobID: "lost", provider: p, body: .submitIntent(mode: .standard, resolution: .p480, attempt: 1)),
            LedgerEvent(time: t, jobID: "unsent", runID: "dead", provider: p, body: .decided(decision)),
            LedgerEvent(time: t, jobID: "unsent", provider: p, body: .reserved(reserve)),
        ])
        let dry = try await CLIRunner.run(["resume", "--dry-run"], environment: env)
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertEqual(dry.stdout.split(separator: "\n").count, 2, dry.stdout)
        XCTAssertTrue(dry.stdout.contains("lost: end needs-attention"), dry.stdout)
        XCTAssertTrue(dry.stdout.contains("unsent: end failed at no cost"), dry.stdout)

        let run = try await CLIRunner.run(["resume"], environment: env)
        XCTAssertEqual(run.status, 1, run.stdout + run.stderr)
        let lines = run.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, run.stdout)
        let lost = try await store.job("lost")
        XCTAssertEqual(lost?.status, .needsAttention)
        let unsent = try await store.job("unsent")
        XCTAssertEqual(unsent?.status, .failed)
        XCTAssertTrue(unsent?.isFinished ?? false, "its reservation was released")
        let budget = try await store.budgetState(for: BudgetMonth.containing(t))
        XCTAssertEqual(budget.committed(.total).nanos, 0)

        let twice = try await CLIRunner.run(["resume", "--dry-run"], environment: env)
        XCTAssertEqual(twice.stdout, "nothing to resume\n", "safe to run twice")
    }

    func testRunningTheSameJobsFileTwiceStartsEachJobOnce() async throws {
        let home = try Repository.temporaryDirectory().path
        let dir = try Repository.temporaryDirectory()
        let lines = ["a", "b"].map { #"{"id": "\#($0)", "image": "https://m.example/f.png", "video": "https://m.example/\#($0).mp4?duration=6", "duration": "6", "resolution": "480p"}"# }
        try lines.joined(separator: "\n").write(to: dir.appendingPathComponent("jobs.jsonl"), atomically: true, encoding: .utf8)
        let args = ["run", "--sandbox", "--jobs", "jobs.jsonl", "--policy", "production"]
        let first = try await CLIRunner.run(args, in: dir, environment: ["WANROUTE_HOME": home])
        XCTAssertEqual(first.status, 0, first.stderr)
        let second = try await CLIRunner.run(args, in: dir, environment: ["WANROUTE_HOME": home])
        XCTAssertEqual(second.status, 0, second.stderr)
        let out = second.stdout.split(separator: "\n")
        XCTAssertEqual(out.count, 2)
        XCTAssertTrue(out.allSatisfy { $0.contains("is already in the ledger") && $0.contains("\"status\":\"succeeded\"") }, second.stdout)
        let store = try FileLedgerStore(directory: home + "/sandbox-ledger")
        for id in ["a", "b"] {
            let records = try await store.records(forJob: id)
            XCTAssertEqual(records.filter { $0.event.type == .decided }.count, 1, "job \(id) started once")
            XCTAssertEqual(records.filter { $0.event.type == .submitIntent }.count, 1)
        }
    }

    /// A version 4 line that takes what it leaves out from a line that does not give it (another
    /// kind of line, no line, a later line, no intent before an accepted task) is damage: every
    /// reader stops with the file and the line, exit 65, and nothing is rewritten.
    func testALineThatTakesFromALineThatIsNotThereIsRefusedWithItsFileAndLine() async throws {
        func sealed(_ body: String) -> String { LedgerLineFixture.sealed(body) + "\n" }
        let note = sealed(#"{"v":4,"n":1,"t":1796205600000,"e":"note","j":"j1","text":"x""#)
        let decided = #"{"v":4,"n":2,"t":1796205600000,"e":"decided","j":"j2","p":"apixo","b":"animate","d":12,"m":"standard","res":"720p","est":"1.20""#
        let cases = [
            sealed(decided + #","ctx":1"#),
            sealed(decided + #","ctx":9223372036854775806"#),
            sealed(#"{"v":4,"n":2,"t":1796205600000,"e":"accepted","j":"j2","task":"t2""#),
        ]
        for (i, second) in cases.enumerated() {
            let home = try Repository.temporaryDirectory().path
            try FileManager.default.createDirectory(atPath: home + "/ledger", withIntermediateDirectories: true)
            let path = home + "/ledger/2026-12.jsonl"
            try (note + second).write(toFile: path, atomically: true, encoding: .utf8)
            for command in [["jobs", "--month", "2026-12"], ["jobs", "show", "j2"], ["report", "--month", "2026-12"]] {
                let r = try await CLIRunner.run(command, environment: ["WANROUTE_HOME": home])
                XCTAssertEqual(r.status, 65, "case \(i) \(command): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains("2026-12.jsonl:2: the ledger is damaged here"), "case \(i) \(command): \(r.stderr)")
            }
            XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), note + second, "case \(i): the ledger is never rewritten")
        }
    }

    /// A version 1 ledger may hold an accepted task without its provider; a version 4 line without
    /// one takes its intent's, so `ledger export` refuses it by name rather than change its meaning.
    func testExportRefusesAnAcceptedTaskWithoutItsProvider() async throws {
        let home = try Repository.temporaryDirectory().path
        try FileManager.default.createDirectory(atPath: home + "/ledger", withIntermediateDirectories: true)
        let lines = [
            #"{"v":1,"seq":1,"at":"2026-12-02T10:00:00.000Z","ev":"submit-intent","job":"j1","provider":"apixo","mode":"standard","resolution":"720p","attempt":1"#,
            #"{"v":1,"seq":2,"at":"2026-12-02T10:00:01.000Z","ev":"accepted","job":"j1","task":"t1""#,
        ].map { LedgerLineFixture.sealed($0, checksumKey: "crc") + "\n" }.joined()
        try lines.write(toFile: home + "/ledger/2026-12.jsonl", atomically: true, encoding: .utf8)
        let r = try await CLIRunner.run(["ledger", "export", "--output", home + "/out"], environment: ["WANROUTE_HOME": home])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("2026-12: event 2 (job j1) is an accepted task without its provider"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: home + "/out/2026-12.jsonl"))
    }

    func testJobsRefusesBadInputAndReportsMissingJobs() async throws {
        let home = try Repository.temporaryDirectory().path
        let empty = try await CLIRunner.run(["jobs"], environment: ["WANROUTE_HOME": home])
        XCTAssertEqual(empty.status, 0)
        XCTAssertTrue(empty.stdout.hasPrefix("no jobs in "), empty.stdout)
        let month = try await CLIRunner.run(["jobs", "--month", "2026-13"], environment: ["WANROUTE_HOME": home])
        XCTAssertEqual(month.status, 64)
        let status = try await CLIRunner.run(["jobs", "--status", "done"], environment: ["WANROUTE_HOME": home])
        XCTAssertEqual(status.status, 64)
        XCTAssertTrue(status.stderr.contains("needs-attention"), status.stderr)
        let missing = try await CLIRunner.run(["jobs", "show", "nope"], environment: ["WANROUTE_HOME": home])
        XCTAssertEqual(missing.status, 1)
    }
}
