import Foundation
import WanRoute

/// The job summary in PostgreSQL: `wanroute_ledger_jobs`, one row per job the ledger's events
/// decide, holding the job's report fold (``ReportJobFold``, as bytes) and where it stands, so that
/// `report`, `reconcile`, `whatif` and `resume` read one short row per job instead of every event.
/// It is derived: the events table stays the record, and the summary can always be rebuilt from it.
///
/// - Kept current in the same transaction as the events it summarises: each group commit folds its
///   batch per job (the rows of the batch's jobs are read under the locks) and upserts one row per
///   job touched, before COMMIT.
/// - `wanroute_ledger_job_coverage` records, per UTC month, the last sequence folded. A month is
///   summarised when that equals the month's highest sequence. Events written without the summary
///   (by an older wanroute, or before migration 2) leave their month behind: writers then leave it
///   alone, and the next reader (or `ledger migrate`) folds the events after the coverage, a page
///   per transaction, before it trusts the month.
/// - The rows fold events in the order they were written. Where that can differ from the ledger's
///   order within a report's months, the job is marked or found (`irregular`: an event came after a
///   later one of its job; a decision folded into a job decided before the report's period; a job
///   with events after the months a report reads) and a report folds that job from its own events.
enum PostgresJobSummary {
    /// The summary's columns, in the order ``JobRow`` reads and writes them.
    static let columns = "job_id, decided_month, decided_sequence, decided_at, end_month, end_sequence, last_month, last_sequence, open, reopened, irregular, absorbed_at, fold"

    /// Migration 2: the job table, its coverage and their indexes.
    static let migration = PostgresMigration(version: 2, summary: "job summary: one report fold per job, kept with the events; budget checkpoints", statements: [
        """
        CREATE TABLE wanroute_ledger_jobs (
            job_id text NOT NULL,
            decided_month text NOT NULL,
            decided_sequence int8 NOT NULL,
            decided_at int8 NOT NULL,
            end_month text,
            end_sequence int8,
            last_month text NOT NULL,
            last_sequence int8 NOT NULL,
            open boolean NOT NULL,
            reopened boolean NOT NULL,
            irregular boolean NOT NULL,
            absorbed_at int8,
            fold bytea,
            PRIMARY KEY (decided_month, decided_sequence)
        )
        """,
        "CREATE INDEX wanroute_ledger_jobs_job ON wanroute_ledger_jobs (job_id, decided_month, decided_sequence)",
        "CREATE INDEX wanroute_ledger_jobs_end ON wanroute_ledger_jobs (end_month, end_sequence)",
        "CREATE INDEX wanroute_ledger_jobs_pending ON wanroute_ledger_jobs (decided_month, decided_sequence) WHERE end_month IS NULL",
        "CREATE INDEX wanroute_ledger_jobs_open ON wanroute_ledger_jobs (job_id) WHERE open",
        "CREATE INDEX wanroute_ledger_jobs_irregular ON wanroute_ledger_jobs (job_id) WHERE irregular",
        "CREATE INDEX wanroute_ledger_jobs_absorbed ON wanroute_ledger_jobs (absorbed_at) WHERE absorbed_at IS NOT NULL",
        "CREATE INDEX wanroute_ledger_jobs_crossing ON wanroute_ledger_jobs (decided_month, last_month) WHERE last_month <> decided_month",
        "CREATE TABLE wanroute_ledger_job_coverage (month text PRIMARY KEY CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'), last_sequence int8 NOT NULL)",
        // A budget month's tally as a reader last folded it, and the last sequence folded per UTC month.
        """
        CREATE TABLE wanroute_ledger_budget_checkpoints (
            budget_month text NOT NULL, zone text NOT NULL, folded text NOT NULL, events int8 NOT NULL, tally bytea NOT NULL,
            PRIMARY KEY (budget_month, zone)
        )
        """,
    ])

    /// A place in the ledger: month, then sequence.
    struct Position: Comparable, Hashable {
        var month: LedgerMonth
        var sequence: Int64

        static func < (a: Position, b: Position) -> Bool { (a.month, a.sequence) < (b.month, b.sequence) }
    }

    /// One row of `wanroute_ledger_jobs`.
    struct JobRow {
        var jobID: String
        /// The event that made the row: the job's decision, or its first event when none came first.
        var decided: Position
        /// That event's time, in milliseconds.
        var decidedAt: Int64
        /// The event at which the report fold ended the job; nil while it runs.
        var end: Position?
        /// The latest event of the job folded into or after this row.
        var last: Position
        /// An event after the end reserved or submitted again: the job may be open.
        var reopened = false
        /// The job's events were not folded in ledger order: reports fold it from its events.
        var irregular = false
        /// The latest decision folded into the job after its first, in milliseconds.
        var absorbedAt: Int64?
        /// The report fold; nil for events of a job never decided.
        var fold: ReportJobFold?

        /// Whether the job may not be finished (``LedgerStore/openJobs()`` folds every such job's events to know).
        var open: Bool { fold.map { !$0.ended || $0.reservedNanos != 0 || reopened } ?? true }

        /// Reads a row selected with ``PostgresJobSummary/columns``.
        init(_ row: PostgresRow) throws {
            jobID = try row.decode(String.self, at: 0)
            decided = Position(month: try Self.month(row, 1), sequence: try row.decode(Int64.self, at: 2))
            decidedAt = try row.decode(Int64.self, at: 3)
            if let m = try row.decode(String?.self, at: 4) {
                guard let month = LedgerMonth(m) else { throw PostgresError.decoding(column: "end_month", reason: "not a month") }
                end = Position(month: month, sequence: try row.decode(Int64.self, at: 5))
            }
            last = Position(month: try Self.month(row, 6), sequence: try row.decode(Int64.self, at: 7))
            reopened = try row.decode(Bool.self, at: 9)
            irregular = try row.decode(Bool.self, at: 10)
            absorbedAt = try row.decode(Int64?.self, at: 11)
            if let bytes = try row.decode([UInt8]?.self, at: 12) {
                guard let f = ReportJobFold(encoded: bytes), f.jobID == jobID else { throw PostgresError.decoding(column: "fold", reason: "not a job's report fold") }
                fold = f
            }
        }

