import Foundation

extension FileLedgerStore {
    /// Where a report's aggregates would be cached, and what they must match: the query key, and
    /// the identity of every ledger file the report reads. Nil when nothing may be cached (the
    /// builder already holds jobs, the catalog has no digest, or a file's last line cannot be checked).
    func reportCacheTarget(_ builder: MonthlyReportBuilder, catalog: PriceCatalog) throws
        -> (path: String, key: [UInt8], ledger: [ReportCacheFile.FileIdentity])? {
        guard builder.isEmpty, let key = ReportCacheFile.key(builder, catalog: catalog) else { return nil }
        guard let ledger = try reportLedgerIdentity(builder.period) else { return nil }
        return (ReportCacheFile.path(directory: directory, period: builder.period, key: key), key, ledger)
    }

    /// Each month file a report of `period` reads: its size and the line that ends there.
    func reportLedgerIdentity(_ period: ReportPeriod) throws -> [ReportCacheFile.FileIdentity]? {
        let have = Set(try Self.listMonths(directory))
        var out: [ReportCacheFile.FileIdentity] = []
        for m in LedgerReportFold.months(for: period) where have.contains(m) {
            guard let (fd, size, _) = try snapshot(m) else { continue }
            if size == 0 {
                out.append(.init(month: m, size: 0, lastSequence: 0, lastCRC: 0))
                continue
            }
            guard let line = try? LedgerFileScanner.line(endingAt: size, in: fd),
                  let (sequence, crc) = line.withUnsafeBytes({ b -> (Int64, UInt32)? in
                      guard LedgerCodec.verify(b), let env = LedgerCodec.envelope(b) else { return nil }
                      return (env.sequence, LedgerFileScanner.storedCRC(b))
                  }) else { return nil }
            out.append(.init(month: m, size: size, lastSequence: sequence, lastCRC: crc))
        }
        return out
    }

    /// The builder filled from its cache, when one matches the query and the ledger as it is now.
    func cachedReport(_ builder: MonthlyReportBuilder, at target: (path: String, key: [UInt8], ledger: [ReportCacheFile.FileIdentity])) -> MonthlyReportBuilder? {
        guard let bytes = ReportCacheFile.read(target.path) else { return nil }
        return ReportCacheFile.decode(bytes, key: target.key, ledger: target.ledger, into: builder)
    }

    /// Writes the aggregates (best effort: the cache is derived) when the ledger did not change
    /// while they were added up.
    func saveReportCache(_ builder: inout MonthlyReportBuilder, at target: (path: String, key: [UInt8], ledger: [ReportCacheFile.FileIdentity])) {
        guard (try? reportLedgerIdentity(builder.period)) == target.ledger else { return }
        builder.compactTimes()
        try? DurableFiles.makeDirectory(directory + "/summaries")
        try? DurableFiles.replace(target.path, with: ReportCacheFile.encode(builder, key: target.key, ledger: target.ledger), calls: calls)
    }
}
