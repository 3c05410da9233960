import Foundation

/// Runs routed jobs through provider adapters: decides each job when it starts, submits, polls on
/// each provider's schedule, retries what may be retried, fails over only where the policy says,
/// and never pays twice.
///
/// One executor serves many concurrent jobs: provider cool-downs and in-flight limits are shared.
/// All waiting goes through the injected ``TimeSource``; all network traffic through the adapters;
/// every step goes to the ``ExecutionObserver``s, awaited, before the executor goes on.
///
/// Entry points: ``run(_:decider:concurrency:)`` for a batch, ``run(_:decider:)`` for one job
/// (decide, then execute), ``run(_:decision:)`` to execute a decision made elsewhere, and
/// ``poll(_:firstWait:)`` to continue a task that was already accepted, without submitting.
public final class Executor: Sendable {
    let catalog: PriceCatalog
    let adapters: [ProviderID: any ProviderAdapter]
    let apiKeys: [ProviderID: String]
    let time: any TimeSource
    let options: ExecutorOptions
    let health: ProviderHealth
    let limiter: InFlightLimiter
    let jitter: Jitter
    let observers: [any ExecutionObserver]
    private let stop = StopFlag()

    /// Creates an executor. `apiKeys` come from the caller's environment (see
    /// ``ProviderCredentials``); `seed` seeds the jitter of back-offs and poll intervals (the caller
    /// picks it: the library reads no clock of its own); `observers` hear every step in order.
    public init(catalog: PriceCatalog, adapters: [ProviderID: any ProviderAdapter], apiKeys: [ProviderID: String],
                time: any TimeSource, options: ExecutorOptions = ExecutorOptions(), seed: UInt64,
                observers: [any ExecutionObserver] = []) {
        self.catalog = catalog
        self.adapters = adapters
        self.apiKeys = apiKeys
        self.time = time
        self.options = options
        self.health = ProviderHealth(threshold: options.cooldownAfter, cooldown: options.cooldown)
        self.limiter = InFlightLimiter(limits: options.concurrency, defaultLimit: options.defaultConcurrency)
        self.jitter = Jitter(seed: seed)
        self.observers = observers
    }

    // MARK: stopping

    /// Stops new submissions from now on (Ctrl-C, a ledger that cannot write). Jobs not yet
    /// started end `stopped`; a job about to submit ends without sending; tasks already accepted
    /// are still polled. The first reason is kept.
    public func stopSubmitting(_ reason: String) { stop.set(reason) }

    /// Why submissions were stopped, or nil while they go on.
    public var stopReason: String? { stop.reason }

    // MARK: running jobs

    /// Runs many jobs with at most `concurrency` in flight, deciding each when it starts (so
    /// budgets read the spend of the jobs before it), and reporting each as it ends.
    public func run(_ orders: [JobOrder], decider: any JobDecider, concurrency: Int) async -> [JobReport] {
        await withTaskGroup(of: (Int, JobReport).self) { group in
            var reports = [JobReport?](repeating: nil, count: orders.count)
            var next = 0
            for _ in 0..<min(max(1, concurrency), orders.count) {
                let i = next
                group.addTask { (i, await self.run(orders[i], decider: decider)) }
                next += 1
            }
            while let (i, report) = await group.next() {
                reports[i] = report
                if next < orders.count {
                    let j = next
                    group.addTask { (j, await self.run(orders[j], decider: decider)) }
                    next += 1
                }
            }
            return reports.map { $0! }
        }
    }

    /// Decides one job now, then executes the decision.
    public func run(_ order: JobOrder, decider: any JobDecider) async -> JobReport {
        if let reason = stopReason { return await finish(notStarted(order, reason), attempts: []) }
        let decision: Decision
        do {
            decision = try await decider.decision(for: order)
        } catch {
            stopSubmitting("deciding job \(order.id) failed: \(error)")
            return await finish(notStarted(order, stopReason ?? ""), attempts: [])
        }
        return await run(order, decision: decision)
    }

