import Foundation
import WanRoute
import WanRoutePostgres

/// Report benchmarks: the cost of the monthly report's fold and of the what-if replay per job,
/// with the jobs already in memory (reading the ledger is the ledger's benchmark). A pool of 1,000
/// varied jobs is cycled to 1,000,000, each placed at its own instant of December 2026.
func runReportBenchmarks() throws {
    let catalog = try PriceCatalog.builtIn()
    let policy = try Policy.builtIn(named: "production", catalog: catalog)
    let router = try Router(policy: policy, catalog: catalog)
    let period = try ReportPeriod(month: "2026-12", timeZone: "Europe/Berlin")
    var rng = SplitMixBench(seed: 9)
    let customers = ["film", "acme", "tv", "ads", "games"]
    var pool: [ReportJob] = []
    for i in 0..<1_000 {
        var tags = ["project": "p\(i % 17)"]
        if i % 3 != 0 { tags["customer"] = customers[i % customers.count] }
        let request = Job(behavior: i % 4 == 0 ? .replace : .animate, duration: Seconds(micros: Int64(2_000_000 + rng.next() % 40_000_000)), tags: tags)
        let decision = router.decide(request)
        guard let choice = decision.choice else { continue }
        let offer = OfferRef(provider: choice.offer.provider, mode: choice.offer.mode, resolution: choice.offer.resolution)
        let failed = i % 23 == 0, unknown = i % 97 == 0
        pool.append(ReportJob(id: "job-\(i)", status: unknown ? .needsAttention : failed ? .failed : .succeeded, policy: policy.name,
                              request: request, offer: offer, taskID: "task-\(i)", estimatedCost: choice.estimate.cost,
                              billedSeconds: choice.estimate.billableSeconds, actualCost: unknown ? nil : failed ? choice.estimate.cost.map { .zero($0.currency) } : choice.estimate.cost,
                              retries: i % 11 == 0 ? 1 : 0, decidedAt: period.start))
    }
    let n = 1_000_000
    let span = Double(period.lengthSeconds)
    func job(_ k: Int) -> ReportJob {
        var j = pool[k % pool.count]
        let t = period.start.addingTimeInterval(span * Double(k) / Double(n))
        j.decidedAt = t
        j.submittedAt = t.addingTimeInterval(1)
        j.finishedAt = t.addingTimeInterval(Double(60 + k % 900))
        return j
    }

    let before = residentBytes()
    var start = cpuNanos()
    var builder = MonthlyReportBuilder(period: period, dimensions: [.provider, .tag("customer")], rates: catalog.exchangeRates, budgets: policy.budgets)
    for k in 0..<n { builder.add(job(k)) }
    let monthly = try builder.finish(spend: SpendSnapshot(), asOf: period.end)
    let foldNanos = cpuNanos() - start
    blackHole(monthly.total.jobs)
    // The cost of making the jobs alone, to subtract.
    start = cpuNanos()
    var sink = 0
    for k in 0..<n { sink &+= job(k).retries }
    let makeNanos = cpuNanos() - start
    blackHole(sink)
    report("report fold (CPU), 1,000,000 jobs, group-by provider,tag:customer, production budgets",
           String(format: "%.0f ms", Double(foldNanos - min(makeNanos, foldNanos)) / 1e6),
           String(format: "%.0f ns/job; making the jobs took %.0f ms more; resident +%d MiB", Double(foldNanos - min(makeNanos, foldNanos)) / Double(n), Double(makeNanos) / 1e6, (residentBytes() - before) >> 20))

    start = cpuNanos()
    for (label, dims, budgets) in [("no grouping, no budgets", [ReportDimension](), [Budget]()), ("provider only", [.provider], []),
                                    ("no grouping, production budgets", [], policy.budgets)] {
        start = cpuNanos()
        var b = MonthlyReportBuilder(period: period, dimensions: dims, rates: catalog.exchangeRates, budgets: budgets)
        for k in 0..<n { b.add(job(k)) }
        blackHole(try b.finish(asOf: period.end).total.jobs)
        let t = cpuNanos() - start - makeNanos
        report("report fold (CPU), 1,000,000 jobs, \(label)", String(format: "%.0f ms", Double(t) / 1e6))
    }

    // Replayed under the balanced policy (no budgets: no decision depends on spend, so the replay
    // remembers decisions by the job's shape), then under production (its budgets cover every job:
    // each is held, put in decision order and decided against the replay's running spend; past its
    // USD 3,000 a month most are refused, which still costs a full decision each).
    for name in ["balanced", "production"] {
        let router = try Router(policy: Policy.builtIn(named: name, catalog: catalog), catalog: catalog)
        start = cpuNanos()
        var replay = WhatIfReplay(period: period, router: router, pastRates: catalog.exchangeRates)
        for k in 0..<n { replay.add(job(k)) }
        let whatIf = replay.finish()
        let replayNanos = cpuNanos() - start - min(makeNanos, cpuNanos() - start)
        blackHole(whatIf.jobs)
        report("whatif replay (CPU), 1,000,000 production jobs under the \(name) policy", String(format: "%.0f ms", Double(replayNanos) / 1e6),
               String(format: "%.0f ns/job; %d routes changed, %d refused; resident +%d MiB", Double(replayNanos) / Double(n), whatIf.changed.count,
                      whatIf.refused.count, (residentBytes() - before) >> 20))
    }

    let export = FOCUSExport(period: period, catalog: catalog)
    start = cpuNanos()
    var bytes = 0
    for k in 0..<100_000 { bytes &+= export.rows(for: job(k)).utf8.count }
    report("FOCUS rows (CPU), 100,000 jobs", String(format: "%.0f ms", Double(cpuNanos() - start) / 1e6), "\(bytes / 100_000) bytes per row")
}

