import Foundation
import WanRoute

/// Quoting one job across every offer in the built-in catalog, inside the library.
func runQuoteBenchmarks() throws {
    let catalog = try PriceCatalog.builtIn()
    let job = Job(duration: Seconds(whole: 12))
    let ns = medianNanosPerCall(batch: 20_000) { blackHole(catalog.quote(job)) }
    let offers = catalog.quote(job).estimates.count
    report("quote.library", String(format: "%.2f µs per job", ns / 1000), "\(offers) offers priced and sorted, median of 51 x 20000")
    let long = Job(behavior: .replace, duration: Seconds(whole: 45))
    let nsLong = medianNanosPerCall(batch: 20_000) { blackHole(catalog.quote(long)) }
    report("quote.library.ineligible", String(format: "%.2f µs per job", nsLong / 1000), "45 s replace: DashScope and Modellix ineligible, with reasons")
}

/// `wanroute quote --duration 12 --format json`, process start to exit, run as a child process.
///
/// Spawned with posix_spawn and reaped with waitpid: Foundation's Process.waitUntilExit polls its
/// run loop on Linux and would add tens of milliseconds that are not wanroute's.
func runStartupBenchmark() throws {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("wanroute").path
    guard FileManager.default.isExecutableFile(atPath: binary) else {
        throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "build wanroute first: swift build -c release"])
    }
    let arguments = [binary, "quote", "--duration", "12", "--format", "json"]
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var samples: [Double] = []
    for i in 0..<60 {
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        let start = monotonicNanos()
        guard posix_spawn(&pid, binary, &actions, nil, &argv, environ) == 0 else { throw NSError(domain: "bench", code: 2) }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let elapsed = Double(monotonicNanos() - start) / 1e6
        guard status == 0 else { throw NSError(domain: "bench", code: 3, userInfo: [NSLocalizedDescriptionKey: "wanroute exited with status \(status)"]) }
        if i >= 10 { samples.append(elapsed) }  // the first runs warm the page cache
    }
    samples.sort()
    report("quote.process", String(format: "%.1f ms median", samples[samples.count / 2]),
           String(format: "min %.1f ms, max %.1f ms, 50 runs after 10 warm-up", samples.first!, samples.last!))
}
