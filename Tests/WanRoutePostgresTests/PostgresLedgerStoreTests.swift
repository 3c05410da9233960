import Foundation
import WanRoute
import WanRouteTestSupport
import WanRouteTesting
import XCTest
@testable import WanRoutePostgres

/// The PostgreSQL ledger store against the ledger's conformance suite and its own guarantees.
final class PostgresLedgerStoreTests: XCTestCase {
    private var server: PostgresTestServer!

    override func setUpWithError() throws {
        server = try PostgresTestServer.shared()
    }

    private func pool(user: String = "wr_scram", password: String = PostgresTestServer.scramPassword) -> PostgresPool {
        PostgresPool(configuration: server.tcp(user: user, password: password), maximumConnections: 4)
    }

    /// A fresh schema with the ledger's tables, owned by wr_scram.
    private func freshSchema(_ pool: PostgresPool, grantTo role: String? = nil) async throws -> String {
        let schema = PostgresTestServer.uniqueTable("ledger")
        try await pool.withConnection { connection in
            _ = try connection.query("CREATE SCHEMA \(schema)")
            _ = try PostgresLedgerStore.migrate(connection, schema: schema, grantTo: role)
        }
        return schema
    }

    func testConformance() async throws {
        let pool = pool()
        defer { pool.close() }
        let failures = await LedgerStoreConformance.run {
            PostgresLedgerStore(pool: pool, schema: try await self.freshSchema(pool))
        }
        XCTAssertEqual(failures, [])
    }

    func testAppendOnlyEvenForTheOwnerAndARoleWithOnlySelectAndInsertSuffices() async throws {
        let owner = pool()
        defer { owner.close() }
        let schema = try await freshSchema(owner, grantTo: "wr_password")
        let runtime = pool(user: "wr_password", password: PostgresTestServer.cleartextPassword)
        defer { runtime.close() }
        let store = PostgresLedgerStore(pool: runtime, schema: schema)
        let t0 = LedgerStoreConformance.t0
        let written = try await store.append(LedgerStoreConformance.lifecycle("job-1"))
        XCTAssertEqual(written.map(\.sequence), Array(1...7))
        let limits = [BudgetLimit(budgetID: "all", key: .total, monthly: LedgerStoreConformance.usd("2.00"))]
        let outcome = try await store.reserve(ReservationRequest(
            event: LedgerStoreConformance.reserved("job-2", LedgerStoreConformance.at(100), "0.50"), limits: limits, month: BudgetMonth(t0.month)))
        guard case .reserved = outcome else { return XCTFail("\(outcome)") }

        for (pool, who) in [(runtime, "the runtime role"), (owner, "the owner")] {
            for statement in ["UPDATE \(schema).wanroute_ledger_events SET job_id = 'x'", "DELETE FROM \(schema).wanroute_ledger_events",
                              "TRUNCATE \(schema).wanroute_ledger_events"] {
                do {
                    try await pool.withConnection { _ = try $0.query(statement) }
                    XCTFail("\(who): \(statement) was allowed")
                } catch {
                    XCTAssertEqual((error as? PostgresError)?.sqlState, "42501", "\(who): \(statement): \(error)")
                }
            }
        }
        let count = try await store.records(in: t0.month).count
        XCTAssertEqual(count, 8)
        // Migrating again changes nothing.
        let again = try await owner.withConnection { try PostgresLedgerStore.migrate($0, schema: schema) }
        XCTAssertEqual(again, [])
    }

    /// Two stores on one schema stand for two machines: each keeps its own folded tally and must
    /// still see every reservation the other committed.
    func testStoresWithSeparateCachesNeverOvershootTogether() async throws {
        let pool = pool()
        defer { pool.close() }
        let schema = try await freshSchema(pool)
        let a = PostgresLedgerStore(pool: pool, schema: schema)
        let b = PostgresLedgerStore(pool: pool, schema: schema)
        let month = BudgetMonth(LedgerStoreConformance.t0.month)
        let limits = [BudgetLimit(budgetID: "all", key: .total, monthly: LedgerStoreConformance.usd("2.00"))]
        func request(_ job: String, _ amount: String, _ second: Int64) -> ReservationRequest {
            ReservationRequest(event: LedgerStoreConformance.reserved(job, LedgerStoreConformance.at(second), amount), limits: limits, month: month)
        }
        var admitted: [String] = []
        for (store, job, amount) in [(a, "a1", "0.50"), (b, "b1", "1.00"), (a, "a2", "0.60"), (b, "b2", "0.50"), (a, "a3", "0.40"), (b, "b3", "0.01")] {
            if case .reserved = try await store.reserve(request(job, amount, Int64(admitted.count))) { admitted.append(job) }
        }
        XCTAssertEqual(admitted, ["a1", "b1", "b2"], "a2 and a3 are refused only if store a sees the reservations b committed")
        let state = try await a.budgetState(for: month)
        XCTAssertEqual(state.committed(.total), LedgerStoreConformance.usd("2.00"))
    }

    func testAFailedWriteStopsTheStore() async throws {
        let pool = pool()
        defer { pool.close() }
        let schema = try await freshSchema(pool)
        let store = PostgresLedgerStore(pool: pool, schema: schema)
        _ = try await store.append([LedgerStoreConformance.decided("a", LedgerStoreConformance.t0)])
        try await pool.withConnection { _ = try $0.query("ALTER TABLE \(schema).wanroute_ledger_events ADD CONSTRAINT no_b CHECK (job_id <> 'b')") }
        do {
            _ = try await store.append([LedgerStoreConformance.decided("b", LedgerStoreConformance.t0)])
            XCTFail("the append should fail")
        } catch {
            guard case .writeFailed? = error as? LedgerError else { return XCTFail("\(error)") }
            XCTAssertFalse("\(error)".contains(PostgresTestServer.scramPassword))
        }
        do {
            _ = try await store.append([LedgerStoreConformance.decided("c", LedgerStoreConformance.t0)])
            XCTFail("a stopped store must refuse writes")
        } catch {
            guard case .stopped? = error as? LedgerError else { return XCTFail("\(error)") }
        }
        let ids = try await store.records(in: LedgerStoreConformance.t0.month).map(\.event.jobID)
        XCTAssertEqual(ids, ["a"])
    }
}
