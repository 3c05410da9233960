import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// Crash drills (issue 8 and issue 12, "Must hold"): the built `wanroute` against `wanroute
/// simulate` in another process, killed with SIGKILL at seeded points, each kill followed by
/// `resume`, with the simulator's own record as the truth; the same drill over the file ledger and
/// over the PostgreSQL ledger (`WANROUTE_LEDGER`, a database in the test cluster).
///
/// In CI one drill per store (seed 1: 500 jobs and 24 kill points on files, 240 jobs and 12 kill
/// points on PostgreSQL); `WANROUTE_DRILL_SEEDS=N` runs N drills per store with seeds 1…N (see BENCHMARKS.md).
final class CrashDrillTests: XCTestCase {
    /// Drills to run: 1 unless `WANROUTE_DRILL_SEEDS` asks for more.
    static var seeds: [UInt64] {
        let n = ProcessInfo.processInfo.environment["WANROUTE_DRILL_SEEDS"].flatMap { UInt64($0) } ?? 1
        return Array(1...max(1, n))
    }

    /// Every simulated submission is answered this late (provider seconds): at 1000× a 150 ms
    /// window between a durable submit-intent and its answer, where most kills land for some job.
    /// (40 ms was too short on a loaded machine: reading the simulator's record to see the kill
    /// point, in a debug build, could take longer, and kills landed after the answers.)
    static let submitDelay = "150"
    static let speed = 1000

    func testKillNineAtSeededPointsThenResume() async throws {
        for seed in Self.seeds { try await drill(seed: seed) { .files($0.appendingPathComponent("ledger")) } }
    }

    func testKillNineAtSeededPointsThenResumeWithThePostgresLedger() async throws {
        for seed in Self.seeds { try await drill(seed: seed, jobs: 240, kills: 12) { _ in try .postgres(for: self) } }
    }

    /// The file drill with every job on DashScope, one task at a time (its account limit), so most
    /// kills land between a submit-intent and its answer: `resume` must find each such task in
    /// DashScope's task list, adopt it and poll it to its bill.
    func testKillNineOnDashScopeThenResumeAdoptsTheLostTasks() async throws {
        for seed in Self.seeds {
            try await drill(seed: seed, jobs: 80, kills: 8, step: 8, concurrency: 1, policy: Drill.dashScopePolicy, listsTasks: true) {
                .files($0.appendingPathComponent("ledger"))
            }
        }
    }

