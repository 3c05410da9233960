import Foundation
import WanRoute

/// The report cache in PostgreSQL: `wanroute_report_cache`, one row per report query (month, zone,
/// group-by, budgets, pricing tables) holding the report's grouped aggregates, so that the same
/// report again reads one short row instead of a row per job. The bytes are the file store's
/// (``ReportCache``); the ledger's identity is, per UTC month the report reads, its last event's
/// sequence and line digest. Derived: a row that does not match is ignored and written anew,
/// and the table may be emptied at any time.
enum PostgresReportCache {
    /// Migration 3: the report cache.
    static let migration = PostgresMigration(version: 3, summary: "report cache: a report's grouped aggregates, derived", statements: [
        """
        CREATE TABLE wanroute_report_cache (
            key bytea PRIMARY KEY,
            period text NOT NULL,
            identity bytea NOT NULL,
            body bytea NOT NULL,
            saved_at timestamptz NOT NULL DEFAULT now()
        )
        """,
    ])

    /// The most bytes a row's body may hold to be read (a cache holds groups and time runs, not jobs).
    static let maximumBytes: Int64 = 64 << 20
}

extension PostgresLedgerStore {
    /// Adds every job decided in `period` to `builder`: from the report cache when a row for the same
    /// query holds the ledger's identity as it is now; else from the job summary
    /// (``forEachReportJob(in:catalog:_:)``), and the aggregates saved for the next report.
    public func addReportJobs(in period: ReportPeriod, catalog: PriceCatalog, to builder: inout MonthlyReportBuilder) async throws {
        try await ReportCache.addReportJobs(
            in: period, catalog: catalog, to: &builder, identity: { try? await reportLedgerIdentity(period) },
            load: { key, identity in await loadReportCache(key: key, identity: identity) },
            save: { key, identity, bytes in await saveReportCache(period, key: key, identity: identity, bytes: bytes) },
            add: { builder in
                var b = builder
                try await forEachReportJob(in: period, catalog: catalog) { b.add($0) }
                builder = b
            })
    }

    /// The identity of the events a report of `period` reads: the count of months, then per UTC
    /// month (``LedgerReportFold/months(for:)``) its number (YYYYMM) and its last event's sequence
    /// (little-endian), and that event's line's SHA-256 (zeros for a month without events); one probe of
    /// the primary key's end per month, in one round trip.
    ///
    /// That is enough because the events are only ever appended: a trigger refuses UPDATE, DELETE
    /// and TRUNCATE, and a month's numbers are given in order and committed under its lock, so a
    /// month visible to a reader always holds sequences 1 to its last, and every event added
    /// changes the last sequence. The line's digest catches what would need that trigger switched
    /// off: a last event removed and another written with its number. (A count of the month's
    /// events was the first choice: it reads the whole primary key of the month, over a second for
    /// a 1,000,000-job month, where this takes well under a millisecond.)
    func reportLedgerIdentity(_ period: ReportPeriod) async throws -> [UInt8] {
        let months = LedgerReportFold.months(for: period)
        let lasts = try await read { [table] connection in
            try connection.pipeline(months.map {
                ("SELECT sequence, sha256(convert_to(line, 'UTF8')) FROM \(table) WHERE month = $1 ORDER BY sequence DESC LIMIT 1", [.text($0.description)])
            }).map { result -> (Int64, [UInt8]) in
                guard let row = result.rows.first else { return (0, Array(repeating: 0, count: 32)) }
                return (try row.decode(Int64.self, at: 0), try row.decode([UInt8].self, at: 1))
            }
        }
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        append(UInt32(months.count))
        for (month, (sequence, digest)) in zip(months, lasts) {
            append(Int64(month.year) * 100 + Int64(month.month))
            append(sequence)
            bytes += digest
        }
        return bytes
    }

    /// The saved aggregates of the query `key` when saved over `identity` and no larger than a cache
    /// can be; nil otherwise, or when the row cannot be read (a schema before migration 3, say).
    func loadReportCache(key: [UInt8], identity: [UInt8]) async -> [UInt8]? {
        try? await read { [reportCacheTable] connection in
            try connection.query("SELECT body FROM \(reportCacheTable) WHERE key = $1 AND identity = $2 AND octet_length(body) <= $3",
                                 [.bytes(key), .bytes(identity), .int(PostgresReportCache.maximumBytes)])
                .rows.first?.decode([UInt8].self, at: 0)
        }
    }

    /// Saves the aggregates of the query `key` over `identity`, replacing what the query had; best
    /// effort (a role that may not write the table, or a schema before migration 3, only adds the
    /// report up again next time).
    func saveReportCache(_ period: ReportPeriod, key: [UInt8], identity: [UInt8], bytes: [UInt8]) async {
        _ = try? await read { [reportCacheTable] connection in
            try connection.query("""
                INSERT INTO \(reportCacheTable) (key, period, identity, body) VALUES ($1, $2, $3, $4)
                ON CONFLICT (key) DO UPDATE SET period = EXCLUDED.period, identity = EXCLUDED.identity, body = EXCLUDED.body, saved_at = now()
                """, [.bytes(key), .text("\(period.label) \(period.timeZone.identifier)"), .bytes(identity), .bytes(bytes)]).commandTag
        }
    }
}
