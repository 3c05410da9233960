import Foundation
import WanRoute

/// Routing benchmarks: median nanoseconds per `decide` with the production policy on the shipped
/// catalog, decisions per second on one thread, and resident memory before and after 10,000,000
/// decisions. Run with `swift run -c release wanroute-bench` (results in BENCHMARKS.md).
/// Uses `residentBytes()` from Harness.swift.
func runRoutingBenchmarks() throws {
    let catalog = try PriceCatalog.builtIn()
    let router = try Router(policy: Policy.builtIn(named: "production", catalog: catalog), catalog: catalog)
    // A fixed mix of jobs that exercises every rule of the production policy.
    let jobs: [Job] = [
        Job(behavior: .animate, duration: Seconds(whole: 10)),
        Job(behavior: .replace, duration: Seconds(micros: 12_500_000), tags: ["customer": "film"]),
        Job(behavior: .animate, duration: Seconds(whole: 3), tags: ["purpose": "preview"]),
        Job(behavior: .replace, duration: Seconds(whole: 45)),
        Job(behavior: .animate, duration: Seconds(whole: 20), resolution: .p720, tags: ["customer": "acme", "project": "p1"]),
        Job(behavior: .replace, duration: Seconds(micros: 7_250_000), mode: .wanStd),
        Job(behavior: .animate, duration: Seconds(whole: 150), tags: ["customer": "film"]),
        Job(behavior: .replace, duration: Seconds(whole: 29), resolution: .p480),
    ]
    let spend = SpendSnapshot(spent: [.total: Money(decimal: "1200.50", currency: .usd)!, .tag("customer", "film"): Money(decimal: "310", currency: .usd)!])
    var sink = 0

    // 1. Median latency: batches of 1,000 decisions timed as one, 2,000 batches.
    for j in jobs { sink &+= router.decide(j, spend: spend).choiceOfferIndex ?? 0 }
    var perDecision: [Double] = []
    perDecision.reserveCapacity(2_000)
    for b in 0..<2_000 {
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<1_000 { sink &+= router.decide(jobs[(b &+ i) & 7], spend: spend).choiceOfferIndex ?? 0 }
        perDecision.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000)
    }
    perDecision.sort()
    let median = perDecision[perDecision.count / 2]
    let p99 = perDecision[perDecision.count * 99 / 100]

    // 2. Throughput and memory over 10,000,000 decisions on this thread.
    let before = residentBytes()
    let n = 10_000_000
    let start = DispatchTime.now().uptimeNanoseconds
    for i in 0..<n { sink &+= router.decide(jobs[i & 7], spend: spend).choiceOfferIndex ?? 0 }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let after = residentBytes()

    print("routing: production policy, \(catalog.offers.count) offers, \(jobs.count) job shapes")
    print("  decide median \(String(format: "%.0f", median)) ns (p99 of 1,000-decision batches \(String(format: "%.0f", p99)) ns)")
    print("  \(String(format: "%.0f", Double(n) / seconds)) decisions/s on one thread (\(n) in \(String(format: "%.2f", seconds)) s)")
    print("  resident memory \(before / 1_048_576) MiB before, \(after / 1_048_576) MiB after 10,000,000 decisions")
    if sink == 42 { print("") }  // keeps the work observable
}
