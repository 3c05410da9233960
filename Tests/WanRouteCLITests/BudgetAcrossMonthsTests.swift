import Foundation
import WanRoute
import WanRouteTestSupport
import XCTest

/// A job reserved on a month's last minute that ends in the next month's ledger file, as `report`
/// shows its month's budgets: the spend counts in the month of the reservation, and nothing stays
/// reserved there once a later file settles or releases it (also when `resume` does, after the month).
final class BudgetAcrossMonthsTests: XCTestCase {
    let acme = BudgetKey.tag("customer", "acme")
    let apixo = ProviderID("apixo")!

    func decided(_ job: String, _ time: String, reserving amount: String) -> LedgerEvent {
        let decision = LedgerDecision(behavior: .animate, duration: Seconds(whole: 8), tags: ["customer": "acme"], policy: "studio",
                                      mode: .standard, resolution: .p480, estimate: Money(decimal: amount, currency: .usd), estimateUSD: nil,
                                      reservation: LedgerBudgetAmount(amount: Money(decimal: amount, currency: .usd)!,
                                                                      budgets: BudgetKey.keys(provider: apixo, tags: ["customer": "acme"])))
        return LedgerEvent(time: LedgerTime(time)!, jobID: job, runID: "dead", provider: apixo, body: .decided(decision))
    }

    /// The per-customer budget's settled and reserved USD for acme in `report --month 2026-11`.
    func novemberBudget(_ env: [String: String]) async throws -> (settled: String?, reserved: String?) {
        let r = try await CLIRunner.run(["report", "--month", "2026-11", "--policy", "Tests/Fixtures/reports/studio.json", "--format", "json",
                                         "--as-of", "2026-12-20T12:00:00Z"],
                                        in: Repository.root, environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let budgets = json?["budgets"] as? [[String: Any]] ?? []
        guard let b = budgets.first(where: { $0["key"] as? String == acme.description }) else {
            XCTFail("no budget for \(acme) in \(r.stdout)")
            return (nil, nil)
        }
        func amount(_ name: String) -> String? { (b[name] as? [String: Any])?["amount"] as? String }
        return (amount("settled"), amount("reserved"))
    }

    func testReportCountsACrossMonthJobInItsReservationMonthAndResumeClosesWhatADeadProcessLeft() async throws {
        let home = try Repository.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let env = ["WANROUTE_HOME": home]
        let store = try FileLedgerStore(directory: home + "/ledger")
        _ = try await store.append([
            decided("late", "2026-11-30T23:59:00.000Z", reserving: "2.00"),
            decided("dead", "2026-11-30T23:58:00.000Z", reserving: "3.00"),  // its process died before submitting
        ])
        var november = try await novemberBudget(env)          // writes November's budget summary
        XCTAssertEqual(november.settled, "0.00")
        XCTAssertEqual(november.reserved, "5.00")

        _ = try await store.append([LedgerEvent(time: LedgerTime("2026-12-01T00:04:00.000Z")!, jobID: "late", provider: apixo,
                                                body: .succeeded(LedgerSuccess(resultURL: nil, cost: Money(decimal: "1.50", currency: .usd),
                                                                               costSource: .billingRule,
                                                                               settlement: Money(decimal: "1.50", currency: .usd))))])
        november = try await novemberBudget(env)
        XCTAssertEqual(november.settled, "1.50", "settled in December's file, counted in November where it was admitted")
        XCTAssertEqual(november.reserved, "3.00", "only the dead process's reservation is still open")

        // `resume` releases the dead process's reservation now, long after November ended.
        let resume = try await CLIRunner.run(["resume"], environment: env)
        XCTAssertTrue(resume.stdout.contains("dead"), resume.stdout + resume.stderr)
        let dead = try await store.job("dead")
        XCTAssertTrue(dead?.isFinished ?? false)
        november = try await novemberBudget(env)
        XCTAssertEqual(november.settled, "1.50")
        XCTAssertEqual(november.reserved, "0.00", "a release in a later file closes the reservation")

        // The summaries are derived: without them the ledger gives the same figures.
        try FileManager.default.removeItem(atPath: home + "/ledger/summaries")
        let rebuilt = try await novemberBudget(env)
        XCTAssertEqual(rebuilt.settled, "1.50")
        XCTAssertEqual(rebuilt.reserved, "0.00")
        let fresh = try FileLedgerStore(directory: home + "/ledger")
        let state = try await fresh.budgetState(for: BudgetMonth(LedgerMonth("2026-11")!))
        XCTAssertEqual(state.openReservations, 0)
        XCTAssertEqual(state.settled[.total], Money(decimal: "1.50", currency: .usd))
    }
}
