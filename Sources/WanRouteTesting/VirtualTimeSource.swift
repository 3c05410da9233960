import Foundation
import WanRoute

/// Virtual time for tests: `sleep` returns at once and moves the clock forward by the time slept,
/// so a schedule of hours runs in milliseconds and every wait is recorded.
public final class VirtualTimeSource: TimeSource, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Seconds
    private var waits: [Seconds] = []
    private let epoch: Date

    /// Virtual time starting at `start`, with calendar dates counted from `epoch`.
    public init(start: Seconds = Seconds(micros: 0), epoch: Date = Date(timeIntervalSince1970: 1_795_000_000)) {
        self.current = start
        self.epoch = epoch
    }

    /// The virtual time: the start plus every wait and advance so far.
    public func now() -> Seconds { lock.withLock { current } }

    /// The epoch plus the virtual time.
    public func date() -> Date { epoch.addingTimeInterval(Double(now().micros) / 1_000_000) }

    /// Records the wait and moves the clock forward at once; throws `CancellationError` when cancelled.
    public func sleep(for duration: Seconds) async throws {
        try Task.checkCancellation()
        lock.withLock {
            waits.append(duration)
            current = Seconds(micros: current.micros + max(0, duration.micros))
        }
        await Task.yield()
    }

    /// Every wait so far, in order.
    public var sleeps: [Seconds] { lock.withLock { waits } }

    /// Moves time forward without a wait (for tests of cooldowns and deadlines).
    public func advance(by duration: Seconds) {
        lock.withLock { current = Seconds(micros: current.micros + duration.micros) }
    }
}
