import Foundation
import WanRoute
import WanRoutePostgres
import WanRouteTesting

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

    try runPostgresReservationBenchmark(configuration)
    try runPostgresRunBenchmark(configuration)
}

/// A budget reservation through ``PostgresLedgerStore``: BEGIN, the budget lock, the month's budget
/// events, the month lock and next sequence (one round trip), then the INSERT and COMMIT (a second).
func runPostgresReservationBenchmark(_ configuration: PostgresConfiguration) throws {
    let pool = PostgresPool(configuration: configuration, maximumConnections: 8)
    defer { pool.close() }
    let schema = "wanroute_bench_\(getpid())"
    try pool.withConnection { connection in
        try connection.query("CREATE SCHEMA \(schema)")
        try PostgresLedgerStore.migrate(connection, schema: schema)
    }
    defer { _ = try? pool.withConnection { try $0.query("DROP SCHEMA \(schema) CASCADE") } }
    let store = PostgresLedgerStore(pool: pool, schema: schema)
    let month = BudgetMonth(benchMonth)
    let limits = [BudgetLimit(budgetID: "studio", key: .total, monthly: Money(decimal: "1000000", currency: .usd)!)]
    @Sendable func request(_ i: Int) -> ReservationRequest {
        ReservationRequest(
            event: LedgerEvent(time: LedgerTime(milliseconds: benchMonth.start.milliseconds + Int64(i)), jobID: "job-\(i)", provider: benchProviders[0],
                               body: .reserved(LedgerBudgetAmount(amount: Money(decimal: "1.20", currency: .usd)!, budgets: [.total]))),
            limits: limits, month: month)
    }
    // Sequential: the latency of one reservation, with the month growing from 0 to 2,000 of them.
    let count = 2_000
    let samples: [Double] = try blocking {
        var samples: [Double] = []
        for i in 0..<count {
            let start = monotonicNanos()
            guard case .reserved = try await store.reserve(request(i)) else { throw PostgresError.transactionRolledBack }
            samples.append(Double(monotonicNanos() - start) / 1e3)
        }
        return samples
    }
    let sorted = samples.sorted()
    report("postgres.reservation", String(format: "%.0f µs median", sorted[count / 2]),
           String(format: "p99 %.0f µs, %d in a row; first 100 median %.0f µs, last 100 median %.0f µs", sorted[count * 99 / 100], count,
                  samples.prefix(100).sorted()[50], samples.suffix(100).sorted()[50]))

    // 8 reservers at once (one pool of 8 connections): throughput under the budget lock.
    let concurrentStart = monotonicNanos()
    try blocking {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<8 {
                group.addTask { for i in 0..<125 { _ = try await store.reserve(request(10_000 + w * 1_000 + i)) } }
            }
            try await group.waitForAll()
        }
    }
    let seconds = Double(monotonicNanos() - concurrentStart) / 1e9
    report("postgres.reservations_8_concurrent", String(format: "%.0f reservations/s", 1_000 / seconds), "8 tasks × 125, after the 2,000 above")
}

/// Jobs per second through `run`'s path (decide and reserve as each job starts, submit-intent,
/// accepted, the result and its settlement, each durable before the next step) with the ledger in
/// PostgreSQL, beside the file ledger: an instant adapter and virtual time, so the ledger's
/// round trips and syncs are what is measured.
func runPostgresRunBenchmark(_ configuration: PostgresConfiguration) throws {
    let catalog = try PriceCatalog.builtIn()
    let apixo = ProviderID("apixo")!
    let router = try Router(policy: Policy.load(SourceFile(name: "bench.json", text: """
        {"kind": "policy", "version": 1, "name": "bench", "objective": "cheapest",
         "constraints": {"providers": {"allow": ["apixo"]}}, "failover": {"alternates": 0, "on": []},
         "budgets": [{"id": "studio", "monthly": {"amount": "1000000.00", "currency": "USD"}}]}
        """), catalog: catalog), catalog: catalog)
    let n = 2_000
    let orders = try benchmarkOrders(n, catalog: catalog).orders
    let pool = PostgresPool(configuration: configuration, maximumConnections: 8)
    defer { pool.close() }
    let schema = "wanroute_bench_run_\(getpid())"
    try pool.withConnection { connection in
        try connection.query("CREATE SCHEMA \(schema)")
        try PostgresLedgerStore.migrate(connection, schema: schema)
    }
    defer { _ = try? pool.withConnection { try $0.query("DROP SCHEMA \(schema) CASCADE") } }
    let directory = NSTemporaryDirectory() + "wanroute-bench-run-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let stores: [(String, any LedgerStore)] = [("file", try FileLedgerStore(directory: directory)),
                                               ("postgres", PostgresLedgerStore(pool: pool, schema: schema))]
    for (name, store) in stores {
        let time = VirtualTimeSource()
        let recorder = LedgerRecorder(store: store, router: router, catalog: catalog, runID: "bench", time: time)
        let executor = Executor(catalog: catalog, adapters: [apixo: InstantAdapter(provider: apixo)], apiKeys: [apixo: "k"],
                                time: time, options: benchmarkOptions(), seed: 1, observers: [recorder])
        let start = monotonicNanos()
        let reports = RunBlocking.run { await executor.run(orders, decider: recorder, concurrency: 100) }
        let seconds = Double(monotonicNanos() - start) / 1e9
        precondition(reports.allSatisfy { $0.status == .succeeded }, "\(reports.first { $0.status != .succeeded }.map { "\($0.status)" } ?? "")")
        report("run.ledger.\(name)", String(format: "%.0f jobs/s", Double(n) / seconds), "\(n) jobs, 100 at once, one budget, instant adapter")
    }
}
