import Foundation
import WanRoute

/// The ledger in PostgreSQL, for several processes or machines sharing one ledger and one set of
/// budgets. The same events as the file store, stored as the very lines the file store writes
/// (with their checksums), one row each, in the append-only table `wanroute_ledger_events`.
///
/// - Group commit: appends and reservations from concurrent callers in this process queue up and
///   are written together, one transaction (one COMMIT, one WAL flush) per batch, as the file store
///   writes the jobs in flight with one fdatasync. Each caller is answered when its batch committed.
/// - A batch's transaction takes a transaction-scoped advisory lock per UTC month touched (in month
///   order, so two writers never deadlock), numbers the events after each month's highest sequence,
///   caller after caller, inserts them and commits: each call's events are contiguous and numbered
///   in order, and durable once COMMIT returns (with the server's `synchronous_commit`).
/// - Reservations: a batch holding any first takes the budget lock (an advisory lock), then reads
///   the budget events committed since this process last folded the budget month, and checks each
///   reservation in turn (settled + reserved + this estimate ≤ limit) against the tally that holds
///   everything before it in the batch; an admitted one is numbered with its following events, a
///   refused one adds nothing. So any number of processes on any number of machines never commit
///   more than a limit.
/// - A failed batch fails every caller in it and stops the store: a COMMIT whose answer was lost
///   may or may not have happened, and a ledger must never retry and trust.
///
/// The tables come from ``migrations`` (`wanroute ledger migrate`). The role wanroute runs as needs
/// only SELECT and INSERT on the events table: a trigger refuses UPDATE, DELETE and TRUNCATE to
/// every role, so the ledger stays append-only even for its owner.
public final class PostgresLedgerStore: LedgerStore, @unchecked Sendable {
    /// The pool every call borrows from.
    public let pool: PostgresPool
    /// The PostgreSQL schema holding the tables.
    public let schema: String

    let table: String
    /// The job summary (``PostgresJobSummary``) and its coverage.
    let jobsTable: String
    let coverageTable: String
    /// Saved budget tallies (``saveCheckpoint(_:_:)``).
    let checkpointTable: String
    /// Saved report aggregates (``PostgresReportCache``).
    let reportCacheTable: String
    private let lock = NSLock()
    private var stoppedBy: String?

    /// Rows fetched per page when a month or the whole ledger is read (bounded memory).
    static let pageSize = 5_000
    /// Advisory lock classes (the first key of the two-key form): "wrlm" (months), "wrlb" (budgets).
    static let monthLockClass: Int64 = 0x7772_6c6d
    static let budgetLockClass: Int64 = 0x7772_6c62
    /// "wrls": the job summary, taken after every month lock, so two writers never deadlock.
    static let summaryLockClass: Int64 = 0x7772_6c73

    /// A store over `pool`, in `schema` (which ``migrate(_:schema:grantTo:)`` has prepared).
    public init(pool: PostgresPool, schema: String = "public") {
        self.pool = pool
        self.schema = schema
        self.table = "\(PostgresIdentifier.quoted(schema)).wanroute_ledger_events"
        self.jobsTable = "\(PostgresIdentifier.quoted(schema)).wanroute_ledger_jobs"
        self.coverageTable = "\(PostgresIdentifier.quoted(schema)).wanroute_ledger_job_coverage"
        self.checkpointTable = "\(PostgresIdentifier.quoted(schema)).wanroute_ledger_budget_checkpoints"
        self.reportCacheTable = "\(PostgresIdentifier.quoted(schema)).wanroute_report_cache"
    }

