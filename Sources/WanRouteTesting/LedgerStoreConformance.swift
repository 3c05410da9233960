import Foundation
import WanRoute

/// One way a store broke the ledger contract.
public struct LedgerConformanceFailure: Sendable, Equatable, CustomStringConvertible {
    /// The check that failed.
    public var check: String
    /// What was expected and what came.
    public var message: String

    /// `check: message`.
    public var description: String { "\(check): \(message)" }
}

/// The contract every ``LedgerStore`` must keep, written once and run against each store: the
/// in-memory one, the file store, the PostgreSQL store. Each check takes a fresh, empty store.
/// It uses no XCTest (this library ships), so a test asserts the list of failures is empty:
///
/// ```swift
/// let failures = await LedgerStoreConformance.run { try makeEmptyStore() }
/// expect.equal(failures, [])
/// ```
public enum LedgerStoreConformance {
    /// Every check by name.
    public static let checks: [(String, @Sendable (any LedgerStore, Expect) async throws -> Void)] = [
        ("appendAssignsIncreasingSequences", appendAssignsIncreasingSequences),
        ("eventsRoundTripExactly", eventsRoundTripExactly),
        ("eventsGoToTheirUTCMonth", eventsGoToTheirUTCMonth),
        ("recordsForJobSpanMonths", recordsForJobSpanMonths),
        ("openJobsAreThoseWithoutAFinalEvent", openJobsAreThoseWithoutAFinalEvent),
        ("concurrentAppendsKeepEachBatchWhole", concurrentAppendsKeepEachBatchWhole),
        ("budgetStateFoldsReservationsAndSettlements", budgetStateFoldsReservationsAndSettlements),
        ("reserveRefusesWhatWouldOverrunALimit", reserveRefusesWhatWouldOverrunALimit),
        ("concurrentReservationsNeverOvershoot", concurrentReservationsNeverOvershoot),
        ("budgetMonthFollowsItsTimeZone", budgetMonthFollowsItsTimeZone),
        ("spendCrossingMonthsCountsInItsReservationMonth", spendCrossingMonthsCountsInItsReservationMonth),
        ("reportJobsAreTheRecordFolds", reportJobsAreTheRecordFolds),
    ]

    /// Runs every check, each on a fresh store from `makeStore`, and returns every failure.
    public static func run(_ makeStore: () async throws -> any LedgerStore) async -> [LedgerConformanceFailure] {
        var failures: [LedgerConformanceFailure] = []
        for (name, check) in checks {
            let expect = Expect(check: name)
            do {
                try await check(try await makeStore(), expect)
            } catch {
                expect.fail("threw \(error)")
            }
            failures += expect.failures
        }
        return failures
    }

    /// Collects a check's failed expectations.
    public final class Expect: @unchecked Sendable {
        let check: String
        private let lock = NSLock()
        private var found: [LedgerConformanceFailure] = []

        init(check: String) { self.check = check }

        var failures: [LedgerConformanceFailure] { lock.withLock { found } }

        /// Records a failure.
        public func fail(_ message: String, line: Int = #line) {
            lock.withLock { found.append(LedgerConformanceFailure(check: check, message: message + " (LedgerStoreConformance.swift:\(line))")) }
        }

        /// Expects two values to be equal.
        public func equal<T: Equatable>(_ a: T, _ b: T, _ message: String = "", line: Int = #line) {
            if a != b { fail("expected \(b), got \(a)" + (message.isEmpty ? "" : ": " + message), line: line) }
        }

        /// Expects a condition to hold.
        public func that(_ condition: Bool, _ message: String, line: Int = #line) {
            if !condition { fail(message, line: line) }
        }
    }

    // MARK: fixtures (public: other tests build their ledgers from them)

    /// The instant the fixtures start at: 2026-12-02T10:00:00.000Z.
    public static let t0 = LedgerTime("2026-12-02T10:00:00.000Z")!
    /// `seconds` after `base`.
    public static func at(_ seconds: Int64, from base: LedgerTime = t0) -> LedgerTime { LedgerTime(milliseconds: base.milliseconds + seconds * 1000) }
    /// A provider for fixtures.
    public static let apixo = ProviderID("apixo")!
    /// A second provider for fixtures.
    public static let dashscope = ProviderID("dashscope-intl")!
    /// USD from decimal text.
    public static func usd(_ s: String) -> Money { Money(decimal: s, currency: .usd)! }

