import Foundation
import WanRoute

/// A ledger held in memory, for tests and for embedding where nothing must touch the disk.
/// It keeps the whole contract of ``LedgerStore`` except durability, and can be told to fail
/// (``failNextAppend(with:)``) to test what callers do when the ledger stops.
public final class InMemoryLedgerStore: LedgerStore, @unchecked Sendable {
    private let lock = NSLock()
    private var byMonth: [LedgerMonth: [LedgerRecord]] = [:]
    private var failure: LedgerError?
    private var stopped: String?

    /// An empty ledger.
    public init() {}

    /// Makes the next append (or reservation) fail with `error`; as with a real store, every write
    /// after it fails too.
    public func failNextAppend(with error: LedgerError) {
        lock.withLock { failure = error }
    }

    /// Appends events durably (see ``LedgerStore/append(_:)``).
    public func append(_ events: [LedgerEvent]) async throws -> [LedgerRecord] {
        try lock.withLock { try appendLocked(events) }
    }

    private func appendLocked(_ events: [LedgerEvent]) throws -> [LedgerRecord] {
        if let stopped { throw LedgerError.stopped(after: stopped) }
        if let f = failure {
            stopped = f.description
            throw f
        }
        if let problem = events.lazy.compactMap({ $0.appendProblem() }).first { throw problem }
        var out: [LedgerRecord] = []
        for e in events {
            let m = e.time.month
            let seq = (byMonth[m]?.last?.sequence ?? 0) + 1
            let r = LedgerRecord(sequence: seq, event: e)
            byMonth[m, default: []].append(r)
            out.append(r)
        }
        return out
    }

    /// The months that hold events, oldest first.
    public func months() async throws -> [LedgerMonth] {
        lock.withLock { byMonth.keys.sorted() }
    }

    /// Visits a month's records in sequence order.
    public func forEachRecord(in month: LedgerMonth, _ body: (LedgerRecord) throws -> Void) async throws {
        let records = lock.withLock { byMonth[month] ?? [] }
        for r in records { try body(r) }
    }

    /// One job's records across all months, in order.
    public func records(forJob jobID: String) async throws -> [LedgerRecord] {
        lock.withLock { byMonth.keys.sorted().flatMap { byMonth[$0]!.filter { $0.event.jobID == jobID } } }
    }

    /// Every job not yet finished, folded.
    public func openJobs() async throws -> [JobState] {
        lock.withLock {
            var fold = JobBook()
            for m in byMonth.keys.sorted() { for r in byMonth[m]! { fold.apply(r) } }
            return fold.unfinished
        }
    }

    /// The month's settled and reserved spend per budget key.
    public func budgetState(for month: BudgetMonth) async throws -> BudgetState {
        lock.withLock { tally(month).state }
    }

    /// Checks the limits and reserves under one lock (see ``LedgerStore/reserve(_:)``).
    public func reserve(_ request: ReservationRequest) async throws -> ReservationOutcome {
        try lock.withLock {
            let short = request.shortfalls(in: tally(request.month).state)
            if !short.isEmpty { return .refused(short) }
            return .reserved(try appendLocked([request.event] + request.following))
        }
    }

    private func tally(_ month: BudgetMonth) -> BudgetTally {
        var t = BudgetTally(month: month)
        for m in month.ledgerMonthsToFold(among: Array(byMonth.keys)) { for r in byMonth[m] ?? [] { t.apply(r.event) } }
        return t
    }
}
