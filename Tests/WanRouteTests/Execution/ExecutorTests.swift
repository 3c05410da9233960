import WanRouteTesting
import XCTest
@testable import WanRoute

/// The executor against the provider simulator over real loopback HTTP, with virtual time.
final class ExecutorTests: XCTestCase {
    /// One key per provider: the DashScope regions are separate accounts, told apart by key.
    static let keys = Dictionary(uniqueKeysWithValues: ProviderEndpoints.defaults.keys.map { ($0, "sk-test-SECRET-\($0.rawValue)") })
    var simulator: ProviderSimulator!
    var time: VirtualTimeSource!

    override func tearDown() {
        simulator?.stop()
        simulator = nil
    }

    /// A simulator with `script`, and an executor whose adapters all point at it.
    func executor(script: [FaultRule] = [], random: RandomFaults? = nil, runningPolls: Int = 1,
                  options: ExecutorOptions = ExecutorOptions(), keys: [ProviderID: String]? = nil,
                  observers: [any ExecutionObserver] = []) throws -> Executor {
        var configuration = ProviderSimulator.Configuration(queuedPolls: 1, runningPolls: runningPolls, script: script, random: random)
        configuration.apiKeys = Self.keys.mapValues { [$0] }
        simulator = ProviderSimulator(configuration: configuration)
        let base = try simulator.start()
        let transport = URLSessionTransport()
        var adapters: [ProviderID: any ProviderAdapter] = [:]
        for p in ProviderEndpoints.defaults.keys { adapters[p] = makeAdapter(for: p, baseURL: base, transport: transport, requestTimeout: 5, now: { Date() }) }
        time = VirtualTimeSource()
        return Executor(catalog: Policies.catalog, adapters: adapters, apiKeys: keys ?? Self.keys, time: time, options: options, seed: 7,
                        observers: observers)
    }

    /// A policy choosing among `providers` (in that order of preference) with failover `on`.
    func decide(_ job: Job, providers: [String], failoverOn: [String], alternates: Int = 2) throws -> Decision {
        let list = providers.map { "\"\($0)\"" }.joined(separator: ", ")
        let on = failoverOn.map { "\"\($0)\"" }.joined(separator: ", ")
        return try Policies.router("""
        "objective": "cheapest", "constraints": {"providers": {"allow": [\(list)]}, "modes": {"deny": ["wan-pro"]}},
        "prefer": {"providers": [\(list)], "rank": "ahead"}, "failover": {"alternates": \(alternates), "on": [\(on)]}
        """).decide(job)
    }

    func order(_ job: Job, seconds: String, id: String = "j1") -> JobOrder {
        JobOrder(id: id, job: job, imageURL: "https://media.example/face.png", videoURL: "https://media.example/dance.mp4?duration=\(seconds)")
    }

    func testSuccessReportsTheResultAndTheProviderReportedCost() async throws {
        let executor = try executor()
        let j = job(.animate, "12.34", .p720)
        let report = await executor.run(order(j, seconds: "12.34"), decision: try decide(j, providers: ["dashscope-intl"], failoverOn: []))
        XCTAssertEqual(report.status, .succeeded, report.message)
        XCTAssertEqual(report.provider?.rawValue, "dashscope-intl")
        XCTAssertNotNil(report.resultURL)
        XCTAssertEqual(report.billed?.seconds, Seconds(decimal: "12.4"))
        XCTAssertEqual(report.actualCostSource, .providerReported)
        XCTAssertEqual(report.actualCost, usd("1.488"))           // 12.4 s × 0.12
        XCTAssertEqual(report.estimatedCost, usd("1.488"))
        XCTAssertEqual(simulator.billing.map(\.cost), [usd("1.488")])
        // DashScope's schedule: first poll after 15 s, then every 15 s.
        XCTAssertEqual(time.sleeps.first, Seconds(whole: 15))
    }