    /// The schema. Version 1: the events table, its indexes (job, budget events per month; the
    /// primary key serves reads by month) and the append-only trigger. Version 2: the job summary
    /// (``PostgresJobSummary``), derived from the events and kept with them. Version 3: the report
    /// cache (``PostgresReportCache``), derived.
    public static let migrations: [PostgresMigration] = [
        PostgresMigration(version: 1, summary: "ledger events, append-only", statements: [
            """
            CREATE TABLE wanroute_ledger_events (
                month text NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
                sequence int8 NOT NULL CHECK (sequence > 0),
                at timestamptz NOT NULL,
                job_id text NOT NULL,
                event_type text NOT NULL,
                budget boolean NOT NULL,
                line text NOT NULL,
                PRIMARY KEY (month, sequence)
            )
            """,
            "CREATE INDEX wanroute_ledger_events_job ON wanroute_ledger_events (job_id, month, sequence)",
            "CREATE INDEX wanroute_ledger_events_budget ON wanroute_ledger_events (month, sequence) WHERE budget",
            """
            CREATE FUNCTION wanroute_ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the wanroute ledger is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
            END
            $$
            """,
            """
            CREATE TRIGGER wanroute_ledger_append_only BEFORE UPDATE OR DELETE ON wanroute_ledger_events
                FOR EACH ROW EXECUTE FUNCTION wanroute_ledger_refuse_change()
            """,
            """
            CREATE TRIGGER wanroute_ledger_no_truncate BEFORE TRUNCATE ON wanroute_ledger_events
                FOR EACH STATEMENT EXECUTE FUNCTION wanroute_ledger_refuse_change()
            """,
        ]),
        PostgresJobSummary.migration,
        PostgresReportCache.migration,
    ]

    /// Creates or updates the tables (as their owner), then, when `role` is given, grants it what
    /// wanroute needs: USAGE on the schema, SELECT and INSERT on the events, SELECT, INSERT and
    /// UPDATE on the derived tables it keeps (the job summary and its coverage, the budget
    /// checkpoints, the report cache). Returns the versions applied.
    @discardableResult
    public static func migrate(_ connection: PostgresConnection, schema: String = "public", grantTo role: String? = nil) throws -> [Int] {
        let applied = try PostgresMigrator.migrate(connection, migrations, schema: schema)
        if let role {
            let quotedRole = PostgresIdentifier.quoted(role)
            try connection.query("GRANT USAGE ON SCHEMA \(PostgresIdentifier.quoted(schema)) TO \(quotedRole)")
            try connection.query("GRANT SELECT, INSERT ON \(PostgresIdentifier.quoted(schema)).wanroute_ledger_events TO \(quotedRole)")
            for derived in ["wanroute_ledger_jobs", "wanroute_ledger_job_coverage", "wanroute_ledger_budget_checkpoints", "wanroute_report_cache"] {
                try connection.query("GRANT SELECT, INSERT, UPDATE ON \(PostgresIdentifier.quoted(schema)).\(derived) TO \(quotedRole)")
            }
        }
        return applied
    }

    // MARK: - LedgerStore

    /// Appends events durably, in the next group commit (see ``LedgerStore/append(_:)``).
    public func append(_ events: [LedgerEvent]) async throws -> [LedgerRecord] {
        if events.isEmpty { return [] }
        try checkWritable()
        try Self.checkAppendable(events)
        return try await withCheckedThrowingContinuation { enqueue(.append(events, $0)) }
    }

    /// Checks the limits and reserves in the next group commit, under the budget lock (see
    /// ``LedgerStore/reserve(_:)``).
    public func reserve(_ request: ReservationRequest) async throws -> ReservationOutcome {
        try checkWritable()
        try Self.checkAppendable([request.event] + request.following)
        return try await withCheckedThrowingContinuation { enqueue(.reserve(request, $0)) }
    }

    /// The UTC months that hold events, oldest first: one primary-key probe per month (a loose index
    /// scan), not a pass over the table's millions of rows as `SELECT DISTINCT` would be.
    public func months() async throws -> [LedgerMonth] {
        try await read { [self] connection in try months(after: nil, connection) }
    }

    /// The UTC months holding events after `after` (all when nil), oldest first, by a loose index scan.
    private func months(after: LedgerMonth?, _ connection: PostgresConnection) throws -> [LedgerMonth] {
        try connection.query("""
            WITH RECURSIVE months(month) AS (
                (SELECT month FROM \(table) WHERE month > $1 ORDER BY month LIMIT 1)
                UNION ALL
                SELECT (SELECT e.month FROM \(table) e WHERE e.month > months.month ORDER BY e.month LIMIT 1) FROM months WHERE months.month IS NOT NULL
            )
            SELECT month FROM months WHERE month IS NOT NULL
            """, [.text(after?.description ?? "")]).rows.compactMap { LedgerMonth(try $0.decode(String.self, at: 0)) }
    }

