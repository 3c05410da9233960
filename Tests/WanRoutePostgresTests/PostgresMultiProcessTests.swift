import Foundation
import WanRoute
import WanRouteTestSupport
import WanRouteTesting
import XCTest
@testable import WanRoutePostgres

/// Eight real processes, each with its own PostgresLedgerStore (its own pool and cached tally),
/// reserving against one budget in one database: together they never commit more than the limit.
/// The test binary runs itself again in a child mode (`WANROUTE_PG_CHILD`), as the file store's
/// multi-process tests do.
final class PostgresMultiProcessTests: XCTestCase {
    typealias C = LedgerStoreConformance

    func testEightProcessesReservingAgainstOneBudgetNeverOvershoot() async throws {
        let server = try PostgresTestServer.shared()
        let schema = PostgresTestServer.uniqueTable("multi")
        let admin = try PostgresConnection.connect(server.tcp(user: "wr_scram", password: PostgresTestServer.scramPassword))
        defer { admin.close() }
        try admin.query("CREATE SCHEMA \(schema)")
        try PostgresLedgerStore.migrate(admin, schema: schema)

        // 8 × 30 attempts of USD 0.70 against USD 50.00: 71 fit (49.70), no more.
        let binary = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
        var running: [(Process, Pipe)] = []
        for writer in 0..<8 {
            let p = Process()
            p.executableURL = binary
            p.arguments = ["WanRoutePostgresTests.PostgresMultiProcessTests/testChildProcess"]
            p.environment = ProcessInfo.processInfo.environment.merging(["WANROUTE_PG_CHILD": "\(server.port) \(schema) \(writer) 30"]) { $1 }
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            running.append((p, out))
        }
        var admitted = 0
        for (p, out) in running {
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "child failed: \(text)")
            guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("admitted ") }), let n = Int(line.dropFirst(9)) else {
                XCTFail("a child did not report: \(text)")
                continue
            }
            admitted += n
        }
        XCTAssertEqual(admitted, 71)
        let pool = PostgresPool(configuration: server.tcp(user: "wr_scram", password: PostgresTestServer.scramPassword))
        defer { pool.close() }
        let state = try await PostgresLedgerStore(pool: pool, schema: schema).budgetState(for: BudgetMonth(C.t0.month))
        XCTAssertEqual(state.committed(.total), Money(decimal: "49.70", currency: .usd))
    }

    /// The child side: does nothing unless started by the test above.
    func testChildProcess() async throws {
        guard let mode = ProcessInfo.processInfo.environment["WANROUTE_PG_CHILD"] else { return }
        let parts = mode.split(separator: " ").map(String.init)
        var configuration = PostgresConfiguration(endpoint: .tcp(host: "127.0.0.1", port: Int(parts[0])!), user: "wr_scram",
                                                  password: PostgresTestServer.scramPassword, database: "postgres")
        configuration.queryTimeout = 20
        let pool = PostgresPool(configuration: configuration, maximumConnections: 2)
        defer { pool.close() }
        let store = PostgresLedgerStore(pool: pool, schema: parts[1])
        let writer = parts[2], count = Int(parts[3])!
        let limits = [BudgetLimit(budgetID: "studio", key: .total, monthly: Money(decimal: "50.00", currency: .usd)!)]
        var admitted = 0
        for i in 0..<count {
            let outcome = try await store.reserve(ReservationRequest(
                event: C.reserved("p\(writer)-\(i)", C.at(Int64(i)), "0.70"), limits: limits, month: BudgetMonth(C.t0.month)))
            if case .reserved = outcome { admitted += 1 }
        }
        print("admitted \(admitted)")
    }
}
