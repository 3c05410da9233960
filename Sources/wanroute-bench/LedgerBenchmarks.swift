import Foundation
import WanRoute

/// Runs an async body to completion from the synchronous benchmark driver.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    nonisolated(unsafe) var result: Result<T, any Error>?
    let done = DispatchSemaphore(value: 0)
    Task {
        do { result = .success(try await body()) } catch { result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try result!.get()
}

func benchmarkDirectory(_ name: String) throws -> String {
    let base = ProcessInfo.processInfo.environment["WANROUTE_BENCH_DIR"] ?? NSTemporaryDirectory()
    let path = base + "/wanroute-bench-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: path)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

let benchMonth = LedgerMonth("2026-12")!
let benchProviders = ["apixo", "dashscope-intl", "modellix", "aimlapi"].map { ProviderID($0)! }

/// A small event, as the executor appends one per step.
func benchEvent(_ job: String, _ i: Int) -> LedgerEvent {
    LedgerEvent(time: LedgerTime(milliseconds: benchMonth.start.milliseconds + Int64(i)), jobID: job, provider: benchProviders[0],
                taskID: "3f1c2a9e-\(job)", body: .submitIntent(mode: .standard, resolution: .p720, attempt: 1))
}

/// Durable appends from 8 writers, group committed; and one writer's fsync'd latency per event.
func runLedgerAppendBenchmarks() throws {
    // 8 writer tasks in one process: each append is one event, answered only once durable.
    for writers in [8, 128] {
        let dir = try benchmarkDirectory("append")
        let store = try FileLedgerStore(directory: dir)
        let perWriter = 80_000 / writers
        let start = monotonicNanos()
        try blocking {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0..<writers {
                    group.addTask { for i in 0..<perWriter { _ = try await store.append([benchEvent("w\(w)-\(i)", i)]) } }
                }
                try await group.waitForAll()
            }
        }
        let seconds = Double(monotonicNanos() - start) / 1e9
        report("durable appends, \(writers) writer tasks in one process (group commit)", String(format: "%.0f events/s", Double(perWriter * writers) / seconds),
               "\(perWriter * writers) events, one event per append, \(String(format: "%.2f", seconds)) s")
        try? FileManager.default.removeItem(atPath: dir)
    }

    // 8 processes (8 `run`s), each with many jobs in flight, on one month file.
    for tasks in [1, 16, 64, 128] {
        let dir = try benchmarkDirectory("append-procs")
        let perProcess = max(tasks * 40, min(20_000, tasks * 400))
        let start = monotonicNanos()
        let children = try (0..<8).map { p -> Process in
            let child = Process()
            child.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
            child.arguments = ["ledger-append-child", dir, String(p), String(perProcess), String(tasks)]
            try child.run()
            return child
        }
        for c in children { c.waitUntilExit() }
        let seconds = Double(monotonicNanos() - start) / 1e9
        let store = try FileLedgerStore(directory: dir)
        let records = try blocking { try await store.records(in: benchMonth) }
        precondition(records.map(\.sequence) == Array(1...Int64(records.count)), "one unbroken sequence")
        report("durable appends, 8 processes × \(tasks) writer task\(tasks == 1 ? "" : "s") each", String(format: "%.0f events/s", Double(records.count) / seconds),
               "\(records.count) events, one per append, checked after; process start-up included, \(String(format: "%.2f", seconds)) s")
        try? FileManager.default.removeItem(atPath: dir)
    }

    // One writer, one event per append: the latency of a durable append.
    let single = try benchmarkDirectory("latency")
    let one = try FileLedgerStore(directory: single)
    var samples: [Double] = []
    try blocking { _ = try await one.append([benchEvent("warm", 0)]) }
    for i in 0..<2_000 {
        let t = monotonicNanos()
        try blocking { _ = try await one.append([benchEvent("j\(i)", i)]) }
        samples.append(Double(monotonicNanos() - t) / 1e3)
    }
    samples.sort()
    report("one writer, fsync'd latency per event", String(format: "median %.0f µs", samples[samples.count / 2]),
           String(format: "p90 %.0f µs, p99 %.0f µs, 2,000 appends", samples[samples.count * 9 / 10], samples[samples.count * 99 / 100]))
    try? FileManager.default.removeItem(atPath: single)
}

/// The child of the 8-process append benchmark: writer tasks appending one event at a time.
func runLedgerAppendChild(_ args: [String]) throws {
    let store = try FileLedgerStore(directory: args[0])
    let p = args[1], n = Int(args[2])!, tasks = Int(args[3])!
    try blocking {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<tasks {
                group.addTask { for i in 0..<(n / tasks) { _ = try await store.append([benchEvent("p\(p)w\(w)-\(i)", i)]) } }
            }
            try await group.waitForAll()
        }
    }
}

