/// Why the ledger could not be read or written. Every case names what to do.
public enum LedgerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A line before the end of a ledger file is damaged; nothing after it is trusted.
    case damaged(file: String, line: Int, reason: String)
    /// Writing to the ledger failed. Fatal: the caller must stop acting on the ledger's behalf.
    case writeFailed(file: String, reason: String)
    /// Making appended lines durable failed. Fatal: the kernel may have dropped them, and a retry
    /// could report success for data that is gone.
    case syncFailed(file: String, reason: String)
    /// An earlier write or sync failed, so this store refuses all further writes.
    case stopped(after: String)
    /// A ledger file or directory could not be opened or read.
    case unreadable(path: String, reason: String)
    /// An event is too large to be one ledger line.
    case eventTooLarge(jobID: String, bytes: Int)
    /// An event a store does not record as given: what is missing.
    case incompleteEvent(jobID: String, reason: String)

    /// The problem and what to do.
    public var description: String {
        switch self {
        case .damaged(let file, let line, let reason):
            return "\(file):\(line): the ledger is damaged here: \(reason). wanroute reads no further and never rewrites the ledger; restore the file from a backup, or move this line and everything after it to a side file by hand once you have checked them"
        case .writeFailed(let file, let reason):
            return "writing the ledger \(file) failed (\(reason)); stopped: nothing more is submitted. Free disk space or fix the file system, then run `wanroute resume`"
        case .syncFailed(let file, let reason):
            return "making the ledger \(file) durable failed (\(reason)); stopped: nothing more is submitted, and the last lines may not have reached the disk. Fix the storage, then run `wanroute resume`"
        case .stopped(let after):
            return "the ledger stopped accepting writes after an earlier failure: \(after)"
        case .unreadable(let path, let reason):
            return "cannot read the ledger at \(path): \(reason)"
        case .eventTooLarge(let job, let bytes):
            return "an event of job \(job) would be a \(bytes)-byte ledger line, above the 1 MiB limit; shorten its texts"
        case .incompleteEvent(let job, let reason):
            return "an event of job \(job) was not recorded: \(reason)"
        }
    }
}

extension LedgerEvent {
    /// Why every store refuses to append this event, if it does: an `accepted` event without its
    /// provider (a line without one takes its job's submit-intent's, so it could not say "none"),
    /// or, when `lineBytes` is given, a line over ``ledgerMaximumLineBytes``.
    public func appendProblem(lineBytes: Int? = nil) -> LedgerError? {
        if case .accepted = body, provider == nil {
            return .incompleteEvent(jobID: jobID, reason: "an accepted task names its provider")
        }
        // The line is made only when the cheap bound does not already show that it fits.
        if lineBytes == nil, lineBytesBound <= ledgerMaximumLineBytes { return nil }
        let size = lineBytes ?? LedgerCodec.encode(LedgerRecord(sequence: Int64.max, event: self)).count
        if size > ledgerMaximumLineBytes { return .eventTooLarge(jobID: jobID, bytes: size) }
        return nil
    }

    /// At least the bytes of the event's line in any schema version, without making it: each string
    /// at its longest escaping (6 bytes a byte, `\u00XX`), and 64 bytes for each member's name,
    /// number and punctuation, and for each tag, alternate and budget key.
    var lineBytesBound: Int {
        var strings = jobID.utf8.count + (runID?.utf8.count ?? 0) + (taskID?.utf8.count ?? 0) + (provider?.rawValue.utf8.count ?? 0)
        var entries = 0
        func budgets(_ b: LedgerBudgetAmount?) {
            guard let b else { return }
            entries += b.budgets.count
            for k in b.budgets { strings += k.description.utf8.count }
        }
        switch body {
        case .decided(let d):
            strings += d.policy.utf8.count + (d.policyDigest?.utf8.count ?? 0) + (d.pricingDigest?.utf8.count ?? 0) + (d.refusal?.utf8.count ?? 0)
            entries += d.tags.count + d.alternates.count
            for (k, v) in d.tags { strings += k.utf8.count + v.utf8.count }
            for a in d.alternates { strings += a.provider.rawValue.utf8.count }
            budgets(d.reservation)
        case .reserved(let b):
            budgets(b)
        case .succeeded(let s):
            strings += (s.resultURL?.utf8.count ?? 0) + (s.billedCredits?.utf8.count ?? 0)
        case .failed(let f):
            strings += f.detail?.utf8.count ?? 0
        case .outcomeUnknown(let d), .unfinished(let d), .needsAttention(let d), .note(let d):
            strings += d.utf8.count
        case .released(let d):
            strings += d?.utf8.count ?? 0
        case .submitIntent, .accepted, .state, .settled:
            break
        }
        return 6 * strings + 64 * (LedgerMember.allCases.count + 1 + entries)
    }
}

