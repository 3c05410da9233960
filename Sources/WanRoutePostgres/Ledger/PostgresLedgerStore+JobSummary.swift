import Foundation
import WanRoute

/// Reading jobs from the job summary (``PostgresJobSummary``): reports, `reconcile`, `whatif` and
/// `resume` read one row per job, and fold from events only the few jobs the rows cannot answer.
extension PostgresLedgerStore {
    /// Events folded per transaction when a month's summary catches up with its events.
    static let catchUpPage = 20_000

    /// Every job decided in `period`, as the report fold ends them, from the job summary (brought up
    /// to date first); from the events when the summary cannot be brought up to date (a role that
    /// may only read, say).
    public func forEachReportJob(in period: ReportPeriod, catalog: PriceCatalog, _ body: (ReportJob) -> Void) async throws {
        let months = LedgerReportFold.months(for: period)
        // On this thread, not the pool's: `body` is the caller's and may not leave it.
        let fromSummary: (PostgresConnection) throws -> Bool = { [self] connection in try summaryReportJobs(period, months, catalog, connection, body) }
        if await summaryCurrent(months), try pool.withConnection(fromSummary) { return }
        try await foldReportJobsFromRecords(in: period, catalog: catalog, body)
    }

    /// Every job not yet finished, folded from its events, in the order of their first events: the
    /// jobs the summary marks as possibly open (running, holding a reservation, reserved or submitted
    /// again after their end, never decided, or folded out of order).
    public func openJobs() async throws -> [JobState] {
        guard await summaryCurrent(try await months()) else { return try await openJobsFromEvents() }
        let ids = try await read { [jobsTable] connection in
            try connection.query("SELECT DISTINCT job_id FROM \(jobsTable) WHERE open OR irregular").rows.map { try $0.decode(String.self, at: 0) }
        }
        var found: [(first: PostgresJobSummary.Position, state: JobState)] = []
        for (first, records) in try await jobRecords(ids, months: nil) {
            if let state = JobState.fold(records), !state.isFinished { found.append((first, state)) }
        }
        return found.sorted { $0.first < $1.first }.map(\.state)
    }

    /// Brings every month of `months` that has events up to date; false when one could not be (the
    /// caller then reads events).
    func summaryCurrent(_ months: [LedgerMonth]) async -> Bool {
        do {
            let behind = try await read { [self] connection in try monthsBehind(months, connection) }
            for month in behind { try await read { [self] connection in try catchUp(month, connection) } }
            return true
        } catch {
            return false
        }
    }

    /// The months among `months` whose coverage is short of their last event.
    func monthsBehind(_ months: [LedgerMonth], _ connection: PostgresConnection) throws -> [LedgerMonth] {
        if months.isEmpty { return [] }
        let results = try connection.pipeline(months.map { month in
            ("SELECT coalesce((SELECT last_sequence FROM \(coverageTable) WHERE month = $1), 0), coalesce((SELECT max(sequence) FROM \(table) WHERE month = $1), 0)",
             [.text(month.description)])
        })
        return try zip(months, results).filter { try $1.rows[0].decode(Int64.self, at: 0) != $1.rows[0].decode(Int64.self, at: 1) }.map(\.0)
    }

    /// Folds a month's events after its coverage into the summary, ``catchUpPage`` events per
    /// transaction, each under the month's lock and the summary's, until the coverage reaches the
    /// month's last event. Writers meanwhile leave the month to it.
    func catchUp(_ month: LedgerMonth, _ connection: PostgresConnection) throws {
        while true {
            do {
                let coverage = "coalesce((SELECT last_sequence FROM \(coverageTable) WHERE month = $1), 0)"
                let read = try connection.pipeline([
                    ("BEGIN", []),
                    ("SELECT pg_advisory_xact_lock($1::int4, $2::int4)", [.int(Self.monthLockClass), .int(month.year * 12 + month.month)]),
                    ("SELECT pg_advisory_xact_lock($1::int4, $2::int4)", [.int(Self.summaryLockClass), 0]),
                    ("SELECT sequence, line FROM \(table) WHERE month = $1 AND sequence > \(coverage) ORDER BY sequence LIMIT \(Self.catchUpPage)",
                     [.text(month.description)]),
                ])
                let records = try read[3].rows.map { try decode($0) }
                guard let last = records.last else {
                    try connection.query("COMMIT")
                    return
                }
                let rows = PostgresJobSummary.latestRowsStatement(jobsTable, Set(records.map(\.event.jobID)).sorted())
                var latest = try PostgresJobSummary.latestRows(connection.query(rows.sql, rows.parameters))
                var changed: [PostgresJobSummary.Position: PostgresJobSummary.JobRow] = [:]
                PostgresJobSummary.fold(records, latest: &latest, changed: &changed)
                let done = try connection.pipeline(PostgresJobSummary.upserts(jobsTable, Array(changed.values))
                                                   + [PostgresJobSummary.coverageStatement(coverageTable, month, last.sequence), ("COMMIT", [])])
                guard done.last?.commandTag == "COMMIT" else { throw PostgresError.transactionRolledBack }
                if records.count < Self.catchUpPage { return }
            } catch {
                if connection.isUsable && connection.transactionStatus != .idle { _ = try? connection.query("ROLLBACK") }
                throw error
            }
        }
    }