    /// Executes one decision: its choice, then its alternates where the policy allows.
    public func run(_ order: JobOrder, decision: Decision) async -> JobReport {
        guard await record(.decided(order, decision)) else { return await finish(notStarted(order, stopReason ?? ""), attempts: []) }
        guard let choice = decision.choice else {
            let report = JobReport(id: order.id, status: .refused, message: "the policy refused the job: \(decision.refusal ?? "no offer qualifies")")
            return await finish(report, attempts: [])
        }
        let plan = decision.failover
        var attempts: [Attempt] = []
        var last: (RankedOffer, Attempt)?
        var started: Seconds?  // the job's first submission: the deadline counts from here
        // Accounts that failed in a way that belongs to the account (out of balance, auth, rate
        // limits): their other offers would fail the same way, so they are passed over, and the
        // next qualifying offer on another account takes their place as an alternate.
        var failedAccounts: [ProviderID: FailureClass] = [:]
        var alternatesLeft = plan.alternates
        var position = 0
        while position < decision.qualifyingCount {
            let candidate = position == 0 ? choice : decision.ranked(position)
            position += 1
            let offer = candidate.offer
            if let reason = stopReason {
                return await finish(stopped(order, last?.0, reason), attempts: attempts)
            }
            if let failure = failedAccounts[offer.provider] {
                if position - 1 <= plan.alternates {  // one of the decision's alternates: say why it was not tried
                    let skipped = Attempt(provider: offer.provider, mode: offer.mode, resolution: offer.resolution, outcome: .skippedSameAccount,
                                          detail: "\(offer.provider)'s account already failed with \(failure.rawValue), so its other offers were passed over")
                    attempts.append(skipped)
                    _ = await record(.attemptEnded(jobID: order.id, attempt: skipped))
                }
                continue
            }
            if position > 1 {
                guard alternatesLeft > 0 else { break }
                alternatesLeft -= 1
            }
            if let (outcome, detail) = await skipReason(order, candidate) {
                let skipped = Attempt(provider: offer.provider, mode: offer.mode, resolution: offer.resolution, outcome: outcome, detail: detail)
                attempts.append(skipped)
                _ = await record(.attemptEnded(jobID: order.id, attempt: skipped))
                continue
            }
            if let previous = last {
                _ = await record(.failingOver(jobID: order.id, from: previous.0.offer.provider, to: offer.provider, reason: previous.1.detail))
            }
            var attempt = Attempt(provider: offer.provider, mode: offer.mode, resolution: offer.resolution, outcome: .submitFailed)
            let result = await limiter.withSlot(offer.provider) {
                await self.attempt(order, candidate, started: &started, into: &attempt)
            }
            attempt = priced(attempt, offer)
            attempts.append(attempt)
            _ = await record(.attemptEnded(jobID: order.id, attempt: attempt))
            last = (candidate, attempt)
            switch result {
            case .done(let report):
                return await finish(report, attempts: attempts)
            case .failed(let failure):
                // Move on only on the classes the policy names; anything else ends the job here.
                guard plan.failsOver(on: failure) else {
                    return await finish(report(order, candidate, .failed, attempt, "\(attempt.detail); the policy does not fail over on \(failure.rawValue)"), attempts: attempts)
                }
                if failure.belongsToAccount { failedAccounts[offer.provider] = failure }
            }
        }
        guard let (candidate, attempt) = last else {
            let reasons = attempts.map { "\($0.provider): \($0.detail)" }.joined(separator: "; ")
            // Every offer passed the router's budget check and was then refused at reservation
            // (another process reserved in between): a refusal by budget, not a failure.
            if !attempts.isEmpty, attempts.allSatisfy({ $0.outcome == .skippedNotAdmitted }) {
                let refused = JobReport(id: order.id, status: .refused, provider: choice.offer.provider, mode: choice.offer.mode,
                                        resolution: choice.offer.resolution, estimatedCost: choice.estimate.cost,
                                        message: "the budget refused the job at reservation: \(reasons)")
                return await finish(refused, attempts: attempts)
            }
            return await finish(JobReport(id: order.id, status: .failed, message: "no offer could be tried: \(reasons)"), attempts: attempts)
        }
        return await finish(report(order, candidate, .failed, attempt, "every allowed offer failed; last: \(attempt.detail)"), attempts: attempts)
    }

