import Foundation
import WanRoute
import WanRouteTesting
import XCTest

/// The shipped in-memory ledger keeps the whole store contract (durability aside), and fails on
/// demand the way a real store does.
final class InMemoryLedgerTests: XCTestCase {
    typealias C = LedgerStoreConformance

    func testConformance() async {
        let failures = await LedgerStoreConformance.run { InMemoryLedgerStore() }
        XCTAssertEqual(failures, [])
    }

    func testAFailedAppendStopsTheStoreForGood() async throws {
        let store = InMemoryLedgerStore()
        _ = try await store.append(C.lifecycle("ok"))
        store.failNextAppend(with: .syncFailed(file: "memory", reason: "injected"))
        do {
            _ = try await store.append(C.lifecycle("lost"))
            XCTFail("the injected failure must surface")
        } catch let e as LedgerError {
            XCTAssertEqual(e, .syncFailed(file: "memory", reason: "injected"))
        }
        do {
            _ = try await store.append(C.lifecycle("after"))
            XCTFail("a stopped store refuses appends")
        } catch let e as LedgerError {
            guard case .stopped = e else { return XCTFail("\(e)") }
        }
        let records = try await store.records(in: C.t0.month)
        XCTAssertEqual(records.count, 7)
    }

    func testTheConformanceSuiteCatchesABrokenStore() async {
        // A store that forgets every event: the suite must say so, or it proves nothing.
        let failures = await LedgerStoreConformance.run { ForgetfulStore() }
        XCTAssertGreaterThan(failures.count, 5)
    }
}

/// Accepts appends and forgets them.
private struct ForgetfulStore: LedgerStore {
    func append(_ events: [LedgerEvent]) async throws -> [LedgerRecord] { events.enumerated().map { LedgerRecord(sequence: Int64($0.offset + 1), event: $0.element) } }
    func months() async throws -> [LedgerMonth] { [] }
    func forEachRecord(in month: LedgerMonth, _ body: (LedgerRecord) throws -> Void) async throws {}
    func records(forJob jobID: String) async throws -> [LedgerRecord] { [] }
    func openJobs() async throws -> [JobState] { [] }
    func budgetState(for month: BudgetMonth) async throws -> BudgetState { BudgetState(month: month, settled: [:], reserved: [:], openReservations: 0) }
    func reserve(_ request: ReservationRequest) async throws -> ReservationOutcome { .reserved([]) }
}