    func testALostSubmitResponseIsNeverResubmittedNorFailedOver() async throws {
        let executor = try executor(script: [FaultRule(.lostResponse, provider: .apixo, endpoint: .submit)])
        let j = job(.animate, "10", .p720)
        let all = FailureClass.allCases.map(\.rawValue)
        let report = await executor.run(order(j, seconds: "10"), decision: try decide(j, providers: ["apixo", "dashscope-intl"], failoverOn: all))
        XCTAssertEqual(report.status, .needsAttention)
        XCTAssertEqual(report.attempts.map(\.outcome), [.outcomeUnknown])
        XCTAssertEqual(simulator.submissionCount(), 1, "one submission, to one provider")
        XCTAssertEqual(simulator.tasks.count, 1)
        XCTAssertTrue(simulator.tasks[0].answerLost, "the provider created a task the client never heard of")
        XCTAssertTrue(report.message.contains("neither re-submitted nor failed over"), report.message)
    }

    func testFailsOverOnANamedClass() async throws {
        let executor = try executor(script: [FaultRule(.outOfBalance, provider: .apixo, endpoint: .submit)])
        let j = job(.animate, "10", .p720)
        let report = await executor.run(order(j, seconds: "10"), decision: try decide(j, providers: ["apixo", "dashscope-intl"], failoverOn: ["out-of-balance"]))
        XCTAssertEqual(report.status, .succeeded, report.message)
        XCTAssertEqual(report.provider?.rawValue, "dashscope-intl")
        XCTAssertEqual(report.attempts.map(\.outcome), [.submitFailed, .succeeded])
        XCTAssertEqual(report.attempts[0].failure, .outOfBalance)
        XCTAssertEqual(report.attempts.map(\.actualCostSource), [.noTask, .providerReported])
        XCTAssertEqual(report.actualCost, report.attempts[1].actualCost, "a refused submission adds nothing")
    }

    func testASubmissionRefusedEverywhereCostsNothingAndSaysWhy() async throws {
        let executor = try executor(script: [FaultRule(.outOfBalance, provider: .apixo, endpoint: .submit)])
        let j = job(.animate, "10", .p720)
        let report = await executor.run(order(j, seconds: "10"), decision: try decide(j, providers: ["apixo"], failoverOn: ["out-of-balance"]))
        XCTAssertEqual(report.status, .failed)
        XCTAssertEqual(report.actualCost, usd("0"))
        XCTAssertEqual(report.actualCostSource, .noTask)
        XCTAssertEqual(report.attempts.map(\.actualCostSource), [.noTask])
        XCTAssertEqual(simulator.tasks.count, 0)
    }

    func testAnUnknownCostEarlierInTheJobMakesTheTotalUnknown() async throws {
        // APIXO does not say whether a failed task bills: failing over from one leaves the total unknown.
        let executor = try executor(script: [FaultRule(.taskFails, provider: .apixo, endpoint: .submit)])
        let j = job(.animate, "10", .p720)
        let report = await executor.run(order(j, seconds: "10"), decision: try decide(j, providers: ["apixo", "dashscope-intl"], failoverOn: ["failed"]))
        XCTAssertEqual(report.status, .succeeded, report.message)
        XCTAssertEqual(report.attempts.map(\.outcome), [.taskFailed, .succeeded])
        XCTAssertNil(report.attempts[0].actualCost)
        XCTAssertEqual(report.attempts[1].actualCost, usd("1.20"))
        XCTAssertNil(report.actualCost, "never a total that leaves out a task that may have billed")
    }

