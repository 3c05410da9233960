import XCTest
@testable import WanRoute

/// The executor's record-keeping seam and its entry points: every step heard in order and awaited
/// before the act, offers admitted one by one, decisions made as jobs start, tasks continued
/// without submitting. Against the simulator over loopback, with virtual time.
extension ExecutorTests {
    func testStepsAreHeardInOrderAndTheIntentBeforeTheRequestLeaves() async throws {
        let log = EventLog()
        let executor = try self.executor(observers: [log])
        let simulator = simulator!
        log.onEvent = { event in
            // Awaited before the executor goes on: the intent is heard before the submission
            // reaches the provider, the acceptance after.
            if case .submitIntent = event { log.note("submissions=\(simulator.submissionCount())") }
            if case .accepted = event { log.note("submissions=\(simulator.submissionCount())") }
        }
        let j = job(.animate, "10", .p720)
        let report = await executor.run(order(j, seconds: "10"), decision: try decide(j, providers: ["dashscope-intl"], failoverOn: []))
        XCTAssertEqual(report.status, .succeeded, report.message)
        XCTAssertEqual(log.names, ["decided", "submitIntent", "submissions=0", "accepted", "submissions=1",
                                   "taskState queued", "taskState running", "taskState succeeded", "attemptEnded succeeded", "finished succeeded"])
    }

    func testAFailingRecorderStopsSubmissionsBeforeAnythingIsSent() async throws {
        let log = EventLog()
        log.failOn = "submitIntent"
        let executor = try self.executor(observers: [log])
        let j = job(.animate, "10", .p720)
        let decision = try decide(j, providers: ["dashscope-intl", "apixo"], failoverOn: FailureClass.allCases.map(\.rawValue))
        let first = await executor.run(order(j, seconds: "10", id: "j1"), decision: decision)
        XCTAssertEqual(first.status, .stopped, first.message)
        XCTAssertEqual(first.attempts.map(\.outcome), [.stopped])
        XCTAssertEqual(first.attempts.first?.submissions, 0)
        XCTAssertEqual(first.actualCost, nil, "nothing was tried, so there is no cost to total")
        XCTAssertEqual(simulator.submissionCount(), 0, "the intent could not be recorded, so nothing was sent")
        XCTAssertTrue(executor.stopReason?.contains("recording failed") == true, executor.stopReason ?? "")
        let second = await executor.run(order(j, seconds: "10", id: "j2"), decider: Decisions(same: decision))
        XCTAssertEqual(second.status, .stopped)
        XCTAssertTrue(second.message.hasPrefix("not started"), second.message)
        XCTAssertEqual(simulator.submissionCount(), 0)
    }

    func testAFailingRecordOfTheAcceptedTaskLeavesItUnfinishedWithItsID() async throws {
        let log = EventLog()
        log.failOn = "accepted"
        let executor = try self.executor(observers: [log])
        let j = job(.animate, "10", .p720)
        let report = await executor.run(order(j, seconds: "10"), decision: try decide(j, providers: ["dashscope-intl"], failoverOn: []))
        XCTAssertEqual(report.status, .unfinished)
        XCTAssertEqual(report.taskID, simulator.tasks.first?.id)
        XCTAssertEqual(report.attempts.map(\.outcome), [.stopped])
        XCTAssertNil(report.actualCost, "the task may still bill")
    }

    func testAnOfferNotAdmittedIsSkippedForTheNext() async throws {
        let log = EventLog()
        log.refuse = ProviderID("apixo")
        let executor = try self.executor(observers: [log])
        let j = job(.animate, "10", .p720)
        let report = await executor.run(order(j, seconds: "10"), decision: try decide(j, providers: ["apixo", "dashscope-intl"], failoverOn: []))
        XCTAssertEqual(report.status, .succeeded, report.message)
        XCTAssertEqual(report.attempts.map(\.outcome), [.skippedNotAdmitted, .succeeded])
        XCTAssertEqual(report.attempts[0].detail, "budget test has no room for apixo")
        XCTAssertEqual(simulator.submissionCount(ProviderID("apixo")!), 0)
    }