    /// The folded states of those of `ids` the ledger holds, read through the index by job, 1,000
    /// jobs a query: `run`'s idempotency check reads only its own jobs' events, not the ledger.
    public func states(of ids: Set<String>) async throws -> [String: JobState] {
        var states: [String: JobState] = [:]
        let sorted = ids.sorted()
        var start = 0
        while start < sorted.count {
            let chunk = Array(sorted[start..<min(sorted.count, start + 1_000)])
            start += chunk.count
            let records = try await read { [self] connection in
                try connection.query("SELECT sequence, line FROM \(table) WHERE job_id = ANY($1::text[]) ORDER BY month, sequence",
                                     [.text(Self.textArray(chunk))]).rows.map { try decode($0) }
            }
            var book = JobBook()
            for record in records { book.apply(record) }
            states.merge(book.states) { $1 }
        }
        return states
    }

    /// A PostgreSQL array literal of texts (a parameter's value, never SQL): each element quoted,
    /// with its backslashes and double quotes escaped, so braces, commas and quotes stay inside it.
    static func textArray(_ values: [String]) -> String {
        "{" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "}"
    }

    /// Visits a month's records in sequence order, a page at a time.
    public func forEachRecord(in month: LedgerMonth, _ body: (LedgerRecord) throws -> Void) async throws {
        var after: Int64 = 0
        while true {
            let page = try await read { [self, after] connection in
                try connection.query(
                    "SELECT sequence, line FROM \(table) WHERE month = $1 AND sequence > $2 ORDER BY sequence LIMIT \(Self.pageSize)",
                    [.text(month.description), .int(after)]
                ).rows.map { try decode($0) }
            }
            for record in page { try body(record) }
            guard page.count == Self.pageSize, let last = page.last else { return }
            after = last.sequence
        }
    }

    /// One job's records across all months, in order.
    public func records(forJob jobID: String) async throws -> [LedgerRecord] {
        try await read { [self] connection in
            try connection.query("SELECT sequence, line FROM \(table) WHERE job_id = $1 ORDER BY month, sequence", [.text(jobID)])
                .rows.map { try decode($0) }
        }
    }

    /// Every job not yet finished, folded over the whole ledger in order, a page at a time: the
    /// answer when the job summary cannot be brought up to date.
    func openJobsFromEvents() async throws -> [JobState] {
        var book = JobBook()
        for month in try await months() {
            try await forEachRecord(in: month) { book.apply($0) }
        }
        return book.unfinished
    }

    /// The month's settled and reserved spend per budget key.
    public func budgetState(for month: BudgetMonth) async throws -> BudgetState {
        try await read { [self] connection in
            let cache = cachedTally(month, connection)
            let caught = try catchUp(cache, connection)
            remember(caught.tally, after: caught.after)
            if Self.eventsBetween(cache.after, caught.after) >= Self.checkpointEvery { saveCheckpoint(caught, connection) }
            return caught.tally.state
        }
    }

    // MARK: - Group commit

    /// A caller waiting for the next group commit.
    private enum Work {
        case append([LedgerEvent], CheckedContinuation<[LedgerRecord], any Error>)
        case reserve(ReservationRequest, CheckedContinuation<ReservationOutcome, any Error>)

        /// The events it would add.
        var events: [LedgerEvent] {
            switch self {
            case .append(let events, _): return events
            case .reserve(let request, _): return [request.event] + request.following
            }
        }
    }

    /// What one caller's part of a batch came to.
    private enum Done {
        case recorded([LedgerRecord])
        case refused([BudgetShortfall])
    }

    /// At most this many events go into one transaction (the rest wait for the next).
    static let batchEvents = 1_000

    private let writer = DispatchQueue(label: "wanroute.postgres-ledger.writer")
    private let waiting = GroupCommitQueue<Work>()

    private func enqueue(_ work: Work) {
        if waiting.add(work) { writer.async { self.drain() } }
    }