/// The longest ledger line, in bytes: bounds every read of an untrusted file.
public let ledgerMaximumLineBytes = 1 << 20

/// A torn tail found at open and moved aside: the last write of a process that died before it
/// completed. Such bytes were never acknowledged as durable.
public struct TornTail: Sendable, Equatable, CustomStringConvertible {
    /// The ledger file.
    public var file: String
    /// Where the torn bytes started.
    public var offset: Int64
    /// How many bytes were moved aside.
    public var length: Int
    /// The side file that now holds them.
    public var sideFile: String
    /// Why they were torn: no final newline, or a checksum that does not match.
    public var reason: String

    /// `ledger 2026-12.jsonl: a torn last write (41 bytes at 1024, no final newline) was moved to …`.
    public var description: String {
        "ledger \(file): a torn last write (\(length) bytes at offset \(offset), \(reason)) was moved to \(sideFile); no acknowledged event was lost"
    }
}

/// The ledger seam: where the executor, `resume`, budgets and reports record and read what
/// happened. The file store (``FileLedgerStore``) is the default; ``InMemoryLedgerStore`` serves
/// tests; a PostgreSQL store implements the same contract (the conformance suite checks each).
///
/// Contract, for every implementation:
/// - ``append(_:)`` returns only when the events are durable (fdatasync'd, or committed); it
///   assigns sequence numbers strictly increasing within each UTC month in append order; events of
///   one call are never interleaved with another caller's within a month. A failure is final.
/// - Reads see every event whose append returned, in sequence order, and never a torn one.
/// - ``reserve(_:)`` checks every limit and records the reservation under one lock or transaction,
///   so concurrent reservations by any number of processes never commit more than a limit.
public protocol LedgerStore: Sendable {
    /// Appends events durably, in order, and returns them as recorded (with sequence numbers).
    /// Events go to the UTC month of their own time; each month's share is one batch.
    func append(_ events: [LedgerEvent]) async throws -> [LedgerRecord]

    /// The UTC months that hold events, oldest first.
    func months() async throws -> [LedgerMonth]

    /// Visits every record of a UTC month in sequence order (streamed: a month may hold millions).
    func forEachRecord(in month: LedgerMonth, _ body: (LedgerRecord) throws -> Void) async throws

    /// Every record of one job, across all months, in order.
    func records(forJob jobID: String) async throws -> [LedgerRecord]

    /// Every job, in any month, that is not finished (no final event, or a reservation still open),
    /// folded, ordered by the time of its first event.
    func openJobs() async throws -> [JobState]

    /// The folded states of those of `ids` that have events, in any month (idempotency: a job the
    /// ledger holds is not started again). The default folds every record; the file store reads
    /// only the named jobs' lines, found through its job summaries.
    func states(of ids: Set<String>) async throws -> [String: JobState]

    /// Month-to-date settled spend and open reservations per budget key.
    func budgetState(for month: BudgetMonth) async throws -> BudgetState

    /// Checks the request's limits against the month's state and, when every one leaves room,
    /// appends the reservation (and its following events) durably, all under one lock.
    func reserve(_ request: ReservationRequest) async throws -> ReservationOutcome

    /// Hands on every job decided in `period` as the report fold (``LedgerReportFold``) ends it,
    /// in that order: `report --format focus`, `reconcile` and `whatif` read their jobs here.
    ///
    /// The default folds the records of ``LedgerReportFold/months(for:)``. The file store answers
    /// from its per-month job summaries; a database can answer from a table of the same rows (one
    /// per job: ids, enum codes, integer money with its currency, seconds, instants), with the
    /// jobs not yet ended folded from their events.
    func forEachReportJob(in period: ReportPeriod, catalog: PriceCatalog, _ body: (ReportJob) -> Void) async throws

