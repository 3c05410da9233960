import Foundation
import XCTest
import WanRoute

/// The contract every ``LedgerStore`` must keep, written once and run against each store (the
/// in-memory one, the file store, and the PostgreSQL store when it lands). Each check is a public
/// function taking a fresh, empty store, so the suite can move into a shipped testing library.
///
/// Use: `try await LedgerStoreConformance.runAll { try makeEmptyStore() }`.
enum LedgerStoreConformance {
    static let checks: [(String, @Sendable (any LedgerStore) async throws -> Void)] = [
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
    ]

    /// Runs every check, each on a fresh store from `makeStore`.
    static func runAll(file: StaticString = #filePath, line: UInt = #line, _ makeStore: () async throws -> any LedgerStore) async throws {
        for (name, check) in checks {
            do {
                try await check(try await makeStore())
            } catch {
                XCTFail("conformance check \(name) threw \(error)", file: file, line: line)
            }
        }
    }

    // MARK: fixtures

    static let t0 = LedgerTime("2026-12-02T10:00:00.000Z")!
    static func at(_ seconds: Int64, from base: LedgerTime = t0) -> LedgerTime { LedgerTime(milliseconds: base.milliseconds + seconds * 1000) }
    static let apixo = ProviderID("apixo")!
    static let dashscope = ProviderID("dashscope-intl")!
    static func usd(_ s: String) -> Money { Money(decimal: s, currency: .usd)! }

    static func decided(_ job: String, _ time: LedgerTime, tags: [String: String] = [:]) -> LedgerEvent {
        LedgerEvent(time: time, jobID: job, runID: "run-1", provider: apixo, body: .decided(LedgerDecision(
            behavior: .animate, duration: Seconds(whole: 12), tags: tags, policy: "cheapest", policyDigest: "p:1", pricingDigest: "c:1",
            mode: .standard, resolution: .p720, estimate: usd("1.20"), estimateUSD: usd("1.20"),
            alternates: [LedgerAlternate(provider: dashscope, mode: .wanStd, resolution: .p720, estimate: Money(decimal: "8.4", currency: .cny))])))
    }

    static func reserved(_ job: String, _ time: LedgerTime, _ amount: String, provider: ProviderID = apixo, tags: [String: String] = [:]) -> LedgerEvent {
        LedgerEvent(time: time, jobID: job, provider: provider,
                    body: .reserved(LedgerBudgetAmount(amount: usd(amount), budgets: BudgetKey.keys(provider: provider, tags: tags))))
    }

    static func settled(_ job: String, _ time: LedgerTime, _ amount: String, provider: ProviderID = apixo, tags: [String: String] = [:]) -> LedgerEvent {
        LedgerEvent(time: time, jobID: job, body: .settled(usd(amount)))
    }