/// A realistic month: jobs spread over the month with the executor's events (decided with an
/// alternate, two tags and its reservation; submit-intent; accepted; running; succeeded with its
/// settlement), with free failures (7%), unknown outcomes (1%) and refusals (2%) mixed in.
/// Written by the real file store.
func generateLedgerMonth(directory: String, jobs: Int, seed: UInt64 = 7) throws -> (events: Int, bytes: Int64) {
    let total = try generateLedgerMonth(into: FileLedgerStore(directory: directory), jobs: jobs, seed: seed)
    let size = (try FileManager.default.attributesOfItem(atPath: directory + "/\(benchMonth).jsonl")[.size] as? NSNumber)?.int64Value ?? 0
    return (total, size)
}

/// The same month appended to any store, in batches of 20,000 events; returns the number of events.
func generateLedgerMonth(into store: any LedgerStore, jobs: Int, seed: UInt64 = 7) throws -> Int {
    var rng = BenchRandom(state: seed)
    let span = benchMonth.end.milliseconds - benchMonth.start.milliseconds - 3_600_000
    var batch: [LedgerEvent] = []
    var total = 0
    func usd(_ nanos: Int64) -> Money { Money(nanos: nanos, currency: .usd) }
    func uuid() -> String {
        let a = rng.next(), b = rng.next()
        let hex: [Character] = Array(String(format: "%016llx%016llx", a, b))
        var parts: [String] = []
        var from = 0
        for length in [8, 4, 4, 4, 12] {
            parts.append(String(hex[from..<(from + length)]))
            from += length
        }
        return parts.joined(separator: "-")
    }
    for i in 0..<jobs {
        let job = String(format: "job-%07d", i)
        let run = "run-\(i / 5_000)"
        let t0 = benchMonth.start.milliseconds + span * Int64(i) / Int64(jobs)
        func at(_ s: Int64) -> LedgerTime { LedgerTime(milliseconds: t0 + s * 1000) }
        let p = benchProviders[Int(rng.next() % 4)]
        let alt = benchProviders[(benchProviders.firstIndex(of: p)! + 1) % 4]
        let tags = ["customer": "c\(rng.next() % 50)", "project": "p\(rng.next() % 10)"]
        let seconds = Int64(5 + rng.next() % 25)
        let cost = usd(seconds * 80_000_000)
        let keys = BudgetKey.keys(provider: p, tags: tags)
        let roll = rng.next() % 100
        // The executor's compact forms: the decision carries its reservation, the final event its
        // settlement; provider and task ids appear where they are new (submit-intent, accepted).
        let refused = roll < 2
        let decision = LedgerDecision(behavior: rng.next() % 3 == 0 ? .replace : .animate, duration: Seconds(whole: seconds), tags: tags,
                                      policy: "production", policyDigest: "9f2c4e1a7b3d5f60", pricingDigest: "41d8cd98f00b204e",
                                      mode: refused ? nil : .standard, resolution: refused ? nil : .p720, estimate: refused ? nil : cost, estimateUSD: nil,
                                      alternates: refused ? [] : [LedgerAlternate(provider: alt, mode: .standard, resolution: .p720, estimate: usd(seconds * 90_000_000))],
                                      refusal: refused ? "every offer is over budget \"studio\"" : nil,
                                      reservation: refused ? nil : LedgerBudgetAmount(amount: cost, budgets: keys))
        batch.append(LedgerEvent(time: at(0), jobID: job, runID: run, provider: refused ? nil : p, body: .decided(decision)))
        if refused { total += 1; continue }
        let task = uuid()
        batch.append(LedgerEvent(time: at(0), jobID: job, provider: p, body: .submitIntent(mode: .standard, resolution: .p720, attempt: 1)))
        if roll < 3 {
            batch.append(LedgerEvent(time: at(30), jobID: job, body: .outcomeUnknown(detail: "no answer to the submission within 30 s")))
            batch.append(LedgerEvent(time: at(600), jobID: job, body: .needsAttention(detail: "\(p) offers no way to list tasks; check its console for a task created at \(at(0))")))
            total += 4
            continue
        }
        batch.append(LedgerEvent(time: at(1), jobID: job, provider: p, taskID: task, body: .accepted))
        batch.append(LedgerEvent(time: at(20), jobID: job, body: .state(.running)))
        if roll < 10 {
            batch.append(LedgerEvent(time: at(120), jobID: job, body: .failed(LedgerFailure(
                failure: .contentRefused, cost: usd(0), costSource: .failedTaskFree, final: true, detail: "\(p) refused the content (DataInspectionFailed)",
                settlement: usd(0)))))
            total += 5
            continue
        }
        batch.append(LedgerEvent(time: at(180), jobID: job, body: .succeeded(LedgerSuccess(
            resultURL: "https://results.\(p).example/outputs/2026/12/\(task).mp4", billedSeconds: Seconds(whole: seconds),
            cost: cost, costSource: .providerReported, settlement: cost))))
        total += 5
        if batch.count >= 20_000 {
            let b = batch
            _ = try blocking { try await store.append(b) }
            batch = []
        }
    }
    if !batch.isEmpty {
        let b = batch
        _ = try blocking { try await store.append(b) }
    }
    // As `run` ends: the summaries the writer kept current are written once more.
    (store as? FileLedgerStore)?.saveSummaries()
    return total
}

