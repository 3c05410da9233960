import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One ledger file's job summary in a file store: the live fold (when this process has loaded or
/// built it) and how much has been folded since it was last written.
final class JobSummaryCache: @unchecked Sendable {
    /// A writer folds its own appends only into a summary it could load, or into a month file
    /// smaller than this (building a big month's summary is left to the next report).
    static let writerBuildLimit: Int64 = 64 << 20

    let month: LedgerMonth
    let path: String
    private let lock = NSLock()
    var fold: JobSummaryFold?
    var foldedSinceSave: Int64 = 0
    /// Folded from nothing and never written.
    var unsaved = false
    /// The summary file did not match the ledger in a way its header could not show: rebuild.
    var distrustFile = false
    /// Whether the writer has decided to keep this month's summary current.
    var writerChecked = false
    /// The id index of the first `rows` rows of ``fold``.
    var index: (rows: Int, table: [UInt32])?

    init(month: LedgerMonth, directory: String) {
        self.month = month
        self.path = JobSummaryFile.path(directory: directory, month: month)
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Ledger bytes a writer may leave unsummarized when it ends rather than write the whole
    /// summary again (213 MB for a million jobs): the next reader folds them in about 0.15 s.
    static let shortTail: Int64 = 4 << 20

    /// Whether what was folded since the summary was written is a short tail (under
    /// ``shortTail`` and under an eighth of the file), cheaper to fold again than to write.
    var onlyShortTail: Bool {
        guard let f = fold, !unsaved else { return false }
        return foldedSinceSave < min(Self.shortTail, f.summary.coverage.offset / 8)
    }

    /// Writes the summary (best effort: it is derived, and rebuilt when missing or wrong).
    func save() {
        guard let f = fold, !f.unusable, foldedSinceSave > 0 || unsaved else { return }
        try? DurableFiles.makeDirectory((path as NSString).deletingLastPathComponent)
        if (try? DurableFiles.replace(path, with: JobSummaryFile.encode(f.snapshot))) != nil {
            foldedSinceSave = 0
            unsaved = false
            distrustFile = false
        }
    }
}

/// Something in a job summary did not hold against the ledger: rebuild it.
struct JobSummaryMismatch: Error {}

extension FileLedgerStore {
    func jobSummaryCache(_ m: LedgerMonth) -> JobSummaryCache {
        summaryState.withLock {
            if let c = jobSummaries[m] { return c }
            let c = JobSummaryCache(month: m, directory: directory)
            jobSummaries[m] = c
            return c
        }
    }

    /// Whether the summary's coverage is a prefix of the ledger file: the line ending at its
    /// offset carries its sequence number and checksum.
    static func coverageHolds(_ c: BudgetCache.Coverage, _ fd: FileDescriptor, size: Int64) -> Bool {
        if c.offset == 0 { return c.lines == 0 }
        guard size >= c.offset, let line = try? LedgerFileScanner.line(endingAt: c.offset, in: fd) else { return false }
        return line.withUnsafeBytes { LedgerCodec.verify($0) && LedgerFileScanner.storedCRC($0) == c.lastCRC && LedgerCodec.envelope($0)?.sequence == c.lastSequence }
    }

    /// The record of the complete line that starts at `offset`, checked and read by `reader` (each
    /// job's lines of a file handed to one reader in file order); nil when there is none.
    static func record(at offset: Int64, in fd: FileDescriptor, reader: inout LedgerLineReader) -> LedgerRecord? {
        var window = 1024
        while true {
            guard let bytes = try? fd.read(at: offset, count: window) else { return nil }
            if let nl = bytes.firstIndex(of: UInt8(ascii: "\n")) {
                return bytes[..<nl].withUnsafeBytes { b -> LedgerRecord? in
                    guard LedgerCodec.verify(b) else { return nil }
                    return try? reader.decode(b) { LedgerFileScanner.record(withSequence: $0, in: fd) }
                }
            }
            if bytes.count < window || window > ledgerMaximumLineBytes { return nil }
            window *= 4
        }
    }

