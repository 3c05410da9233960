import Foundation
import WanRoute
import WanRouteTesting

/// An adapter that answers at once: queued, running, then succeeded, so only the executor's own
/// work is measured ("provider time excluded").
struct InstantAdapter: ProviderAdapter {
    let provider: ProviderID
    let pollSchedule = PollSchedule(firstPoll: Seconds(whole: 60), minimumInterval: Seconds(whole: 5), maximumInterval: Seconds(whole: 10))
    func submit(_ request: GenerationRequest, apiKey: String) async throws(ProviderError) -> String { "t-\(request.videoURL.hashValue)" }
    func status(taskID: String, apiKey: String) async throws(ProviderError) -> TaskState {
        .succeeded(resultURL: "https://results.invalid/\(taskID).mp4", billed: nil)
    }
}

/// CPU seconds this process has used (user + system).
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// Peak resident memory of this process in bytes.
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024
}

/// A router that sends every job to APIXO, and `n` jobs for it (decided as each starts).
func benchmarkOrders(_ n: Int, catalog: PriceCatalog) throws -> (orders: [JobOrder], router: Router) {
    let catalog = try PriceCatalog.builtIn()
    let router = try Router(policy: Policy.load(SourceFile(name: "bench.json", text: """
        {"kind": "policy", "version": 1, "name": "bench", "objective": "cheapest",
         "constraints": {"providers": {"allow": ["apixo"]}}, "failover": {"alternates": 0, "on": []}}
        """), catalog: catalog), catalog: catalog)
    let orders = (0..<n).map { i in
        JobOrder(id: "job-\(i)", job: Job(duration: Seconds(whole: Int64(5 + i % 20)), resolution: .p480),
                 imageURL: "https://m.example/face.png", videoURL: "https://m.example/\(i).mp4?duration=\(5 + i % 20)")
    }
    return (orders, router)
}

/// Options that let every job run at once and never hit the deadline (time is virtual).
func benchmarkOptions() -> ExecutorOptions {
    var options = ExecutorOptions()
    options.defaultConcurrency = 1_000
    options.deadline = Seconds(whole: 1_000_000_000)
    return options
}

/// Executor overhead per job with provider time excluded.
func runExecutorBenchmarks() throws {
    let catalog = try PriceCatalog.builtIn()
    let apixo = ProviderID("apixo")!
    let options = benchmarkOptions()
    // CPU per job, provider time excluded: an instant in-process adapter, virtual time.
    let instant = Executor(catalog: catalog, adapters: [apixo: InstantAdapter(provider: apixo)], apiKeys: [apixo: "k"],
                           time: VirtualTimeSource(), options: options, seed: 1)
    let n = 20_000
    let batch = try benchmarkOrders(n, catalog: catalog)
    _ = RunBlocking.run { await instant.run(Array(batch.orders.prefix(1_000)), decider: batch.router, concurrency: 100) }  // warm up
    let cpu0 = cpuSeconds()
    let reports = RunBlocking.run { await instant.run(batch.orders, decider: batch.router, concurrency: 100) }
    let cpu = cpuSeconds() - cpu0
    precondition(reports.allSatisfy { $0.status == .succeeded })
    report("executor.overhead", String(format: "%.1f µs CPU per job", cpu / Double(n) * 1e6),
           "\(n) jobs, decided as each starts, submit + 1 poll each, instant adapter, virtual time, 100 at once")

}

/// Resident memory with 1,000 jobs in flight against the simulator over loopback HTTP. The
/// simulator runs as a separate `wanroute simulate` process, as real providers are elsewhere, so
/// the figure is wanroute's own; run this group alone (`wanroute-bench inflight`), since peak
/// memory is the whole process's.
func runInFlightBenchmark() throws {
    let catalog = try PriceCatalog.builtIn()
    let apixo = ProviderID("apixo")!
    let options = benchmarkOptions()
    let simulator = Process()
    simulator.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("wanroute")
    simulator.arguments = ["simulate", "--key", "bench"]
    let pipe = Pipe()
    simulator.standardOutput = pipe
    simulator.standardError = FileHandle.nullDevice
    try simulator.run()
    defer { simulator.terminate() }
    // The first line names the base URL: "# wanroute provider simulator on http://127.0.0.1:PORT; key: bench".
    var firstLine = Data()
    while !firstLine.contains(UInt8(ascii: "\n")) {
        let chunk = pipe.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        firstLine += chunk
    }
    guard let text = String(data: firstLine, encoding: .utf8), let range = text.range(of: "http://[^;]+", options: .regularExpression),
          let base = URL(string: String(text[range])) else {
        throw NSError(domain: "bench", code: 4, userInfo: [NSLocalizedDescriptionKey: "wanroute simulate did not print its URL; build it first"])
    }
    let adapter = makeAdapter(for: apixo, baseURL: base, transport: URLSessionTransport(), now: { Date() })!
    let executor = Executor(catalog: catalog, adapters: [apixo: adapter], apiKeys: [apixo: "bench"],
                            time: VirtualTimeSource(), options: options, seed: 2)
    let thousand = try benchmarkOrders(1_000, catalog: catalog)
    let before = residentBytes()
    let start = monotonicNanos()
    let inFlight = RunBlocking.run { await executor.run(thousand.orders, decider: thousand.router, concurrency: 1_000) }
    let seconds = Double(monotonicNanos() - start) / 1e9
    let succeeded = inFlight.filter { $0.status == .succeeded }.count
    report("executor.inflight", "\(peakResidentBytes() / 1_048_576) MiB peak resident",
           "1000 jobs at once against `wanroute simulate` in another process, \(succeeded) succeeded in \(String(format: "%.1f", seconds)) s; \(before / 1_048_576) MiB before")
}

/// Waits on this thread for async work running on the concurrency pool.
enum RunBlocking {
    final class Box<T>: @unchecked Sendable { var value: T? }
    static func run<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Task { box.value = await work(); done.signal() }
        done.wait()
        return box.value!
    }
}
