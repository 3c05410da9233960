import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// `wanroute resume` resolving DashScope submissions whose answer was lost, through DashScope's
/// task list on the simulator: the ledger is written as a run killed after its submit-intent
/// leaves it, and the simulator holds (or not) the task the request created.
final class ResumeTaskListTests: XCTestCase {
    let key = "sk-resume-SECRET-77"
    let intl = ProviderEndpoints.dashscopeIntl
    /// A lost submission's time: the first instant of December 2026 (and of its ledger file).
    static let intent = Date(timeIntervalSince1970: 1_796_083_200.1)

    final class ProviderClock: @unchecked Sendable {
        private let lock = NSLock()
        private var now: Date
        init(_ start: Date) { now = start }
        var date: Date { lock.withLock { now } }
        func set(_ d: Date) { lock.withLock { now = d } }
    }

    var simulator: ProviderSimulator!
    var clock: ProviderClock!
    var home: URL!
    var store: FileLedgerStore!
    var environment: [String: String] = [:]

    override func setUpWithError() throws {
        clock = ProviderClock(Self.intent)
        var configuration = ProviderSimulator.Configuration(apiKey: key)
        configuration.clock = { [clock] in clock!.date }
        simulator = ProviderSimulator(configuration: configuration)
        let base = try simulator.start()
        home = try Repository.temporaryDirectory()
        store = try FileLedgerStore(directory: home.appendingPathComponent("ledger").path)
        // At 1000x, DashScope's 15 s poll interval is 15 ms, and the search window's margins (300 s
        // of clock skew, the 30 s request timeout) are 0.3 s and 0.03 s.
        environment = ["WANROUTE_HOME": home.path, "WANROUTE_TIME_SCALE": "1000",
                       "WANROUTE_DASHSCOPE_INTL_BASE_URL": base.absoluteString, "DASHSCOPE_API_KEY": key]
    }

    override func tearDown() { simulator.stop() }

    func video(_ job: String) -> String { "https://media.test/\(job).mp4?duration=7.5" }

    /// A job decided, reserved and its submit-intent written at `at`, as `run` leaves it when killed.
    func lostSubmission(_ job: String, at: Date, behavior: Behavior = .animate) async throws {
        let usd = Money(decimal: "0.90", currency: .usd)!
        let decision = LedgerDecision(behavior: behavior, duration: Seconds(decimal: "7.5")!, policy: "drill", mode: .wanStd, resolution: .p720,
                                      estimate: usd, estimateUSD: usd)
        let time = LedgerTime(at.addingTimeInterval(-0.05))
        _ = try await store.append([
            LedgerEvent(time: time, jobID: job, runID: "run-killed", provider: intl, body: .decided(decision)),
            LedgerEvent(time: time, jobID: job, provider: intl, body: .reserved(LedgerBudgetAmount(amount: usd, budgets: BudgetKey.keys(provider: intl, tags: [:])))),
            LedgerEvent(time: LedgerTime(at), jobID: job, provider: intl, body: .submitIntent(mode: .wanStd, resolution: .p720, attempt: 1)),
        ])
    }

    /// The request of `job` reaching DashScope: a task created at `at`.
    @discardableResult
    func reached(_ job: String, at: Date, behavior: Behavior = .animate) async throws -> String {
        clock.set(at)
        let adapter = makeAdapter(for: intl, baseURL: simulator.baseURL!, transport: URLSessionTransport(), now: { Date() })!
        return try await adapter.submit(GenerationRequest(behavior: behavior, mode: .wanStd, resolution: .p720, imageURL: "https://media.test/face.png",
                                                          videoURL: video(job)), apiKey: key)
    }

    func resume(_ extra: [String] = []) async throws -> CLIRunner.Result {
        let r = try await CLIRunner.run(["resume"] + extra, environment: environment)
        XCTAssertFalse((r.stdout + r.stderr).contains(key), "the key leaked")
        return r
    }

    func state(_ job: String) async throws -> JobState {
        let folded = try await store.job(job)
        return try XCTUnwrap(folded)
    }

