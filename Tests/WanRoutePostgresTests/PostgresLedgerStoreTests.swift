import Foundation
import WanRoute
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
