import Foundation

/// Folds ledger records into ``ReportJob`` values: the jobs decided in a report's month, with
/// every attempt, what it cost and how that is known.
///
/// Feed it the records of every UTC month that can hold the month's events (the month in its
/// zone spans at most two UTC months; a job decided on its last day may end in the next), in
/// ledger order. A job is handed on as soon as its final event is folded, and forgotten, so memory
/// holds only the jobs in flight; ``finish(_:)`` hands on those never ended. Events of jobs
/// decided outside the month are skipped.
public struct LedgerReportFold {
    let period: ReportPeriod
    let catalog: PriceCatalog?
    var partial: [String: Partial] = [:]
    var order: [String] = []

    struct Partial {
        var job: ReportJob
        var submissions = 0
        var current: OfferRef?
        var currentTask: String?
        var currentSubmitted: LedgerTime?
        var finalCost: Money??
        var ended = false
    }

    /// A fold for `period`; `catalog` applies billing rules where a provider reports no quantity.
    public init(period: ReportPeriod, catalog: PriceCatalog) {
        self.period = period
        self.catalog = catalog
    }

    /// The UTC ledger months to read for `period`, oldest first.
    public static func months(for period: ReportPeriod) -> [LedgerMonth] {
        let first = LedgerTime(period.start).month
        let last = LedgerTime(period.end.addingTimeInterval(-1)).month
        var out = [first]
        var m = first
        while m < last { m = m.next; out.append(m) }
        out.append(last.next)
        return out
    }

    /// Folds the next record; `emit` receives each job that ends with it.
    public mutating func apply(_ record: LedgerRecord, emit: (ReportJob) -> Void) {
        apply(record)
        if let i = partial.index(forKey: record.event.jobID), partial.values[i].ended {
            emit(Self.finished(partial.values[i]))
            partial.remove(at: i)
        }
    }

    /// Hands on every job not ended yet (unfinished, in flight, or of unknown outcome), in the
    /// order decided.
    public mutating func finish(_ emit: (ReportJob) -> Void) {
        // Removed as handed on: an id decided again after its job ended is in `order` twice, and
        // its one job in flight must be handed on once.
        for id in order { if let p = partial.removeValue(forKey: id) { emit(Self.finished(p)) } }
        partial = [:]
        order = []
    }

    mutating func apply(_ record: LedgerRecord) {
        let e = record.event
        if case .decided(let d) = e.body {
            if let i = partial.index(forKey: e.jobID) {
                Self.decidedAgain(d, e, &partial.values[i])
                return
            }
            guard period.contains(e.time.date) else { return }
            let p = Self.start(d, e)
            partial[e.jobID] = p
            if !p.ended { order.append(e.jobID) }
            return
        }
        // Mutated in place: copying a job's state out and back would copy its arrays on every event.
        guard let i = partial.index(forKey: e.jobID) else { return }
        Self.fold(e, into: &partial.values[i], catalog: catalog)
    }

    /// A job's state after its decision (ended at once when the decision refused it).
    static func start(_ d: LedgerDecision, _ e: LedgerEvent) -> Partial {
        let request = Job(behavior: d.behavior, duration: d.duration, resolution: d.requiredResolution, mode: d.requiredMode, tags: d.tags)
        var offer: OfferRef?
        if let p = e.provider, let m = d.mode, let r = d.resolution { offer = OfferRef(provider: p, mode: m, resolution: r) }
        let job = ReportJob(id: e.jobID, status: offer == nil ? .refused : .unfinished, policy: d.policy, request: request, offer: offer,
                            estimatedCost: d.estimate, estimatedUSD: d.estimateUSD, actualCost: nil, decidedAt: e.time.date)
        return Partial(job: job, current: offer, ended: offer == nil)
    }

    /// A second decision for a job in flight: a later refusal (the budget refused the choice at
    /// reservation; nothing was submitted) ends it refused; any other is ignored.
    static func decidedAgain(_ d: LedgerDecision, _ e: LedgerEvent, _ p: inout Partial) {
        if d.mode == nil, p.job.status == .unfinished {
            p.job.status = .refused
            p.finalCost = .some(.zero(p.job.estimatedCost?.currency ?? .usd))
            end(&p, at: e.time)
        }
    }