    /// Adds every job decided in `period` to a report: the same jobs as
    /// ``forEachReportJob(in:catalog:_:)``, in any order (the report's figures do not depend on it),
    /// so that a store with a job summary can add rows without making a ``ReportJob`` of each.
    func addReportJobs(in period: ReportPeriod, catalog: PriceCatalog, to builder: inout MonthlyReportBuilder) async throws

    /// Replays every job decided in `period`: the same jobs as ``forEachReportJob(in:catalog:_:)``,
    /// so that a store with a job summary can replay rows without making a ``ReportJob`` of each.
    func addWhatIfJobs(in period: ReportPeriod, catalog: PriceCatalog, to replay: inout WhatIfReplay) async throws
}

extension LedgerStore {
    /// Folds the records of the period's months (see ``LedgerStore/forEachReportJob(in:catalog:_:)``).
    public func forEachReportJob(in period: ReportPeriod, catalog: PriceCatalog, _ body: (ReportJob) -> Void) async throws {
        try await foldReportJobsFromRecords(in: period, catalog: catalog, body)
    }

    /// The report fold over every record of the period's months: the default answer, and the file
    /// store's when a job summary cannot be used.
    public func foldReportJobsFromRecords(in period: ReportPeriod, catalog: PriceCatalog, _ body: (ReportJob) -> Void) async throws {
        var fold = LedgerReportFold(period: period, catalog: catalog)
        let have = Set(try await months())
        for month in LedgerReportFold.months(for: period) where have.contains(month) {
            try await forEachRecord(in: month) { fold.apply($0, emit: body) }
        }
        fold.finish(body)
    }

    /// Adds the jobs ``forEachReportJob(in:catalog:_:)`` hands on.
    public func addReportJobs(in period: ReportPeriod, catalog: PriceCatalog, to builder: inout MonthlyReportBuilder) async throws {
        var b = builder
        try await forEachReportJob(in: period, catalog: catalog) { b.add($0) }
        builder = b
    }

    /// Replays the jobs ``forEachReportJob(in:catalog:_:)`` hands on.
    public func addWhatIfJobs(in period: ReportPeriod, catalog: PriceCatalog, to replay: inout WhatIfReplay) async throws {
        var w = replay
        try await forEachReportJob(in: period, catalog: catalog) { w.add($0) }
        replay = w
    }

    /// The folded state of one job, or nil when the ledger has no events for it.
    public func job(_ jobID: String) async throws -> JobState? {
        JobState.fold(try await records(forJob: jobID))
    }

    /// Folds every record of every month for the jobs named (see ``LedgerStore/states(of:)``).
    public func states(of ids: Set<String>) async throws -> [String: JobState] {
        var book = JobBook()
        for m in try await months() {
            try await forEachRecord(in: m) { r in if ids.contains(r.event.jobID) { book.apply(r) } }
        }
        return book.states
    }

    /// Every record of a month, in order (for tests and small months; prefer ``forEachRecord(in:_:)``).
    public func records(in month: LedgerMonth) async throws -> [LedgerRecord] {
        var all: [LedgerRecord] = []
        try await forEachRecord(in: month) { all.append($0) }
        return all
    }
}

/// Jobs folded from records in ledger order: every store answers ``LedgerStore/openJobs()`` with it,
/// and reports fold a month with it.
public struct JobBook: Sendable {
    /// Every job's state, by id.
    public private(set) var states: [String: JobState] = [:]
    /// Job ids in the order their first event was seen.
    public private(set) var order: [String] = []

    /// An empty book.
    public init() {}

    /// Folds the next record.
    public mutating func apply(_ r: LedgerRecord) {
        let id = r.event.jobID
        if states[id] == nil {
            states[id] = JobState(id: id)
            order.append(id)
        }
        states[id]!.apply(r.event)
    }

    /// The jobs that are not finished, in first-seen order.
    public var unfinished: [JobState] { order.compactMap { states[$0] }.filter { !$0.isFinished } }
}
