import Foundation

extension FileLedgerStore {
    /// Where the aggregates of a report with query key `key` are cached: `summaries/report-YYYY-MM-KEY.bin`.
    func reportCachePath(_ period: ReportPeriod, key: [UInt8]) -> String {
        ReportCacheFile.path(directory: directory, period: period, key: key)
    }

    /// The identity of the ledger a report of `period` reads (``ReportCacheFile/identity(_:)``); nil
    /// when a file's last line cannot be checked (no cache is kept then).
    func reportLedgerIdentity(_ period: ReportPeriod) throws -> [UInt8]? {
        try reportLedgerFiles(period).map(ReportCacheFile.identity)
    }

    /// Each month file a report of `period` reads: its size and the line that ends there.
    func reportLedgerFiles(_ period: ReportPeriod) throws -> [ReportCacheFile.FileIdentity]? {
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

    /// Reads a report's cache file, when one is there (the identity is checked inside it).
    func loadReportCache(_ period: ReportPeriod, key: [UInt8]) -> [UInt8]? {
        ReportCacheFile.read(reportCachePath(period, key: key))
    }

    /// Writes a report's cache file (best effort: the cache is derived).
    func saveReportCache(_ period: ReportPeriod, key: [UInt8], bytes: [UInt8]) {
        try? DurableFiles.makeDirectory(directory + "/summaries")
        try? DurableFiles.replace(reportCachePath(period, key: key), with: bytes, calls: calls)
    }
}
