import Foundation

/// Seeded jitter for poll intervals and back-offs, shared by concurrent jobs.
final class Jitter: @unchecked Sendable {
    private let lock = NSLock()
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    private func next() -> UInt64 { lock.withLock { generator.next() } }

    /// A time between `low` and `high`, inclusive, to the microsecond.
    func between(_ low: Seconds, _ high: Seconds) -> Seconds {
        guard high > low else { return low }
        return Seconds(micros: low.micros + Int64(next() % UInt64(high.micros - low.micros + 1)))
    }

    /// 0 up to `limit` microseconds.
    func upTo(_ limit: Int64) -> Int64 { limit <= 0 ? 0 : Int64(next() % UInt64(limit + 1)) }
}

