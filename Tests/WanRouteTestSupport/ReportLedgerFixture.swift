import Foundation
import WanRoute

/// The fixture month as ledger events, the way the executor records a job: decided, then per
/// attempt submit-intent (one per submission), accepted, and how it ended.
public enum ReportLedgerFixture {
    /// Every event of the fixture month, in time order (a job's own events keep their order).
    public static var events: [LedgerEvent] {
        let all = ReportFixture.jobs.flatMap(events(for:))
        return all.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
    }

    /// Writes the fixture month through the real file store into `directory` (created).
    public static func write(to directory: String) async throws {
        let store = try FileLedgerStore(directory: directory)
        _ = try await store.append(events)
    }

    /// One job's events.
    public static func events(for job: ReportJob) -> [LedgerEvent] {
        let r = job.request
        let decided = job.decidedOffer
        var out: [LedgerEvent] = []
        let rates = ReportFixture.catalog.exchangeRates
        let estimateUSD = job.estimatedCost.flatMap { rates.usd($0) }
        // As the executor reserves: the estimate in USD under every key the job counts under.
        let keys = decided.map { BudgetKey.keys(provider: $0.provider, tags: r.tags) } ?? []
        let reservation = estimateUSD.map { LedgerBudgetAmount(amount: $0, budgets: keys) }
        let decision = LedgerDecision(behavior: r.behavior, duration: r.duration, requiredResolution: r.resolution, requiredMode: r.mode,
                                      tags: r.tags, policy: job.policy, mode: decided?.mode, resolution: decided?.resolution,
                                      estimate: job.estimatedCost, estimateUSD: estimateUSD,
                                      refusal: decided == nil ? "no offer meets policy \"\(job.policy)\"" : nil,
                                      reservation: decided == nil ? nil : reservation)
        out.append(LedgerEvent(time: LedgerTime(job.decidedAt), jobID: job.id, provider: decided?.provider, body: .decided(decision)))
        guard let offer = job.offer else { return out }
        var earlier: Int64 = 0
        for a in job.failedOver {
            let t = LedgerTime(a.submittedAt ?? job.decidedAt)
            out.append(LedgerEvent(time: t, jobID: job.id, provider: a.offer.provider, body: .submitIntent(mode: a.offer.mode, resolution: a.offer.resolution, attempt: 1)))
            if let task = a.taskID { out.append(LedgerEvent(time: t, jobID: job.id, provider: a.offer.provider, taskID: task, body: .accepted)) }
            out.append(LedgerEvent(time: LedgerTime(a.finishedAt ?? job.decidedAt), jobID: job.id, provider: a.offer.provider, taskID: a.taskID,
                                   body: .failed(LedgerFailure(failure: a.failure ?? .failed, cost: a.cost, costSource: a.costSource, final: false))))
            earlier += a.cost?.nanos ?? 0
        }
        let start = LedgerTime(job.submittedAt ?? job.decidedAt)
        for n in 0...job.retries {
            out.append(LedgerEvent(time: start, jobID: job.id, provider: offer.provider, body: .submitIntent(mode: offer.mode, resolution: offer.resolution, attempt: n + 1)))
        }
        if let task = job.taskID { out.append(LedgerEvent(time: start, jobID: job.id, provider: offer.provider, taskID: task, body: .accepted)) }
        let end = LedgerTime(job.finishedAt ?? job.submittedAt ?? job.decidedAt)
        let cost = job.actualCost.map { Money(nanos: $0.nanos - earlier, currency: $0.currency) }
        // Settled to the job's whole bill in USD with its final event (nil leaves the reservation open).
        let settlement = job.actualCost.flatMap { rates.usd($0) }
        let body: LedgerEventBody
        switch job.status {
        case .succeeded:
            body = .succeeded(LedgerSuccess(resultURL: "https://results.test/\(job.id).mp4", billedSeconds: job.reportedSeconds, cost: cost,
                                            costSource: job.actualCostSource, settlement: settlement))
        case .failed:
            body = .failed(LedgerFailure(failure: .contentRefused, cost: cost, costSource: job.actualCostSource, final: true, settlement: settlement))
        case .needsAttention:
            body = .needsAttention(detail: "the submission got no answer; a task may exist")
        case .unfinished:
            body = .unfinished(detail: "the deadline passed with the task still running")
        case .refused:
            return out
        }
        out.append(LedgerEvent(time: end, jobID: job.id, provider: offer.provider, taskID: job.taskID, body: body))
        return out
    }
}
