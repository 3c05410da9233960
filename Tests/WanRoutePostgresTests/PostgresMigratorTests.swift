import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoutePostgres

final class PostgresMigratorTests: XCTestCase {
    func testMigrationsApplyOnceInOrderAndAFailureLeavesNothing() throws {
        let server = try PostgresTestServer.shared()
        let admin = try server.superuser()
        defer { admin.close() }
        let database = PostgresTestServer.uniqueTable("migrate")
        try admin.query("CREATE DATABASE \(database) OWNER wr_scram")
        defer { _ = try? admin.query("DROP DATABASE \(database) WITH (FORCE)") }
        let connection = try PostgresConnection.connect(server.tcp(user: "wr_scram", password: PostgresTestServer.scramPassword, database: database))
        defer { connection.close() }

        XCTAssertEqual(try PostgresMigrator.currentVersion(connection), 0)
        let first = [
            PostgresMigration(version: 1, summary: "notes", statements: ["CREATE TABLE notes (id int8 PRIMARY KEY)"]),
            PostgresMigration(version: 2, summary: "note text", statements: ["ALTER TABLE notes ADD COLUMN body text"]),
        ]
        XCTAssertEqual(try PostgresMigrator.migrate(connection, first), [1, 2])
        XCTAssertEqual(try PostgresMigrator.migrate(connection, first), [], "a second run finds nothing to do")
        XCTAssertEqual(try PostgresMigrator.currentVersion(connection), 2)

        let broken = first + [
            PostgresMigration(version: 3, summary: "tags", statements: ["CREATE TABLE tags (id int8)"]),
            PostgresMigration(version: 4, summary: "broken", statements: ["ALTER TABLE nowhere ADD COLUMN x int"]),
        ]
        XCTAssertThrowsError(try PostgresMigrator.migrate(connection, broken)) { XCTAssertEqual(($0 as? PostgresError)?.sqlState, "42P01") }
        XCTAssertEqual(try PostgresMigrator.currentVersion(connection), 2)
        XCTAssertEqual(try connection.query("SELECT to_regclass('tags') IS NULL").rows[0].decode(Bool.self, at: 0), true, "version 3 rolled back with 4")

        // Concurrent migrators: exactly one applies each version.
        let more = first + [PostgresMigration(version: 3, summary: "tags", statements: ["CREATE TABLE tags (id int8)"])]
        let configuration = server.tcp(user: "wr_scram", password: PostgresTestServer.scramPassword, database: database)
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var applied: [[Int]] = []
            var errors: [String] = []
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let c = try PostgresConnection.connect(configuration)
                defer { c.close() }
                let applied = try PostgresMigrator.migrate(c, more)
                results.lock.withLock { results.applied.append(applied) }
            } catch {
                results.lock.withLock { results.errors.append("\(error)") }
            }
        }
        XCTAssertEqual(results.errors, [])
        XCTAssertEqual(results.applied.sorted { $0.count > $1.count }, [[3], [], [], []])
    }
}
