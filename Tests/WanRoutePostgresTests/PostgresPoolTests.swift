import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoutePostgres

final class PostgresPoolTests: XCTestCase {
    private var server: PostgresTestServer!

    override func setUpWithError() throws {
        server = try PostgresTestServer.shared()
    }

    private func pool(_ maximum: Int, acquireTimeout: Double? = nil) -> PostgresPool {
        PostgresPool(configuration: server.tcp(user: "wr_scram", password: PostgresTestServer.scramPassword),
                     maximumConnections: maximum, acquireTimeout: acquireTimeout)
    }

    private static func pid(_ connection: PostgresConnection) throws -> Int {
        try connection.query("SELECT pg_backend_pid()").rows[0].decode(Int.self, at: 0)
    }

    func testConnectionsAreReusedAndBounded() throws {
        let pool = pool(2)
        defer { pool.close() }
        let first = try pool.withConnection(Self.pid)
        XCTAssertEqual(try pool.withConnection(Self.pid), first, "an idle connection is reused")

        // 8 threads, 2 connections: nobody ever sees a third backend.
        final class Seen: @unchecked Sendable {
            let lock = NSLock()
            var ids = Set<Int>()
            func add(_ id: Int) { lock.lock(); ids.insert(id); lock.unlock() }
        }
        let seen = Seen()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<5 {
                if let id = try? pool.withConnection({ connection -> Int in
                    let id = try Self.pid(connection)
                    _ = try connection.query("SELECT pg_sleep(0.001)")
                    return id
                }) {
                    seen.add(id)
                }
            }
        }
        XCTAssertLessThanOrEqual(seen.ids.count, 2)
        XCTAssertLessThanOrEqual(pool.openConnections, 2)
    }

    func testBrokenAndMidTransactionConnectionsAreDiscarded() throws {
        let pool = pool(1)
        defer { pool.close() }
        let admin = try server.superuser()
        defer { admin.close() }
        let victim = try pool.withConnection(Self.pid)
        try admin.query("SELECT pg_terminate_backend($1)", [.int(Int64(victim))])
        // The idle connection is dead; the loan that finds out discards it, the next one gets a new backend.
        _ = try? pool.withConnection { _ = try $0.query("SELECT 1") }
        let replacement = try pool.withConnection(Self.pid)
        XCTAssertNotEqual(replacement, victim)

        try pool.withConnection { _ = try $0.query("BEGIN") }  // returned inside a transaction
        XCTAssertNotEqual(try pool.withConnection(Self.pid), replacement, "a connection left in a transaction is not reused")
        XCTAssertEqual(pool.openConnections, 1)
    }

    func testAcquireTimesOutWhenEveryConnectionIsLent() throws {
        let pool = pool(1, acquireTimeout: 0.2)
        defer { pool.close() }
        try pool.withConnection { _ in
            XCTAssertThrowsError(try pool.withConnection { _ in }) { XCTAssertEqual($0 as? PostgresError, .poolTimeout(seconds: 0.2)) }
        }
        pool.close()
        XCTAssertThrowsError(try pool.withConnection { _ in }) { XCTAssertEqual($0 as? PostgresError, .poolClosed) }
    }
}

final class PostgresPoolAsyncTests: XCTestCase {
    /// Many async callers share two connections through the pool's own threads; a transaction that
    /// throws rolls back.
    func testAsyncCallersShareTheBoundedPool() async throws {
        let server = try PostgresTestServer.shared()
        let pool = PostgresPool(configuration: server.tcp(user: "wr_scram", password: PostgresTestServer.scramPassword), maximumConnections: 2)
        defer { pool.close() }
        let table = PostgresTestServer.uniqueTable("async")
        try await pool.withConnection { _ = try $0.query("CREATE TABLE \(table) (id int8 PRIMARY KEY)") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in 0..<40 {
                group.addTask { try await pool.transaction { _ = try $0.query("INSERT INTO \(table) VALUES ($1)", [.int(Int64(id))]) } }
            }
            try await group.waitForAll()
        }
        struct Abort: Error {}
        do {
            try await pool.transaction { connection -> Void in
                _ = try connection.query("INSERT INTO \(table) VALUES (1000)")
                throw Abort()
            }
            XCTFail("the transaction should have thrown")
        } catch is Abort {}
        let count = try await pool.withConnection { try $0.query("SELECT count(*) FROM \(table)").rows[0].decode(Int.self, at: 0) }
        XCTAssertEqual(count, 40)
        XCTAssertLessThanOrEqual(pool.openConnections, 2)
        try await pool.withConnection { _ = try $0.query("DROP TABLE \(table)") }
    }
}