    /// Brings every month's summary up to date (`ledger migrate` runs it, so that the first report
    /// after migrating an existing ledger does not have to).
    public func catchUpSummary() async throws {
        for month in try await months() {
            if try await read({ [self] connection in try monthsBehind([month], connection) }).isEmpty { continue }
            try await read { [self] connection in try catchUp(month, connection) }
        }
    }

    /// The events of the jobs `ids` (in `months`, or all), grouped by job, each job's in ledger
    /// order with the place of its first event; read through the index by job, 1,000 jobs a query.
    func jobRecords(_ ids: [String], months: [LedgerMonth]?) async throws -> [(first: PostgresJobSummary.Position, records: [LedgerRecord])] {
        var out: [(first: PostgresJobSummary.Position, records: [LedgerRecord])] = []
        var start = 0
        while start < ids.count {
            let chunk = Array(ids[start..<min(ids.count, start + 1_000)])
            start += chunk.count
            out += try await read { [self] connection in try jobRecords(chunk, months: months, connection) }
        }
        return out
    }

    func jobRecords(_ ids: [String], months: [LedgerMonth]?, _ connection: PostgresConnection) throws -> [(first: PostgresJobSummary.Position, records: [LedgerRecord])] {
        var parameters: [PostgresValue] = [.text(Self.textArray(ids))]
        var sql = "SELECT job_id, month, sequence, line FROM \(table) WHERE job_id = ANY($1::text[])"
        if let months {
            sql += " AND month = ANY($2::text[])"
            parameters.append(.text(Self.textArray(months.map(\.description))))
        }
        var byJob: [String: (first: PostgresJobSummary.Position, records: [LedgerRecord])] = [:]
        for row in try connection.query(sql + " ORDER BY job_id, month, sequence", parameters).rows {
            let record = try decode(row)
            let at = PostgresJobSummary.Position(month: try PostgresJobSummary.JobRow.month(row, 1), sequence: record.sequence)
            byJob[record.event.jobID, default: (at, [])].records.append(record)
        }
        return Array(byJob.values)
    }