    /// Loads a summary file with its heap and continues its pending jobs; nil when it does not
    /// match the ledger file.
    func loadFold(_ cache: JobSummaryCache, _ fd: FileDescriptor, size: Int64) -> JobSummaryFold? {
        guard !cache.distrustFile, let opened = JobSummaryFile.open(cache.path, month: cache.month, calls: POSIXSystemCalls()),
              Self.coverageHolds(opened.coverage, fd, size: size) else { return nil }
        return loadFold(opened, fd, heap: true)
    }

    /// Loads an opened summary (with or without its heap) and continues its pending jobs; nil when
    /// it does not match the ledger file. Without the heap (and then without the ids, unless `ids`)
    /// the fold can only be read, never written: its new rows' ids and events are not where a
    /// summary file keeps them.
    func loadFold(_ opened: JobSummaryFile.Opened, _ fd: FileDescriptor, heap: Bool, ids: Bool = false, rowsRoom: Int = 0) -> JobSummaryFold? {
        guard var s = JobSummaryFile.load(opened, heap: heap, ids: ids, rowsRoom: rowsRoom) else { return nil }
        let pending = s.pending
        s.pending = []
        s.index = []   // the fold adds rows; the index is built again when needed
        let rows = s.rowCount, foreign = s.foreign.count
        var fold = JobSummaryFold(month: opened.month)
        swap(&fold.summary, &s)   // the fold's rows referenced once: appending must not copy them
        // The reader reads on from the coverage, so it is fed the skipped lines too: an acceptance
        // after it may take its provider from an intent among them (a job of an earlier month).
        // They precede any pending job's lines of the same job, whose decision starts anew.
        for o in fold.summary.foreign {
            guard Self.record(at: o, in: fd, reader: &fold.reader) != nil else { return nil }
        }
        for offsets in pending {
            for o in offsets {
                guard let r = Self.record(at: o, in: fd, reader: &fold.reader) else { return nil }
                fold.apply(r, at: o)
            }
        }
        guard fold.partial.count == pending.count, fold.summary.rowCount == rows, fold.summary.foreign.count == foreign else { return nil }
        return fold
    }

    /// Folds the month file's lines after the fold's coverage, up to `size`.
    func catchUp(_ cache: JobSummaryCache, _ fold: inout JobSummaryFold, _ fd: FileDescriptor, size: Int64) throws {
        let c = fold.summary.coverage
        guard size > c.offset else { return }
        let path = directory + "/" + Self.fileName(cache.month)
        let end: LedgerFileScanner.End
        do {
            end = try LedgerFileScanner.scan(fd, name: path, from: c.offset, to: size, firstLine: c.lines + 1) { line, number, after in
                let record: LedgerRecord
                do throws(LedgerLineError) {
                    // The fold may start mid-file: a `ctx` before it is read by its sequence number.
                    record = try fold.reader.decode(line) { LedgerFileScanner.record(withSequence: $0, in: fd) }
                } catch {
                    throw LedgerError.damaged(file: path, line: number, reason: error.description)
                }
                fold.apply(record, at: after - Int64(line.count) - 1)
            }
        } catch let e as SystemCallError {
            throw LedgerError.unreadable(path: path, reason: e.description)
        }
        if let last = end.last { fold.covered(to: end.offset, lines: end.lines, sequence: last.sequence, crc: last.crc) }
        cache.foldedSinceSave += end.offset - c.offset
    }