    /// Continues a task a provider already accepted, polling it to its end without submitting
    /// anything: how `resume` finishes a job a crash left in flight. The deadline counts from now;
    /// `firstWait` is the wait before the first poll (none by default: the task is not new).
    public func poll(_ task: AcceptedTask, firstWait: Seconds = Seconds(micros: 0)) async -> JobReport {
        let order = task.order
        var attempt = Attempt(provider: task.provider, mode: task.mode, resolution: task.resolution, taskID: task.taskID, outcome: .pollFailed)
        let found = catalog.offers.firstIndex {
            $0.provider == task.provider && $0.behavior == order.job.behavior && $0.mode == task.mode && $0.resolution == task.resolution
        }
        guard let index = found, let adapter = adapters[task.provider], let key = apiKeys[task.provider], !key.isEmpty else {
            attempt.detail = found == nil
                ? "no \(task.provider) \(order.job.behavior.rawValue) \(task.mode.rawValue) \(task.resolution.rawValue) offer in the price catalog to price task \(task.taskID) by; it was not polled"
                : adapters[task.provider] == nil
                ? "wanroute has no adapter for \(task.provider), so task \(task.taskID) was not polled"
                : "no API key for \(task.provider) (set \(ProviderCredentials.variable(for: task.provider))), so task \(task.taskID) was not polled"
            let report = JobReport(id: order.id, status: .needsAttention, provider: task.provider, mode: task.mode, resolution: task.resolution,
                                   taskID: task.taskID, message: attempt.detail)
            return await finish(report, attempts: [attempt])
        }
        let candidate = RankedOffer(offerIndex: index, offer: catalog.offers[index], estimate: catalog.estimate(offerAt: index, for: order.job),
                                    expectedLatencySeconds: 0, score: nil)
        let deadline = time.now().saturatingAdd(options.deadline)
        let result = await limiter.withSlot(task.provider) {
            await self.follow(order, candidate, taskID: task.taskID, adapter: adapter, key: key, deadline: deadline,
                              firstWait: firstWait, into: &attempt)
        }
        attempt = priced(attempt, candidate.offer)
        _ = await record(.attemptEnded(jobID: order.id, attempt: attempt))
        switch result {
        case .done(let report): return await finish(report, attempts: [attempt])
        case .failed: return await finish(report(order, candidate, .failed, attempt, attempt.detail), attempts: [attempt])
        }
    }

    // MARK: helpers

    /// Why an offer is not tried: no adapter, no key, cooling down, or not admitted by an observer.
    private func skipReason(_ order: JobOrder, _ candidate: RankedOffer) async -> (AttemptOutcome, String)? {
        let offer = candidate.offer
        guard adapters[offer.provider] != nil else {
            return (.skippedNoAdapter, "wanroute has no adapter for \(offer.provider), so it was not tried")
        }
        guard let key = apiKeys[offer.provider], !key.isEmpty else {
            return (.skippedNoKey, "no API key for \(offer.provider) (set \(ProviderCredentials.variable(for: offer.provider))), so it was not tried")
        }
        if let until = await health.coolingDown(offer.provider, now: time.now()) {
            return (.skippedCoolingDown, "\(offer.provider) is cooling down after repeated failures until t=\(until.decimalString) s, so it was not tried")
        }
        for observer in observers {
            do {
                if case .refused(let why) = try await observer.admit(order, offer: candidate) {
                    return (.skippedNotAdmitted, why)
                }
            } catch {
                // The submission loop sees the stop and sends nothing.
                stopSubmitting("admitting job \(order.id) failed: \(error)")
                return nil
            }
        }
        return nil
    }

    /// Hands `event` to every observer in order; false (and submissions stopped) when one fails.
    func record(_ event: ExecutionEvent) async -> Bool {
        for observer in observers {
            do {
                try await observer.record(event)
            } catch {
                stopSubmitting("recording failed: \(error)")
                return false
            }
        }
        return true
    }

    /// The report for a job that ends on `candidate`, before its attempts are attached.
    func report(_ order: JobOrder, _ candidate: RankedOffer, _ status: JobReport.Status, _ attempt: Attempt, _ message: String) -> JobReport {
        JobReport(id: order.id, status: status, provider: candidate.offer.provider, mode: candidate.offer.mode,
                  resolution: candidate.offer.resolution, taskID: attempt.taskID, estimatedCost: candidate.estimate.cost,
                  message: message)
    }