    static func fold(_ e: LedgerEvent, into p: inout Partial, catalog: PriceCatalog?) {
        switch e.body {
        case .submitIntent(let mode, let resolution, _):
            // An intent names no provider only when it inherits its decision's; a ledger that gives
            // it none to inherit (a refused job, hand-edited rows) is skipped, never a trap.
            guard let provider = e.provider ?? p.current?.provider ?? p.job.offer?.provider else { break }
            p.submissions += 1
            let offer = OfferRef(provider: provider, mode: mode, resolution: resolution)
            if p.current != offer || p.currentSubmitted == nil {
                if p.current != offer { p.currentTask = nil }
                p.current = offer
                p.currentSubmitted = p.currentSubmitted ?? e.time
            }
        case .accepted:
            p.currentTask = e.taskID ?? p.currentTask
        case .succeeded(let s):
            p.job.status = .succeeded
            p.job.reportedSeconds = s.billedSeconds
            p.job.billedSeconds = s.billedSeconds ?? ruleSeconds(p, catalog)
            p.finalCost = .some(s.cost)
            p.job.actualCostSource = s.costSource
            end(&p, at: e.time)
        case .failed(let f):
            if f.final {
                p.job.status = .failed
                p.finalCost = .some(f.cost)
                p.job.actualCostSource = f.costSource
                end(&p, at: e.time)
            } else if let offer = p.current {
                p.job.failedOver.append(ReportAttempt(offer: offer, taskID: p.currentTask, cost: f.cost, costSource: f.costSource, failure: f.failure,
                                                      submittedAt: p.currentSubmitted?.date, finishedAt: e.time.date))
                p.current = nil
                p.currentTask = nil
                p.currentSubmitted = nil
            }
        case .outcomeUnknown, .needsAttention:
            p.job.status = .needsAttention
            p.finalCost = p.submissions > 0 ? .some(nil) : .some(.zero(p.job.estimatedCost?.currency ?? .usd))
            if case .needsAttention = e.body { end(&p, at: e.time) }
        case .unfinished:
            p.job.status = .unfinished
        default:
            break
        }
    }

    static func ruleSeconds(_ p: Partial, _ catalog: PriceCatalog?) -> Seconds? {
        guard let catalog, let offer = p.current ?? p.job.offer else { return nil }
        return ruleSeconds(offer: offer, duration: p.job.request.duration, catalog)
    }

    /// The seconds `offer`'s billing rule bills for `duration`, where the provider reports none.
    static func ruleSeconds(offer: OfferRef, duration: Seconds, _ catalog: PriceCatalog) -> Seconds? {
        guard let rule = catalog.provider(offer.provider)?.billing, let units = rule.billableUnits(for: duration) else { return nil }
        return rule.seconds(forUnits: units)
    }

    static func end(_ p: inout Partial, at time: LedgerTime) {
        p.ended = true
        p.job.finishedAt = time.date
        if let offer = p.current { p.job.offer = offer }
        p.job.taskID = p.currentTask
        p.job.submittedAt = p.currentSubmitted?.date
    }

    static func finished(_ partial: Partial) -> ReportJob {
            var p = partial
            var j = p.job
            if j.status == .refused { return j }
            if !p.ended {
                if let offer = p.current { j.offer = offer }
                j.taskID = p.currentTask
                j.submittedAt = p.currentSubmitted?.date
                if p.finalCost == nil { p.finalCost = p.submissions > 0 ? .some(nil) : .some(.zero(j.estimatedCost?.currency ?? .usd)) }
            }
            j.retries = max(p.submissions - j.failedOver.count - 1, 0)
            // The job's cost: every attempt's, unknown when any is, or when they are in different currencies.
            let parts = j.failedOver.map(\.cost) + [p.finalCost ?? nil]
            if parts.allSatisfy({ $0 != nil }) {
                let charged = parts.compactMap { $0 }.filter { $0.nanos != 0 }
                if let first = charged.first {
                    j.actualCost = charged.allSatisfy { $0.currency == first.currency } ? charged.dropFirst().reduce(first, +) : nil
                } else {
                    j.actualCost = parts.last!
                }
            } else {
                j.actualCost = nil
            }
            return j
    }
}
