/// At most N tasks in flight per provider; waiters are served in arrival order.
actor InFlightLimiter {
    let limits: [ProviderID: Int]
    let defaultLimit: Int
    private var inFlight: [ProviderID: Int] = [:]
    private var waiters: [ProviderID: [CheckedContinuation<Void, Never>]] = [:]

    init(limits: [ProviderID: Int], defaultLimit: Int) {
        self.limits = limits
        self.defaultLimit = defaultLimit
    }

    /// Runs `body` holding one of `provider`'s slots, and gives the slot back when it returns,
    /// before the caller goes on (so the next waiter never depends on an unstructured task).
    nonisolated func withSlot<T>(_ provider: ProviderID, _ body: () async -> T) async -> T {
        await acquire(provider)
        let result = await body()
        await release(provider)
        return result
    }

    private func acquire(_ provider: ProviderID) async {
        if inFlight[provider, default: 0] < limit(provider) {
            inFlight[provider, default: 0] += 1
            return
        }
        await withCheckedContinuation { waiters[provider, default: []].append($0) }
    }

    private func release(_ provider: ProviderID) {
        if var queue = waiters[provider], !queue.isEmpty {
            // Hand the slot straight to the next waiter: the in-flight count stays the same.
            queue.removeFirst().resume()
            waiters[provider] = queue
        } else {
            inFlight[provider, default: 1] -= 1
        }
    }

    /// The in-flight limit for `provider`.
    nonisolated func limit(_ provider: ProviderID) -> Int { max(1, limits[provider] ?? defaultLimit) }

    /// Tasks in flight now (for tests).
    func count(_ provider: ProviderID) -> Int { inFlight[provider, default: 0] }
}