    /// One of each event type for one job.
    static func lifecycle(_ job: String, from base: LedgerTime = t0) -> [LedgerEvent] {
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

    static func appendAssignsIncreasingSequences(_ store: any LedgerStore) async throws {
        let a = try await store.append(lifecycle("j1"))
        let b = try await store.append(lifecycle("j2"))
        let all = (a + b).map(\.sequence)
        XCTAssertEqual(all.count, 14)
        XCTAssertEqual(all, all.sorted())
        XCTAssertEqual(Set(all).count, all.count, "sequence numbers are unique")
        let read = try await store.records(in: t0.month)
        XCTAssertEqual(read, a + b, "reads return exactly what appends returned, in order")
    }

    static func eventsRoundTripExactly(_ store: any LedgerStore) async throws {
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
        XCTAssertEqual(written.map(\.event), events)
        let read = try await store.records(in: t0.month)
        XCTAssertEqual(read, written)
    }

    static func eventsGoToTheirUTCMonth(_ store: any LedgerStore) async throws {
        let nov = LedgerTime("2026-11-30T23:59:59.999Z")!
        let dec = LedgerTime("2026-12-01T00:00:00.000Z")!
        _ = try await store.append([decided("late", nov), decided("early", dec)])
        let months = try await store.months()
        XCTAssertEqual(months.map(\.description), ["2026-11", "2026-12"])
        let novRecords = try await store.records(in: nov.month)
        let decRecords = try await store.records(in: dec.month)
        XCTAssertEqual(novRecords.map(\.event.jobID), ["late"])
        XCTAssertEqual(decRecords.map(\.event.jobID), ["early"])
    }

    static func recordsForJobSpanMonths(_ store: any LedgerStore) async throws {
        let nov = LedgerTime("2026-11-30T23:59:00.000Z")!
        _ = try await store.append(lifecycle("span", from: nov) + lifecycle("other", from: nov))
        let records = try await store.records(forJob: "span")
        XCTAssertEqual(records.map(\.event), lifecycle("span", from: nov))
        let state = try await store.job("span")
        XCTAssertEqual(state?.status, .succeeded)
        XCTAssertEqual(state?.actualCost, usd("1.20"))
        XCTAssertEqual(state?.taskID, "task-span")
        XCTAssertTrue(state?.isFinished ?? false)
        let missing = try await store.job("nobody")
        XCTAssertNil(missing)
    }

    static func openJobsAreThoseWithoutAFinalEvent(_ store: any LedgerStore) async throws {
        let done = lifecycle("done")
        let inFlight = Array(lifecycle("in-flight").prefix(4))          // accepted, not finished
        let unsettled = Array(lifecycle("unsettled").prefix(6))         // succeeded, reservation open
        let intent = Array(lifecycle("intent").prefix(3))               // submit-intent only
        _ = try await store.append(done + inFlight + unsettled + intent)
        let open = try await store.openJobs()
        XCTAssertEqual(open.map(\.id), ["in-flight", "unsettled", "intent"])
        XCTAssertEqual(open.map(\.status), [.accepted, .succeeded, .submitted])
        XCTAssertEqual(open[1].openReservation, usd("1.20"))
    }

    static func concurrentAppendsKeepEachBatchWhole(_ store: any LedgerStore) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<8 {
                group.addTask {
                    for i in 0..<25 { _ = try await store.append(lifecycle("w\(w)-\(i)")) }
                }
            }
            try await group.waitForAll()
        }
        let read = try await store.records(in: t0.month)
        XCTAssertEqual(read.count, 8 * 25 * 7)
        XCTAssertEqual(read.map(\.sequence), read.map(\.sequence).sorted())
        // Each append's 7 events are contiguous and in order.
        var i = 0
        while i < read.count {
            let job = read[i].event.jobID
            XCTAssertEqual(read[i..<(i + 7)].map(\.event), lifecycle(job)[...].map { $0 })
            i += 7
        }
    }

    static func budgetStateFoldsReservationsAndSettlements(_ store: any LedgerStore) async throws {
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
        XCTAssertEqual(s.committed(.total), usd("5.20"))
        XCTAssertEqual(s.settled[.total], usd("1.95"))
        XCTAssertEqual(s.reserved[.total], usd("3.25"))
        XCTAssertEqual(s.committed(.provider(apixo)), usd("2.20"))
        XCTAssertEqual(s.committed(.provider(dashscope)), usd("3.00"))
        XCTAssertEqual(s.committed(.tag("customer", "film")), usd("1.50"))
        XCTAssertEqual(s.openReservations, 2)
        let d = try await store.job("d")
        XCTAssertEqual(d?.openReservation, usd("0.25"))
        let e = try await store.job("e")
        XCTAssertEqual(e?.settled, usd("0.45"))
        XCTAssertEqual(e?.openReservation, usd("0"))
    }

    static func reserveRefusesWhatWouldOverrunALimit(_ store: any LedgerStore) async throws {
        let month = BudgetMonth(t0.month)
        let limits = [BudgetLimit(budgetID: "studio", key: .total, monthly: usd("5.00")),
                      BudgetLimit(budgetID: "film", key: .tag("customer", "film"), monthly: usd("2.00"))]
        let tags = ["customer": "film"]
        let intent = LedgerEvent(time: at(2), jobID: "a", provider: apixo, body: .submitIntent(mode: .standard, resolution: .p720, attempt: 1))
        let first = try await store.reserve(ReservationRequest(event: reserved("a", at(1), "1.50", tags: tags), limits: limits, month: month, following: [intent]))
        guard case .reserved(let records) = first else { return XCTFail("expected the first reservation to be admitted: \(first)") }
        XCTAssertEqual(records.map(\.event.type), [.reserved, .submitIntent])
        let second = try await store.reserve(ReservationRequest(event: reserved("b", at(3), "1.00", tags: tags), limits: limits, month: month))
        guard case .refused(let short) = second else { return XCTFail("expected a refusal: \(second)") }
        XCTAssertEqual(short.map(\.limit.budgetID), ["film"])
        XCTAssertEqual(short.first?.remaining, usd("0.50"))
        XCTAssertEqual(short.first?.committed, usd("1.50"))
        // Exactly to the limit is allowed.
        let third = try await store.reserve(ReservationRequest(event: reserved("c", at(4), "0.50", tags: tags), limits: limits, month: month))
        guard case .reserved = third else { return XCTFail("reserving exactly what is left is admitted: \(third)") }
        let state = try await store.budgetState(for: month)
        XCTAssertEqual(state.committed(.tag("customer", "film")), usd("2.00"))
        let jobB = try await store.records(forJob: "b")
        XCTAssertTrue(jobB.isEmpty, "a refused reservation writes nothing")
    }

    static func concurrentReservationsNeverOvershoot(_ store: any LedgerStore) async throws {
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
        XCTAssertEqual(admitted, 33, "10.00 / 0.30 admits 33 reservations, no more")
        let state = try await store.budgetState(for: month)
        XCTAssertEqual(state.committed(.total), usd("9.90"))
    }

    static func budgetMonthFollowsItsTimeZone(_ store: any LedgerStore) async throws {
        let la = TimeZone(identifier: "America/Los_Angeles")!
        // 2026-12-01T05:00Z is still November in Los Angeles; 2027-01-01T05:00Z is still December.
        _ = try await store.append([
            reserved("nov", LedgerTime("2026-12-01T05:00:00.000Z")!, "1.00"),
            reserved("dec", LedgerTime("2026-12-15T12:00:00.000Z")!, "2.00"),
            reserved("dec-late", LedgerTime("2027-01-01T05:00:00.000Z")!, "4.00"),
            reserved("jan", LedgerTime("2027-01-01T09:00:00.000Z")!, "8.00"),
        ])
        let dec = BudgetMonth(LedgerMonth("2026-12")!, zone: la)
        XCTAssertEqual(dec.start, LedgerTime("2026-12-01T08:00:00.000Z")!)
        XCTAssertEqual(dec.ledgerMonths.map(\.description), ["2026-12", "2027-01"])
        let s = try await store.budgetState(for: dec)
        XCTAssertEqual(s.committed(.total), usd("6.00"))
        let utc = try await store.budgetState(for: BudgetMonth(LedgerMonth("2026-12")!))
        XCTAssertEqual(utc.committed(.total), usd("3.00"))
        XCTAssertEqual(BudgetMonth.containing(LedgerTime("2027-01-01T05:00:00.000Z")!, zone: la).month.description, "2026-12")
    }
}
