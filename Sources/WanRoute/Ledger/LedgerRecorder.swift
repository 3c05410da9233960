import Foundation

/// The executor's ledger: decides each job against month-to-date spend, reserves budget before an
/// offer's first submission, and records every step in a ``LedgerStore`` before the executor goes on.
///
/// Install it as both the decider and an observer:
/// `executor.run(orders, decider: recorder, concurrency: n)` with `observers: [recorder, …]`.
/// Every append is awaited, so `submit-intent` is durable before the request leaves and `accepted`
/// before polling goes on; a failed append throws, which stops the run (the executor's contract).
public final class LedgerRecorder: ExecutionObserver, JobDecider, @unchecked Sendable {
    let store: any LedgerStore
    let router: Router
    let catalog: PriceCatalog
    let runID: String
    let time: any TimeSource
    let zone: TimeZone
    let policyDigest: String?
    let pricingDigest: String?
    private let lock = NSLock()
    private var jobs: [String: JobMemo] = [:]

    struct JobMemo {
        var reserved = false
        var pendingFailure: Attempt?
        /// The job's `decided` record, to close a job the budget refuses at reservation.
        var decision: LedgerDecision?
        /// The job's `decided` event, not yet written: held until its first reservation, so that
        /// the decision and the reservation are one line (about 200 bytes a job less). Any other
        /// step of the job writes it first. Nothing leaves for the provider before a reservation,
        /// so a crash while it is held loses nothing: the job has no events, and runs again.
        var heldDecision: LedgerEvent?
        /// The task's state as the ledger last says it: `accepted` says the provider holds it and it
        /// has not started, which is `queued`. Only a change is written, so the first report of
        /// `queued` after acceptance writes no line (a million jobs a month, 100 bytes each).
        var progress: TaskProgress?
    }

    /// A recorder writing to `store` for the run `runID`. Budgets are those of the router's policy,
    /// monthly in `zone`; the digests name the policy and pricing tables in force (computed by the caller).
    public init(store: any LedgerStore, router: Router, catalog: PriceCatalog, runID: String, time: any TimeSource,
                zone: TimeZone = TimeZone(identifier: "UTC")!, policyDigest: String? = nil, pricingDigest: String? = nil) {
        self.store = store
        self.router = router
        self.catalog = catalog
        self.runID = runID
        self.time = time
        self.zone = zone
        self.policyDigest = policyDigest
        self.pricingDigest = pricingDigest
    }

    private var now: LedgerTime { LedgerTime(time.date()) }

    private func memo<T>(_ job: String, _ body: (inout JobMemo) -> T) -> T {
        lock.withLock { body(&jobs[job, default: JobMemo()]) }
    }

    /// Tells the recorder about a job it continues (`resume`): whether it holds a reservation from
    /// an earlier run, so its end settles it, and its task's state as the ledger last says it
    /// (``JobState/taskProgress``), so only a change is written; nil writes the first report.
    public func adopt(jobID: String, reserved: Bool, progress: TaskProgress? = nil) {
        memo(jobID) {
            $0.reserved = reserved
            $0.progress = progress
        }
    }

    // MARK: JobDecider

    /// Decides the job against the month's settled and reserved spend, read now.
    public func decision(for order: JobOrder) async throws -> Decision {
        if router.policy.budgets.isEmpty { return router.decide(order.job) }
        let state = try await store.budgetState(for: BudgetMonth.containing(now, zone: zone))
        return router.decide(order.job, spend: state.snapshot)
    }

    // MARK: ExecutionObserver

