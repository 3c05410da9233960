import Foundation

/// Where the executor reads the time and waits, injected so tests drive time instead of sleeping.
///
/// (Named `TimeSource` rather than `Clock` so it does not shadow the standard library's `Clock`.)
public protocol TimeSource: Sendable {
    /// Monotonic time since an arbitrary start.
    func now() -> Seconds
    /// The calendar time, for ledger and report timestamps.
    func date() -> Date
    /// Waits `duration`; throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Seconds) async throws
}

/// Real time. `speed` compresses waits (the sandbox runs the simulator's provider time 100×
/// faster); `now()` advances at the same compressed rate so deadlines stay consistent.
public struct SystemTimeSource: TimeSource {
    /// How many times faster than real time waits and ``now()`` run (1 for real time).
    public let speed: Int64
    private let start = ContinuousClock.now

    /// Real time, optionally compressed `speed` times.
    public init(speed: Int64 = 1) {
        precondition(speed >= 1, "speed must be at least 1")
        self.speed = speed
    }

    /// Real monotonic time since creation, compressed by ``speed``.
    public func now() -> Seconds {
        let elapsed = ContinuousClock.now - start
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        return Seconds(micros: micros * speed)
    }

    /// The real calendar time (not compressed).
    public func date() -> Date { Date() }

    /// Sleeps `duration` divided by ``speed``; throws `CancellationError` when the task is cancelled.
    public func sleep(for duration: Seconds) async throws {
        guard duration.micros > 0 else { return }
        // Saturating: no wait anyone asks for may trap (a year is as good as forever here).
        let (nanos, overflow) = UInt64(duration.micros).multipliedReportingOverflow(by: 1_000)
        try await Task.sleep(nanoseconds: (overflow ? UInt64.max : nanos) / UInt64(max(1, speed)))
    }
}