    /// Attaches the attempts, totals the job's cost in its currency and in USD, says which
    /// accounts it failed over from and whether the cost is far from the estimate, and records the end.
    private func finish(_ report: JobReport, attempts: [Attempt]) async -> JobReport {
        var r = report
        r.attempts = attempts
        (r.actualCost, r.actualCostSource) = total(r.attempts.filter(\.wasTried))
        r.estimatedUSD = r.estimatedCost.flatMap(catalog.exchangeRates.usd)
        r.actualUSD = r.actualCost.flatMap(catalog.exchangeRates.usd)
        r.costAlert = costAlert(r)
        let failedOver = attempts.filter(\.wasTried).dropLast().compactMap { a in a.failure.map { "failed over from \(a.provider): \($0.words)" } }
        for note in failedOver + [r.costAlert].compactMap({ $0 }) { r.message += "; " + note }
        _ = await record(.finished(r))
        return r
    }

    /// A sentence when the actual cost is more than ``ExecutorOptions/costAlertPercent`` away from
    /// the estimate, compared in USD (or in the common currency when a rate is missing).
    func costAlert(_ r: JobReport) -> String? {
        let pair: (Money, Money)? = if let a = r.actualUSD, let e = r.estimatedUSD { (a, e) }
            else if let a = r.actualCost, let e = r.estimatedCost, a.currency == e.currency { (a, e) } else { nil }
        guard let (actual, estimate) = pair, actual.nanos != estimate.nanos else { return nil }
        guard estimate.nanos > 0 else { return "the actual cost \(actual) is not the estimate's \(estimate)" }
        let difference = actual.nanos.subtractingReportingOverflow(estimate.nanos)
        let scaled = difference.partialValue.magnitude.multipliedReportingOverflow(by: 100)
        let direction = actual.nanos > estimate.nanos ? "above" : "below"
        guard !difference.overflow, !scaled.overflow else { return "the actual cost \(actual) is far \(direction) the estimate \(estimate)" }
        // Flagged when |actual - estimate| × 100 > tolerance × estimate, in exact integers.
        let limit = UInt64(max(0, options.costAlertPercent)).multipliedReportingOverflow(by: UInt64(estimate.nanos))
        guard !limit.overflow, scaled.partialValue > limit.partialValue else { return nil }
        let percent = scaled.partialValue / UInt64(estimate.nanos)
        return "the actual cost \(actual) is \(percent)% \(direction) the estimate \(estimate)"
    }

    /// A job that submitted nothing because submissions were stopped.
    private func notStarted(_ order: JobOrder, _ reason: String) -> JobReport {
        JobReport(id: order.id, status: .stopped, message: "not started: \(reason)")
    }

    /// A job stopped between offers; `last` is the offer tried before, if any.
    private func stopped(_ order: JobOrder, _ last: RankedOffer?, _ reason: String) -> JobReport {
        var r = JobReport(id: order.id, status: .stopped, message: "stopped before trying another offer: \(reason)")
        if let last {
            (r.provider, r.mode, r.resolution, r.estimatedCost) = (last.offer.provider, last.offer.mode, last.offer.resolution, last.estimate.cost)
        }
        return r
    }

    func cancelled(_ order: JobOrder, _ candidate: RankedOffer, _ attempt: Attempt) -> JobReport {
        report(order, candidate, attempt.taskID == nil ? .failed : .needsAttention, attempt,
               "cancelled" + (attempt.taskID.map { " with task \($0) still at \(candidate.offer.provider)" } ?? ""))
    }
}

/// The first reason submissions were stopped, shared by every job of an executor.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: String?

    var reason: String? { lock.withLock { stored } }

    func set(_ reason: String) { lock.withLock { if stored == nil { stored = reason } } }
}

extension FailureClass {
    /// Whether the failure belongs to the provider account rather than to the job or the offer:
    /// every offer of that account would fail the same way, so failover moves to another account.
    public var belongsToAccount: Bool { self == .outOfBalance || self == .auth || self == .rateLimited }

    /// The class in words for sentences: `out of balance`, `rate limited`.
    public var words: String { rawValue.replacingOccurrences(of: "-", with: " ") }
}

extension Attempt {
    /// Whether a submission went out or a task exists: only such attempts can have cost anything.
    var wasTried: Bool { submissions > 0 || taskID != nil }
}

extension Seconds {
    /// `self + other`, held at the largest time instead of overflowing (a deadline "never").
    func saturatingAdd(_ other: Seconds) -> Seconds {
        let (sum, overflow) = micros.addingReportingOverflow(other.micros)
        return Seconds(micros: overflow ? (other.micros > 0 ? .max : .min) : sum)
    }
}
