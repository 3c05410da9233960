import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// Ctrl-C and SIGTERM during `run`, and the time scale, with the built binary against
/// `wanroute simulate` in another process and real signals.
final class InterruptTests: XCTestCase {
    var directory: URL!
    var simulator: SimulatorProcess?

    override func setUpWithError() throws {
        directory = try Repository.temporaryDirectory()
        try Drill.policy.write(to: directory.appendingPathComponent("policy.json"), atomically: true, encoding: .utf8)
        try Drill.jobs(40, seed: 1).write(to: directory.appendingPathComponent("jobs.jsonl"), atomically: true, encoding: .utf8)
    }

    override func tearDown() { simulator?.stop() }

    func run(_ simulator: SimulatorProcess, scale: Int, concurrency: Int = 8) throws -> WanrouteProcess {
        try WanrouteProcess(["run", "--jobs", "jobs.jsonl", "--policy", "policy.json", "--concurrency", String(concurrency)], in: directory,
                            environment: environment(simulator, scale: scale))
    }

    func environment(_ simulator: SimulatorProcess, scale: Int) -> [String: String] {
        simulator.environment.merging(["WANROUTE_TIME_SCALE": String(scale), "WANROUTE_HOME": directory.appendingPathComponent("home").path]) { $1 }
    }

    /// The first Ctrl-C stops submitting, lists exactly the tasks the provider still runs for
    /// this run, and exits 130 pointing at `resume`.
    func testCtrlCListsEveryTaskInFlightAndExits130ThenResumeFinishesThem() async throws {
        let sim = try SimulatorProcess(speed: 100, in: directory)
        simulator = sim
        // 100 times faster: APIXO's first poll (60 s) takes 0.6 s, so tasks are in flight a while.
        let run = try run(sim, scale: 100)
        XCTAssertTrue(Drill.eventually(timeout: 30) { ((try? sim.record().tasks.count) ?? 0) >= 8 }, "tasks never started: \(run.stderr)")
        run.send(SIGINT)
        XCTAssertEqual(run.wait(), 130, run.stderr)
        let record = try sim.record()
        let listed = Set(run.stderr.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  job "), let r = line.range(of: ": apixo task ") else { return nil }
            let job = line.dropFirst("  job ".count).prefix { $0 != ":" }
            let task = String(line[r.upperBound...])
            // Each listed task is the one the provider holds for that job.
            XCTAssertEqual(record.tasks.first { $0.id == task }.map { SimulatorProcess.Record.jobID($0.videoURL) }, String(job), String(line))
            return task
        })
        let finishedByRun = Set(run.stdout.split(separator: "\n").compactMap { try? JSONParser.parse(String($0))["task_id"]?.stringValue })
        XCTAssertFalse(listed.isEmpty, run.stderr)
        // Every task the provider created is either listed as in flight or reported finished on stdout.
        XCTAssertEqual(Set(record.tasks.map(\.id)), listed.union(finishedByRun), run.stderr)
        XCTAssertEqual(Set(record.tasks.filter { !$0.finished }.map(\.id)), listed)
        XCTAssertTrue(run.stderr.contains("wanroute run: Ctrl-C: no new submissions"), run.stderr)
        XCTAssertTrue(run.stderr.hasSuffix("run 'wanroute resume' to follow them to their end\n"), run.stderr)
        XCTAssertLessThan(record.tasks.count, 40, "submissions stopped")

        // `resume` follows every listed task to its end, submitting nothing.
        let resume = try BinaryRunner.run(["resume"], in: directory, environment: environment(sim, scale: 100))
        XCTAssertEqual(resume.status, 0, resume.stderr)
        let after = try sim.record()
        XCTAssertEqual(after.submissions, record.submissions, "resume never submits")
        XCTAssertTrue(after.tasks.allSatisfy(\.finished), "resume left a task unfinished: \(resume.stderr)")
        let store = try FileLedgerStore(directory: directory.appendingPathComponent("home/ledger").path)
        for bill in after.billing where listed.contains(bill.taskID) {
            let job = SimulatorProcess.Record.jobID(after.tasks.first { $0.id == bill.taskID }!.videoURL)
            let state = try await store.job(job)
            XCTAssertEqual(state?.status, .succeeded, job)
            XCTAssertEqual(state?.actualCost, bill.cost, job)
        }
    }

    /// SIGTERM waits for submissions already sent; a second signal exits at once, naming the
    /// jobs whose submission got no answer.
    func testASecondSignalExitsAtOnceNamingUnansweredSubmissions() throws {
        // Every submission is answered 1000 s of provider time late: 1 s here.
        let sim = try SimulatorProcess(speed: 1000, submitDelay: "1000", in: directory)
        simulator = sim
        let run = try run(sim, scale: 1000, concurrency: 4)
        XCTAssertTrue(Drill.eventually(timeout: 30) { ((try? sim.record().submissions) ?? 0) >= 4 }, run.stderr)
        run.send(SIGTERM)
        XCTAssertTrue(Drill.eventually(timeout: 30) { run.stderr.contains("waiting for 4 submissions already sent to be answered (SIGTERM again quits now)") }, run.stderr)
        run.send(SIGINT)
        XCTAssertEqual(run.wait(), 130, run.stderr)
        XCTAssertTrue(run.stderr.contains("wanroute run: Ctrl-C again: exiting now\n"), run.stderr)
        for job in ["j0000", "j0001", "j0002", "j0003"] {
            XCTAssertTrue(run.stderr.contains("  job \(job): a submission to apixo got no answer yet; a task may exist\n"), run.stderr)
        }
        XCTAssertEqual(run.stdout, "")
    }

    func testBadTimeScalesAndSpeedsAreUsageErrors() async throws {
        for bad in ["0", "-3", "1.5", "fast", "1000001", ""] {
            let r = try await CLIRunner.run(["run", "--sandbox", "--image", "https://media.test/a.png", "--video", "https://media.test/b.mp4",
                                             "--duration", "5", "--policy", "production"], environment: ["WANROUTE_TIME_SCALE": bad])
            XCTAssertEqual(r.status, 64, bad)
            XCTAssertTrue(r.stderr.contains("WANROUTE_TIME_SCALE must be a whole number from 1 to 1000000 (how many times faster waits run; a testing aid), not '\(bad)'"), r.stderr)
            let s = try await CLIRunner.run(["simulate", "--speed", bad])
            XCTAssertEqual(s.status, 64, bad)
            XCTAssertTrue(s.stderr.contains("--speed must be a whole number from 1 to 1000000"), s.stderr)
        }
        let s = try await CLIRunner.run(["simulate", "--submit-delay", "soon"])
        XCTAssertEqual(s.status, 64)
        XCTAssertTrue(s.stderr.contains("--submit-delay 'soon' is not a number of seconds"), s.stderr)
        let ok = try await CLIRunner.run(["run", "--sandbox", "--image", "https://media.test/a.png", "--video", "https://media.test/b.mp4",
                                          "--duration", "5", "--policy", "production"], environment: ["WANROUTE_TIME_SCALE": "100000"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }
}
