/// Consecutive failures per provider, and the cool-downs they trigger.
actor ProviderHealth {
    let threshold: Int
    let cooldown: Seconds
    private var failures: [ProviderID: Int] = [:]
    private var coolUntil: [ProviderID: Seconds] = [:]

    init(threshold: Int, cooldown: Seconds) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    func recordFailure(_ provider: ProviderID, now: Seconds) {
        failures[provider, default: 0] += 1
        if failures[provider]! >= threshold {
            coolUntil[provider] = Seconds(micros: now.micros + cooldown.micros)
            failures[provider] = 0
        }
    }

    func recordSuccess(_ provider: ProviderID) { failures[provider] = 0 }

    /// When the provider's cool-down ends, if it is cooling down now.
    func coolingDown(_ provider: ProviderID, now: Seconds) -> Seconds? {
        guard let until = coolUntil[provider], now < until else { return nil }
        return until
    }
}