    func testDoesNotFailOverOnAClassThePolicyDoesNotName() async throws {
        let executor = try executor(script: [FaultRule(.taskRefused, provider: .apixo, endpoint: .submit)])
        let j = job(.animate, "10", .p720)
        let report = await executor.run(order(j, seconds: "10"), decision: try decide(j, providers: ["apixo", "dashscope-intl"], failoverOn: ["out-of-balance"]))
        XCTAssertEqual(report.status, .failed)
        XCTAssertEqual(report.attempts.map(\.failure), [.contentRefused])
        XCTAssertEqual(simulator.submissionCount(ProviderID("dashscope-intl")!), 0)
        XCTAssertTrue(report.message.contains("does not fail over on content-refused"), report.message)
        XCTAssertNil(report.actualCost, "APIXO does not say whether a refused task bills: unknown, not zero")
    }

    func testRetryAfterIsHonoured() async throws {
        let executor = try executor(script: [FaultRule(.rateLimited(retryAfter: 37), provider: .apixo, endpoint: .submit, times: 2)])
        let j = job(.animate, "10", .p480)
        let report = await executor.run(order(j, seconds: "10"), decision: try decide(j, providers: ["apixo"], failoverOn: []))
        XCTAssertEqual(report.status, .succeeded, report.message)
        XCTAssertEqual(report.attempts.first?.submissions, 3)
        XCTAssertEqual(simulator.tasks.count, 1, "rate-limited submissions created no task")
        let waits = time.sleeps
        XCTAssertGreaterThanOrEqual(waits[0], Seconds(whole: 37))
        XCTAssertGreaterThanOrEqual(waits[1], Seconds(whole: 37))
        XCTAssertEqual(waits[2], Seconds(whole: 60), "APIXO's first poll comes 60 s after submitting")
        let interval = waits[3]
        XCTAssertTrue(interval >= Seconds(whole: 5) && interval <= Seconds(whole: 10), "then every 5-10 s: \(interval)")
    }

    func testAProviderThatKeepsFailingIsCooledDownForTheJobsThatFollow() async throws {
        var options = ExecutorOptions()
        options.cooldownAfter = 2
        options.cooldown = Seconds(whole: 3_600)
        let executor = try executor(script: [FaultRule(.taskFails, provider: .apixo, endpoint: .submit, times: 5)], options: options)
        let j = job(.animate, "10", .p720)
        let decision = try decide(j, providers: ["apixo", "dashscope-intl"], failoverOn: ["failed"])
        var outcomes: [[AttemptOutcome]] = []
        for i in 1...3 {
            let report = await executor.run(order(j, seconds: "10", id: "j\(i)"), decision: decision)
            XCTAssertEqual(report.status, .succeeded, report.message)
            outcomes.append(report.attempts.map(\.outcome))
        }
        XCTAssertEqual(outcomes, [[.taskFailed, .succeeded], [.taskFailed, .succeeded], [.skippedCoolingDown, .succeeded]])
        XCTAssertEqual(simulator.submissionCount(ProviderID("apixo")!), 2, "the third job did not try APIXO")
    }

    func testTheDeadlineEndsPollingButKeepsTheTaskID() async throws {
        var options = ExecutorOptions()
        options.deadline = Seconds(whole: 300)
        let executor = try executor(runningPolls: 10_000, options: options)
        let j = job(.animate, "10", .p720)
        let report = await executor.run(order(j, seconds: "10"), decision: try decide(j, providers: ["dashscope-intl"], failoverOn: ["timeout"]))
        XCTAssertEqual(report.status, .unfinished)
        let task = try XCTUnwrap(simulator.tasks.first)
        XCTAssertEqual(report.taskID, task.id)
        XCTAssertEqual(report.attempts.map(\.outcome), [.deadline])
        XCTAssertTrue(report.message.contains(task.id), report.message)
        XCTAssertEqual(simulator.submissionCount(), 1, "a timeout is never failed over: the task may still bill")
        XCTAssertLessThanOrEqual(time.now(), Seconds(whole: 300))
    }