    func testEachJobIsDecidedWhenItStarts() async throws {
        let log = EventLog()
        let executor = try self.executor(observers: [log])
        let j = job(.animate, "10", .p720)
        let decision = try decide(j, providers: ["apixo"], failoverOn: [])
        let decider = LoggingDecider(log: log, decision: decision)
        let orders = (1...3).map { order(j, seconds: "10", id: "j\($0)") }
        let reports = await executor.run(orders, decider: decider, concurrency: 1)
        XCTAssertEqual(reports.map(\.status), [.succeeded, .succeeded, .succeeded])
        let steps = log.names.filter { $0.hasPrefix("decide ") || $0.hasPrefix("finished") }
        XCTAssertEqual(steps, ["decide j1", "finished succeeded", "decide j2", "finished succeeded", "decide j3", "finished succeeded"])
    }

    func testPollContinuesAnAcceptedTaskWithoutSubmitting() async throws {
        let executor = try self.executor()
        let simulator = simulator!
        // A task submitted by an earlier process that then died.
        let adapter = makeAdapter(for: ProviderEndpoints.dashscopeIntl, baseURL: simulator.baseURL!, transport: URLSessionTransport(), now: { Date() })!
        let request = GenerationRequest(behavior: .animate, mode: .wanStd, resolution: .p720, imageURL: "https://media.example/face.png",
                                        videoURL: "https://media.example/dance.mp4?duration=12.34")
        let taskID = try await adapter.submit(request, apiKey: ExecutorTests.keys[ProviderEndpoints.dashscopeIntl]!)
        let order = order(job(.animate, "12.34", .p720), seconds: "12.34", id: "resumed")
        let report = await executor.poll(AcceptedTask(order: order, provider: ProviderEndpoints.dashscopeIntl, mode: .wanStd, resolution: .p720, taskID: taskID))
        XCTAssertEqual(report.status, .succeeded, report.message)
        XCTAssertEqual(report.taskID, taskID)
        XCTAssertEqual(report.attempts.map(\.submissions), [0])
        XCTAssertEqual(report.actualCost, usd("1.488"))
        XCTAssertEqual(report.actualCostSource, .providerReported)
        XCTAssertEqual(simulator.submissionCount(), 1, "only the earlier process's submission")
        XCTAssertEqual(time.sleeps.first, Seconds(micros: 0), "a task that is not new is asked about at once")
    }

    func testPollWithoutAKeySaysSoAndSendsNothing() async throws {
        let executor = try self.executor(keys: [:])
        let order = order(job(.animate, "10", .p720), seconds: "10")
        let report = await executor.poll(AcceptedTask(order: order, provider: ProviderEndpoints.apixo, mode: .standard, resolution: .p720, taskID: "t-1"))
        XCTAssertEqual(report.status, .needsAttention)
        XCTAssertEqual(report.taskID, "t-1")
        XCTAssertTrue(report.message.contains("APIXO_API_KEY"), report.message)
    }
}

/// Records the name of every event (and notes), can fail on one, and refuses one provider.
final class EventLog: ExecutionObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []
    var failOn: String?
    var refuse: ProviderID?
    var onEvent: (@Sendable (ExecutionEvent) -> Void)?

    var names: [String] { lock.withLock { entries } }
    func note(_ s: String) { lock.withLock { entries.append(s) } }

    func admit(_ order: JobOrder, offer: RankedOffer) async throws -> Admission {
        offer.offer.provider == refuse ? .refused("budget test has no room for \(offer.offer.provider)") : .admitted
    }

    func record(_ event: ExecutionEvent) async throws {
        let name: String
        switch event {
        case .decided: name = "decided"
        case .submitIntent: name = "submitIntent"
        case .accepted: name = "accepted"
        case .retrying: name = "retrying"
        case .taskState(_, _, _, let state):
            switch state {
            case .queued: name = "taskState queued"
            case .running: name = "taskState running"
            case .succeeded: name = "taskState succeeded"
            case .failed: name = "taskState failed"
            }
        case .attemptEnded(_, let a): name = "attemptEnded \(a.outcome.rawValue)"
        case .failingOver: name = "failingOver"
        case .finished(let r): name = "finished \(r.status.rawValue)"
        }
        if name == failOn { throw CocoaError(.fileWriteUnknown) }
        note(name)
        onEvent?(event)
    }
}

/// A decider that notes when it is asked.
struct LoggingDecider: JobDecider {
    let log: EventLog
    let decision: Decision

    func decision(for order: JobOrder) async throws -> Decision {
        log.note("decide \(order.id)")
        return decision
    }
}
