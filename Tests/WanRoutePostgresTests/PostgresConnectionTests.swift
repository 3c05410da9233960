import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoutePostgres

/// The client against a real PostgreSQL server (see PostgresTestServer).
final class PostgresConnectionTests: XCTestCase {
    private var server: PostgresTestServer!

    override func setUpWithError() throws {
        server = try PostgresTestServer.shared()
    }

    private func scram() throws -> PostgresConnection {
        try PostgresConnection.connect(server.tcp(user: "wr_scram", password: PostgresTestServer.scramPassword))
    }

    // MARK: - Login

    func testSCRAMLoginOverTCPAndUnixSocket() throws {
        let tcp = try scram()
        defer { tcp.close() }
        let row = try XCTUnwrap(tcp.query("SELECT current_user AS who, $1::int4 + 1 AS next, current_setting('TimeZone') AS zone", [41]).rows.first)
        XCTAssertEqual(try row.decode(String.self, "who"), "wr_scram")
        XCTAssertEqual(try row.decode(Int.self, "next"), 42)
        XCTAssertEqual(try row.decode(String.self, "zone"), "UTC")
        XCTAssertNotEqual(tcp.backendProcessID, 0)

        // The URL form, with the password percent-encoded and the socket directory as host=.
        let encoded = PostgresTestServer.scramPassword.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let url = "postgresql://wr_scram:\(encoded)@/postgres?host=\(server.directory)&port=\(server.port)&sslmode=disable"
        let viaSocket = try PostgresConnection.connect(PostgresConfiguration(url: url))
        defer { viaSocket.close() }
        XCTAssertEqual(try viaSocket.query("SELECT current_user").rows.first?.decode(String.self, at: 0), "wr_scram")
    }

    func testTrustAndCleartextPasswordLogins() throws {
        let trust = try PostgresConnection.connect(server.tcp(user: "wr_trust"))
        XCTAssertEqual(try trust.query("SELECT current_user").rows.first?.decode(String.self, at: 0), "wr_trust")
        trust.close()
        let url = "postgres://wr_password@127.0.0.1:\(server.port)/postgres"
        let cleartext = try PostgresConnection.connect(PostgresConfiguration(url: url, fallbackPassword: PostgresTestServer.cleartextPassword))
        XCTAssertEqual(try cleartext.query("SELECT current_user").rows.first?.decode(String.self, at: 0), "wr_password")
        cleartext.close()
    }