    /// The report's jobs from the summary, on one connection in one snapshot (REPEATABLE READ):
    /// rows ended in the report's months in the order of their ends, then the rows still running in
    /// the order decided, with the jobs the rows cannot answer folded from their events and put in
    /// their places. False (nothing handed on) when a month's summary is behind its events.
    func summaryReportJobs(_ period: ReportPeriod, _ months: [LedgerMonth], _ catalog: PriceCatalog, _ connection: PostgresConnection,
                           _ body: (ReportJob) -> Void) throws -> Bool {
        do {
            try connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            defer { if connection.isUsable && connection.transactionStatus != .idle { _ = try? connection.query("ROLLBACK") } }
            guard try monthsBehind(months, connection).isEmpty else { return false }
            let start = LedgerTime(period.start).milliseconds, end = LedgerTime(period.end).milliseconds
            let monthList = PostgresValue.text(Self.textArray(months.map(\.description)))
            // The jobs a row cannot answer for this period: folded out of order; decided in the
            // period with events after the months read; or a decision in the period folded into a
            // job decided before it (the period's fold starts a job there).
            let special = try connection.query("""
                SELECT job_id FROM \(jobsTable) WHERE irregular
                UNION SELECT job_id FROM \(jobsTable) WHERE last_month <> decided_month AND decided_month = ANY($1::text[]) AND last_month > $2
                    AND decided_at >= $3 AND decided_at < $4
                UNION SELECT job_id FROM \(jobsTable) WHERE absorbed_at >= $3 AND decided_at < $3
                """, [monthList, .text(months[months.count - 1].description), .int(start), .int(end)]).rows.map { try $0.decode(String.self, at: 0) }
            let skip = Set(special)
            var ended: [(at: PostgresJobSummary.Position, job: ReportJob)] = []
            var running: [(at: PostgresJobSummary.Position, job: ReportJob)] = []
            var from = 0
            while from < special.count {
                let chunk = Array(special[from..<min(special.count, from + 1_000)])
                from += chunk.count
                for (_, records) in try jobRecords(chunk, months: months, connection) {
                    Self.fold(records, period: period, catalog: catalog, ended: &ended, running: &running)
                }
            }
            ended.sort { $0.at < $1.at }
            running.sort { $0.at < $1.at }

            // Hands on the rows one query selects, page by page in the order of its sequence column,
            // with the folded jobs of `folded` merged in at their positions.
            func merge(_ sql: String, _ folded: [(at: PostgresJobSummary.Position, job: ReportJob)]) throws {
                var next = 0
                for month in months {
                    var after: Int64 = 0
                    while true {
                        let rows = try connection.query(sql, [.text(month.description), .int(after), .int(start), .int(end)]).rows
                        for row in rows {
                            after = try row.decode(Int64.self, at: 0)
                            let at = PostgresJobSummary.Position(month: month, sequence: after)
                            while next < folded.count, folded[next].at < at {
                                body(folded[next].job)
                                next += 1
                            }
                            let fold = try summaryFold(row, at: at)
                            if !skip.contains(fold.jobID) { body(fold.job(catalog: catalog)) }
                        }
                        if rows.count < Self.pageSize { break }
                    }
                }
                for rest in folded[next...] { body(rest.job) }
            }
            try merge("""
                SELECT end_sequence, fold FROM \(jobsTable) WHERE end_month = $1 AND end_sequence > $2 AND fold IS NOT NULL
                    AND decided_at >= $3 AND decided_at < $4 ORDER BY end_sequence LIMIT \(Self.pageSize)
                """, ended)
            try merge("""
                SELECT decided_sequence, fold FROM \(jobsTable) WHERE end_month IS NULL AND decided_month = $1 AND decided_sequence > $2
                    AND fold IS NOT NULL AND decided_at >= $3 AND decided_at < $4 ORDER BY decided_sequence LIMIT \(Self.pageSize)
                """, running)
            try connection.query("COMMIT")
            return true
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError.unreadable(path: pool.configuration.redactedURL, reason: "\(error)")
        }
    }

    /// A row's report fold; a row that does not hold one is a damaged summary.
    private func summaryFold(_ row: PostgresRow, at: PostgresJobSummary.Position) throws -> ReportJobFold {
        guard let bytes = try row.decode([UInt8]?.self, at: 1), let fold = ReportJobFold(encoded: bytes) else {
            throw LedgerError.damaged(file: "\(pool.configuration.redactedURL) table \(jobsTable) (derived: `wanroute ledger migrate` rebuilds it)",
                                      line: Int(at.sequence), reason: "the job summary row of \(at.month) sequence \(at.sequence) is not a job's report fold")
        }
        return fold
    }

    /// One job's events in the report's months through the report fold, each job handed on with
    /// its place: where it ended, or, for one still running, where it was decided.
    static func fold(_ records: [LedgerRecord], period: ReportPeriod, catalog: PriceCatalog,
                     ended: inout [(at: PostgresJobSummary.Position, job: ReportJob)], running: inout [(at: PostgresJobSummary.Position, job: ReportJob)]) {
        var fold = LedgerReportFold(period: period, catalog: catalog)
        var started: PostgresJobSummary.Position?
        for record in records {
            let at = PostgresJobSummary.Position(month: record.event.time.month, sequence: record.sequence)
            // The fold starts a job at a decision in the period when it holds none of this id.
            if started == nil, case .decided = record.event.body, period.contains(record.event.time.date) { started = at }
            fold.apply(record) { job in
                ended.append((at, job))
                started = nil
            }
        }
        fold.finish { job in if let started { running.append((started, job)) } }
    }
}
