import Foundation
import WanRoutePostgres

/// Round trips of the PostgreSQL client against a server named by `WANROUTE_BENCH_POSTGRES`
/// (a `postgres://` URL; the password may come from PGPASSWORD). Skipped when unset, since a
/// benchmark must not start servers behind the user's back; BENCHMARKS.md shows how to start one.
func runPostgresBenchmarks() throws {
    let environment = ProcessInfo.processInfo.environment
    guard let url = environment["WANROUTE_BENCH_POSTGRES"] else {
        print("postgres: skipped (set WANROUTE_BENCH_POSTGRES=postgres://USER@HOST:PORT/DB; see BENCHMARKS.md)")
        return
    }
    let configuration = try PostgresConfiguration(url: url, fallbackPassword: environment["PGPASSWORD"])

    // Login: socket, start-up and authentication (SCRAM's 4096 PBKDF2 rounds when the role uses it).
    var logins: [Double] = []
    for _ in 0..<30 {
        let start = monotonicNanos()
        let connection = try PostgresConnection.connect(configuration)
        logins.append(Double(monotonicNanos() - start) / 1e3)
        connection.close()
    }
    logins.sort()
    report("postgres.login", String(format: "%.0f µs median", logins[logins.count / 2]), "\(configuration.endpoint), 30 logins")

    let connection = try PostgresConnection.connect(configuration)
    defer { connection.close() }

    func measure(_ label: String, count: Int, _ body: (Int64) throws -> Void) throws {
        for i in 0..<500 { try body(Int64(-1 - i)) }  // warm-up
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for i in 0..<count {
            let start = monotonicNanos()
            try body(Int64(i))
            samples.append(Double(monotonicNanos() - start) / 1e3)
        }
        samples.sort()
        report(label, String(format: "%.1f µs median", samples[count / 2]),
               String(format: "p99 %.1f µs, %d pairs", samples[count * 99 / 100], count))
    }

    // A temporary table writes no WAL: the pure round trip. A logged table commits each INSERT
    // durably (WAL flushed, as the server's synchronous_commit says): what a ledger append costs.
    for kind in ["TEMP", "logged"] {
        let table = "wanroute_bench_\(kind == "TEMP" ? "temp" : "logged")_\(getpid())"
        try connection.query("CREATE \(kind == "TEMP" ? "TEMP " : "")TABLE \(table) (id int8 PRIMARY KEY, job text NOT NULL, amount numeric NOT NULL)")
        defer { _ = try? connection.query("DROP TABLE \(table)") }
        let insert = try connection.prepare("INSERT INTO \(table) (id, job, amount) VALUES ($1, $2, $3)")
        let select = try connection.prepare("SELECT job, amount FROM \(table) WHERE id = $1")
        let name = kind == "TEMP" ? "temp" : "logged"
        try measure("postgres.\(name).prepared_insert_select", count: 5_000) { id in
            try connection.execute(insert, [.int(id), .text("job-\(id)"), .text("0.123456789")])
            let row = try connection.execute(select, [.int(id)]).rows[0]
            blackHole(try row.decode(String.self, "amount"))
        }
        try measure("postgres.\(name).unprepared_insert_select", count: 5_000) { id in
            try connection.query("INSERT INTO \(table) (id, job, amount) VALUES ($1, $2, $3)", [.int(id + 1_000_000), .text("job"), .text("1.5")])
            blackHole(try connection.query("SELECT job, amount FROM \(table) WHERE id = $1", [.int(id + 1_000_000)]).rows.count)
        }
    }
}