    /// The month's job summary, caught up with every complete line of its file; nil when the month
    /// has no file. `heap` asks for the job and task ids and the events' offsets too; `ids` for the
    /// ids alone.
    func jobSummary(_ m: LedgerMonth, heap: Bool, ids: Bool = false) throws -> (JobSummary, FileDescriptor)? {
        guard let (fd, size, _) = try snapshot(m) else { return nil }
        let cache = jobSummaryCache(m)
        return try cache.withLock {
            if cache.fold == nil, !heap, !cache.distrustFile,
               let opened = JobSummaryFile.open(cache.path, month: m, calls: POSIXSystemCalls()),
               Self.coverageHolds(opened.coverage, fd, size: size) {
                let tail = size - opened.coverage.offset
                if tail == 0, let s = JobSummaryFile.load(opened, heap: false, ids: ids) {
                    // Current and checked: read as it is, without the ids a report does not need.
                    return (s, fd)
                }
                // Behind by less than would be written back below (the short tail a small run
                // leaves): its lines are folded into the rows read without the ids and offsets
                // (a million-job month's 374 MiB with them, against about 160), and nothing is
                // kept or written. A job ends in at most one row per line, 50 bytes at the least.
                if tail > 0, tail < Self.jobSummaryRewrite(opened.coverage.offset),
                   var fold = loadFold(opened, fd, heap: false, ids: ids, rowsRoom: Int(tail / 50)) {
                    let folded = cache.foldedSinceSave
                    try catchUp(cache, &fold, fd, size: size)
                    cache.foldedSinceSave = folded
                    if fold.unusable { throw JobSummaryMismatch() }
                    return (fold.snapshot, fd)
                }
            }
            var fold = cache.fold ?? loadFold(cache, fd, size: size) ?? {
                cache.unsaved = true   // new: write it even when the month is empty
                return JobSummaryFold(month: m)
            }()
            if fold.summary.coverage.offset > size {
                fold = JobSummaryFold(month: m)
                cache.unsaved = true
            }
            try catchUp(cache, &fold, fd, size: size)
            cache.fold = fold
            if fold.unusable { throw JobSummaryMismatch() }
            // A short tail is cheaper to fold again next time than the whole summary is to write.
            if cache.unsaved || cache.foldedSinceSave >= Self.jobSummaryRewrite(fold.summary.coverage.offset) { cache.save() }
            return (fold.snapshot, fd)
        }
    }

    /// Ledger bytes folded past a summary that covers `covered` bytes before a reader writes it
    /// again: fewer are folded again by each reader instead.
    static func jobSummaryRewrite(_ covered: Int64) -> Int64 { max(256 << 10, covered / 32) }

    /// Forgets a summary that did not hold, so the next read builds it from the ledger.
    func distrust(_ m: LedgerMonth) {
        let cache = jobSummaryCache(m)
        cache.withLock {
            cache.fold = nil
            cache.distrustFile = true
            cache.unsaved = true
        }
    }

    // MARK: the writer

    /// After a durable append: folds the records just written into the month's summary when it is
    /// kept current in this process (no decoding: the store has the values). When another process
    /// wrote in between, its lines are folded from the file first.
    func foldAppended(_ month: LedgerMonth, _ records: [LedgerRecord], lineStarts: [Int64], end: Int64, lastCRC: UInt32,
                      file: FileDescriptor) {
        let cache = jobSummaryCache(month)
        cache.withLock {
            let start = lineStarts.first ?? end
            if !cache.writerChecked {
                cache.writerChecked = true
                if cache.fold == nil {
                    cache.fold = loadFold(cache, file, size: start)
                    if cache.fold == nil, start <= JobSummaryCache.writerBuildLimit {
                        cache.fold = JobSummaryFold(month: month)
                        cache.unsaved = true
                    }
                }
            }
            guard var fold = cache.fold else { return }
            do {
                if fold.summary.coverage.offset != start { try catchUp(cache, &fold, file, size: start) }
            } catch {
                cache.fold = nil
                return
            }
            guard fold.summary.coverage.offset == start else {
                cache.fold = nil
                return
            }
            for (r, at) in zip(records, lineStarts) { fold.apply(r, at: at) }
            if let last = records.last {
                fold.covered(to: end, lines: fold.summary.coverage.lines + records.count, sequence: last.sequence, crc: lastCRC)
            }
            cache.foldedSinceSave += end - start
            cache.fold = fold
            // Written again each time the file has grown by half (and at least 4 MiB) since: a
            // month's summaries cost about twice its final size to write, whatever the batches.
            if cache.foldedSinceSave >= max(4 << 20, end / 2) { cache.save() }
        }
    }

    /// Writes the job summaries this process has folded into and not yet written; with
    /// `keepingShortTails`, not those with only a short tail new (``JobSummaryCache/onlyShortTail``).
    func saveJobSummaries(keepingShortTails: Bool) {
        let caches = summaryState.withLock { Array(jobSummaries.values) }
        for c in caches {
            c.withLock {
                if keepingShortTails, c.onlyShortTail { return }
                c.save()
            }
        }
    }