/// A 1,000,000-job month: bytes per job, folding budgets from scratch, opening budget state from
/// the summary, and reading every record.
func runLedgerMonthBenchmark() throws {
    let jobs = Int(ProcessInfo.processInfo.environment["WANROUTE_BENCH_JOBS"] ?? "") ?? 1_000_000
    let dir = try benchmarkDirectory("month")
    var t = monotonicNanos()
    let (events, bytes) = try generateLedgerMonth(directory: dir, jobs: jobs)
    let genSeconds = Double(monotonicNanos() - t) / 1e9
    report("ledger month written", "\(jobs) jobs, \(events) events, \(bytes / 1_000_000) MB",
           String(format: "%.0f bytes per job, %.0f bytes per event, written in %.1f s (%.0f events/s in batches of 20,000)",
                  Double(bytes) / Double(jobs), Double(bytes) / Double(events), genSeconds, Double(events) / genSeconds))
    let month = BudgetMonth(benchMonth)

    t = monotonicNanos()
    let coldCPU = cpuSeconds()
    let cold = try FileLedgerStore(directory: dir)
    let coldState = try blocking { try await cold.budgetState(for: month) }
    cold.saveSummaries()
    report("budget state, no summary (fold the whole month, then write the summary)", String(format: "%.0f ms", Double(monotonicNanos() - t) / 1e6),
           String(format: "CPU %.1f s; total committed ", cpuSeconds() - coldCPU) + coldState.committed(.total).description)

    var opens: [Double] = []
    var cpu: [Double] = []
    for _ in 0..<9 {
        t = monotonicNanos()
        let c = cpuSeconds()
        let warm = try FileLedgerStore(directory: dir)
        let s = try blocking { try await warm.budgetState(for: month) }
        opens.append(Double(monotonicNanos() - t) / 1e6)
        cpu.append((cpuSeconds() - c) * 1000)
        precondition(s == coldState, "the summary must give the fold's answer")
    }
    opens.sort()
    cpu.sort()
    report("budget state for the month from its summary (open store + checked summary)", String(format: "%.1f ms", opens[4]),
           String(format: "median of 9, min %.1f, max %.1f; CPU median %.1f ms; %d jobs with reservations open", opens[0], opens[8], cpu[4], coldState.openReservations))

    t = monotonicNanos()
    let readCPU = cpuSeconds()
    let n = try blocking {
        let store = try FileLedgerStore(directory: dir)
        var count = 0
        try await store.forEachRecord(in: benchMonth) { _ in count += 1 }
        return count
    }
    let readSeconds = Double(monotonicNanos() - t) / 1e9
    report("read and decode every record of the month", String(format: "%.2f s", readSeconds),
           String(format: "%d records, %.0f MB/s, %.2f M records/s; CPU %.2f s", n, Double(bytes) / readSeconds / 1e6, Double(n) / readSeconds / 1e6, cpuSeconds() - readCPU))

    // The same records in schema versions 1 to 3, the forms older ledgers hold, for comparison
    // (version 3 as its writer left out intents' offers: one writer, one file).
    let (v1Bytes, v2Bytes, v3Bytes) = try blocking {
        let store = try FileLedgerStore(directory: dir)
        var totals = (0, 0, 0)
        var line: [UInt8] = []
        var v3 = LedgerLineWriter(version: 3)
        try await store.forEachRecord(in: benchMonth) { r in
            line.removeAll(keepingCapacity: true)
            LedgerCodec.encode(r, version: 1, into: &line)
            totals.0 += line.count
            line.removeAll(keepingCapacity: true)
            LedgerCodec.encode(r, version: 2, into: &line)
            totals.1 += line.count
            line.removeAll(keepingCapacity: true)
            v3.encode(r, into: &line)
            totals.2 += line.count
        }
        return totals
    }
    report("the same month in schema versions 1, 2 and 3", "\(v1Bytes / 1_000_000) MB, \(v2Bytes / 1_000_000) MB and \(v3Bytes / 1_000_000) MB",
           String(format: "%.0f, %.0f and %.0f bytes per job (version 4 as written: %.0f, %.0f%% of version 3)", Double(v1Bytes) / Double(jobs),
                  Double(v2Bytes) / Double(jobs), Double(v3Bytes) / Double(jobs), Double(bytes) / Double(jobs), 100 * Double(bytes) / Double(v3Bytes)))
    if ProcessInfo.processInfo.environment["WANROUTE_BENCH_KEEP"] == nil { try? FileManager.default.removeItem(atPath: dir) }
}