    /// A decision on APIXO with one alternate.
    public static func decided(_ job: String, _ time: LedgerTime, tags: [String: String] = [:]) -> LedgerEvent {
        LedgerEvent(time: time, jobID: job, runID: "run-1", provider: apixo, body: .decided(LedgerDecision(
            behavior: .animate, duration: Seconds(whole: 12), tags: tags, policy: "cheapest", policyDigest: "p:1", pricingDigest: "c:1",
            mode: .standard, resolution: .p720, estimate: usd("1.20"), estimateUSD: usd("1.20"),
            alternates: [LedgerAlternate(provider: dashscope, mode: .wanStd, resolution: .p720, estimate: Money(decimal: "8.4", currency: .cny))])))
    }

    /// A reservation under the job's usual keys.
    public static func reserved(_ job: String, _ time: LedgerTime, _ amount: String, provider: ProviderID = apixo, tags: [String: String] = [:]) -> LedgerEvent {
        LedgerEvent(time: time, jobID: job, provider: provider,
                    body: .reserved(LedgerBudgetAmount(amount: usd(amount), budgets: BudgetKey.keys(provider: provider, tags: tags))))
    }

    /// A settlement of the job's reservations.
    public static func settled(_ job: String, _ time: LedgerTime, _ amount: String, provider: ProviderID = apixo, tags: [String: String] = [:]) -> LedgerEvent {
        LedgerEvent(time: time, jobID: job, body: .settled(usd(amount)))
    }

    /// One of each event type for one job.
    public static func lifecycle(_ job: String, from base: LedgerTime = t0) -> [LedgerEvent] {
        [
            decided(job, at(0, from: base), tags: ["customer": "film"]),
            reserved(job, at(1, from: base), "1.20", tags: ["customer": "film"]),
            LedgerEvent(time: at(2, from: base), jobID: job, provider: apixo, body: .submitIntent(mode: .standard, resolution: .p720, attempt: 1)),
            LedgerEvent(time: at(3, from: base), jobID: job, provider: apixo, taskID: "task-\(job)", body: .accepted),
            LedgerEvent(time: at(4, from: base), jobID: job, provider: apixo, taskID: "task-\(job)", body: .state(.running)),
            LedgerEvent(time: at(60, from: base), jobID: job, provider: apixo, taskID: "task-\(job)", body: .succeeded(LedgerSuccess(
                resultURL: "https://cdn.example/\(job).mp4", billedSeconds: Seconds(whole: 12), cost: usd("1.20"), costSource: .billingRule))),
            settled(job, at(61, from: base), "1.20", tags: ["customer": "film"]),
        ]
    }

    // MARK: checks

    static func appendAssignsIncreasingSequences(_ store: any LedgerStore, _ expect: Expect) async throws {
        let a = try await store.append(lifecycle("j1"))
        let b = try await store.append(lifecycle("j2"))
        let all = (a + b).map(\.sequence)
        expect.equal(all.count, 14)
        expect.equal(all, all.sorted())
        expect.equal(Set(all).count, all.count, "sequence numbers are unique")
        let read = try await store.records(in: t0.month)
        expect.equal(read, a + b, "reads return exactly what appends returned, in order")
    }

    static func eventsRoundTripExactly(_ store: any LedgerStore, _ expect: Expect) async throws {
        let weird = "jöb \"quoted\" \\ back\nslash\t\u{1}"
        let events = lifecycle(weird) + [
            LedgerEvent(time: at(70), jobID: weird, runID: "r", body: .note(text: "resume: \"checked\"\nline two")),
            LedgerEvent(time: at(71), jobID: "j-fail", provider: dashscope, taskID: "t", body: .failed(LedgerFailure(
                failure: .contentRefused, cost: Money(decimal: "0", currency: .cny), costSource: .failedTaskFree, final: true, detail: "moderation"))),
            LedgerEvent(time: at(72), jobID: "j-unk", provider: apixo, body: .outcomeUnknown(detail: "no answer in 30 s")),
            LedgerEvent(time: at(73), jobID: "j-unk", provider: apixo, body: .needsAttention(detail: "check the provider's console")),
            LedgerEvent(time: at(74), jobID: "j-unf", provider: apixo, taskID: "t2", body: .unfinished(detail: "deadline")),
            LedgerEvent(time: at(75), jobID: "j-rel", body: .released(detail: nil)),
            LedgerEvent(time: at(76), jobID: "j-ref", body: .decided(LedgerDecision(
                behavior: .replace, duration: Seconds(micros: 12_345_678), requiredResolution: .p480, requiredMode: .wanPro,
                policy: "production", mode: nil, resolution: nil, estimate: nil, estimateUSD: nil, refusal: "every offer is over budget"))),
            LedgerEvent(time: at(77), jobID: "j-s", provider: apixo, taskID: "t3", body: .succeeded(LedgerSuccess(
                resultURL: nil, billedCredits: "12.5", cost: nil, costSource: nil))),
            LedgerEvent(time: at(78), jobID: "j-q", provider: apixo, taskID: "t4", body: .state(.queued)),
            // The one-line forms: a decision made with its reservation, a success settled with it.
            LedgerEvent(time: at(79), jobID: "j-one", provider: apixo, body: .decided(LedgerDecision(
                behavior: .animate, duration: Seconds(whole: 5), policy: "p", mode: .standard, resolution: .p480,
                estimate: usd("0.40"), estimateUSD: nil, reservation: LedgerBudgetAmount(amount: usd("0.40"), budgets: [.total])))),
            LedgerEvent(time: at(80), jobID: "j-one", body: .succeeded(LedgerSuccess(
                resultURL: "u", cost: usd("0.40"), costSource: .billingRule, settlement: usd("0.40")))),
            LedgerEvent(time: at(81), jobID: "j-two", body: .failed(LedgerFailure(
                failure: .failed, cost: nil, costSource: nil, final: true, settlement: usd("0")))),
        ]
        let written = try await store.append(events)
        expect.equal(written.map(\.event), events)
        let read = try await store.records(in: t0.month)
        expect.equal(read, written)
    }

