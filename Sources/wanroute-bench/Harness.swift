import Foundation

/// Monotonic nanoseconds, for timing loops.
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Resident set size of this process in bytes, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// Times `body` in `rounds` rounds of `batch` calls and returns the median nanoseconds per call.
/// Batching keeps the clock's own cost out of sub-microsecond figures.
func medianNanosPerCall(rounds: Int = 51, batch: Int, _ body: () -> Void) -> Double {
    for _ in 0..<batch { body() }  // warm up caches and lazy statics
    var samples: [Double] = []
    for _ in 0..<rounds {
        let start = monotonicNanos()
        for _ in 0..<batch { body() }
        samples.append(Double(monotonicNanos() - start) / Double(batch))
    }
    samples.sort()
    return samples[samples.count / 2]
}

/// Prints one result line: `name: value unit (detail)`.
func report(_ name: String, _ value: String, _ detail: String = "") {
    print("\(name): \(value)\(detail.isEmpty ? "" : "  (\(detail))")")
}

/// Keeps a value alive so the optimiser cannot drop the work that made it.
@inline(never)
func blackHole<T>(_ value: T) { _ = value }