    func testALostSubmissionThatReachedDashScopeIsAdoptedPolledAndCostsWhatTheSimulatorBilled() async throws {
        // Another job's task, created inside this window, is already in the ledger, in November's
        // file: the whole ledger's task ids are left out, across months.
        let other = try await reached("other", at: Self.intent.addingTimeInterval(-0.15))
        let november = LedgerTime(Self.intent.addingTimeInterval(-0.12))
        _ = try await store.append([LedgerEvent(time: november, jobID: "other", provider: intl, taskID: other, body: .accepted),
                                    LedgerEvent(time: november, jobID: "other", body: .succeeded(LedgerSuccess(resultURL: "https://r.test/o.mp4", cost: nil, costSource: nil)))])
        let months = try await store.months()
        XCTAssertEqual(months.map(\.description), ["2026-11"])
        try await lostSubmission("lost", at: Self.intent)
        let task = try await reached("lost", at: Self.intent.addingTimeInterval(0.04))
        let submissions = simulator.submissionCount()

        let dry = try await resume(["--dry-run"])
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertTrue(dry.stdout.contains("lost: adopt task \(task) at dashscope-intl"), dry.stdout)
        let untouched = try await state("lost")
        XCTAssertEqual(untouched.status, .submitted, "a dry run changes nothing")

        let r = try await resume()
        XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
        XCTAssertEqual(simulator.submissionCount(), submissions, "nothing is submitted again")
        let s = try await state("lost")
        XCTAssertEqual(s.status, .succeeded)
        XCTAssertEqual(s.taskID, task)
        XCTAssertEqual(s.tasks.map(\.taskID), [task])
        let bill = try XCTUnwrap(simulator.billing.first { $0.taskID == task })
        XCTAssertEqual(s.actualCost, bill.cost, "the ledger's cost is the simulator's bill")
        XCTAssertEqual(s.settled, bill.cost)
        XCTAssertEqual(s.openReservation, .zero(.usd))
        // The adoption is on record before the first poll: accepted, then the note, then the rest.
        let events = try await store.records(forJob: "lost").map(\.event)
        let accepted = try XCTUnwrap(events.firstIndex { $0.type == .accepted })
        XCTAssertEqual(events[accepted].taskID, task)
        XCTAssertTrue(events[accepted].runID?.hasPrefix("resume-") ?? false)
        guard case .note(let note) = events[accepted + 1].body else { return XCTFail("\(events)") }
        XCTAssertTrue(note.contains("task list"), note)
        let otherState = try await state("other")
        XCTAssertEqual(otherState.tasks.map(\.taskID), [other], "the other job's task stays the other job's")

        let again = try await resume()
        XCTAssertEqual(again.status, 0)
        XCTAssertEqual(again.stdout, "", "safe to run twice: nothing left to do")
        let after = try await store.records(forJob: "lost")
        XCTAssertEqual(after.count, events.count)
    }

    func testALostSubmissionThatNeverReachedDashScopeNeedsAttentionAndIsNeverSubmitted() async throws {
        try await lostSubmission("lost", at: Self.intent)
        // Tasks before and after the window, and one of another model inside it.
        try await reached("early", at: Self.intent.addingTimeInterval(-5))
        try await reached("late", at: Self.intent.addingTimeInterval(5))
        try await reached("mix", at: Self.intent.addingTimeInterval(0.01), behavior: .replace)
        let r = try await resume()
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(simulator.submissionCount(), 3, "nothing is submitted again")
        let s = try await state("lost")
        XCTAssertEqual(s.status, .needsAttention)
        XCTAssertNil(s.taskID)
        XCTAssertTrue(s.detail?.contains("shows no animate task") ?? false, s.detail ?? "")
        XCTAssertEqual(s.openReservation, Money(decimal: "0.90", currency: .usd), "an unknown outcome keeps its reservation")
    }

    func testSeveralTasksInTheWindowAreNamedNotAdopted() async throws {
        try await lostSubmission("lost", at: Self.intent)
        let first = try await reached("x", at: Self.intent.addingTimeInterval(0.01))
        let second = try await reached("y", at: Self.intent.addingTimeInterval(0.02))
        let r = try await resume()
        XCTAssertEqual(r.status, 1)
        let s = try await state("lost")
        XCTAssertEqual(s.status, .needsAttention)
        XCTAssertEqual(s.tasks, [])
        XCTAssertTrue(s.detail?.contains(first) ?? false, s.detail ?? "")
        XCTAssertTrue(s.detail?.contains(second) ?? false, s.detail ?? "")
    }

