// Benchmarks behind BENCHMARKS.md. Build and run in release mode:
//   swift build -c release && .build/release/wanroute-bench [group...]
// Groups: quote, startup, probe, routing, executor, inflight, postgres, report, ledger-codec,
// ledger-append, ledger-month, report-ledger (default: all but ledger-month and report-ledger,
// which write a 1.3 GB month; run
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
    ("report-ledger", runReportLedgerBenchmark),
]
if CommandLine.arguments.dropFirst().first == "ledger-append-child" {
    try runLedgerAppendChild(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
}
let wanted = Set(CommandLine.arguments.dropFirst())
for (name, run) in groups where wanted.isEmpty ? !["ledger-month", "report-ledger"].contains(name) : wanted.contains(name) {
    do {
        try run()
    } catch {
        print("\(name): failed: \(error)")
        exit(1)
    }
}
