import Foundation
import WanRouteTestSupport
import WanRouteTesting
import XCTest
@testable import WanRoute

/// The executor recording into a real file ledger, against the provider simulator over loopback.
final class LedgerRecorderTests: XCTestCase {
    static let keys = Dictionary(uniqueKeysWithValues: ProviderEndpoints.defaults.keys.map { ($0, "sk-test-\($0.rawValue)") })
    var simulator: ProviderSimulator!
    var base: URL!

    override func tearDown() {
        simulator?.stop()
        simulator = nil
    }

    func setUp(policy body: String, script: [FaultRule] = []) throws -> (Executor, LedgerRecorder, FileLedgerStore) {
        var configuration = ProviderSimulator.Configuration(queuedPolls: 1, runningPolls: 1, script: script)
        configuration.apiKeys = Self.keys.mapValues { [$0] }
        simulator = ProviderSimulator(configuration: configuration)
        base = try simulator.start()
        let transport = URLSessionTransport()
        var adapters: [ProviderID: any ProviderAdapter] = [:]
        for p in ProviderEndpoints.defaults.keys { adapters[p] = makeAdapter(for: p, baseURL: base, transport: transport, requestTimeout: 5, now: { Date() }) }
        let time = VirtualTimeSource()
        let store = try FileLedgerStore(directory: try Repository.temporaryDirectory().path + "/ledger")
        let router = try Policies.router(body)
        let recorder = LedgerRecorder(store: store, router: router, catalog: Policies.catalog, runID: "run-1", time: time,
                                      policyDigest: "policy-digest", pricingDigest: "pricing-digest")
        let executor = Executor(catalog: Policies.catalog, adapters: adapters, apiKeys: Self.keys, time: time, seed: 7, observers: [recorder])
        return (executor, recorder, store)
    }

    func order(_ id: String, _ seconds: String, tags: [String: String] = [:]) -> JobOrder {
        JobOrder(id: id, job: job(.animate, seconds, .p720, tags: tags), imageURL: "https://media.example/face.png",
                 videoURL: "https://media.example/\(id).mp4?duration=\(seconds)")
    }