    // MARK: reading jobs

    /// Every job decided in `period`, from the months' summaries: rows to `row` (or, materialized,
    /// to `job`), and the rest through the report fold, in the order the ledger's fold ends them.
    ///
    /// The fold takes, in ledger order between the rows, the events of the jobs in flight at a
    /// month's end (and the next months' events of those jobs), and every event of a job whose row
    /// cannot answer for the period: one decided more than once (``JobSummary/Flag/irregular``: the
    /// period may start between its decisions) or decided again while a job of its id was carried
    /// from an earlier month. Both are rare, so few events are read.
    func foldReportJobs(_ period: ReportPeriod, catalog: PriceCatalog, materialize: Bool, ids: Bool = false,
                        row: (JobSummary, JobSummary.Row) -> Void, job: (ReportJob) -> Void) throws {
        let have = Set(try Self.listMonths(directory))
        let months = LedgerReportFold.months(for: period).filter { have.contains($0) }
        let first = period.boundaries[0], last = period.boundaries[period.boundaries.count - 1]
        // Everything that can fail is read before the first job is handed on, so a summary that
        // does not hold is rebuilt before anything was counted.
        var loaded: [(summary: JobSummary, folded: [Int], records: [(offset: Int64, record: LedgerRecord)])] = []
        var carried: Set<String> = []
        for m in months {
            let heap = materialize || !carried.isEmpty
            guard var (s, fd) = try jobSummary(m, heap: heap, ids: ids) else { continue }
            func irregularRows() -> [Int] {
                s.rows.withUnsafeBytes { all in
                    (0..<s.rowCount).filter { all[$0 * JobSummary.rowSize + JobSummary.Field.flags] & JobSummary.Flag.irregular != 0 }
                }
            }
            var irregular = irregularRows()
            if !irregular.isEmpty, !heap {
                // Their lines are found through the events' offsets, read only with the heap.
                guard let withEvents = try jobSummary(m, heap: true) else { throw JobSummaryMismatch() }
                (s, fd) = withEvents
                irregular = irregularRows()
            }
            var folded = Set(irregular)
            var offsets: [Int64] = []
            if !carried.isEmpty {
                offsets += s.foreign
                var indexed = s
                indexed.index = index(of: s)
                for id in carried { folded.formUnion(indexed.rows(of: id)) }
            }
            for i in folded {
                let (start, count) = s.withRow(i) { ($0.eventsStart, $0.eventCount) }
                guard start <= s.events.count - count else { throw JobSummaryMismatch() }
                offsets += s.events[start..<(start + count)]
            }
            for job in s.pending { offsets += job }
            // Read in file order, as the lines were written (a line may take its offer from an earlier one).
            offsets.sort()
            var reader = LedgerLineReader()
            var records: [(offset: Int64, record: LedgerRecord)] = []
            records.reserveCapacity(offsets.count)
            for o in offsets {
                guard let r = Self.record(at: o, in: fd, reader: &reader) else { throw JobSummaryMismatch() }
                records.append((o, r))
            }
            let pendingStarts = Set(s.pending.map { $0[0] })
            for (o, r) in records where pendingStarts.contains(o) { carried.insert(r.event.jobID) }
            loaded.append((s, folded.sorted(), records))
        }
        var fold = LedgerReportFold(period: period, catalog: catalog)
        for (s, folded, records) in loaded {
            var next = 0, nextFolded = 0
            func apply(before end: Int64) {
                while next < records.count, records[next].offset < end {
                    fold.apply(records[next].record, emit: job)
                    next += 1
                }
            }
            s.rows.withUnsafeBytes { all in
                for i in 0..<s.rowCount {
                    let r = JobSummary.Row(base: all.baseAddress! + i * JobSummary.rowSize)
                    apply(before: r.endOffset)
                    if nextFolded < folded.count, folded[nextFolded] == i {
                        nextFolded += 1
                        continue  // its events are among the records: the fold ends it in its place
                    }
                    let ms = r.decidedAt
                    let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
                    guard seconds >= first, seconds < last else { continue }
                    if materialize, let j = s.job(r, catalog: catalog) {
                        job(j)
                    } else if !materialize {
                        row(s, r)
                    }
                }
            }
            apply(before: .max)
        }
        fold.finish(job)
    }