/// SplitMix64 for the benchmark's own job mix.
struct SplitMixBench {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// CPU time of this process in nanoseconds: the machine is shared, so wall time would count others' work.
func cpuNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// `wanroute report`, `reconcile` and `whatif` as a user runs them, over a month written by the
/// real ledger writer (`generateLedgerMonth`: WANROUTE_BENCH_JOBS jobs, default 1,000,000; about
/// 1 KB a job on disk), which keeps the month's job and budget summaries as it writes. The first
/// report is cold for wanroute (the summaries as the writing store left it, no report cache; the
/// files are in the page cache from writing them); the second is warm (from the report cache the
/// first wrote). Then the job summary and report caches are deleted and the summary built from
/// nothing by a report, and, when run as root, the page cache is dropped before a truly cold report
/// (report caches deleted, so it reads the job summary from disk). Wall time, and the child's peak
/// resident memory from wait4 (which carries this process's own peak: see BENCHMARKS.md).
///
/// `WANROUTE_BENCH_HOME=DIR` writes the month into DIR/ledger once and reuses it on later runs
/// (generating a million jobs takes minutes).
func runReportLedgerBenchmark() throws {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("wanroute").path
    guard FileManager.default.isExecutableFile(atPath: binary) else {
        throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "build wanroute first: swift build -c release"])
    }
    let jobs = Int(ProcessInfo.processInfo.environment["WANROUTE_BENCH_JOBS"] ?? "") ?? 1_000_000
    let reuse = ProcessInfo.processInfo.environment["WANROUTE_BENCH_HOME"]
    let home = try reuse ?? benchmarkDirectory("report-home")
    var events = 0
    if let reuse, FileManager.default.fileExists(atPath: reuse + "/ledger/\(benchMonth).jsonl") {
        report("report ledger reused", reuse)
    } else {
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let start = monotonicNanos()
        let (written, bytes) = try generateLedgerMonth(directory: home + "/ledger", jobs: jobs)
        events = written
        report("report ledger written", "\(jobs) jobs, \(events) events, \(bytes / 1_000_000) MB",
               String(format: "in %.0f s, keeping the job summary as it wrote", Double(monotonicNanos() - start) / 1e9))
    }
    func spawn(_ arguments: [String], environment extra: [String] = []) throws -> (ms: Double, maxRSSMiB: Int) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        let environment: [String] = ["WANROUTE_HOME=\(home)", "PATH=/usr/bin:/bin", "HOME=\(home)"] + extra
        var env: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { for e in env { free(e) } }
        var pid: pid_t = 0
        let start = monotonicNanos()
        guard posix_spawn(&pid, binary, &actions, nil, &argv, &env) == 0 else { throw NSError(domain: "bench", code: 2) }
        var status: Int32 = 0
        var usage = rusage()
        wait4(pid, &status, 0, &usage)
        let ms = Double(monotonicNanos() - start) / 1e6
        // reconcile exits 1 when something is unexplained: a finding, not a failure here.
        guard status == 0 || (arguments.first == "reconcile" && status == 256) else {
            throw NSError(domain: "bench", code: 3, userInfo: [NSLocalizedDescriptionKey: "wanroute \(arguments) exited with status \(status)"])
        }
        return (ms, usage.ru_maxrss / 1024)
    }
    func load() -> String { ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ") }
    func timed(_ label: String, _ arguments: [String]) throws {
        let r = try spawn(arguments)
        report(label, String(format: "%.0f ms", r.ms), "peak \(r.maxRSSMiB) MiB resident; load average \(load())")
    }
    let month = ["--month", "2026-12"]
    try timed("wanroute report --month 2026-12, first run (summary as the writer left it)", ["report"] + month)
    try timed("wanroute report --month 2026-12, second run", ["report"] + month)
    // WANROUTE_BENCH_POSTGRES_ONLY: the file ledger's two reports above, beside PostgreSQL's below, and nothing else.
    let postgresOnly = ProcessInfo.processInfo.environment["WANROUTE_BENCH_POSTGRES_ONLY"] != nil
    let others: [(String, [String])] = [
        ("wanroute report --month 2026-12 --group-by provider,tag:customer --format json", ["report"] + month + ["--group-by", "provider,tag:customer", "--format", "json"]),
        ("wanroute whatif --month 2026-12 --policy balanced", ["whatif"] + month + ["--policy", "balanced"]),
        ("wanroute reconcile --month 2026-12", ["reconcile"] + month),
        ("wanroute report --month 2026-12 --format focus", ["report"] + month + ["--format", "focus"]),
    ]
    for (label, arguments) in others where !postgresOnly { try timed(label, arguments) }
    let summary = home + "/ledger/summaries/jobs-\(benchMonth).bin"
    let summaryBytes = (try? FileManager.default.attributesOfItem(atPath: summary)[.size] as? NSNumber)?.int64Value ?? 0
    report("job summary size", "\(summaryBytes / 1_000_000) MB", "\(summaryBytes / Int64(max(jobs, 1))) bytes per job")
    // The report caches (summaries/report-*.bin) would answer the reports below without reading
    // the job summary: they go too, so each of those reports adds the month up.
    func removeReportCaches() {
        let dir = home + "/ledger/summaries"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix("report-") {
            try? FileManager.default.removeItem(atPath: dir + "/" + name)
        }
    }
    if !postgresOnly {
        try? FileManager.default.removeItem(atPath: summary)
        removeReportCaches()
        try timed("wanroute report --month 2026-12, no summary (built from the ledger, then written)", ["report"] + month)
        removeReportCaches()
        try timed("wanroute report --month 2026-12, after that (from the summary it wrote)", ["report"] + month)
    }
    if postgresOnly {
        // nothing more of the file ledger
    } else if getuid() == 0, let f = fopen("/proc/sys/vm/drop_caches", "w") {
        removeReportCaches()
        sync()
        fputs("3\n", f)
        fclose(f)
        try timed("wanroute report --month 2026-12, page cache dropped first", ["report"] + month)
    } else {
        report("wanroute report, page cache dropped first", "skipped", "needs root")
    }
    if reuse == nil, ProcessInfo.processInfo.environment["WANROUTE_BENCH_KEEP"] == nil { try? FileManager.default.removeItem(atPath: home) }

    // The same month in PostgreSQL, when WANROUTE_BENCH_POSTGRES names a database for the benchmark
    // alone (the commands read its schema public): written through PostgresLedgerStore in batches
    // of 20,000 events unless the database already holds exactly this month, then `report` over it.
    let environment = ProcessInfo.processInfo.environment
    guard let url = environment["WANROUTE_BENCH_POSTGRES"] else {
        print("report-ledger postgres: skipped (set WANROUTE_BENCH_POSTGRES=postgres://USER@HOST:PORT/DB; see BENCHMARKS.md)")
        return
    }
    let configuration = try PostgresConfiguration(url: url, fallbackPassword: environment["PGPASSWORD"])
    let pool = PostgresPool(configuration: configuration, maximumConnections: 2)
    defer { pool.close() }
    let held = try pool.withConnection { connection in
        try PostgresLedgerStore.migrate(connection)
        return try connection.query("SELECT count(*) FROM wanroute_ledger_events WHERE month = $1", [.text(benchMonth.description)]).rows[0].decode(Int.self, at: 0)
    }
    if held == 0 {
        let start = monotonicNanos()
        let n = try generateLedgerMonth(into: PostgresLedgerStore(pool: pool), jobs: jobs)
        let seconds = Double(monotonicNanos() - start) / 1e9
        report("report ledger written to PostgreSQL", String(format: "%.0f s", seconds), String(format: "%.0f events/s in batches of 20,000", Double(n) / seconds))
    } else if events > 0, held != events {
        throw NSError(domain: "bench", code: 4, userInfo: [NSLocalizedDescriptionKey: "\(configuration.redactedURL) holds \(held) events of \(benchMonth), not the \(events) this benchmark writes; give it an empty database"])
    }
    let sizes = try pool.withConnection { connection in
        try ["wanroute_ledger_events", "wanroute_ledger_jobs"].map {
            try connection.query("SELECT pg_total_relation_size($1::regclass)", [.text($0)]).rows[0].decode(Int64.self, at: 0)
        }
    }
    report("report ledger in PostgreSQL", "\(sizes[0] / 1_000_000) MB", "events table and indexes; job summary \(sizes[1] / 1_000_000) MB, \(sizes[1] / Int64(max(jobs, 1))) bytes a job")
    let postgres = ["WANROUTE_LEDGER=\(url)"] + (environment["PGPASSWORD"].map { ["PGPASSWORD=\($0)"] } ?? [])
    func timedPostgres(_ label: String, _ arguments: [String]) throws {
        let r = try spawn(arguments, environment: postgres)
        report(label + ", PostgreSQL", String(format: "%.0f ms", r.ms), "peak \(r.maxRSSMiB) MiB resident; load average \(load())")
    }
    // The report cache (wanroute_report_cache) of an earlier run of this benchmark would answer the
    // first report: emptied, so that one adds the month up from the job summary and saves it.
    func removePostgresReportCaches() throws { try pool.withConnection { try $0.query("DELETE FROM wanroute_report_cache") } }
    try removePostgresReportCaches()
    try timedPostgres("wanroute report --month 2026-12, first run (job summary as the writer left it, no report cache)", ["report"] + month)
    try timedPostgres("wanroute report --month 2026-12, second run (from the report cache)", ["report"] + month)
    for (label, arguments) in others { try timedPostgres(label, arguments) }
    try timedPostgres("\(others[0].0) again (from the report cache)", others[0].1)
    try timedPostgres("wanroute resume --dry-run (open jobs from the summary)", ["resume", "--dry-run"])
    // The summary folded from nothing, as after migrating a ledger written before it existed.
    try pool.withConnection { connection in
        try connection.query("DELETE FROM wanroute_ledger_jobs")
        try connection.query("DELETE FROM wanroute_ledger_job_coverage")
    }
    try timedPostgres("wanroute ledger migrate, folding the month into an empty job summary", ["ledger", "migrate"])
    try removePostgresReportCaches()
    try timedPostgres("wanroute report --month 2026-12, after that (report cache emptied too)", ["report"] + month)
}