    /// `accepted` says the provider holds the task and it has not started: a first report of
    /// `queued` changes nothing and writes no line; `running`, and a return to `queued`, do.
    func testOnlyAChangeOfTheTasksStateIsWritten() throws {
        let (_, recorder, _) = try setUp(policy: #""objective": "cheapest""#)
        let p = ProviderEndpoints.dashscopeIntl
        func steps(_ e: ExecutionEvent) -> [LedgerEventBody] { recorder.ledgerEvents(for: e).map(\.body) }
        XCTAssertEqual(steps(.accepted(jobID: "j", provider: p, taskID: "t")), [.accepted])
        XCTAssertEqual(steps(.taskState(jobID: "j", provider: p, taskID: "t", state: .queued)), [])
        XCTAssertEqual(steps(.taskState(jobID: "j", provider: p, taskID: "t", state: .running)), [.state(.running)])
        XCTAssertEqual(steps(.taskState(jobID: "j", provider: p, taskID: "t", state: .queued)), [.state(.queued)])
        XCTAssertEqual(steps(.accepted(jobID: "k", provider: p, taskID: "u")), [.accepted])
        XCTAssertEqual(steps(.taskState(jobID: "k", provider: p, taskID: "u", state: .running)), [.state(.running)])
        XCTAssertEqual(steps(.taskState(jobID: "k", provider: p, taskID: "u", state: .running)), [], "no change")
        // A job `resume` continues: the ledger's last word on its task is what a change is measured against.
        recorder.adopt(jobID: "waiting", reserved: false, progress: .queued)
        XCTAssertEqual(steps(.taskState(jobID: "waiting", provider: p, taskID: "w", state: .queued)), [])
        recorder.adopt(jobID: "ran", reserved: false, progress: .running)
        XCTAssertEqual(steps(.taskState(jobID: "ran", provider: p, taskID: "r", state: .queued)), [.state(.queued)])
        recorder.adopt(jobID: "unknown", reserved: false)
        XCTAssertEqual(steps(.taskState(jobID: "unknown", provider: p, taskID: "x", state: .queued)), [.state(.queued)])
        // What `resume` passes: the fold's last word on the task.
        typealias C = LedgerStoreConformance
        let lifecycle = C.lifecycle("s")  // decided, reserved, intent, accepted, running, succeeded, settled
        let queuedAgain = LedgerEvent(time: C.at(5), jobID: "s", body: .state(.queued))
        for (events, progress) in [(Array(lifecycle.prefix(2)), nil), (Array(lifecycle.prefix(3)), nil), (Array(lifecycle.prefix(4)), TaskProgress.queued),
                                   (Array(lifecycle.prefix(5)), .running), (Array(lifecycle.prefix(5)) + [queuedAgain], .queued), (lifecycle, nil)] {
            let records = events.enumerated().map { LedgerRecord(sequence: Int64($0.offset + 1), event: $0.element) }
            let state = try XCTUnwrap(JobState.fold(records))
            XCTAssertEqual(state.taskProgress, progress, "\(state.status)")
        }
    }

    func testEveryStepIsRecordedAndTheLedgerAgreesWithTheSimulatorsBill() async throws {
        let (executor, recorder, store) = try setUp(policy: """
            "objective": "cheapest", "constraints": {"providers": {"allow": ["dashscope-intl"]}, "modes": {"deny": ["wan-pro"]}},
            "budgets": [{"id": "studio", "monthly": {"amount": "100.00", "currency": "USD"}}]
            """)
        let orders = [order("a", "5"), order("b", "12.34", tags: ["customer": "film"]), order("c", "7.5")]
        let reports = await executor.run(orders, decider: recorder, concurrency: 2)
        XCTAssertEqual(reports.map(\.status), [.succeeded, .succeeded, .succeeded], reports.map(\.message).joined(separator: "\n"))
        let month = try await store.months()
        XCTAssertEqual(month.count, 1)
        for report in reports {
            let records = try await store.records(forJob: report.id)
            let types = records.map(\.event.type)
            XCTAssertEqual(types.first, .decided)
            // The decision is held until the job reserves, so the two are one line.
            guard case .decided(let decided) = records[0].event.body else { return XCTFail("\(records[0])") }
            XCTAssertEqual(decided.reservation?.budgets, BudgetKey.keys(provider: ProviderEndpoints.dashscopeIntl, tags: orders.first { $0.id == report.id }!.job.tags))
            XCTAssertEqual(decided.reservation?.amount, report.estimatedUSD)
            XCTAssertFalse(types.contains(.reserved))
            // The intent comes before the task id, and the task id before the result.
            let intent = try XCTUnwrap(types.firstIndex(of: .submitIntent))
            let accepted = try XCTUnwrap(types.firstIndex(of: .accepted))
            XCTAssertEqual(intent, 1)
            XCTAssertLessThan(intent, accepted)
            XCTAssertEqual(types.last, .succeeded)
            // Polled queued, then running: the first report of queued is what `accepted` says.
            XCTAssertEqual(records.map(\.event.body).filter { $0.type == .state }, [.state(.running)])
            let state = try XCTUnwrap(JobState.fold(records))
            XCTAssertEqual(state.status, .succeeded)
            XCTAssertTrue(state.isFinished, "the success settled the reservation")
            XCTAssertEqual(state.taskID, report.taskID)
            XCTAssertEqual(state.actualCost, report.actualCost)
            XCTAssertEqual(state.decision?.policyDigest, "policy-digest")
        }
        // The ledger's actual costs equal the simulator's billing record to the nano-unit.
        let ledgerCosts = try await reports.asyncMap { try await store.job($0.id)?.actualCost }
        XCTAssertEqual(Set(ledgerCosts.compactMap { $0 }), Set(simulator.billing.map(\.cost)))
        let budget = try await store.budgetState(for: BudgetMonth.containing(LedgerTime(VirtualTimeSource().date())))
        XCTAssertEqual(budget.openReservations, 0)
        XCTAssertEqual(budget.settled[.total]?.nanos, reports.compactMap(\.actualUSD).map(\.nanos).reduce(0, +))
        XCTAssertEqual(budget.settled[.tag("customer", "film")], reports[1].actualUSD)
        let open = try await store.openJobs()
        XCTAssertTrue(open.isEmpty)
    }

    func testABudgetAdmitsJobsOnlyWhileItHasRoomAndSaysWhy() async throws {
        // DashScope std 720p is USD 0.12/s: three 10 s jobs are USD 3.60; the budget holds two.
        let (executor, recorder, store) = try setUp(policy: """
            "objective": "cheapest", "constraints": {"providers": {"allow": ["dashscope-intl"]}, "modes": {"deny": ["wan-pro"]}},
            "failover": {"alternates": 0, "on": []},
            "budgets": [{"id": "studio", "monthly": {"amount": "2.50", "currency": "USD"}}]
            """)
        // All three may decide before any reserves: then the reservation, checked under the lock, is
        // what refuses the third ("budget studio … has USD 0.10 left"); else the decision does.
        let reports = await executor.run([order("a", "10"), order("b", "10"), order("c", "10")], decider: recorder, concurrency: 3)
        XCTAssertEqual(reports.filter { $0.status == .succeeded }.count, 2, reports.map(\.message).joined(separator: "\n"))
        let third = try XCTUnwrap(reports.first { $0.status != .succeeded })
        XCTAssertTrue(third.status == .refused || third.message.contains("budget \"studio\""), third.message)
        let budget = try await store.budgetState(for: BudgetMonth.containing(LedgerTime(VirtualTimeSource().date())))
        XCTAssertLessThanOrEqual(budget.committed(.total).nanos, usd("2.50").nanos)
        XCTAssertEqual(simulator.billing.count, 2, "the refused job was never submitted")
        let c = try await store.job(third.id)
        XCTAssertEqual(c?.submissions, 0)
        XCTAssertTrue(c?.isFinished ?? false)
        XCTAssertEqual(c?.openReservation.nanos, 0)
    }

    func testAJobTheBudgetRefusesAtReservationEndsRefusedWithTheReasonAndAClosingEvent() async throws {
        // DashScope std 720p is USD 0.12/s: a 10 s job may cost USD 1.20 against a USD 2.00 budget.
        let (executor, recorder, store) = try setUp(policy: """
            "objective": "cheapest", "constraints": {"providers": {"allow": ["dashscope-intl"]}, "modes": {"deny": ["wan-pro"]}},
            "failover": {"alternates": 0, "on": []},
            "budgets": [{"id": "studio", "monthly": {"amount": "2.00", "currency": "USD"}}]
            """)
        let job = order("late", "10")
        let decision = try await recorder.decision(for: job)
        XCTAssertNotNil(decision.choice, "the router's check passes: the budget has room")
        // Another process reserves USD 1.50 between the decision and the reservation.
        let at = LedgerTime(VirtualTimeSource().date())
        let other = LedgerEvent(time: at, jobID: "other", provider: ProviderEndpoints.dashscopeIntl,
                                body: .reserved(LedgerBudgetAmount(amount: usd("1.50"), budgets: [.total])))
        _ = try await store.append([other])
        let report = await executor.run(job, decision: decision)
        XCTAssertEqual(report.status, .refused, report.message)
        for part in ["budget \"studio\" (total)", "limit USD 2.00", "settled + reserved USD 1.50", "the job may cost USD 1.20"] {
            XCTAssertTrue(report.message.contains(part), "\(part) in: \(report.message)")
        }
        XCTAssertTrue(simulator.billing.isEmpty, "nothing was submitted")
        let recorded = try await store.job("late")
        let state = try XCTUnwrap(recorded)
        XCTAssertEqual(state.status, .refused)
        XCTAssertTrue(state.isFinished)
        XCTAssertEqual(state.submissions, 0)
        XCTAssertEqual(state.mode, .wanStd, "the first decision's choice is kept")
        XCTAssertEqual(state.detail, report.message)
        let open = try await store.openJobs()
        XCTAssertFalse(open.contains { $0.id == "late" }, "the job is closed")
    }

    func testAFailedTaskIsRecordedFinalAndItsFreeCostReleasesTheReservation() async throws {
        let (executor, recorder, store) = try setUp(policy: """
            "objective": "cheapest", "constraints": {"providers": {"allow": ["dashscope-intl"]}, "modes": {"deny": ["wan-pro"]}},
            "failover": {"alternates": 0, "on": []},
            "budgets": [{"id": "studio", "monthly": {"amount": "100.00", "currency": "USD"}}]
            """, script: [FaultRule(.taskRefused, provider: .dashscope)])
        let reports = await executor.run([order("a", "6")], decider: recorder, concurrency: 1)
        XCTAssertEqual(reports.first?.status, .failed, reports.first?.message ?? "")
        let state = try await store.job("a")
        XCTAssertEqual(state?.status, .failed)
        XCTAssertEqual(state?.failure, .contentRefused)
        XCTAssertEqual(state?.actualCost?.nanos, 0, "DashScope documents failed tasks as free")
        XCTAssertTrue(state?.isFinished ?? false)
        let budget = try await store.budgetState(for: BudgetMonth.containing(LedgerTime(VirtualTimeSource().date())))
        XCTAssertEqual(budget.committed(.total).nanos, 0)
    }
}

extension LedgerRecorderTests {
    /// A run died after the task was accepted: resume polls it to its end, records the result and
    /// settles the reservation the dead run left, and a second resume finds nothing to do.
    func testResumePollsAnAcceptedTaskToItsEndAndSettlesTheDeadRunsReservation() async throws {
        let (executor, recorder, store) = try setUp(policy: """
            "objective": "cheapest", "constraints": {"providers": {"allow": ["dashscope-intl"]}, "modes": {"deny": ["wan-pro"]}}
            """)
        let provider = ProviderID("dashscope-intl")!
        let o = order("orphan", "10")
        // The dead run's steps, up to the accepted task (the task really exists at the simulator).
        let adapter = try XCTUnwrap(makeAdapter(for: provider, baseURL: base, transport: URLSessionTransport(), requestTimeout: 5, now: { Date() }))
        let task = try await adapter.submit(GenerationRequest(behavior: .animate, mode: .wanStd, resolution: .p720, imageURL: o.imageURL, videoURL: o.videoURL),
                                            apiKey: Self.keys[provider]!)
        let t = LedgerTime(VirtualTimeSource().date())
        let decision = LedgerDecision(behavior: .animate, duration: Seconds(whole: 10), requiredResolution: .p720, policy: "t",
                                      mode: .wanStd, resolution: .p720, estimate: usd("1.20"), estimateUSD: usd("1.20"))
        _ = try await store.append([
            LedgerEvent(time: t, jobID: "orphan", runID: "dead", provider: provider, body: .decided(decision)),
            LedgerEvent(time: t, jobID: "orphan", provider: provider, body: .reserved(LedgerBudgetAmount(amount: usd("1.20"), budgets: [.total, .provider(provider)]))),
            LedgerEvent(time: t, jobID: "orphan", provider: provider, body: .submitIntent(mode: .wanStd, resolution: .p720, attempt: 1)),
            LedgerEvent(time: t, jobID: "orphan", provider: provider, taskID: task, body: .accepted),
            // And one whose submission got no answer.
            LedgerEvent(time: t, jobID: "lost", runID: "dead", provider: provider, body: .decided(decision)),
            LedgerEvent(time: t, jobID: "lost", provider: provider, body: .submitIntent(mode: .wanStd, resolution: .p720, attempt: 1)),
        ])
        let steps = ResumePlan.steps(for: try await store.openJobs(), usd: Policies.catalog.exchangeRates.usd)
        XCTAssertEqual(steps.count, 2)
        guard case .poll(let accepted, let reserved) = steps[0] else { return XCTFail("\(steps)") }
        XCTAssertTrue(reserved)
        XCTAssertEqual(accepted.taskID, task)
        guard case .unknownOutcome(let lost, _) = steps[1] else { return XCTFail("\(steps)") }
        XCTAssertEqual(lost, "lost")

        recorder.adopt(jobID: "orphan", reserved: true)
        let report = await executor.poll(accepted)
        XCTAssertEqual(report.status, .succeeded, report.message)
        let state = try await store.job("orphan")
        XCTAssertEqual(state?.status, .succeeded)
        XCTAssertTrue(state?.isFinished ?? false, "the dead run's reservation is settled")
        XCTAssertEqual(state?.actualCost, simulator.billing.first?.cost)
        XCTAssertEqual(simulator.billing.count, 1, "nothing was submitted again")
        // A second poller of the same task (a resume alongside run, or a second resume) records its
        // end too: the job's cost and settlement still count once.
        recorder.adopt(jobID: "orphan", reserved: true)
        let twice = await executor.poll(accepted)
        XCTAssertEqual(twice.status, .succeeded, twice.message)
        let records = try await store.records(forJob: "orphan")
        XCTAssertEqual(records.filter { $0.event.type == .succeeded }.count, 2)
        let once = try XCTUnwrap(JobState.fold(records))
        XCTAssertEqual(once.actualCost, simulator.billing.first?.cost)
        XCTAssertEqual(once.settled, simulator.billing.first?.cost)
        XCTAssertEqual(once.finishedAt, state?.finishedAt)
        let again = ResumePlan.steps(for: try await store.openJobs(), usd: Policies.catalog.exchangeRates.usd)
        XCTAssertEqual(again.count, 1, "only the unknown outcome is left")
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ f: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await f(e)) }
        return out
    }
}