/// SplitMix64, for a reproducible month.
struct BenchRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The codec alone: encoding and decoding the month's commonest lines, per line.
func runLedgerCodecBenchmarks() throws {
    let dir = try benchmarkDirectory("codec")
    _ = try generateLedgerMonth(directory: dir, jobs: 200)
    let store = try FileLedgerStore(directory: dir)
    let records = try blocking { try await store.records(in: benchMonth) }
    try? FileManager.default.removeItem(atPath: dir)
    // Schema version 4 (written now; each line whole, as `jobs show` and PostgreSQL write it) and
    // versions 3, 2 and 1 (older ledgers, still read), line for line.
    for version in [4, 3, 2, 1] {
        for type in [LedgerEventType.decided, .submitIntent, .accepted, .state, .succeeded] {
            guard let record = records.first(where: { $0.event.type == type }) else { continue }
            func encoded() -> [UInt8] {
                var out: [UInt8] = []
                out.reserveCapacity(256)
                LedgerCodec.encode(record, version: version, into: &out)
                return out
            }
            let line = Array(encoded().dropLast())
            let encode = medianNanosPerCall(batch: 2_000) { blackHole(encoded()) }
            let decode = medianNanosPerCall(batch: 2_000) { blackHole(try? LedgerCodec.decode(line)) }
            let verify = medianNanosPerCall(batch: 2_000) { blackHole(line.withUnsafeBytes { LedgerCodec.verify($0) }) }
            report("codec v\(version), \(type.rawValue) line (\(line.count + 1) bytes)", String(format: "decode %.0f ns", decode),
                   String(format: "encode %.0f ns, checksum check %.0f ns", encode, verify))
        }
    }
}