    /// Runs on the writer queue: takes what is pending (up to ``batchEvents`` events, at least one
    /// caller's), commits it as one transaction, and answers each caller; again until none wait.
    /// Callers that arrive during a commit form the next batch: one commit, one WAL flush, for all
    /// the jobs in flight, as the file store's group commit does with one fdatasync.
    private func drain() {
        while true {
            let batch = waiting.take(limit: Self.batchEvents) { $0.events.count }
            if batch.isEmpty { return }
            do {
                try checkWritable()
                let done = try write { [self] connection in try commit(batch, connection) }
                for (work, outcome) in zip(batch, done) {
                    switch (work, outcome) {
                    case (.append(_, let caller), .recorded(let records)): caller.resume(returning: records)
                    case (.reserve(_, let caller), .recorded(let records)): caller.resume(returning: .reserved(records))
                    case (.reserve(_, let caller), .refused(let short)): caller.resume(returning: .refused(short))
                    case (.append(_, let caller), .refused): caller.resume(throwing: PostgresError.transactionRolledBack)  // never: appends are not checked
                    }
                }
            } catch {
                for work in batch {
                    switch work {
                    case .append(_, let caller): caller.resume(throwing: error)
                    case .reserve(_, let caller): caller.resume(throwing: error)
                    }
                }
            }
        }
    }