    func testPerProviderInFlightLimitIsRespected() async throws {
        _ = try executor(runningPolls: 3)
        let counting = InFlightCounter(makeAdapter(for: ProviderID("dashscope-intl")!, baseURL: simulator.baseURL!, transport: URLSessionTransport(), now: { Date() })!)
        let executor = Executor(catalog: Policies.catalog, adapters: [counting.provider: counting], apiKeys: [counting.provider: Self.keys[counting.provider]!],
                                time: time, seed: 1)
        let j = job(.animate, "10", .p720)
        let decision = try decide(j, providers: ["dashscope-intl"], failoverOn: [])
        let orders = (1...6).map { order(j, seconds: "10", id: "j\($0)") }
        let reports = await executor.run(orders, decider: Decisions(same: decision), concurrency: 6)
        XCTAssertEqual(reports.map(\.status), Array(repeating: .succeeded, count: 6))
        // With one task in flight at a time, no task is submitted before the previous one finished.
        let tasks = simulator.tasks
        XCTAssertEqual(tasks.count, 6)
        XCTAssertTrue(tasks.allSatisfy(\.finished))
        XCTAssertEqual(counting.peak, 1, "DashScope allows one task in flight per account")
    }

    func testAPIKeysNeverReachAReport() async throws {
        // The simulator echoes the presented key in its 401 message, as some real APIs do.
        let executor = try executor(keys: Dictionary(uniqueKeysWithValues: ProviderEndpoints.defaults.keys.map { ($0, "sk-WRONG-SECRET-999") }))
        let j = job(.animate, "10", .p720)
        let report = await executor.run(order(j, seconds: "10"), decision: try decide(j, providers: ["apixo", "dashscope-intl"], failoverOn: ["auth"]))
        XCTAssertEqual(report.status, .failed)
        XCTAssertEqual(report.attempts.map(\.failure), [.auth, .auth])
        let everything = "\(report)" + report.attempts.map(\.detail).joined()
        XCTAssertFalse(everything.contains("SECRET"), everything)
        XCTAssertTrue(report.attempts[0].detail.contains("[redacted]"), report.attempts[0].detail)
    }
}

/// Decisions made in advance, handed out as each job starts.
struct Decisions: JobDecider {
    var byID: [String: Decision] = [:]
    var same: Decision?

    init(byID: [String: Decision]) { self.byID = byID }
    init(same: Decision) { self.same = same }

    func decision(for order: JobOrder) async throws -> Decision { byID[order.id] ?? same! }
}

/// The real adapter, counting tasks between their submission and their end.
final class InFlightCounter: ProviderAdapter, @unchecked Sendable {
    let inner: any ProviderAdapter
    private let lock = NSLock()
    private var current = 0
    private var highest = 0

    init(_ inner: any ProviderAdapter) { self.inner = inner }

    var provider: ProviderID { inner.provider }
    var pollSchedule: PollSchedule { inner.pollSchedule }
    var peak: Int { lock.withLock { highest } }

    func submit(_ request: GenerationRequest, apiKey: String) async throws(ProviderError) -> String {
        let id = try await inner.submit(request, apiKey: apiKey)
        lock.withLock { current += 1; highest = max(highest, current) }
        return id
    }

    func status(taskID: String, apiKey: String) async throws(ProviderError) -> TaskState {
        let state = try await inner.status(taskID: taskID, apiKey: apiKey)
        switch state {
        case .succeeded, .failed: lock.withLock { current -= 1 }
        case .queued, .running: break
        }
        return state
    }
}

