// Benchmarks behind BENCHMARKS.md. Build and run in release mode:
//   swift build -c release && .build/release/wanroute-bench [group...]
// Groups: quote, startup, probe, routing, executor, inflight, postgres, report, ledger-codec,
// ledger-append, ledger-month (default: all but ledger-month, which writes a 1.3 GB month; run
// inflight alone for its memory figure, since peak memory is the whole process's).
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
    ("ledger-codec", runLedgerCodecBenchmarks),
    ("ledger-append", runLedgerAppendBenchmarks),
    ("ledger-month", runLedgerMonthBenchmark),
]
if CommandLine.arguments.dropFirst().first == "ledger-append-child" {
    try runLedgerAppendChild(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
}
let wanted = Set(CommandLine.arguments.dropFirst())
for (name, run) in groups where wanted.isEmpty ? name != "ledger-month" : wanted.contains(name) {
    do {
        try run()
    } catch {
        print("\(name): failed: \(error)")
        exit(1)
    }
}