    /// One transaction for a batch, in two round trips (three when a budget month must be folded
    /// again from its start):
    /// 1. BEGIN; the budget lock when the batch holds reservations; a lock per UTC month touched
    ///    (the events' months and the reservations' budget months, in month order, so two writers
    ///    never deadlock); each month's highest sequence; then the budget events committed since this
    ///    process last folded each budget month: complete, because they are read under the month locks.
    /// 2. Callers in arrival order: an append is numbered; a reservation is checked against its budget
    ///    month's tally, which includes the reservations admitted before it in this batch, and numbered
    ///    or refused. Then the INSERTs and COMMIT (or ROLLBACK when nothing was admitted).
    private func commit(_ batch: [Work], _ connection: PostgresConnection) throws -> [Done] {
        var budgetMonths: [BudgetMonth] = []
        for case .reserve(let request, _) in batch where !budgetMonths.contains(request.month) { budgetMonths.append(request.month) }
        var lockedMonths = Set(batch.flatMap { $0.events.map(\.time.month) })
        for month in budgetMonths { lockedMonths.formUnion(month.ledgerMonths) }
        let months = lockedMonths.sorted()

        var statements: [(sql: String, parameters: [PostgresValue])] = [("BEGIN", [])]
        if !budgetMonths.isEmpty { statements.append(("SELECT pg_advisory_xact_lock($1::int4, $2::int4)", [.int(Self.budgetLockClass), 0])) }
        statements += months.map { ("SELECT pg_advisory_xact_lock($1::int4, $2::int4)", [.int(Self.monthLockClass), .int($0.year * 12 + $0.month)]) }
        // The job summary: its lock, each month's coverage and the newest row of every job in the batch.
        statements.append(("SELECT pg_advisory_xact_lock($1::int4, $2::int4)", [.int(Self.summaryLockClass), 0]))
        let coverageIndex = statements.count
        statements.append(("SELECT month, last_sequence FROM \(coverageTable) WHERE month = ANY($1::text[])", [.text(Self.textArray(months.map(\.description)))]))
        var batchJobs = Set<String>()
        for work in batch { for event in work.events { batchJobs.insert(event.jobID) } }
        statements.append(PostgresJobSummary.latestRowsStatement(jobsTable, batchJobs.sorted()))
        let firstMaximum = statements.count
        statements += months.map { ("SELECT coalesce(max(sequence), 0) FROM \(table) WHERE month = $1", [.text($0.description)]) }
        let caches = budgetMonths.map { cachedTally($0, connection) }
        let firstDelta = statements.count
        for (month, cache) in zip(budgetMonths, caches) {
            statements += month.ledgerMonths.map { deltaStatement($0, after: cache.after[$0] ?? 0) }
        }
        let results = try connection.pipeline(statements)
        var next: [LedgerMonth: Int64] = [:]
        for (index, month) in months.enumerated() {
            next[month] = try results[firstMaximum + index].rows[0].decode(Int64.self, at: 0) + 1
        }
        // A month is summarised when its coverage reaches its last event; a month behind is left to
        // the next reader's catch-up, which folds from its coverage on.
        var covered: [LedgerMonth: Int64] = [:]
        for row in results[coverageIndex].rows {
            if let m = LedgerMonth(try row.decode(String.self, at: 0)) { covered[m] = try row.decode(Int64.self, at: 1) }
        }
        let summarised = Set(months.filter { (covered[$0] ?? 0) == next[$0]! - 1 })
        var latest = try PostgresJobSummary.latestRows(results[coverageIndex + 1])
        var folded: [BudgetMonth: BudgetTally] = [:]
        var foldedAfter: [BudgetMonth: [LedgerMonth: Int64]] = [:]
        var deltaIndex = firstDelta
        for (month, cache) in zip(budgetMonths, caches) {
            let ledgerMonths = month.ledgerMonths
            let deltas = Array(results[deltaIndex..<(deltaIndex + ledgerMonths.count)])
            deltaIndex += ledgerMonths.count
            let caught = try catchUp(cache, firstPages: deltas, connection)
            folded[month] = caught.tally
            foldedAfter[month] = caught.after
        }

        var done: [Done] = []
        var records: [LedgerRecord] = []
        func record(_ events: [LedgerEvent]) -> [LedgerRecord] {
            let numbered = events.map { event in
                let month = event.time.month
                defer { next[month]! += 1 }
                return LedgerRecord(sequence: next[month]!, event: event)
            }
            for event in events { for month in budgetMonths { folded[month]!.apply(event) } }
            records += numbered
            return numbered
        }
        for work in batch {
            switch work {
            case .append(let events, _):
                done.append(.recorded(record(events)))
            case .reserve(let request, _):
                let short = request.shortfalls(in: folded[request.month]!.state)
                done.append(short.isEmpty ? .recorded(record([request.event] + request.following)) : .refused(short))
            }
        }
        if records.isEmpty {
            try connection.query("ROLLBACK")
        } else {
            var changed: [PostgresJobSummary.Position: PostgresJobSummary.JobRow] = [:]
            PostgresJobSummary.fold(records.filter { summarised.contains($0.event.time.month) }, latest: &latest, changed: &changed)
            var summary = PostgresJobSummary.upserts(jobsTable, Array(changed.values))
            for month in summarised.sorted() where next[month]! - 1 > (covered[month] ?? 0) {
                summary.append(PostgresJobSummary.coverageStatement(coverageTable, month, next[month]! - 1))
            }
            try insertAndCommit(connection, records, also: summary)
        }
        // Every budget event up to each month's last number is now folded: the deltas read under the
        // month locks, then this batch's own events.
        // (Later months' events of this batch were folded too, but those months were not locked: their
        // mark stays where the catch-up left it, and folding such an event again changes nothing.)
        for month in budgetMonths {
            remember(folded[month]!, after: foldedAfter[month]!.merging(month.ledgerMonths.map { ($0, next[$0]! - 1) }) { $1 })
        }
        return done
    }

    /// Inserts the records (a multi-row INSERT per ``insertRows`` rows), runs `also` (the job
    /// summary's upserts) and commits, in one round trip.
    private func insertAndCommit(_ connection: PostgresConnection, _ records: [LedgerRecord],
                                 also: [(sql: String, parameters: [PostgresValue])]) throws {
        var statements: [(sql: String, parameters: [PostgresValue])] = []
        var start = 0
        while start < records.count {
            let chunk = records[start..<min(records.count, start + Self.insertRows)]
            var values: [String] = []
            var parameters: [PostgresValue] = []
            for record in chunk {
                let event = record.event
                let n = parameters.count
                values.append("($\(n + 1), $\(n + 2), to_timestamp($\(n + 3)::int8 / 1000.0), $\(n + 4), $\(n + 5), $\(n + 6), $\(n + 7))")
                // Whole: a row leaves nothing to another row (no offer left to a decided line), so
                // each reads alone. The newline is the file's, not the event's.
                let line = LedgerCodec.encode(record).dropLast()
                parameters += [.text(event.time.month.description), .int(record.sequence), .int(event.time.milliseconds), .text(event.jobID),
                               .text(event.type.rawValue), .bool(BudgetTally.matters(event.type)), .text(String(decoding: line, as: UTF8.self))]
            }
            statements.append(("INSERT INTO \(table) (month, sequence, at, job_id, event_type, budget, line) VALUES " + values.joined(separator: ", "), parameters))
            start += chunk.count
        }
        statements += also
        statements.append(("COMMIT", []))
        let done = try connection.pipeline(statements)
        guard done.last?.commandTag == "COMMIT" else { throw PostgresError.transactionRolledBack }
    }