    func testWrongPasswordIsATypedErrorWithoutThePassword() throws {
        let wrong = "not-the-Password-123"
        for configuration in [server.tcp(user: "wr_scram", password: wrong), server.tcp(user: "wr_password", password: wrong)] {
            XCTAssertThrowsError(try PostgresConnection.connect(configuration)) { error in
                guard case .server(let serverError) = error as? PostgresError else { return XCTFail("\(error)") }
                XCTAssertEqual(serverError.code, "28P01")
                XCTAssertEqual(serverError.severity, "FATAL")
                XCTAssertFalse("\(error)".contains(wrong))
                XCTAssertFalse(String(reflecting: error).contains(wrong))
            }
        }
        XCTAssertThrowsError(try PostgresConnection.connect(server.tcp(user: "wr_scram"))) { error in
            guard case .authenticationFailed(let reason) = error as? PostgresError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("none was given"), reason)
        }
    }

    // MARK: - Queries

    func testHostileStringsRoundTripExactly() throws {
        let connection = try scram()
        defer { connection.close() }
        let table = PostgresTestServer.uniqueTable("hostile")
        try connection.query("CREATE TEMP TABLE \(table) (id int8 PRIMARY KEY, body text, raw bytea)")
        let hostile: [String] = [
            "", " ", "'", "''", "\"", "\\", "\\\\'", "'; DROP TABLE \(table); --", "$1", "$2::text", "?", "%s %n",
            "Robert'); DELETE FROM \(table) WHERE ('1'='1", "\r\n\t\u{7}\u{1b}[31m", "NULL", "null", "\u{7f}",
            "ünïcødé €uro 𝄞 👩‍👩‍👧 e\u{301}", "\u{feff}bom", "\u{202e}rtl", String(repeating: "x'\\", count: 40_000),
        ]
        for (index, text) in hostile.enumerated() {
            let bytes = Array(text.utf8) + [0, 255, 39, 92]
            try connection.query("INSERT INTO \(table) (id, body, raw) VALUES ($1, $2, $3)", [.int(Int64(index)), .text(text), .bytes(bytes)])
            let echoed = try connection.query("SELECT $1::text AS t", [.text(text)]).rows[0].decode(String.self, "t")
            XCTAssertEqual(echoed, text)
        }
        let rows = try connection.query("SELECT id, body, raw FROM \(table) ORDER BY id").rows
        XCTAssertEqual(rows.count, hostile.count)
        for row in rows {
            let index = try row.decode(Int.self, "id")
            XCTAssertEqual(try row.decode(String.self, "body"), hostile[index])
            XCTAssertEqual(try row.decode([UInt8].self, "raw"), Array(hostile[index].utf8) + [0, 255, 39, 92])
        }
        // PostgreSQL text cannot hold NUL: refused before anything is sent, and the connection stays usable.
        XCTAssertThrowsError(try connection.query("SELECT $1::text", [.text("a\u{0}b")])) {
            XCTAssertEqual($0 as? PostgresError, .invalidParameter(index: 1, reason: "PostgreSQL text cannot contain a NUL character; send bytes instead"))
        }
        XCTAssertEqual(try connection.query("SELECT count(*) FROM \(table)").rows[0].decode(Int.self, at: 0), hostile.count)
    }

    func testTypedValuesAndNulls() throws {
        let connection = try scram()
        defer { connection.close() }
        let row = try connection.query(
            "SELECT $1::int8 AS big, $2::int8 AS small, $3::bool AS yes, $4::float8 AS ratio, $5::text AS nothing, 12.345::numeric AS money, 7::int4 AS seven",
            [.int(.max), .int(.min), true, .double(0.1), nil]
        ).rows[0]
        XCTAssertEqual(try row.decode(Int64.self, "big"), .max)
        XCTAssertEqual(try row.decode(Int64.self, "small"), .min)
        XCTAssertEqual(try row.decode(Bool.self, "yes"), true)
        XCTAssertEqual(try row.decode(Double.self, "ratio"), 0.1)
        XCTAssertEqual(try row.decode(String?.self, "nothing"), nil)
        XCTAssertEqual(try row.decode(String.self, "money"), "12.345")
        XCTAssertEqual(try row.decode(Int32.self, "seven"), 7)
        XCTAssertEqual(row.columns.first { $0.name == "seven" }?.typeOID, 23)
        XCTAssertThrowsError(try row.decode(String.self, "nothing")) {
            XCTAssertEqual($0 as? PostgresError, .decoding(column: "nothing", reason: "is NULL; read it as an Optional"))
        }
        XCTAssertThrowsError(try row.decode(Int.self, "yes"))
        XCTAssertThrowsError(try row.decode(Int.self, "missing"))
        XCTAssertThrowsError(try row.decode(Int32.self, "big"))
    }

    func testServerErrorsAreTypedAndTheConnectionStaysUsable() throws {
        let connection = try scram()
        defer { connection.close() }
        let table = PostgresTestServer.uniqueTable("unique")
        try connection.query("CREATE TEMP TABLE \(table) (id text CONSTRAINT \(table)_pk PRIMARY KEY)")
        try connection.query("INSERT INTO \(table) VALUES ($1)", ["job-1"])
        XCTAssertThrowsError(try connection.query("INSERT INTO \(table) VALUES ($1)", ["job-1"])) { error in
            guard case .server(let serverError) = error as? PostgresError else { return XCTFail("\(error)") }
            XCTAssertEqual(serverError.code, "23505")
            XCTAssertEqual(serverError.constraint, "\(table)_pk")
            XCTAssertEqual(serverError.detail, "Key (id)=(job-1) already exists.")
            XCTAssertEqual((error as? PostgresError)?.sqlState, "23505")
        }
        XCTAssertThrowsError(try connection.query("SELEC 1")) { XCTAssertEqual(($0 as? PostgresError)?.sqlState, "42601") }
        // Two statements in one text are refused by the extended protocol itself.
        XCTAssertThrowsError(try connection.query("SELECT 1; SELECT 2")) { XCTAssertEqual(($0 as? PostgresError)?.sqlState, "42601") }
        XCTAssertTrue(connection.isUsable)
        XCTAssertEqual(try connection.query("SELECT count(*) FROM \(table)").rows[0].decode(Int.self, at: 0), 1)
        XCTAssertEqual(try connection.query("DELETE FROM \(table)").affectedRows, 1)
    }

    func testPreparedStatements() throws {
        let connection = try scram()
        defer { connection.close() }
        let table = PostgresTestServer.uniqueTable("prepared")
        try connection.query("CREATE TEMP TABLE \(table) (id int8, note text)")
        let insert = try connection.prepare("INSERT INTO \(table) (id, note) VALUES ($1, $2)")
        let select = try connection.prepare("SELECT note FROM \(table) WHERE id = $1")
        XCTAssertEqual(select.columns.map(\.name), ["note"])
        for id in 1...20 { try connection.execute(insert, [.int(Int64(id)), .text("note \(id)")]) }
        XCTAssertEqual(try connection.execute(select, [7]).rows.first?.decode(String.self, "note"), "note 7")
        let other = try scram()
        defer { other.close() }
        XCTAssertThrowsError(try other.execute(select, [7]))
    }

    func testPipelineIsOneAtomicRoundTrip() throws {
        let connection = try scram()
        defer { connection.close() }
        let table = PostgresTestServer.uniqueTable("pipeline")
        try connection.query("CREATE TEMP TABLE \(table) (id int8 PRIMARY KEY, note text)")
        let results = try connection.pipeline([
            ("INSERT INTO \(table) VALUES ($1, $2)", [1, "one"]),
            ("INSERT INTO \(table) VALUES ($1, $2)", [2, "two"]),
            ("SELECT note FROM \(table) ORDER BY id", []),
            ("SELECT count(*) AS n FROM \(table) WHERE id > $1", [1]),
        ])
        XCTAssertEqual(results.map(\.commandTag), ["INSERT 0 1", "INSERT 0 1", "SELECT 2", "SELECT 1"])
        XCTAssertEqual(try results[2].rows.map { try $0.decode(String.self, "note") }, ["one", "two"])
        XCTAssertEqual(try results[3].rows[0].decode(Int.self, "n"), 1)
        XCTAssertEqual(connection.transactionStatus, .idle)

        // The second statement fails: the first is rolled back with it, the third never runs.
        XCTAssertThrowsError(try connection.pipeline([
            ("INSERT INTO \(table) VALUES ($1, $2)", [3, "three"]),
            ("INSERT INTO \(table) VALUES ($1, $2)", [1, "duplicate"]),
            ("INSERT INTO \(table) VALUES ($1, $2)", [4, "four"]),
        ])) { XCTAssertEqual(($0 as? PostgresError)?.sqlState, "23505") }
        XCTAssertEqual(try connection.query("SELECT count(*) FROM \(table)").rows[0].decode(Int.self, at: 0), 2)
        XCTAssertEqual(connection.transactionStatus, .idle)
    }

    // MARK: - Transactions

    func testTransactionsCommitRollBackAndRefuseAFailedCommit() throws {
        let connection = try scram()
        defer { connection.close() }
        let table = PostgresTestServer.uniqueTable("tx")
        try connection.query("CREATE TEMP TABLE \(table) (id int8 PRIMARY KEY)")
        try connection.transaction { try $0.query("INSERT INTO \(table) VALUES (1)") }
        struct Abort: Error {}
        XCTAssertThrowsError(try connection.transaction { tx in
            try tx.query("INSERT INTO \(table) VALUES (2)")
            throw Abort()
        }) { XCTAssertTrue($0 is Abort) }
        XCTAssertEqual(connection.transactionStatus, .idle)
        XCTAssertThrowsError(try connection.transaction { tx in try tx.transaction { _ in } }) {
            XCTAssertEqual($0 as? PostgresError, .alreadyInTransaction)
        }
        XCTAssertEqual(connection.transactionStatus, .idle, "the outer transaction rolled back")
        // A statement that failed inside the transaction, its error swallowed: COMMIT must not pretend.
        XCTAssertThrowsError(try connection.transaction { tx in
            try tx.query("INSERT INTO \(table) VALUES (3)")
            _ = try? tx.query("INSERT INTO \(table) VALUES (1)")
            XCTAssertEqual(tx.transactionStatus, .failed)
        }) { XCTAssertEqual($0 as? PostgresError, .transactionRolledBack) }
        let ids = try connection.query("SELECT id FROM \(table) ORDER BY id").rows.map { try $0.decode(Int.self, at: 0) }
        XCTAssertEqual(ids, [1])
    }

    func testServerDroppingTheConnectionMidTransaction() throws {
        let table = PostgresTestServer.uniqueTable("dropped")
        let admin = try server.superuser()
        defer { admin.close() }
        try admin.query("CREATE TABLE \(table) (id int8)")
        try admin.query("GRANT INSERT, SELECT ON \(table) TO wr_scram")
        defer { _ = try? admin.query("DROP TABLE \(table)") }

        let victim = try scram()
        XCTAssertThrowsError(try victim.transaction { tx in
            try tx.query("INSERT INTO \(table) VALUES (1)")
            XCTAssertEqual(try admin.query("SELECT pg_terminate_backend($1)", [.int(Int64(tx.backendProcessID))]).rows[0].decode(Bool.self, at: 0), true)
            try tx.query("INSERT INTO \(table) VALUES (2)")
        }) { error in
            switch error as? PostgresError {
            case .server(let serverError)?: XCTAssertEqual(serverError.code, "57P01")  // admin_shutdown, FATAL
            case .connectionClosed?: break
            default: XCTFail("unexpected \(error)")
            }
        }
        XCTAssertFalse(victim.isUsable)
        XCTAssertThrowsError(try victim.query("SELECT 1")) { XCTAssertEqual($0 as? PostgresError, .connectionUnusable) }
        XCTAssertEqual(try admin.query("SELECT count(*) FROM \(table)").rows[0].decode(Int.self, at: 0), 0, "nothing of the dropped transaction was committed")
    }

    // MARK: - Time-outs and bounds

    func testQueryTimeOutClosesTheConnectionAndCancelsTheQuery() throws {
        var configuration = server.tcp(user: "wr_scram", password: PostgresTestServer.scramPassword)
        configuration.queryTimeout = 0.3
        let connection = try PostgresConnection.connect(configuration)
        let pid = connection.backendProcessID
        XCTAssertThrowsError(try connection.query("SELECT pg_sleep(60)")) { error in
            guard case .timedOut(_, let during, _) = error as? PostgresError else { return XCTFail("\(error)") }
            XCTAssertEqual(during, "a query")
        }
        XCTAssertFalse(connection.isUsable)
        // The CancelRequest stops the sleep on the server: the backend leaves it well before 60 s.
        let admin = try server.superuser()
        defer { admin.close() }
        var stillSleeping = true
        for _ in 0..<100 where stillSleeping {
            stillSleeping = try admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [.int(Int64(pid))])
                .rows[0].decode(Int.self, at: 0) > 0
            if stillSleeping { usleep(20_000) }
        }
        XCTAssertFalse(stillSleeping)
    }
}