    static func eventsGoToTheirUTCMonth(_ store: any LedgerStore, _ expect: Expect) async throws {
        let nov = LedgerTime("2026-11-30T23:59:59.999Z")!
        let dec = LedgerTime("2026-12-01T00:00:00.000Z")!
        _ = try await store.append([decided("late", nov), decided("early", dec)])
        let months = try await store.months()
        expect.equal(months.map(\.description), ["2026-11", "2026-12"])
        let novRecords = try await store.records(in: nov.month)
        let decRecords = try await store.records(in: dec.month)
        expect.equal(novRecords.map(\.event.jobID), ["late"])
        expect.equal(decRecords.map(\.event.jobID), ["early"])
    }

    static func recordsForJobSpanMonths(_ store: any LedgerStore, _ expect: Expect) async throws {
        let nov = LedgerTime("2026-11-30T23:59:00.000Z")!
        _ = try await store.append(lifecycle("span", from: nov) + lifecycle("other", from: nov))
        let records = try await store.records(forJob: "span")
        expect.equal(records.map(\.event), lifecycle("span", from: nov))
        let state = try await store.job("span")
        expect.equal(state?.status, .succeeded)
        expect.equal(state?.actualCost, usd("1.20"))
        expect.equal(state?.taskID, "task-span")
        expect.that(state?.isFinished ?? false, "a settled success is finished")
        let missing = try await store.job("nobody")
        expect.that(missing == nil, "a job without events has no state")
    }

    static func openJobsAreThoseWithoutAFinalEvent(_ store: any LedgerStore, _ expect: Expect) async throws {
        let done = lifecycle("done")
        let inFlight = Array(lifecycle("in-flight").prefix(4))          // accepted, not finished
        let unsettled = Array(lifecycle("unsettled").prefix(6))         // succeeded, reservation open
        let intent = Array(lifecycle("intent").prefix(3))               // submit-intent only
        _ = try await store.append(done + inFlight + unsettled + intent)
        let open = try await store.openJobs()
        expect.equal(open.map(\.id), ["in-flight", "unsettled", "intent"])
        expect.equal(open.map(\.status), [.accepted, .succeeded, .submitted])
        expect.equal(open.dropFirst().first?.openReservation, usd("1.20"))
    }