    func testOneTaskInTheWindowsOfTwoLostSubmissionsIsNobodys() async throws {
        try await lostSubmission("a", at: Self.intent)
        try await lostSubmission("b", at: Self.intent.addingTimeInterval(0.02))
        let task = try await reached("a", at: Self.intent.addingTimeInterval(0.03))
        let r = try await resume()
        XCTAssertEqual(r.status, 1)
        for job in ["a", "b"] {
            let s = try await state(job)
            XCTAssertEqual(s.status, .needsAttention, job)
            XCTAssertEqual(s.tasks, [], job)
            XCTAssertTrue(s.detail?.contains("could as well be") ?? false, s.detail ?? "")
        }
        XCTAssertFalse(simulator.task(task)?.finished ?? true, "nobody polls a task nobody owns")
    }

    func testASubmissionStillInItsWindowIsLeftOpen() async throws {
        environment["WANROUTE_TIME_SCALE"] = nil
        try await lostSubmission("fresh", at: Date())
        let r = try await resume()
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("run resume again after"), r.stdout)
        let fresh = try await state("fresh")
        XCTAssertEqual(fresh.status, .submitted, "left open for a later resume")
    }

    func testAListThatFailsLeavesTheJobOpenForALaterResume() async throws {
        try await lostSubmission("lost", at: Self.intent)
        let task = try await reached("lost", at: Self.intent.addingTimeInterval(0.04))
        simulator.inject(FaultRule(.serverError(500), provider: .dashscope, endpoint: .list, times: 1))
        let failed = try await resume()
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(failed.stdout.contains("left open: looking for its task in dashscope-intl's task list failed"), failed.stdout)
        let open = try await state("lost")
        XCTAssertEqual(open.status, .submitted, "nothing recorded: a later resume looks again")
        let later = try await resume()
        XCTAssertEqual(later.status, 0, later.stdout)
        let s = try await state("lost")
        XCTAssertEqual(s.status, .succeeded)
        XCTAssertEqual(s.taskID, task)
    }

    func testTwoResumesAtOnceAdoptAndPollTheTaskOnce() async throws {
        try await lostSubmission("lost", at: Self.intent)
        let task = try await reached("lost", at: Self.intent.addingTimeInterval(0.04))
        let arguments = ["resume"], env = environment
        async let one = CLIRunner.run(arguments, environment: env)
        async let two = CLIRunner.run(arguments, environment: env)
        let results = try await [one, two]
        XCTAssertTrue(results.allSatisfy { [0, 1].contains($0.status) }, results.map(\.stderr).joined())
        let s = try await state("lost")
        XCTAssertEqual(s.status, .succeeded)
        XCTAssertEqual(s.tasks.map(\.taskID), [task])
        // One adoption decides; the other resume polls only if it started after that `accepted` was
        // durable (then the job was simply open to it), so the end may be recorded twice, never
        // counted twice: the fold ends the job once, at the provider's bill (README, resume).
        let events = try await store.records(forJob: "lost").map(\.event)
        let ends = events.compactMap { event -> Money?? in
            if case .succeeded(let success) = event.body { return .some(success.cost) } else { return nil }
        }
        XCTAssertTrue((1...2).contains(ends.count), "at most one end per resume: \(events.map(\.type))")
        XCTAssertEqual(Set(ends.map { $0.map(\.description) ?? "unknown" }).count, 1, "both ends record the same bill")
        XCTAssertEqual(s.actualCost, simulator.billing.first { $0.taskID == task }?.cost)
        XCTAssertEqual(simulator.billing.filter { $0.taskID == task }.count, 1, "the task is billed once")
    }

    func testTheFirstAdoptionOfATaskInLedgerOrderWins() async throws {
        let resolver = LostSubmissionResolver(store: store, adapters: [:], apiKeys: [:])
        let job = JobOrder(id: "j", job: Job(behavior: .animate, duration: Seconds(whole: 5)), imageURL: "", videoURL: "")
        let task = AcceptedTask(order: job, provider: intl, mode: .wanStd, resolution: .p720, taskID: "t-1")
        let at = LedgerTime(Self.intent)
        let firstWins = try await resolver.adopt(task, note: "n", runID: "resume-1", at: at)
        let secondLoses = try await resolver.adopt(task, note: "n", runID: "resume-2", at: at)
        XCTAssertTrue(firstWins)
        XCTAssertFalse(secondLoses, "the same job adopted again: the first resume polls")
        let j = try await state("j")
        XCTAssertEqual(j.status, .accepted, "an accepted task accepted again changes nothing")
        var other = task
        other.order.id = "k"
        let otherLoses = try await resolver.adopt(other, note: "n", runID: "resume-3", at: at)
        XCTAssertFalse(otherLoses)
        let k = try await state("k")
        XCTAssertEqual(k.status, .needsAttention, "a task adopted for another job first is not this job's")
    }
}