    /// Reserves the offer's worst-case cost (its estimate under its billing rule, in USD) against every
    /// budget covering the job, atomically with the check. An offer whose price is unknown cannot be
    /// reserved, so a job under a budget never goes to one.
    public func admit(_ order: JobOrder, offer: RankedOffer) async throws -> Admission {
        let provider = offer.offer.provider
        let limits = BudgetLimit.limits(router.policy.budgets, job: order.job, provider: provider)
        var held = memo(order.id) { m -> LedgerEvent? in defer { m.heldDecision = nil }; return m.heldDecision }
        guard let usd = offer.estimate.usd else {
            if let held { _ = try await store.append([held]) }
            if let first = limits.first {
                return .refused("its price is unknown, so budget \"\(first.budgetID)\" (\(first.key)) cannot be reserved")
            }
            return .admitted
        }
        let at = now
        let amount = LedgerBudgetAmount(amount: usd, budgets: BudgetKey.keys(provider: provider, tags: order.job.tags))
        var event = LedgerEvent(time: at, jobID: order.id, provider: provider, body: .reserved(amount))
        // The decision's own offer: its line carries the reservation (written now, when reserved).
        if var h = held, case .decided(var d) = h.body, h.provider == provider, d.mode == offer.offer.mode, d.resolution == offer.offer.resolution {
            d.reservation = amount
            (h.time, h.body) = (at, .decided(d))
            (event, held) = (h, nil)
        }
        if let held { _ = try await store.append([held]) }
        switch try await store.reserve(ReservationRequest(event: event, limits: limits, month: BudgetMonth.containing(at, zone: zone))) {
        case .reserved:
            memo(order.id) { $0.reserved = true }
            return .admitted
        case .refused(let shortfalls):
            // Refused with its reservation: the decision is still written, alone.
            if case .decided(var d) = event.body {
                d.reservation = nil
                _ = try await store.append([LedgerEvent(time: event.time, jobID: event.jobID, runID: event.runID, provider: event.provider, body: .decided(d))])
            }
            return .refused(shortfalls.map(\.description).joined(separator: "; "))
        }
    }

    /// Records one step durably.
    public func record(_ event: ExecutionEvent) async throws {
        var events = ledgerEvents(for: event)
        if case .decided = event, let first = events.first, case .decided(let d) = first.body, d.mode != nil {
            // Held for the reservation the job's first submission makes (``admit(_:offer:)``).
            memo(first.jobID) { $0.heldDecision = first }
            events.removeFirst()
        } else if let held = memo(event.jobID, { m -> LedgerEvent? in defer { m.heldDecision = nil }; return m.heldDecision }) {
            events.insert(held, at: 0)
        }
        if !events.isEmpty { _ = try await store.append(events) }
        if case .finished(let report) = event { lock.withLock { jobs[report.id] = nil } }
    }

    func ledgerEvents(for event: ExecutionEvent) -> [LedgerEvent] {
        let at = now
        switch event {
        case .decided(let order, let decision):
            let job = order.job
            let choice = decision.choice
            let record = LedgerDecision(
                behavior: job.behavior, duration: job.duration, requiredResolution: job.resolution, requiredMode: job.mode,
                tags: job.tags, policy: decision.policyName, policyDigest: policyDigest, pricingDigest: pricingDigest,
                mode: choice?.offer.mode, resolution: choice?.offer.resolution, estimate: choice?.estimate.cost, estimateUSD: choice?.estimate.usd,
                alternates: decision.alternates.map { LedgerAlternate(provider: $0.offer.provider, mode: $0.offer.mode, resolution: $0.offer.resolution, estimate: $0.estimate.cost) },
                refusal: choice == nil ? (decision.refusal ?? "no offer qualifies") : nil)
            if choice != nil { memo(order.id) { $0.decision = record } }
            return [LedgerEvent(time: at, jobID: order.id, runID: runID, provider: choice?.offer.provider, body: .decided(record))]
        case .submitIntent(let jobID, let offer, let submission):
            return [LedgerEvent(time: at, jobID: jobID, provider: offer.offer.provider,
                                body: .submitIntent(mode: offer.offer.mode, resolution: offer.offer.resolution, attempt: submission))]
        case .accepted(let jobID, let provider, let taskID):
            memo(jobID) { $0.progress = .queued }
            return [LedgerEvent(time: at, jobID: jobID, provider: provider, taskID: taskID, body: .accepted)]
        case .taskState(let jobID, _, _, let state):
            let progress: TaskProgress
            switch state {
            case .queued: progress = .queued
            case .running: progress = .running
            default: return []
            }
            let changed = memo(jobID) { m -> Bool in defer { m.progress = progress }; return m.progress != progress }
            return changed ? [LedgerEvent(time: at, jobID: jobID, body: .state(progress))] : []
        case .retrying:
            return []
        case .attemptEnded(let jobID, let attempt):
            switch attempt.outcome {
            case .outcomeUnknown:
                return [LedgerEvent(time: at, jobID: jobID, provider: attempt.provider, body: .outcomeUnknown(detail: attempt.detail))]
            case .taskFailed, .submitFailed, .pollFailed, .deadline:
                // Whether this failure ends the job is known at the next step (failing over, or finished).
                memo(jobID) { $0.pendingFailure = attempt }
                return []
            default:
                return []
            }
        case .failingOver(let jobID, _, _, _):
            guard let failed = memo(jobID, { m -> Attempt? in defer { m.pendingFailure = nil }; return m.pendingFailure }) else { return [] }
            return [failure(jobID, failed, final: false, settlement: nil, at: at)]
        case .finished(let report):
            return finished(report, at: at)
        }
    }

