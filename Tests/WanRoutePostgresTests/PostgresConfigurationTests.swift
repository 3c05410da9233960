import XCTest
@testable import WanRoutePostgres

final class PostgresConfigurationTests: XCTestCase {
    func testURLForms() throws {
        var c = try PostgresConfiguration(url: "postgres://alice:s3cret@db.internal:6432/ledger")
        XCTAssertEqual(c.endpoint, .tcp(host: "db.internal", port: 6432))
        XCTAssertEqual(c.user, "alice")
        XCTAssertEqual(c.password?.value, "s3cret")
        XCTAssertEqual(c.database, "ledger")

        c = try PostgresConfiguration(url: "postgresql://bob@localhost/ledger?application_name=svc&connect_timeout=5", fallbackPassword: "from-env")
        XCTAssertEqual(c.endpoint, .tcp(host: "localhost", port: 5432))
        XCTAssertEqual(c.password?.value, "from-env")
        XCTAssertEqual(c.applicationName, "svc")
        XCTAssertEqual(c.connectTimeout, 5)

        c = try PostgresConfiguration(url: "postgres://carol@/ledger?host=/var/run/postgresql&port=5433")
        XCTAssertEqual(c.endpoint, .unixSocket(directory: "/var/run/postgresql", port: 5433))
        XCTAssertEqual(c.endpoint.description, "/var/run/postgresql/.s.PGSQL.5433")

        c = try PostgresConfiguration(url: "postgres://carol@%2Ftmp%2Fpg/ledger")
        XCTAssertEqual(c.endpoint, .unixSocket(directory: "/tmp/pg", port: 5432))

        c = try PostgresConfiguration(url: "postgres://dave:p%40ss%3Aw%2Frd@[::1]:5444/db", fallbackPassword: "ignored")
        XCTAssertEqual(c.endpoint, .tcp(host: "::1", port: 5444))
        XCTAssertEqual(c.password?.value, "p@ss:w/rd", "the URL's password wins over the fallback")
        XCTAssertEqual(c.redactedURL, "postgres://dave@[::1]:5444/db")

        c = try PostgresConfiguration(url: "postgres://erin@/")
        XCTAssertEqual(c.endpoint, .unixSocket(directory: PostgresConfiguration.defaultSocketDirectory, port: 5432))
        XCTAssertEqual(c.database, "erin", "the database defaults to the user's name")

        for mode in ["disable", "allow", "prefer"] {
            XCTAssertNoThrow(try PostgresConfiguration(url: "postgres://u@h/d?sslmode=\(mode)"))
        }
    }

    func testTLSModesAreRefusedWithTheReason() {
        for mode in ["require", "verify-ca", "verify-full"] {
            XCTAssertThrowsError(try PostgresConfiguration(url: "postgres://u:pw@h/d?sslmode=\(mode)")) { error in
                XCTAssertEqual(error as? PostgresError, .tlsUnavailable(sslmode: mode))
                let text = "\(error)"
                XCTAssertTrue(text.contains("PgBouncer") && text.contains("Unix socket") && text.contains("in clear"), text)
            }
        }
    }

    func testBadURLsSayWhatIsWrongWithoutThePassword() {
        let secret = "Sup3r-Secret"
        let bad = [
            "mysql://u:\(secret)@h/d", "postgres://u:\(secret)@h:99999/d", "postgres://u:\(secret)@h:port/d",
            "postgres://u:\(secret)@h/d?sslmode=sometimes", "postgres://u:\(secret)@h/d?ssl_mode=disable",
            "postgres://u:\(secret)@h/d?foo", "postgres://u:\(secret)%zz@h/d", "postgres://u:\(secret)@h1,h2/d",
            "postgres://u:\(secret)@[::1/d", "postgres://u:\(secret)@h/d%00x", "postgres://u:\(secret)@h/d?connect_timeout=-1",
        ]
        for url in bad {
            XCTAssertThrowsError(try PostgresConfiguration(url: url), url) { error in
                guard case .invalidURL = error as? PostgresError else { return XCTFail("\(url): \(error)") }
                XCTAssertFalse("\(error)".contains(secret), "\(error)")
            }
        }
    }

    func testThePasswordNeverShows() throws {
        let secret = "Sup3r-Secret"
        let c = try PostgresConfiguration(url: "postgres://alice:\(secret)@h:5432/d")
        var dumped = ""
        dump(c, to: &dumped)
        for text in ["\(c)", String(reflecting: c), c.redactedURL, dumped, "\(c.password!)", String(reflecting: c.password!)] {
            XCTAssertFalse(text.contains(secret), text)
        }
        XCTAssertEqual("\(c)", "postgres://alice@h:5432/d")
    }
}
