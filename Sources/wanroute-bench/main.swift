// Benchmarks behind BENCHMARKS.md. Build and run in release mode:
//   swift build -c release && .build/release/wanroute-bench [group...]
// Groups: quote, startup, probe, routing, executor, inflight, postgres, report (default: all; run inflight alone
// for its memory figure, since peak memory is the whole process's).
import Foundation

let groups: [(String, () throws -> Void)] = [
    ("quote", runQuoteBenchmarks),
    ("startup", runStartupBenchmark),
    ("probe", runProbeBenchmarks),
    ("routing", runRoutingBenchmarks),
    ("executor", runExecutorBenchmarks),
    ("inflight", runInFlightBenchmark),
    ("postgres", runPostgresBenchmarks),
    ("report", runReportBenchmarks),
]
let wanted = Set(CommandLine.arguments.dropFirst())
for (name, run) in groups where wanted.isEmpty || wanted.contains(name) {
    do {
        try run()
    } catch {
        print("\(name): failed: \(error)")
        exit(1)
    }
}
