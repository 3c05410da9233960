import Foundation

/// Copying a ledger into another store (`wanroute ledger import`): from the file ledger to
/// PostgreSQL and back, idempotently.
///
/// A record's key is its month and sequence number, and every store numbers a month from 1 in append
/// order. So an import appends, month by month, the source's records after those the target already
/// holds: the target numbers them exactly as the source did. The records the target holds must be the
/// source's first ones, equal event for event; otherwise the two ledgers have diverged and the month
/// is refused. Importing twice adds nothing; an import cut short is finished by running it again.
public enum LedgerImport {
    /// Events appended per call (one transaction, or one write and sync).
    static let batchSize = 1_000

    /// Why a month could not be imported.
    public struct Conflict: Error, Sendable, Equatable, CustomStringConvertible {
        /// The month concerned.
        public var month: LedgerMonth
        /// The first sequence number at which the ledgers differ.
        public var sequence: Int64
        /// What differs.
        public var reason: String

        /// The problem and what to do.
        public var description: String {
            "month \(month), event \(sequence): \(reason); nothing more was imported into that month. Import into an empty ledger, or into one that holds only an earlier import of the same ledger"
        }
    }

    /// What an import did to one month.
    public struct MonthResult: Sendable, Equatable {
        /// The month.
        public var month: LedgerMonth
        /// Events appended.
        public var added: Int
        /// Events the target already held.
        public var present: Int
    }

    /// Parses JSON Lines ledger lines (the file ledger's format), verifying every checksum, and groups
    /// the records by month. Each month's sequence numbers must run 1, 2, 3… in the order given, so a
    /// source is always a whole ledger's month or its beginning. A damaged line is refused with the
    /// file and line number.
    public static func records(_ bytes: [UInt8], file: String) throws -> [LedgerMonth: [LedgerRecord]] {
        var months: [LedgerMonth: [LedgerRecord]] = [:]
        // One reader per month: each month's lines are one ledger file's, in its order.
        var readers: [LedgerMonth: LedgerLineReader] = [:]
        var start = 0
        var line = 0
        while start < bytes.count {
            line += 1
            guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                throw LedgerError.damaged(file: file, line: line, reason: "the last line has no final newline (a torn or truncated copy)")
            }
            if end - start > ledgerMaximumLineBytes {
                throw LedgerError.damaged(file: file, line: line, reason: "a line longer than \(ledgerMaximumLineBytes) bytes")
            }
            let record: LedgerRecord
            do {
                let (decoded, gaps) = try bytes[start..<end].withUnsafeBytes { try LedgerCodec.decodeLine($0) }
                let held = months[decoded.event.time.month] ?? []
                // Sequence numbers run from 1 without gaps (checked below): line N is record N - 1.
                record = try readers[decoded.event.time.month, default: LedgerLineReader()].resolve(decoded, gaps: gaps) { n in
                    n >= 1 && n <= held.count ? held[Int(n - 1)] : nil
                }
            } catch {
                throw LedgerError.damaged(file: file, line: line, reason: "\(error)")
            }
            let month = record.event.time.month
            let expected = Int64(months[month]?.count ?? 0) + 1
            guard record.sequence == expected else {
                throw LedgerError.damaged(file: file, line: line, reason: "event \(record.sequence) of \(month) where \(expected) was due (a ledger's months run from 1 without gaps)")
            }
            months[month, default: []].append(record)
            start = end + 1
        }
        return months
    }

    /// Appends to `store` the records of `month` it lacks (see ``LedgerImport``). `records` run from
    /// sequence 1 without gaps, as ``records(_:file:)`` returns them. Run it while nothing else writes
    /// that month of `store`: an event appended meanwhile makes the numbering differ, which is
    /// reported as a ``Conflict``.
    public static func apply(_ records: [LedgerRecord], month: LedgerMonth, to store: any LedgerStore) async throws -> MonthResult {
        var held = 0
        var difference: (Int64, String)?
        if try await store.months().contains(month) {
            try await store.forEachRecord(in: month) { existing in
                guard difference == nil else { return }
                held += 1
                if held > records.count { return }
                if existing != records[held - 1] { difference = (existing.sequence, "the target holds a different event here (job \(existing.event.jobID), not \(records[held - 1].event.jobID))") }
            }
        }
        if let (sequence, reason) = difference { throw Conflict(month: month, sequence: sequence, reason: reason) }
        var next = held
        while next < records.count {
            let batch = Array(records[next..<min(next + batchSize, records.count)])
            let written = try await store.append(batch.map(\.event))
            if let mismatch = zip(written, batch).first(where: { $0.sequence != $1.sequence }) {
                throw Conflict(month: month, sequence: mismatch.1.sequence,
                               reason: "the target numbered it \(mismatch.0.sequence): another process wrote to the month during the import")
            }
            next += batch.count
        }
        return MonthResult(month: month, added: records.count - min(held, records.count), present: min(held, records.count))
    }
}
