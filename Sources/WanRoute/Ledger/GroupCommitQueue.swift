import Foundation

/// The callers waiting for a store's next group commit (the file store's one write and one
/// fdatasync, the PostgreSQL store's one transaction): callers add their work, and one drain at a
/// time takes it in batches until none waits, so callers that arrive during a commit form the next.
public final class GroupCommitQueue<Work>: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [Work] = []
    private var draining = false

    /// An empty queue.
    public init() {}

    /// Queues `work`; true when no drain is running, so the caller must start one.
    public func add(_ work: Work) -> Bool {
        lock.withLock {
            pending.append(work)
            if draining { return false }
            draining = true
            return true
        }
    }

    /// The next batch for the running drain: the waiting work in arrival order, at least one
    /// caller's and at most `limit` by `weight` after the first. Empty when none waits, which ends
    /// the drain (the next ``add(_:)`` starts another).
    public func take(limit: Int = .max, weight: (Work) -> Int = { _ in 1 }) -> [Work] {
        lock.withLock {
            var total = 0
            var taken = 0
            while taken < pending.count {
                let size = weight(pending[taken])
                if taken > 0 && total > limit - size { break }
                total += size
                taken += 1
            }
            let batch = Array(pending.prefix(taken))
            pending.removeFirst(taken)
            if batch.isEmpty { draining = false }
            return batch
        }
    }
}