    /// Rows per INSERT statement (7 parameters each; the protocol allows 65,535 parameters).
    static let insertRows = 500

    /// A budget month's tally as this process last folded it, with the last sequence folded per UTC month.
    private struct TallyCache {
        var tally: BudgetTally
        var after: [LedgerMonth: Int64]
    }

    private var tallies: [BudgetMonth: TallyCache] = [:]

    /// The tally this process last folded; else the checkpoint another process saved; else empty.
    private func cachedTally(_ month: BudgetMonth, _ connection: PostgresConnection) -> TallyCache {
        if let cached = lock.withLock({ tallies[month] }) { return cached }
        return loadCheckpoint(month, connection) ?? TallyCache(tally: BudgetTally(month: month), after: [:])
    }

    // MARK: - Budget checkpoints

    /// A reader that had to fold at least this many events of a budget month saves its tally, so
    /// that a new process (each `report` or `route` is one) folds only the events after it.
    static let checkpointEvery: Int64 = 10_000

    static func eventsBetween(_ before: [LedgerMonth: Int64], _ after: [LedgerMonth: Int64]) -> Int64 {
        after.reduce(0) { $0 + max(0, $1.value - (before[$1.key] ?? 0)) }
    }

    /// The saved tally of a budget month, with the last sequence it folded per UTC month (its own and
    /// later ones, where its reservations close); nil when
    /// none was saved or it does not read (it is derived: folding from the start is always right).
    private func loadCheckpoint(_ month: BudgetMonth, _ connection: PostgresConnection) -> TallyCache? {
        guard let row = try? connection.query("SELECT folded, tally FROM \(checkpointTable) WHERE budget_month = $1 AND zone = $2",
                                              [.text(month.month.description), .text(month.zone.identifier)]).rows.first,
              let folded = try? row.decode(String.self, at: 0), let bytes = try? row.decode([UInt8].self, at: 1),
              let tally = BudgetTally(encoded: bytes, month: month) else { return nil }
        var after: [LedgerMonth: Int64] = [:]
        for part in folded.split(separator: " ") {
            let pieces = part.split(separator: "=")
            guard pieces.count == 2, let m = LedgerMonth(String(pieces[0])), m >= month.ledgerMonths[0], let sequence = Int64(pieces[1]), sequence >= 0,
                  after.updateValue(sequence, forKey: m) == nil else { return nil }
        }
        return TallyCache(tally: tally, after: after)
    }

    /// Saves a tally unless a checkpoint that folded as much is there; best effort (a role that may
    /// not write it only folds more next time).
    private func saveCheckpoint(_ cache: TallyCache, _ connection: PostgresConnection) {
        let folded = cache.after.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        _ = try? connection.query("""
            INSERT INTO \(checkpointTable) (budget_month, zone, folded, events, tally) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (budget_month, zone) DO UPDATE SET folded = EXCLUDED.folded, events = EXCLUDED.events, tally = EXCLUDED.tally
                WHERE \(checkpointTable).events <= EXCLUDED.events
            """, [.text(cache.tally.month.month.description), .text(cache.tally.month.zone.identifier), .text(folded),
                  .int(cache.after.values.reduce(0, +)), .bytes(cache.tally.encoded())])
    }