    /// One drill: a 500-job run killed at `kills` seeded points (each once the simulator has seen
    /// a seeded number of further submissions, so the last of them are still waiting for their
    /// answers), each kill followed by `resume` and the same jobs file run again; then the run
    /// finishes, and the ledger is checked against the simulator. `ledger` makes the ledger the
    /// processes share, given their WANROUTE_HOME. `step` bounds the submissions between two kills;
    /// `concurrency` is the run's (one for a provider that takes one task at a time, so a kill does
    /// not end jobs that were decided and waiting); `listsTasks` says the provider lists its tasks,
    /// so `resume` resolves a lost submission whose task exists.
    func drill(seed: UInt64, jobs: Int = 500, kills: Int = 24, step: UInt64 = 16, concurrency: Int = 16, policy: String = Drill.policy,
               listsTasks: Bool = false, ledger makeLedger: (_ home: URL) throws -> DrillLedger) async throws {
        let directory = try Repository.temporaryDirectory()
        try policy.write(to: directory.appendingPathComponent("policy.json"), atomically: true, encoding: .utf8)
        try Drill.jobs(jobs, seed: seed).write(to: directory.appendingPathComponent("jobs.jsonl"), atomically: true, encoding: .utf8)
        let simulator = try SimulatorProcess(speed: Self.speed, submitDelay: Self.submitDelay, in: directory)
        defer { simulator.stop() }
        let home = directory.appendingPathComponent("home")
        let ledger = try makeLedger(home)
        let environment = simulator.environment.merging(["WANROUTE_TIME_SCALE": String(Self.speed), "WANROUTE_HOME": home.path]) { $1 }
            .merging(ledger.environment) { $1 }
        let run = ["run", "--jobs", "jobs.jsonl", "--policy", "policy.json", "--concurrency", String(concurrency)]
        var random = SplitMix64(seed: seed)
        var killedInWindow = Set<String>()   // jobs whose submit-intent had no answer recorded when killed
        var windowKills = 0
        for k in 0..<kills {
            // At most `step` more submissions per kill: the kills never use up the jobs.
            let target = try simulator.record().submissions + 1 + Int(random.next() % step)
            let process = try WanrouteProcess(run, in: directory, environment: environment)
            XCTAssertTrue(Drill.eventually(timeout: 60) { ((try? simulator.record().submissions) ?? 0) >= target || !process.process.isRunning },
                          "seed \(seed) kill \(k): the run never reached its kill point; stderr: \(process.stderr)")
            XCTAssertTrue(process.process.isRunning, "seed \(seed) kill \(k): the run ended before its kill point; stderr: \(process.stderr)")
            process.send(SIGKILL)
            XCTAssertEqual(process.wait(), SIGKILL)
            let window = try ledger.lines().jobsBetweenIntentAndAnswer
            if !window.isEmpty { windowKills += 1 }
            killedInWindow.formUnion(window)
            var resume = try BinaryRunner.run(["resume"], in: directory, environment: environment)
            if listsTasks {
                // A lost submission whose list window is not yet past is left open for a later
                // resume. Run that resume before the next kill, as a user would after a crash: left
                // open, the next kill's lost submission could share its window, and a task either
                // could claim is (rightly) adopted by neither.
                XCTAssertTrue(Drill.eventually(timeout: 60) {
                    guard resume.stdout.contains("left open") else { return true }
                    resume = (try? BinaryRunner.run(["resume"], in: directory, environment: environment)) ?? resume
                    return false
                }, "seed \(seed) kill \(k): resume kept leaving a lost submission open: \(resume.stdout)")
            }
            XCTAssertTrue([0, 1].contains(resume.status), "seed \(seed) kill \(k): resume exited \(resume.status): \(resume.stderr)")
        }
        XCTAssertGreaterThanOrEqual(windowKills, kills / 2, "seed \(seed): too few kills landed between a submit-intent and its answer")
        print("drill seed \(seed) (\(ledger)): \(kills) kills, \(windowKills) of them with a submission between intent and answer")

        // The rest of the batch: the same jobs file again starts only what never started.
        let last = try BinaryRunner.run(run, in: directory, environment: environment)
        XCTAssertTrue([0, 1].contains(last.status), last.stderr)
        let again = try BinaryRunner.run(["resume"], in: directory, environment: environment)
        XCTAssertTrue([0, 1].contains(again.status), again.stderr)
        let submissions = try simulator.record().submissions
        let rerun = try BinaryRunner.run(run, in: directory, environment: environment)
        XCTAssertTrue([0, 1].contains(rerun.status), rerun.stderr)
        XCTAssertEqual(try simulator.record().submissions, submissions, "seed \(seed): running the jobs file once more submitted something")

        try await check(seed: seed, jobs: jobs, ledger: ledger, directory: directory, environment: environment,
                  record: simulator.record(), killedInWindow: killedInWindow, listsTasks: listsTasks)
    }

    /// What must hold after a drill.
    func check(seed: UInt64, jobs: Int, ledger: DrillLedger, directory: URL, environment: [String: String],
               record: SimulatorProcess.Record, killedInWindow: Set<String>, listsTasks: Bool) async throws {
        // Every job ends exactly once in `jobs`.
        let listed = try BinaryRunner.run(["jobs", "--format", "json"], in: directory, environment: environment)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let rows = try JSONParser.parse(listed.stdout)["jobs"]?.wireArray ?? []
        let ids = rows.compactMap { $0["id"]?.stringValue }
        XCTAssertEqual(ids.count, jobs, "seed \(seed)")
        XCTAssertEqual(Set(ids).count, ids.count, "seed \(seed): a job is listed twice")
        XCTAssertEqual(Set(ids), Set((0..<jobs).map { String(format: "j%04d", $0) }))

        // The ledger, folded by the library.
        let states = try await ledger.withStore { store in
            var book = JobBook()
            for month in try await store.months() {
                try await store.forEachRecord(in: month) { book.apply($0) }
            }
            return book.states
        }
        XCTAssertEqual(states.count, jobs)
        for (id, state) in states {
            XCTAssertTrue(state.status.isFinal, "seed \(seed): job \(id) ends \(state.status)")
            XCTAssertLessThanOrEqual(state.tasks.count, 1, "seed \(seed): job \(id) has tasks \(state.tasks)")
        }