    /// Runs `body` over the summaries; when one does not hold against the ledger, rebuilds the
    /// period's summaries from the ledger and runs it again. False when it still cannot run (a
    /// job too large for a row): the caller folds the records instead.
    func withSummaries(_ period: ReportPeriod, _ body: () throws -> Void) throws -> Bool {
        do {
            try body()
            return true
        } catch is JobSummaryMismatch {
            for m in LedgerReportFold.months(for: period) { distrust(m) }
        }
        do {
            try body()
            return true
        } catch is JobSummaryMismatch {
            return false
        }
    }
}

extension FileLedgerStore {
    /// Every job decided in `period`, from the months' job summaries (built or brought up to date
    /// from the ledger first, and rebuilt when they do not hold against it).
    public func forEachReportJob(in period: ReportPeriod, catalog: PriceCatalog, _ body: (ReportJob) -> Void) async throws {
        if try withSummaries(period, { try foldReportJobs(period, catalog: catalog, materialize: true, row: { _, _ in }, job: body) }) { return }
        try await foldReportJobsFromRecords(in: period, catalog: catalog, body)
    }

    /// Adds every job decided in `period` to `builder`, row by row from the job summaries; the
    /// same report again (same query, ledger unchanged) reads its cached aggregates instead
    /// (``ReportCacheFile``).
    public func addReportJobs(in period: ReportPeriod, catalog: PriceCatalog, to builder: inout MonthlyReportBuilder) async throws {
        try await ReportCache.addReportJobs(
            in: period, catalog: catalog, to: &builder, identity: { try reportLedgerIdentity(period) },
            load: { key, _ in loadReportCache(period, key: key) }, save: { key, _, bytes in saveReportCache(period, key: key, bytes: bytes) },
            add: { builder in try await addSummaryReportJobs(in: period, catalog: catalog, to: &builder) })
    }

    /// Adds every job decided in `period` to `builder`, row by row from the job summaries; from the
    /// records when a summary cannot be used.
    func addSummaryReportJobs(in period: ReportPeriod, catalog: PriceCatalog, to builder: inout MonthlyReportBuilder) async throws {
        let start = builder
        var b = builder
        let done = try withSummaries(period) {
            var map: JobSummaryRowMap?
            b = start
            try foldReportJobs(period, catalog: catalog, materialize: false, row: { s, r in
                if map?.summary.month != s.month { map = JobSummaryRowMap(s, catalog: catalog, dimensions: b.dimensions, budgets: b.budgets) }
                b.add(row: r, &map!)
            }, job: { b.add($0) })
        }
        if !done {
            b = start
            try await foldReportJobsFromRecords(in: period, catalog: catalog) { b.add($0) }
        }
        builder = b
    }
}

// MARK: job states from the summaries

/// Where a line is: the index of its month among the ledger's months, and its offset.
struct LedgerPosition {
    var month: Int
    var offset: Int64
}

extension FileLedgerStore {
    /// The events of every job in `ids` that has any, read by offset from the months' summaries
    /// (a job's row or pending list, and every skipped event that names it), in ledger order.
    func summaryRecords(of ids: Set<String>) throws -> [String: (first: LedgerPosition, records: [LedgerRecord])] {
        var found: [String: [(month: Int, offset: Int64, record: LedgerRecord)]] = [:]
        for (mi, m) in try Self.listMonths(directory).enumerated() {
            guard let (s, fd) = try jobSummary(m, heap: true) else { continue }
            var reader = LedgerLineReader()
            func add(_ offsets: ArraySlice<Int64>) throws {
                for o in offsets {
                    guard let r = Self.record(at: o, in: fd, reader: &reader) else { throw JobSummaryMismatch() }
                    found[r.event.jobID, default: []].append((mi, o, r))
                }
            }
            for offsets in s.pending {
                guard let first = Self.record(at: offsets[0], in: fd, reader: &reader) else { throw JobSummaryMismatch() }
                if ids.contains(first.event.jobID) { try add(offsets[...]) }
            }
            for o in s.foreign {
                guard let r = Self.record(at: o, in: fd, reader: &reader) else { throw JobSummaryMismatch() }
                if ids.contains(r.event.jobID) { found[r.event.jobID, default: []].append((mi, o, r)) }
            }
            var indexed = s
            indexed.index = index(of: s)
            for id in ids {
                for row in indexed.rows(of: id) {
                    let (start, count) = s.withRow(row) { ($0.eventsStart, $0.eventCount) }
                    try add(s.events[start..<(start + count)])
                }
            }
        }
        return found.mapValues { list in
            let sorted = list.sorted { ($0.month, $0.offset) < ($1.month, $1.offset) }
            return (LedgerPosition(month: sorted[0].month, offset: sorted[0].offset), sorted.map(\.record))
        }
    }