    private func failure(_ jobID: String, _ a: Attempt, final: Bool, settlement: Money?, at: LedgerTime) -> LedgerEvent {
        LedgerEvent(time: at, jobID: jobID, body: .failed(LedgerFailure(
            failure: a.failure ?? .failed, cost: a.actualCost, costSource: a.actualCostSource, final: final, detail: a.detail, settlement: settlement)))
    }

    private func finished(_ r: JobReport, at: LedgerTime) -> [LedgerEvent] {
        let (reserved, pending, decision) = memo(r.id) { m in (m.reserved, m.pendingFailure, m.decision) }
        // Settle a reservation only to a known amount; an unknown cost keeps it open for `resume`.
        let settlement: Money? = reserved ? r.actualUSD : nil
        switch r.status {
        case .succeeded:
            let last = r.attempts.last(where: \.wasTried)
            return [LedgerEvent(time: at, jobID: r.id, body: .succeeded(LedgerSuccess(
                resultURL: r.resultURL, billedSeconds: r.billed?.seconds, billedCredits: r.billed?.credits,
                cost: last?.actualCost, costSource: last?.actualCostSource, settlement: settlement)))]
        case .failed:
            if let pending { return [failure(r.id, pending, final: true, settlement: settlement, at: at)] }
            // No offer could be tried: nothing was submitted, so nothing can have billed.
            let zero = Money.zero(r.estimatedCost?.currency ?? .usd)
            return [LedgerEvent(time: at, jobID: r.id, body: .failed(LedgerFailure(
                failure: .failed, cost: zero, costSource: .noTask, final: true, detail: r.message, settlement: reserved ? .zero(.usd) : nil)))]
        case .needsAttention:
            var events: [LedgerEvent] = []
            if let pending { events.append(failure(r.id, pending, final: false, settlement: nil, at: at)) }
            events.append(LedgerEvent(time: at, jobID: r.id, body: .needsAttention(detail: r.message)))
            if let settlement { events.append(LedgerEvent(time: at, jobID: r.id, body: .settled(settlement))) }
            return events
        case .unfinished:
            return [LedgerEvent(time: at, jobID: r.id, body: .unfinished(detail: r.message))]
        case .refused:
            // A job the policy refused is closed by its `decided` line. One whose choice the
            // budget refused at reservation is closed by a second, refusing `decided` line (the
            // fold keeps the first line's choice and estimate), so it is not left open.
            guard var closing = decision else { return [] }
            (closing.mode, closing.resolution, closing.estimate, closing.estimateUSD) = (nil, nil, nil, nil)
            (closing.alternates, closing.reservation, closing.refusal) = ([], nil, r.message)
            return [LedgerEvent(time: at, jobID: r.id, body: .decided(closing))]
        case .stopped:
            return []
        }
    }
}