        // No job ever has two tasks at the provider; every task the ledger knows is the provider's.
        let tasksByJob = Dictionary(grouping: record.tasks) { SimulatorProcess.Record.jobID($0.videoURL) }
        for (job, tasks) in tasksByJob {
            XCTAssertEqual(tasks.count, 1, "seed \(seed): job \(job) has \(tasks.count) tasks at the provider: \(tasks.map(\.id))")
            if let known = states[job]?.taskID {
                XCTAssertEqual(known, tasks[0].id, "seed \(seed): job \(job)")
            } else {
                // A task the ledger never heard of: only a submission killed before its answer, and
                // never one `resume` could have found in the provider's task list.
                XCTAssertTrue(killedInWindow.contains(job), "seed \(seed): job \(job)'s task \(tasks[0].id) is not in the ledger")
                XCTAssertFalse(listsTasks, "seed \(seed): resume did not adopt job \(job)'s task \(tasks[0].id) from the task list")
                XCTAssertFalse(tasks[0].finished, "seed \(seed): nobody polls an unknown task")
            }
        }

        // The outcome-unknown jobs are exactly those killed between intent and answer, less (where
        // the provider lists its tasks) those whose request created a task: `resume` adopted each
        // of those, on record as found through the task list, and polled it to its bill.
        let adopted = listsTasks ? killedInWindow.filter { tasksByJob[$0] != nil } : []
        let notes = try await ledger.withStore { store in
            var notes: [String: [String]] = [:]
            for job in adopted {
                notes[job] = try await store.records(forJob: job).compactMap { if case .note(let text) = $0.event.body { return text } else { return nil } }
            }
            return notes
        }
        for job in adopted {
            XCTAssertEqual(states[job]?.taskID, tasksByJob[job]?.first?.id, "seed \(seed): job \(job)")
            XCTAssertEqual(states[job]?.status, .succeeded, "seed \(seed): job \(job): \(states[job]?.detail ?? "")")
            XCTAssertTrue(notes[job]?.contains { $0.contains("task list") } ?? false, "seed \(seed): job \(job)'s adoption is not on record")
        }
        let unknown = Set(states.values.filter(\.outcomeWasUnknown).map(\.id))
        XCTAssertEqual(unknown, killedInWindow.subtracting(adopted), "seed \(seed): unknown outcomes")
        if listsTasks { XCTAssertFalse(adopted.isEmpty, "seed \(seed): no kill left a task for resume to find") }

        // The ledger's actual costs equal the simulator's bill, to the nano-unit.
        let byTask = Dictionary(uniqueKeysWithValues: states.values.compactMap { s in s.taskID.map { ($0, s) } })
        for bill in record.billing {
            guard let state = byTask[bill.taskID] else { XCTFail("seed \(seed): billed task \(bill.taskID) is not in the ledger"); continue }
            XCTAssertEqual(state.actualCost, bill.cost, "seed \(seed): job \(state.id) task \(bill.taskID)")
        }
        let billed = Set(record.billing.map(\.taskID))
        for state in states.values where state.status == .succeeded {
            XCTAssertTrue(state.taskID.map(billed.contains) ?? false, "seed \(seed): job \(state.id) succeeded without a bill")
        }
        let ledgerTotal = states.values.compactMap(\.actualCost).reduce(Int64(0)) { $0 + $1.nanos }
        let billTotal = record.billing.compactMap(\.cost).reduce(Int64(0)) { $0 + $1.nanos }
        XCTAssertEqual(ledgerTotal, billTotal, "seed \(seed): the ledger's total against the simulator's bill (nano-units)")
        let orphans = record.tasks.filter { states[SimulatorProcess.Record.jobID($0.videoURL)]?.taskID != $0.id }.count
        print("drill seed \(seed) (\(ledger)): \(jobs) jobs, \(unknown.count) outcome-unknown (killed between intent and answer), \(adopted.count) adopted from the task list, \(orphans) tasks the ledger never heard of, "
              + "\(record.tasks.count) tasks, \(record.billing.count) bills, USD \(Money(nanos: billTotal, currency: .usd).decimalString) billed = the ledger's actual costs")
    }
}

extension Drill {
    /// Every job goes to DashScope (international): one task in flight, and a task list.
    static let dashScopePolicy = #"{"kind": "policy", "version": 1, "name": "drill-dashscope", "objective": "cheapest", "constraints": {"providers": {"allow": ["dashscope-intl"]}}}"#
}