/// 200 jobs with random faults: every job is accounted for exactly once, nothing is paid twice,
/// and what the simulator bills matches what the executor reports.
extension ExecutorTests {
    func testTwoHundredJobsWithRandomFaultsAreAccountedForExactlyOnce() async throws {
        let faults = RandomFaults(seed: 2026, rates: [
            .init(.rateLimited(retryAfter: 3), 0.06), .init(.serverError(503), 0.04), .init(.serverError(500), 0.02),
            .init(.lostResponse, 0.02), .init(.malformedJSON, 0.01), .init(.outOfBalance, 0.02),
            .init(.taskFails, 0.04), .init(.taskRefused, 0.02), .init(.contentRefused, 0.01),
        ])
        var options = ExecutorOptions()
        options.deadline = Seconds(whole: 100_000_000)  // virtual time is shared by all jobs at once
        options.cooldownAfter = 1_000
        let executor = try executor(random: faults, options: options)
        var rng = SeededGenerator(seed: 99)
        var orders: [JobOrder] = []
        var decisions: [String: Decision] = [:]
        for i in 0..<200 {
            let seconds = FixedDecimal.format(Int64.random(in: 2_000...29_900, using: &rng), scale: 3)
            let j = job(i % 3 == 0 ? .replace : .animate, seconds, .p720)
            let providers = [["apixo", "dashscope-intl", "dashscope-cn"], ["dashscope-intl", "apixo"], ["dashscope-cn", "dashscope-intl"]][i % 3]
            let d = try decide(j, providers: providers, failoverOn: ["rate-limited", "provider-error", "out-of-balance", "failed"])
            orders.append(order(j, seconds: seconds, id: "job-\(i)"))
            decisions["job-\(i)"] = d
        }
        let reports = await executor.run(orders, decider: Decisions(byID: decisions), concurrency: 24)
        let records = simulator.settle()  // orphans finish too, as the provider would bill them

        // Every job once, in order.
        XCTAssertEqual(reports.map(\.id), (0..<200).map { "job-\($0)" })
        // Every task the simulator created is known to exactly one job, or is an orphan of a
        // submission whose answer was lost; each such job stopped there, needing attention.
        let known = reports.flatMap { $0.attempts.compactMap(\.taskID) }
        XCTAssertEqual(Set(known).count, known.count, "no task belongs to two attempts")
        let orphans = simulator.tasks.filter { !known.contains($0.id) }
        XCTAssertTrue(orphans.allSatisfy(\.answerLost))
        let unknownOutcome = reports.filter { $0.attempts.contains { $0.outcome == .outcomeUnknown } }
        XCTAssertEqual(orphans.count, unknownOutcome.count)
        XCTAssertTrue(unknownOutcome.allSatisfy { $0.status == .needsAttention && $0.attempts.last?.outcome == .outcomeUnknown })
        XCTAssertGreaterThan(orphans.count, 0, "the seed should exercise lost answers")
        // What the simulator bills for each task equals the cost its attempt reports, whenever
        // the attempt knows it; a job's total, when known, is the sum of its tasks' bills.
        let bill = Dictionary(uniqueKeysWithValues: records.map { ($0.taskID, $0) })
        var knownTotals = 0
        for report in reports {
            for attempt in report.attempts {
                if let task = attempt.taskID, let cost = attempt.actualCost {
                    XCTAssertEqual(cost, bill[task]?.cost, "\(report.id) task \(task) on \(attempt.provider)")
                }
                if attempt.outcome == .succeeded { XCTAssertNotNil(attempt.actualCost, "\(report.id): a success on \(attempt.provider) has a known cost") }
            }
            guard let total = report.actualCost else {
                XCTAssertTrue(report.attempts.contains { $0.submissions > 0 && $0.actualCost == nil }, "\(report.id): an unknown total names its unknown attempt")
                continue
            }
            knownTotals += 1
            let billed = report.attempts.compactMap { $0.taskID.flatMap { bill[$0]?.cost } }.filter { $0.nanos != 0 }
            XCTAssertEqual(total.nanos, billed.reduce(0) { $0 + $1.nanos }, report.id)
        }
        XCTAssertGreaterThan(knownTotals, 150)
        let statuses = Dictionary(grouping: reports, by: \.status).mapValues(\.count)
        XCTAssertGreaterThan(statuses[.succeeded] ?? 0, 150, "\(statuses)")
        XCTAssertEqual(reports.filter { $0.status == .succeeded }.count + reports.filter { $0.status != .succeeded }.count, 200)
    }
}