    /// Keeps the tally that has folded the most (reservations in this process may finish out of order).
    private func remember(_ tally: BudgetTally, after: [LedgerMonth: Int64]) {
        lock.withLock {
            let current = tallies[tally.month]
            let newer = current.map { old in after.allSatisfy { $0.value >= (old.after[$0.key] ?? 0) } } ?? true
            if newer { tallies[tally.month] = TallyCache(tally: tally, after: after) }
        }
    }

    /// A page of one UTC month's budget events after a sequence, in order. Correct as a delta
    /// because each month's numbers are given and committed under that month's lock: once N is
    /// visible, so is every number below it.
    private func deltaStatement(_ month: LedgerMonth, after: Int64) -> (sql: String, parameters: [PostgresValue]) {
        ("SELECT sequence, line FROM \(table) WHERE budget AND month = $1 AND sequence > $2 ORDER BY sequence LIMIT \(Self.pageSize)",
         [.text(month.description), .int(after)])
    }

    /// The cached tally caught up: each UTC month's budget events after those folded, a page at a time
    /// (a month may hold millions; a reply is bounded), `firstPages` being each month's first page
    /// when already read. The budget month's own UTC months come first, then every later one (where
    /// its reservations may be settled or released; skipped while none is open). When a month before one already folded has new
    /// events (events with earlier times came late), the budget month is folded again from its
    /// start, in order, as a fresh store would.
    private func catchUp(_ cache: TallyCache, firstPages: [PostgresQueryResult]? = nil, _ connection: PostgresConnection) throws -> TallyCache {
        let own = cache.tally.month.ledgerMonths
        let months = own + (try self.months(after: own.last!, connection))
        var caught = cache
        for (index, month) in months.enumerated() {
            if index >= own.count, !caught.tally.hasOpenReservations { break }  // later months only close reservations
            var first = index < (firstPages?.count ?? 0) ? firstPages?[index].rows : nil
            var last = caught.after[month] ?? 0
            while true {
                let rows: [PostgresRow]
                if let page = first {
                    rows = page
                    first = nil
                } else {
                    let (sql, parameters) = deltaStatement(month, after: last)
                    rows = try connection.query(sql, parameters).rows
                }
                if rows.isEmpty { break }
                if months[(index + 1)...].contains(where: { (caught.after[$0] ?? 0) > 0 }) {
                    return try catchUp(TallyCache(tally: BudgetTally(month: cache.tally.month), after: [:]), connection)
                }
                for row in rows {
                    let record = try decode(row)
                    caught.tally.apply(record.event)
                    last = record.sequence
                }
                caught.after[month] = last
                if rows.count < Self.pageSize { break }
            }
        }
        return caught
    }

    func decode(_ row: PostgresRow) throws -> LedgerRecord {
        let sequence = try row.decode(Int64.self, "sequence")
        let line = try row.decode(String.self, "line")
        do {
            let record = try LedgerCodec.decode(Array(line.utf8))
            guard record.sequence == sequence else { throw LedgerLineError.badChecksum }
            return record
        } catch {
            throw LedgerError.damaged(file: "\(pool.configuration.redactedURL) table \(table)", line: Int(sequence), reason: "\(error)")
        }
    }

    // MARK: - Failure handling

    private static func checkAppendable(_ events: [LedgerEvent]) throws {
        if let problem = events.lazy.compactMap({ $0.appendProblem() }).first { throw problem }
    }

    private func checkWritable() throws {
        if let stopped = lock.withLock({ stoppedBy }) { throw LedgerError.stopped(after: stopped) }
    }

    /// Runs a write; any failure stops the store (the outcome of a lost COMMIT is unknown).
    private func write<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        do {
            return try pool.withConnection { connection in
                do {
                    return try body(connection)
                } catch {
                    if connection.isUsable && connection.transactionStatus != .idle { _ = try? connection.query("ROLLBACK") }
                    throw error
                }
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            let failure = LedgerError.writeFailed(file: pool.configuration.redactedURL, reason: "\(error)")
            lock.withLock { if stoppedBy == nil { stoppedBy = failure.description } }
            throw failure
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        do {
            return try await pool.withConnection(body)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError.unreadable(path: pool.configuration.redactedURL, reason: "\(error)")
        }
    }
}
