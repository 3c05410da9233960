/// The report cache's steps, shared by every store that keeps one: a report's grouped aggregates
/// (``ReportCacheFile``'s bytes) saved under the report's query key with the identity of the ledger
/// they were added up from, and read back instead of the period's jobs when both still match.
///
/// A store says where the bytes live and what identifies its ledger; the cache stays derived: bytes
/// that do not match (key, identity, checksum, bounds) are ignored and the report added up from the
/// ledger again, a failure to save never fails the report, and the ledger stays the truth.
public enum ReportCache {
    /// Adds every job of `period` to `builder`, from the saved aggregates when they match the query
    /// and the ledger as it is now; else through `add`, then saves them. Only a builder with nothing
    /// added yet, for `period`, and a catalog with a source digest, is served from or saved to a
    /// cache; any other is handed to `add` alone.
    ///
    /// - Parameters:
    ///   - period: The report's period (the builder's).
    ///   - catalog: The pricing tables the jobs are priced with (their digest is part of the key).
    ///   - builder: The report, empty, to add the jobs to.
    ///   - identity: Bytes that change whenever any event the report of `period` reads changes (a
    ///     store's own, compared byte for byte); nil when no cache may be kept. Read before the jobs
    ///     are added up and again after: the aggregates are saved only when nothing changed between.
    ///   - load: The bytes saved under a key (the identity is given so a store may skip bytes saved
    ///     for another); nil when there are none or they cannot be read.
    ///   - save: Keeps bytes under a key with the identity they hold; best effort, never throws.
    ///   - add: Adds every job of `period` to the builder from the ledger.
    /// - Throws: What `identity` (its first reading) or `add` throws; never an error of the cache.
    public static func addReportJobs(in period: ReportPeriod, catalog: PriceCatalog, to builder: inout MonthlyReportBuilder,
                                     identity: () async throws -> [UInt8]?,
                                     load: (_ key: [UInt8], _ identity: [UInt8]) async -> [UInt8]?,
                                     save: (_ key: [UInt8], _ identity: [UInt8], _ bytes: [UInt8]) async -> Void,
                                     add: (inout MonthlyReportBuilder) async throws -> Void) async throws {
        guard builder.isEmpty, builder.period == period, let key = ReportCacheFile.key(builder, catalog: catalog),
              let before = try await identity() else {
            return try await add(&builder)
        }
        if let bytes = await load(key, before), let cached = ReportCacheFile.decode(bytes, key: key, identity: before, into: builder) {
            builder = cached
            return
        }
        var b = builder
        try await add(&b)
        if (try? await identity()) == before {
            b.compactTimes()
            await save(key, before, ReportCacheFile.encode(b, key: key, identity: before))
        }
        builder = b
    }
}