extension JobState {
    /// Whether the job ended with its outcome unknown: a submission with no recorded answer.
    var outcomeWasUnknown: Bool {
        status == .outcomeUnknown || (status == .needsAttention && submissions > 0 && taskID == nil)
    }
}

/// Eight processes running jobs at once against one budget.
final class BudgetDrillTests: XCTestCase {
    /// The drill policy with a monthly total of USD 20: the eight batches ask for about twice that.
    static let policy = #"{"kind": "policy", "version": 1, "name": "drill", "objective": "cheapest", "constraints": {"providers": {"allow": ["apixo"]}}, "budgets": [{"id": "drill-total", "monthly": {"amount": "20.00", "currency": "USD"}}]}"#
    static let limit = Money(decimal: "20.00", currency: .usd)!

    func testEightProcessesNeverCommitMoreThanTheBudget() async throws {
        let directory = try Repository.temporaryDirectory()
        try Self.policy.write(to: directory.appendingPathComponent("policy.json"), atomically: true, encoding: .utf8)
        let simulator = try SimulatorProcess(speed: 1000, in: directory)
        defer { simulator.stop() }
        let home = directory.appendingPathComponent("home")
        let environment = simulator.environment.merging(["WANROUTE_TIME_SCALE": "1000", "WANROUTE_HOME": home.path]) { $1 }
        for p in 0..<8 {
            // Each process its own job ids: "p3-j0007".
            let jobs = Drill.jobs(15, seed: UInt64(100 + p)).replacingOccurrences(of: "j0", with: "p\(p)-j0")
            try jobs.write(to: directory.appendingPathComponent("jobs-\(p).jsonl"), atomically: true, encoding: .utf8)
        }
        let processes = try (0..<8).map { p in
            try WanrouteProcess(["run", "--jobs", "jobs-\(p).jsonl", "--policy", "policy.json", "--concurrency", "4"], in: directory, environment: environment)
        }
        var statuses: [Int32] = []
        for p in processes { statuses.append(p.wait()) }
        XCTAssertTrue(statuses.allSatisfy { [0, 1, 2].contains($0) }, "\(statuses): \(processes.map(\.stderr))")
        XCTAssertTrue(statuses.contains(2), "the budget never refused a job, so the drill proved nothing: \(statuses)")
        let resume = try BinaryRunner.run(["resume"], in: directory, environment: environment)
        XCTAssertTrue([0, 1].contains(resume.status), resume.stderr)

        // At every point of the ledger's history, settled + reserved stays within the limit.
        let store = try FileLedgerStore(directory: home.appendingPathComponent("ledger").path)
        var book = JobBook()
        var highest = Int64(0)
        var over: [String] = []
        for month in try await store.months() {
            try await store.forEachRecord(in: month) { r in
                book.apply(r)
                let committed = book.states.values.reduce(Int64(0)) { $0 + $1.openReservation.nanos + ($1.settled?.nanos ?? 0) }
                highest = max(highest, committed)
                if committed > Self.limit.nanos, over.count < 5 { over.append("after seq \(r.sequence): \(Money(nanos: committed, currency: .usd))") }
            }
        }
        XCTAssertEqual(over, [], "settled + reserved went over \(Self.limit)")
        XCTAssertEqual(book.states.count, 120)

        // The simulator's bill is the truth: within the limit, and what the ledger settled.
        let record = try simulator.record()
        let billed = record.billing.compactMap(\.cost).reduce(Int64(0)) { $0 + $1.nanos }
        XCTAssertLessThanOrEqual(billed, Self.limit.nanos)
        XCTAssertGreaterThan(billed, 0)
        let settled = book.states.values.reduce(Int64(0)) { $0 + ($1.settled?.nanos ?? 0) }
        let open = book.states.values.reduce(Int64(0)) { $0 + $1.openReservation.nanos }
        XCTAssertEqual(settled, billed, "the ledger settled \(Money(nanos: settled, currency: .usd)), the providers billed \(Money(nanos: billed, currency: .usd))")
        XCTAssertEqual(open, 0, "reservations left open after resume")
        print("budget drill: 8 processes, exits \(statuses), highest settled + reserved USD \(Money(nanos: highest, currency: .usd).decimalString), "
              + "billed USD \(Money(nanos: billed, currency: .usd).decimalString) of \(Self.limit)")
        XCTAssertEqual(Set(record.tasks.map { SimulatorProcess.Record.jobID($0.videoURL) }).count, record.tasks.count, "a job has two tasks")
    }
}
