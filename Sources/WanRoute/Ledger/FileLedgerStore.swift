import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded ledger: JSON Lines files under one directory (the CLI passes
/// `$WANROUTE_HOME/ledger`), one per UTC calendar month (`2026-12.jsonl`).
///
/// Crash safety, as trusted journals do it:
/// - each batch of events is one `write` to an `O_APPEND` file under an exclusive `flock`, then one
///   `fdatasync` before any caller of the batch is answered; callers that arrive while a sync is in
///   flight are written together in the next batch (group commit);
/// - a new month file is made empty in a temporary file, synced, linked into place, and the
///   directory synced;
/// - on open (and before any append finds a file it did not write last), a torn tail (no final
///   newline, or a last line whose checksum fails) is copied to a side file `MONTH.jsonl.torn-OFFSET`,
///   then cut from the ledger: those bytes were never acknowledged. Damage before the tail is
///   refused with the file and line;
/// - a failed write or sync is fatal: the store answers every later write with ``LedgerError/stopped(after:)``.
///
/// Budget reservations take `budget.lock` in the directory, catch up on every process's events,
/// check the limits and append, all before letting go. A derived summary per budget month (under
/// `summaries/`) makes opening the budget state of a big month cheap; it records the byte length and
/// last line's checksum of the ledger prefix it covers, is checked against the files before use, and
/// is rebuilt when it does not match.
public final class FileLedgerStore: LedgerStore, @unchecked Sendable {
    /// The ledger directory.
    public let directory: String
    /// Torn tails found and moved aside when the store was opened (the CLI reports them).
    public let recoveries: [TornTail]

    let calls: any SystemCalls
    private let state = NSLock()          // guards everything below
    private var files: [LedgerMonth: MonthFile] = [:]
    private let waiting = GroupCommitQueue<Work>()
    private var stoppedBy: String?
    private var laterRecoveries: [TornTail] = []
    private var budgets: [BudgetMonth: BudgetCache] = [:]
    let summaryState = NSLock()           // guards jobSummaries
    var jobSummaries: [LedgerMonth: JobSummaryCache] = [:]
    private let budgetLock: FileDescriptor
    private let writer = DispatchQueue(label: "wanroute.ledger.writer")

    final class MonthFile {
        let month: LedgerMonth
        let path: String
        let fd: FileDescriptor
        var knownSize: Int64 = -1        // the size after our last write or check; -1: unchecked
        var lastSequence: Int64 = 0
        /// What the lines written last let the next ones leave out (kept only while no other
        /// process writes in between).
        var lineWriter = LedgerLineWriter()

        init(month: LedgerMonth, path: String, fd: FileDescriptor) {
            self.month = month
            self.path = path
            self.fd = fd
        }
    }

    enum Work {
        case append([LedgerEvent], CheckedContinuation<[LedgerRecord], any Error>)
        case reserve(ReservationRequest, CheckedContinuation<ReservationOutcome, any Error>)
    }

    /// Opens (creating if needed) the ledger in `directory`, recovering torn tails of every month file.
    public init(directory: String, calls: any SystemCalls = POSIXSystemCalls()) throws {
        self.directory = directory
        self.calls = calls
        do {
            try DurableFiles.makeDirectory(directory)
            try DurableFiles.createIfMissing(directory + "/budget.lock", calls: calls)
            budgetLock = try FileDescriptor.open(directory + "/budget.lock", flags: O_RDWR, calls: calls)
        } catch let e as SystemCallError {
            throw LedgerError.unreadable(path: directory, reason: e.description)
        }
        var found: [TornTail] = []
        for month in try Self.listMonths(directory) {
            let file = try Self.openMonth(month, directory: directory, calls: calls, create: false)!
            try file.fd.withLock {
                if let torn = try Self.checkTail(file, directory: directory, calls: calls) { found.append(torn) }
            }
            files[month] = file
        }
        recoveries = found
    }

    /// Torn tails moved aside since open (by appends that found another process's torn write).
    public var laterTornTails: [TornTail] { state.withLock { laterRecoveries } }

    static func fileName(_ m: LedgerMonth) -> String { "\(m).jsonl" }

    static func listMonths(_ directory: String) throws -> [LedgerMonth] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw LedgerError.unreadable(path: directory, reason: "\(error.localizedDescription)")
        }
        return names.compactMap { n in
            guard n.hasSuffix(".jsonl"), n.utf8.count == 13 else { return nil }
            return LedgerMonth(String(n.prefix(7)))
        }.sorted()
    }

    static func openMonth(_ m: LedgerMonth, directory: String, calls: any SystemCalls, create: Bool) throws -> MonthFile? {
        let path = directory + "/" + fileName(m)
        do {
            if create { try DurableFiles.createIfMissing(path, calls: calls) }
            guard let fd = try FileDescriptor.openIfExists(path, flags: O_RDWR | O_APPEND, calls: calls) else { return nil }
            return MonthFile(month: m, path: path, fd: fd)
        } catch let e as SystemCallError {
            throw LedgerError.unreadable(path: path, reason: e.description)
        }
    }

    /// Under the file's exclusive lock: finds the last good line (its sequence number) and moves a
    /// torn tail aside. Returns what was moved, if anything.
    static func checkTail(_ file: MonthFile, directory: String, calls: any SystemCalls) throws -> TornTail? {
        let size: Int64
        do { size = try file.fd.size() } catch let e as SystemCallError { throw LedgerError.unreadable(path: file.path, reason: e.description) }
        var tornAt: Int64?
        var reason = ""
        var goodEnd = size
        // Bytes after the last newline are an unfinished write.
        if size > 0 {
            let lastByte = try read(file, at: size - 1, count: 1)
            if lastByte.first != UInt8(ascii: "\n") {
                goodEnd = try lastNewline(file, before: size) ?? 0
                tornAt = goodEnd
                reason = "no final newline"
            }
        }
        // A last complete line whose checksum fails is the same torn write.
        var lastSequence: Int64 = 0
        if goodEnd > 0 {
            guard let line = try readLine(file, endingAt: goodEnd) else {
                throw LedgerError.damaged(file: file.path, line: try lineNumber(file, at: goodEnd - 1) + 1,
                                          reason: "the last line is longer than \(ledgerMaximumLineBytes) bytes")
            }
            if line.withUnsafeBytes({ LedgerCodec.verify($0) }) {
                lastSequence = line.withUnsafeBytes { LedgerCodec.envelope($0)?.sequence } ?? 0
            } else {
                let start = goodEnd - Int64(line.count + 1)
                reason = tornAt == nil ? "its last line's checksum does not match" : "no final newline, and the last whole line's checksum does not match"
                tornAt = start
                goodEnd = start
                if goodEnd > 0 {
                    guard let before = try readLine(file, endingAt: goodEnd), before.withUnsafeBytes({ LedgerCodec.verify($0) }) else {
                        throw LedgerError.damaged(file: file.path, line: try lineNumber(file, at: goodEnd),
                                                  reason: "this line and the last one both fail their checksums, which one torn write cannot explain")
                    }
                    lastSequence = before.withUnsafeBytes { LedgerCodec.envelope($0)?.sequence } ?? 0
                }
            }
        }
        file.lastSequence = lastSequence
        guard let at = tornAt, at < size else {
            file.knownSize = size
            return nil
        }
        let torn = try read(file, at: at, count: Int(size - at))
        let side = file.path + ".torn-\(at)"
        do {
            try DurableFiles.replace(side, with: torn, calls: calls)
            try file.fd.truncate(to: at)
            try file.fd.sync()
        } catch let e as SystemCallError {
            throw LedgerError.writeFailed(file: file.path, reason: "moving a torn tail aside: \(e.description)")
        }
        file.knownSize = at
        return TornTail(file: file.path, offset: at, length: torn.count, sideFile: side, reason: reason)
    }

    static func read(_ file: MonthFile, at offset: Int64, count: Int) throws -> [UInt8] {
        do { return try file.fd.read(at: offset, count: count) } catch let e as SystemCallError {
            throw LedgerError.unreadable(path: file.path, reason: e.description)
        }
    }

    /// The offset just after the last newline before `size`, or nil when there is none.
    static func lastNewline(_ file: MonthFile, before size: Int64) throws -> Int64? {
        var end = size
        while end > 0 {
            let start = max(0, end - 65_536)
            let bytes = try read(file, at: start, count: Int(end - start))
            if let nl = bytes.lastIndex(of: UInt8(ascii: "\n")) { return start + Int64(nl) + 1 }
            end = start
        }
        return nil
    }

    static func readLine(_ file: MonthFile, endingAt offset: Int64) throws -> [UInt8]? {
        do { return try LedgerFileScanner.line(endingAt: offset, in: file.fd) } catch let e as SystemCallError {
            throw LedgerError.unreadable(path: file.path, reason: e.description)
        }
    }

    /// The 1-based number of the line starting at `offset` (counts newlines; for error messages).
    static func lineNumber(_ file: MonthFile, at offset: Int64) throws -> Int {
        var count = 0
        var position: Int64 = 0
        while position < offset {
            let bytes = try read(file, at: position, count: Int(min(Int64(8 << 20), offset - position)))
            if bytes.isEmpty { break }
            count += bytes.withUnsafeBytes { b in
                var n = 0, i = 0
                while let nl = memchrIndex(b, UInt8(ascii: "\n"), from: i, to: b.count) { n += 1; i = nl + 1 }
                return n
            }
            position += Int64(bytes.count)
        }
        return count
    }

    // MARK: appending

    /// Appends events durably (see ``LedgerStore/append(_:)``).
    public func append(_ events: [LedgerEvent]) async throws -> [LedgerRecord] {
        if events.isEmpty { return [] }
        try Self.checkComplete(events)
        return try await withCheckedThrowingContinuation { enqueue(.append(events, $0)) }
    }

    /// Checks the limits and reserves under one lock (see ``LedgerStore/reserve(_:)``).
    public func reserve(_ request: ReservationRequest) async throws -> ReservationOutcome {
        try Self.checkComplete([request.event] + request.following)
        return try await withCheckedThrowingContinuation { enqueue(.reserve(request, $0)) }
    }

    /// Refuses an incomplete or oversized event before it joins a batch: a batch may hold other
    /// callers' events and span months, and none of it may be written. (The size is bounded
    /// without making the line; it is checked again, exactly, as the batch is encoded.)
    private static func checkComplete(_ events: [LedgerEvent]) throws {
        if let problem = events.lazy.compactMap({ $0.appendProblem() }).first { throw problem }
    }

    private func enqueue(_ work: Work) {
        if waiting.add(work) { writer.async { self.drain() } }
    }

    /// Runs on the writer queue: takes everything pending, writes consecutive appends as one batch
    /// per month (one write, one sync), and answers each caller.
    private func drain() {
        while true {
            let work = waiting.take()
            if work.isEmpty { return }
            var group: [([LedgerEvent], CheckedContinuation<[LedgerRecord], any Error>)] = []
            func flush() {
                guard !group.isEmpty else { return }
                let all = group.flatMap(\.0)
                do {
                    let records = try write(all)
                    var i = 0
                    for (events, c) in group {
                        c.resume(returning: Array(records[i..<(i + events.count)]))
                        i += events.count
                    }
                } catch {
                    for (_, c) in group { c.resume(throwing: error) }
                }
                group = []
            }
            for w in work {
                switch w {
                case .append(let events, let c):
                    group.append((events, c))
                case .reserve(let request, let c):
                    flush()
                    do { c.resume(returning: try reserveNow(request)) } catch { c.resume(throwing: error) }
                }
            }
            flush()
        }
    }

    /// Writes events durably: one write and one sync per month touched. Returns the records in the
    /// order of `events`.
    private func write(_ events: [LedgerEvent]) throws -> [LedgerRecord] {
        if let stopped = state.withLock({ stoppedBy }) { throw LedgerError.stopped(after: stopped) }
        var byMonth: [LedgerMonth: [Int]] = [:]
        for (i, e) in events.enumerated() { byMonth[e.time.month, default: []].append(i) }
        var records = [LedgerRecord?](repeating: nil, count: events.count)
        for month in byMonth.keys.sorted() {
            let indices = byMonth[month]!
            let (written, file, start, end, lastCRC) = try write(indices.map { events[$0] }, to: month)
            foldAppendedIntoBudgets(month, written, start: start, end: end, lastCRC: lastCRC, file: file)
            for (k, i) in indices.enumerated() { records[i] = written[k] }
        }
        return records.map { $0! }
    }

    private func monthFile(_ m: LedgerMonth) throws -> MonthFile {
        if let f = state.withLock({ files[m] }) { return f }
        let f = try Self.openMonth(m, directory: directory, calls: calls, create: true)!
        state.withLock { files[m] = f }
        return f
    }

    /// Writes one month's batch under the file's lock; returns the records, the file, where the
    /// batch starts and ends, and its last line's checksum.
    private func write(_ events: [LedgerEvent], to month: LedgerMonth) throws
        -> (records: [LedgerRecord], file: FileDescriptor, start: Int64, end: Int64, lastCRC: UInt32) {
        let file = try monthFile(month)
        do { try file.fd.lock() } catch let e as SystemCallError { throw LedgerError.unreadable(path: file.path, reason: e.description) }
        defer { file.fd.unlock() }
        let size: Int64
        do { size = try file.fd.size() } catch let e as SystemCallError { throw LedgerError.unreadable(path: file.path, reason: e.description) }
        if size != file.knownSize {
            // Another process wrote since we last looked: learn its last sequence number, and set
            // aside the torn tail of one that died mid-write. Its lines may be any job's, so ours
            // leave nothing to lines before them.
            if size < file.knownSize { file.lineWriter.forgetAll() } else { file.lineWriter.forget() }
            if let torn = try Self.checkTail(file, directory: directory, calls: calls) {
                state.withLock { laterRecoveries.append(torn) }
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(events.count * 256)
        var records: [LedgerRecord] = []
        records.reserveCapacity(events.count)
        var sequence = file.lastSequence
        var lineStarts: [Int64] = []
        lineStarts.reserveCapacity(events.count)
        // Kept only once the batch is durable: lines never written must not be inherited from.
        var lineWriter = file.lineWriter
        for e in events {
            sequence += 1
            let r = LedgerRecord(sequence: sequence, event: e)
            let before = bytes.count
            lineStarts.append(Int64(before))
            lineWriter.encode(r, into: &bytes)
            if let problem = e.appendProblem(lineBytes: bytes.count - before) { throw problem }
            records.append(r)
        }
        let start = file.knownSize
        do {
            try file.fd.writeAll(bytes)
        } catch let e as SystemCallError {
            // Cut back what part of the batch reached the file, then stop for good.
            try? file.fd.truncate(to: start)
            file.knownSize = -1
            throw stop(LedgerError.writeFailed(file: file.path, reason: e.description))
        }
        do {
            try file.fd.syncData()
        } catch let e as SystemCallError {
            try? file.fd.truncate(to: start)
            file.knownSize = -1
            throw stop(LedgerError.syncFailed(file: file.path, reason: e.description))
        }
        file.knownSize = start + Int64(bytes.count)
        file.lastSequence = sequence
        file.lineWriter = lineWriter
        let lastLine = bytes.withUnsafeBytes { b in
            LedgerFileScanner.storedCRC(UnsafeRawBufferPointer(rebasing: b[Int(lineStarts.last ?? 0)..<(b.count - 1)]))
        }
        foldAppended(month, records, lineStarts: lineStarts.map { start + $0 }, end: start + Int64(bytes.count), lastCRC: lastLine, file: file.fd)
        return (records, file.fd, start, start + Int64(bytes.count), lastLine)
    }

    private func stop(_ error: LedgerError) -> LedgerError {
        state.withLock { if stoppedBy == nil { stoppedBy = error.description } }
        return error
    }

    // MARK: reading

    /// The months that hold events, oldest first.
    public func months() async throws -> [LedgerMonth] { try Self.listMonths(directory) }

    /// A read-only descriptor of a month file and the size every completed write has reached.
    func snapshot(_ m: LedgerMonth) throws -> (FileDescriptor, Int64, String)? {
        let path = directory + "/" + Self.fileName(m)
        do {
            guard let fd = try FileDescriptor.openIfExists(path, flags: O_RDONLY, calls: calls) else { return nil }
            // A shared lock waits out a write in progress, so the size is that of whole batches.
            let size = try fd.withLock(exclusive: false) { try fd.size() }
            return (fd, size, path)
        } catch let e as SystemCallError {
            throw LedgerError.unreadable(path: path, reason: e.description)
        }
    }

    private func scan(_ m: LedgerMonth, from: Int64 = 0, firstLine: Int = 1,
                      _ body: (UnsafeRawBufferPointer, Int, Int64) throws -> Void) throws -> LedgerFileScanner.End? {
        guard let (fd, size, path) = try snapshot(m) else { return nil }
        do {
            return try LedgerFileScanner.scan(fd, name: path, from: from, to: size, firstLine: firstLine, body)
        } catch let e as SystemCallError {
            throw LedgerError.unreadable(path: path, reason: e.description)
        }
    }

    /// Visits a month's records in sequence order.
    public func forEachRecord(in month: LedgerMonth, _ body: (LedgerRecord) throws -> Void) async throws {
        let path = directory + "/" + Self.fileName(month)
        var reader = LedgerLineReader()
        guard let (fd, _, _) = try snapshot(month) else { return }
        _ = try scan(month) { line, number, _ in
            let record: LedgerRecord
            do throws(LedgerLineError) {
                record = try reader.decode(line) { LedgerFileScanner.record(withSequence: $0, in: fd) }
            } catch {
                throw LedgerError.damaged(file: path, line: number, reason: error.description)
            }
            try body(record)
        }
    }

    /// One job's records across all months, in order.
    public func records(forJob jobID: String) async throws -> [LedgerRecord] {
        // The job member as versions 2 and 1 write it.
        var needle: [UInt8] = Array(#","j":"#.utf8), oldNeedle: [UInt8] = Array(#","job":"#.utf8)
        LedgerCodec.string(jobID, &needle)
        LedgerCodec.string(jobID, &oldNeedle)
        var found: [LedgerRecord] = []
        for m in try Self.listMonths(directory) {
            let path = directory + "/" + Self.fileName(m)
            // Fed only this job's lines: all that a version 3 line of it can take anything from.
            var reader = LedgerLineReader()
            guard let (fd, _, _) = try snapshot(m) else { continue }
            _ = try scan(m) { line, number, _ in
                guard needle.withUnsafeBytes({ contains(line, $0) }) || oldNeedle.withUnsafeBytes({ contains(line, $0) }) else { return }
                do throws(LedgerLineError) {
                    // A decision's `ctx` names another job's line, read by its sequence number.
                    let r = try reader.decode(line) { LedgerFileScanner.record(withSequence: $0, in: fd) }
                    if r.event.jobID == jobID { found.append(r) }
                } catch {
                    throw LedgerError.damaged(file: path, line: number, reason: error.description)
                }
            }
        }
        return found
    }

    /// Whether `needle` occurs in `haystack` (`memchr` for its first byte, then `memcmp`).
    private func contains(_ haystack: UnsafeRawBufferPointer, _ needle: UnsafeRawBufferPointer) -> Bool {
        guard let h = haystack.baseAddress, let n = needle.baseAddress, needle.count > 0 else { return needle.isEmpty }
        var i = 0
        while i + needle.count <= haystack.count, let at = memchrIndex(haystack, needle[0], from: i, to: haystack.count - needle.count + 1) {
            if memcmp(h + at, n, needle.count) == 0 { return true }
            i = at + 1
        }
        return false
    }

    // MARK: budgets

    /// The month's settled and reserved spend per budget key.
    public func budgetState(for month: BudgetMonth) async throws -> BudgetState {
        try caughtUp(month).state
    }

    private func reserveNow(_ request: ReservationRequest) throws -> ReservationOutcome {
        if let stopped = state.withLock({ stoppedBy }) { throw LedgerError.stopped(after: stopped) }
        do { try budgetLock.lock() } catch let e as SystemCallError { throw LedgerError.unreadable(path: budgetLock.path, reason: e.description) }
        defer { budgetLock.unlock() }
        let tally = try caughtUp(request.month)
        let short = request.shortfalls(in: tally.state)
        if !short.isEmpty { return .refused(short) }
        return .reserved(try write([request.event] + request.following))
    }

    /// The month's tally with every complete line of its files folded in.
    private func caughtUp(_ month: BudgetMonth) throws -> BudgetTally {
        let cache: BudgetCache = state.withLock {
            if let c = budgets[month] { return c }
            let c = BudgetCache(month: month, directory: directory, calls: calls)
            budgets[month] = c
            return c
        }
        return try cache.withLock {
            try cache.loadSummaryOnce()
            while try !foldNewLines(cache) {
                // A file is shorter than the part already folded: fold the month again from the start.
                cache.reset()
            }
            if cache.foldedSinceSave >= BudgetCache.saveEvery { cache.saveSummary() }
            return cache.tally
        }
    }

    /// Folds what was appended to the month's files since the cache last looked; false when a file
    /// no longer holds what was folded.
    /// The month's own files come first, then every later one (settlements of its reservations).
    /// Their sizes are taken newest file first: a settlement within a later file's size was written
    /// after its job's reservation, which the earlier file's size then includes. A later file is
    /// skipped while no reservation is open.
    private func foldNewLines(_ cache: BudgetCache) throws -> Bool {
        let own = cache.month.ledgerMonths
        var files: [(LedgerMonth, FileDescriptor, Int64)] = []
        for m in cache.month.ledgerMonthsToFold(among: try Self.listMonths(directory)).reversed() {
            guard let (fd, size, _) = try snapshot(m) else { continue }
            files.append((m, fd, size))
        }
        for (m, fd, size) in files.reversed() {
            if size < (cache.coverage[m]?.offset ?? 0) { return false }
            if m > own.last!, !cache.tally.hasOpenReservations { continue }
            try foldLines(cache, m, fd, to: size)
        }
        return true
    }

    /// Folds the lines of month file `m` (open as `fd`) from the cache's coverage up to `size`.
    private func foldLines(_ cache: BudgetCache, _ m: LedgerMonth, _ fd: FileDescriptor, to size: Int64) throws {
        var cover = cache.coverage[m] ?? BudgetCache.Coverage()
        guard size > cover.offset else { return }
        let path = directory + "/" + Self.fileName(m)
        let end: LedgerFileScanner.End
        do {
            end = try LedgerFileScanner.scan(fd, name: path, from: cover.offset, to: size, firstLine: cover.lines + 1) { line, number, _ in
                guard let env = LedgerCodec.envelope(line), BudgetTally.matters(env.type) else { return }
                // Budgets read no decision's run, policy or digests: a `ctx` need not be looked up.
                do throws(LedgerLineError) { cache.tally.apply(try LedgerCodec.decodeIgnoringContext(line).event) } catch {
                    throw LedgerError.damaged(file: path, line: number, reason: error.description)
                }
            }
        } catch let e as SystemCallError {
            throw LedgerError.unreadable(path: path, reason: e.description)
        }
        cache.foldedSinceSave += end.offset - cover.offset
        cover.offset = end.offset
        cover.lines = end.lines
        if let last = end.last { cover.lastSequence = last.sequence; cover.lastCRC = last.crc }
        cache.coverage[m] = cover
    }

    /// After a durable append to month file `month` (lines `[start, end)`, the file's lock already
    /// let go): folds the events into the budget months this process keeps that the file belongs
    /// to, the file's own UTC month always among them, so that every writer (not only one that
    /// reserves) leaves the budget summaries current and a report need not fold the month again. A
    /// month whose fold is behind the batch by more than ``JobSummaryCache/writerBuildLimit``
    /// (another process's lines, or a big month without a summary) is left to its next reader.
    private func foldAppendedIntoBudgets(_ month: LedgerMonth, _ records: [LedgerRecord], start: Int64, end: Int64, lastCRC: UInt32,
                                         file: FileDescriptor) {
        guard let last = records.last else { return }
        let caches: [BudgetCache] = state.withLock {
            let utc = BudgetMonth(month)
            if budgets[utc] == nil { budgets[utc] = BudgetCache(month: utc, directory: directory, calls: calls) }
            return budgets.values.filter { $0.month.ledgerMonths.contains(month) }
        }
        for cache in caches {
            cache.withLock {
                guard (try? cache.loadSummaryOnce()) != nil else { return }
                let before = cache.coverage[month] ?? BudgetCache.Coverage()
                guard before.offset <= start, start - before.offset <= JobSummaryCache.writerBuildLimit else { return }
                if before.offset < start {
                    guard (try? foldLines(cache, month, file, to: start)) != nil, cache.coverage[month]?.offset == start else {
                        cache.reset()
                        return
                    }
                }
                let lines = cache.coverage[month]?.lines ?? 0
                for r in records where BudgetTally.matters(r.event.type) { cache.tally.apply(r.event) }
                cache.coverage[month] = BudgetCache.Coverage(offset: end, lines: lines + records.count, lastSequence: last.sequence, lastCRC: lastCRC)
                cache.foldedSinceSave += end - start
                // Written each time the file has grown by a sixteenth since (and at least 4 MiB):
                // a reader after a crash folds at most that much again.
                if cache.foldedSinceSave >= max(BudgetCache.saveEvery, end / 16) { cache.saveSummary() }
            }
        }
    }

    /// Writes the budget and job summaries now (they are also written as months grow). With
    /// `keepingShortTails` (as `run` ends), a job summary with only a few new lines folded since it
    /// was written is left as it is: a small run on a big month need not rewrite its whole summary,
    /// and the next reader folds those lines from the ledger.
    public func saveSummaries(keepingShortTails: Bool = false) {
        let caches = state.withLock { Array(budgets.values) }
        for c in caches { c.withLock { c.saveSummary() } }
        saveJobSummaries(keepingShortTails: keepingShortTails)
    }
}