    /// The summary's id index: loaded with it, or built once for the rows folded in this process.
    func index(of s: JobSummary) -> [UInt32] {
        if !s.index.isEmpty { return s.index }
        let cache = jobSummaryCache(s.month)
        return cache.withLock {
            if let i = cache.index, i.rows == s.rowCount { return i.table }
            let table = s.buildIndex()
            cache.index = (s.rowCount, table)
            return table
        }
    }

    /// The jobs that may not be finished, by the summaries: every job in flight at a summary's
    /// coverage, every job that ended with a reservation open, and every job a skipped event names.
    func openCandidates() throws -> Set<String> {
        var ids: Set<String> = []
        for m in try Self.listMonths(directory) {
            guard let (s, fd) = try jobSummary(m, heap: true) else { continue }
            var reader = LedgerLineReader()
            for offsets in s.pending {
                guard let r = Self.record(at: offsets[0], in: fd, reader: &reader) else { throw JobSummaryMismatch() }
                ids.insert(r.event.jobID)
            }
            for o in s.foreign {
                guard let r = Self.record(at: o, in: fd, reader: &reader) else { throw JobSummaryMismatch() }
                ids.insert(r.event.jobID)
            }
            for i in 0..<s.rowCount {
                let id: String?? = s.withRow(i) { r in
                    r.flags & JobSummary.Flag.reservationOpen == 0 ? .none : .some(s.heapString(r.u32(JobSummary.Field.jobID)))
                }
                guard case .some(let name) = id else { continue }
                guard let name else { throw JobSummaryMismatch() }
                ids.insert(name)
            }
        }
        return ids
    }

    /// Runs `body` over the summaries, rebuilding every month's from the ledger once when one does
    /// not hold; nil when it still cannot (the caller folds the records instead).
    func withAllSummaries<T>(_ body: () throws -> T) throws -> T? {
        do {
            return try body()
        } catch is JobSummaryMismatch {
            for m in try Self.listMonths(directory) { distrust(m) }
        }
        do {
            return try body()
        } catch is JobSummaryMismatch {
            return nil
        }
    }

    /// The folded states of those of `ids` that have events, in any month, from the job summaries:
    /// only the named jobs' lines are read.
    public func states(of ids: Set<String>) async throws -> [String: JobState] {
        if ids.isEmpty { return [:] }
        if let records = try withAllSummaries({ try summaryRecords(of: ids) }) {
            return records.compactMapValues { JobState.fold($0.records) }
        }
        var book = JobBook()
        for m in try await months() {
            try await forEachRecord(in: m) { r in if ids.contains(r.event.jobID) { book.apply(r) } }
        }
        return book.states
    }

    /// Every job not yet finished, folded, in the order of their first events: the candidates the
    /// summaries name, each folded from its own lines.
    public func openJobs() async throws -> [JobState] {
        let answer: [JobState]? = try withAllSummaries {
            try summaryRecords(of: try openCandidates()).values
                .sorted { ($0.first.month, $0.first.offset) < ($1.first.month, $1.first.offset) }
                .compactMap { JobState.fold($0.records) }.filter { !$0.isFinished }
        }
        if let answer { return answer }
        var fold = JobBook()
        for m in try Self.listMonths(directory) {
            try await forEachRecord(in: m) { fold.apply($0) }
        }
        return fold.unfinished
    }
}