        init(jobID: String, decided: Position, decidedAt: Int64, fold: ReportJobFold?) {
            self.jobID = jobID
            self.decided = decided
            self.decidedAt = decidedAt
            self.fold = fold
            self.last = decided
            if fold.map(\.ended) ?? true { end = decided }
        }

        static func month(_ row: PostgresRow, _ index: Int) throws -> LedgerMonth {
            guard let m = LedgerMonth(try row.decode(String.self, at: index)) else { throw PostgresError.decoding(column: "#\(index)", reason: "not a month") }
            return m
        }

        var parameters: [PostgresValue] {
            [.text(jobID), .text(decided.month.description), .int(decided.sequence), .int(decidedAt),
             end.map { .text($0.month.description) } ?? .null, end.map { .int($0.sequence) } ?? .null,
             .text(last.month.description), .int(last.sequence), .bool(open), .bool(reopened), .bool(irregular),
             absorbedAt.map { .int($0) } ?? .null, fold.map { .bytes($0.encoded()) } ?? .null]
        }
    }

    /// Folds records (in the order written) into the rows of their jobs: `latest` holds each job's
    /// newest row (by the event that made it) and is updated; every row changed is in `changed`.
    static func fold(_ records: [LedgerRecord], latest: inout [String: JobRow], changed: inout [Position: JobRow]) {
        for record in records {
            let event = record.event
            let at = Position(month: event.time.month, sequence: record.sequence)
            var row: JobRow
            let disorder = latest[event.jobID].map { at < $0.last } ?? false
            if var current = latest[event.jobID], var f = current.fold, !f.ended {
                if case .decided = event.body { current.absorbedAt = max(current.absorbedAt ?? .min, event.time.milliseconds) }
                f.apply(event)
                if f.ended { current.end = at }
                current.fold = f
                row = current
            } else if let started = ReportJobFold(decided: event) {
                row = JobRow(jobID: event.jobID, decided: at, decidedAt: event.time.milliseconds, fold: started)
            } else if var current = latest[event.jobID] {
                if var f = current.fold {
                    f.applyAfterEnd(event)
                    current.fold = f
                    if event.type == .reserved || event.type == .submitIntent { current.reopened = true }
                }
                row = current
            } else {
                row = JobRow(jobID: event.jobID, decided: at, decidedAt: event.time.milliseconds, fold: nil)
            }
            row.last = max(row.last, at)
            if disorder { row.irregular = true }
            latest[event.jobID] = row
            changed[row.decided] = row
        }
    }

    /// Each named job's newest row (the statement; read the result with ``latestRows(_:)``).
    static func latestRowsStatement(_ jobs: String, _ ids: [String]) -> (sql: String, parameters: [PostgresValue]) {
        ("SELECT DISTINCT ON (job_id) \(columns) FROM \(jobs) WHERE job_id = ANY($1::text[]) ORDER BY job_id, decided_month DESC, decided_sequence DESC",
         [.text(PostgresLedgerStore.textArray(ids))])
    }

    static func latestRows(_ result: PostgresQueryResult) throws -> [String: JobRow] {
        var rows: [String: JobRow] = [:]
        for r in result.rows {
            let row = try JobRow(r)
            rows[row.jobID] = row
        }
        return rows
    }

    /// Upserts of the changed rows (a multi-row INSERT … ON CONFLICT per ``rowsPerStatement``).
    static func upserts(_ jobs: String, _ rows: [JobRow]) -> [(sql: String, parameters: [PostgresValue])] {
        var statements: [(sql: String, parameters: [PostgresValue])] = []
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(rows.count, start + rowsPerStatement)]
            var values: [String] = []
            var parameters: [PostgresValue] = []
            for row in chunk {
                let n = parameters.count
                values.append("(" + (1...13).map { "$\(n + $0)" }.joined(separator: ", ") + ")")
                parameters += row.parameters
            }
            statements.append(("""
                INSERT INTO \(jobs) (\(columns)) VALUES \(values.joined(separator: ", "))
                ON CONFLICT (decided_month, decided_sequence) DO UPDATE SET job_id = EXCLUDED.job_id, decided_at = EXCLUDED.decided_at,
                    end_month = EXCLUDED.end_month, end_sequence = EXCLUDED.end_sequence, last_month = EXCLUDED.last_month,
                    last_sequence = EXCLUDED.last_sequence, open = EXCLUDED.open, reopened = EXCLUDED.reopened, irregular = EXCLUDED.irregular,
                    absorbed_at = EXCLUDED.absorbed_at, fold = EXCLUDED.fold
                """, parameters))
            start += chunk.count
        }
        return statements
    }

    /// Rows per upsert statement (13 parameters each; the protocol allows 65,535).
    static let rowsPerStatement = 500

    /// Sets a month's coverage to `sequence`.
    static func coverageStatement(_ coverage: String, _ month: LedgerMonth, _ sequence: Int64) -> (sql: String, parameters: [PostgresValue]) {
        ("INSERT INTO \(coverage) (month, last_sequence) VALUES ($1, $2) ON CONFLICT (month) DO UPDATE SET last_sequence = EXCLUDED.last_sequence",
         [.text(month.description), .int(sequence)])
    }
}