    static func concurrentAppendsKeepEachBatchWhole(_ store: any LedgerStore, _ expect: Expect) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<8 {
                group.addTask {
                    for i in 0..<25 { _ = try await store.append(lifecycle("w\(w)-\(i)")) }
                }
            }
            try await group.waitForAll()
        }
        let read = try await store.records(in: t0.month)
        expect.equal(read.count, 8 * 25 * 7)
        expect.equal(read.map(\.sequence), read.map(\.sequence).sorted())
        // Each append's 7 events are contiguous and in order.
        var i = 0
        while i + 7 <= read.count {
            let job = read[i].event.jobID
            expect.equal(read[i..<(i + 7)].map(\.event), lifecycle(job)[...].map { $0 })
            i += 7
        }
    }

    static func budgetStateFoldsReservationsAndSettlements(_ store: any LedgerStore, _ expect: Expect) async throws {
        let month = BudgetMonth(t0.month)
        let tags = ["customer": "film"]
        var oneLine = decided("d", at(7))
        if case .decided(var d) = oneLine.body {
            d.reservation = LedgerBudgetAmount(amount: usd("0.25"), budgets: BudgetKey.keys(provider: apixo, tags: [:]))
            oneLine.body = .decided(d)
        }
        _ = try await store.append([
            reserved("a", at(1), "2.00", tags: tags),
            reserved("b", at(2), "3.00", provider: dashscope),
            reserved("c", at(3), "1.00"),
            settled("a", at(4), "1.50", tags: tags),         // settles below its reservation
            LedgerEvent(time: at(5), jobID: "c", body: .released(detail: "free failure")),
            settled("ghost", at(6), "9.00"),                 // no reservation this month: not counted
            oneLine,                                         // decided with its reservation
            reserved("e", at(8), "0.50"),
            LedgerEvent(time: at(9), jobID: "e", body: .succeeded(LedgerSuccess(
                resultURL: nil, cost: usd("0.45"), costSource: .billingRule, settlement: usd("0.45")))),
        ])
        let s = try await store.budgetState(for: month)
        expect.equal(s.committed(.total), usd("5.20"))
        expect.equal(s.settled[.total], usd("1.95"))
        expect.equal(s.reserved[.total], usd("3.25"))
        expect.equal(s.committed(.provider(apixo)), usd("2.20"))
        expect.equal(s.committed(.provider(dashscope)), usd("3.00"))
        expect.equal(s.committed(.tag("customer", "film")), usd("1.50"))
        expect.equal(s.openReservations, 2)
        let d = try await store.job("d")
        expect.equal(d?.openReservation, usd("0.25"))
        let e = try await store.job("e")
        expect.equal(e?.settled, usd("0.45"))
        expect.equal(e?.openReservation, usd("0"))
    }

    static func reserveRefusesWhatWouldOverrunALimit(_ store: any LedgerStore, _ expect: Expect) async throws {
        let month = BudgetMonth(t0.month)
        let limits = [BudgetLimit(budgetID: "studio", key: .total, monthly: usd("5.00")),
                      BudgetLimit(budgetID: "film", key: .tag("customer", "film"), monthly: usd("2.00"))]
        let tags = ["customer": "film"]
        let intent = LedgerEvent(time: at(2), jobID: "a", provider: apixo, body: .submitIntent(mode: .standard, resolution: .p720, attempt: 1))
        let first = try await store.reserve(ReservationRequest(event: reserved("a", at(1), "1.50", tags: tags), limits: limits, month: month, following: [intent]))
        guard case .reserved(let records) = first else { return expect.fail("expected the first reservation to be admitted: \(first)") }
        expect.equal(records.map(\.event.type), [.reserved, .submitIntent])
        let second = try await store.reserve(ReservationRequest(event: reserved("b", at(3), "1.00", tags: tags), limits: limits, month: month))
        guard case .refused(let short) = second else { return expect.fail("expected a refusal: \(second)") }
        expect.equal(short.map(\.limit.budgetID), ["film"])
        expect.equal(short.first?.remaining, usd("0.50"))
        expect.equal(short.first?.committed, usd("1.50"))
        // Exactly to the limit is allowed.
        let third = try await store.reserve(ReservationRequest(event: reserved("c", at(4), "0.50", tags: tags), limits: limits, month: month))
        guard case .reserved = third else { return expect.fail("reserving exactly what is left is admitted: \(third)") }
        let state = try await store.budgetState(for: month)
        expect.equal(state.committed(.tag("customer", "film")), usd("2.00"))
        let jobB = try await store.records(forJob: "b")
        expect.that(jobB.isEmpty, "a refused reservation writes nothing")
    }

    static func concurrentReservationsNeverOvershoot(_ store: any LedgerStore, _ expect: Expect) async throws {
        let month = BudgetMonth(t0.month)
        let limits = [BudgetLimit(budgetID: "total", key: .total, monthly: usd("10.00"))]
        let admitted = try await withThrowingTaskGroup(of: Int.self) { group in
            for w in 0..<8 {
                group.addTask {
                    var n = 0
                    for i in 0..<10 {
                        let r = try await store.reserve(ReservationRequest(event: reserved("w\(w)-\(i)", at(Int64(i)), "0.30"), limits: limits, month: month))
                        if case .reserved = r { n += 1 }
                    }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        expect.equal(admitted, 33, "10.00 / 0.30 admits 33 reservations, no more")
        let state = try await store.budgetState(for: month)
        expect.equal(state.committed(.total), usd("9.90"))
    }

    static func budgetMonthFollowsItsTimeZone(_ store: any LedgerStore, _ expect: Expect) async throws {
        let la = TimeZone(identifier: "America/Los_Angeles")!
        // 2026-12-01T05:00Z is still November in Los Angeles; 2027-01-01T05:00Z is still December.
        _ = try await store.append([
            reserved("nov", LedgerTime("2026-12-01T05:00:00.000Z")!, "1.00"),
            reserved("dec", LedgerTime("2026-12-15T12:00:00.000Z")!, "2.00"),
            reserved("dec-late", LedgerTime("2027-01-01T05:00:00.000Z")!, "4.00"),
            reserved("jan", LedgerTime("2027-01-01T09:00:00.000Z")!, "8.00"),
        ])
        let dec = BudgetMonth(LedgerMonth("2026-12")!, zone: la)
        expect.equal(dec.start, LedgerTime("2026-12-01T08:00:00.000Z")!)
        expect.equal(dec.ledgerMonths.map(\.description), ["2026-12", "2027-01"])
        let s = try await store.budgetState(for: dec)
        expect.equal(s.committed(.total), usd("6.00"))
        let utc = try await store.budgetState(for: BudgetMonth(LedgerMonth("2026-12")!))
        expect.equal(utc.committed(.total), usd("3.00"))
        expect.equal(BudgetMonth.containing(LedgerTime("2027-01-01T05:00:00.000Z")!, zone: la).month.description, "2026-12")
    }

    static func spendCrossingMonthsCountsInItsReservationMonth(_ store: any LedgerStore, _ expect: Expect) async throws {
        let time = { (s: String) in LedgerTime(s)! }
        let film = ["customer": "film"]
        // The first reservations are state before the settlements exist: a store must not keep
        // them open once later files close them.
        _ = try await store.append([
            reserved("a", time("2026-11-30T23:59:00.000Z"), "2.00", tags: film),
            reserved("b", time("2026-11-30T23:58:00.000Z"), "1.00", provider: dashscope),
            reserved("c", time("2026-11-30T23:57:00.000Z"), "3.00", tags: film),
            reserved("d", time("2026-11-30T23:59:30.000Z"), "1.00"),
        ])
        let nov = BudgetMonth(LedgerMonth("2026-11")!), dec = BudgetMonth(LedgerMonth("2026-12")!)
        let before = try await store.budgetState(for: nov)
        expect.equal(before.reserved[.total], usd("7.00"))
        expect.equal(before.openReservations, 4)
        _ = try await store.append([
            settled("a", time("2026-12-01T00:05:00.000Z"), "1.50"),                  // settled in the next file
            LedgerEvent(time: time("2026-12-01T00:01:00.000Z"), jobID: "b", body: .released(detail: "free failure")),
            reserved("d", time("2026-12-01T00:10:00.000Z"), "1.20"),                 // a failover reserves again in December
            settled("d", time("2026-12-01T00:30:00.000Z"), "1.10"),
            reserved("e", time("2026-12-02T10:00:00.000Z"), "0.40"),
        ])
        // c was left by a dead process; `resume` settles it after December ended.
        _ = try await store.append([settled("c", time("2027-01-05T09:00:00.000Z"), "2.50")])

        let n = try await store.budgetState(for: nov)
        expect.equal(n.settled[.total], usd("4.00"), "a and c count in November, where they were admitted")
        expect.equal(n.reserved[.total], nil, "every November reservation is closed by a later file")
        expect.equal(n.openReservations, 0)
        expect.equal(n.settled[.tag("customer", "film")], usd("4.00"))
        expect.equal(n.committed(.provider(dashscope)), usd("0"))
        let d = try await store.budgetState(for: dec)
        expect.equal(d.settled[.total], usd("1.10"), "d was admitted again in December and counts there")
        expect.equal(d.reserved[.total], usd("0.40"))
        expect.equal(d.openReservations, 1)
        let j = try await store.budgetState(for: BudgetMonth(LedgerMonth("2027-01")!))
        expect.equal(j.committed(.total), usd("0"), "a settlement counts nowhere but its reservation's month")
        // In Los Angeles, November runs to 2026-12-01T08:00Z: d's second reservation is November's too.
        let la = TimeZone(identifier: "America/Los_Angeles")!
        let laNov = try await store.budgetState(for: BudgetMonth(LedgerMonth("2026-11")!, zone: la))
        expect.equal(laNov.settled[.total], usd("5.10"))
        expect.equal(laNov.reserved[.total], nil)
        expect.equal(laNov.openReservations, 0)
        let laDec = try await store.budgetState(for: BudgetMonth(LedgerMonth("2026-12")!, zone: la))
        expect.equal(laDec.committed(.total), usd("0.40"))
    }
}
