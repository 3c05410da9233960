import Foundation

/// The job summary of one ledger file (one UTC month): a derived, checked, rebuildable index that
/// lets reports read a month's jobs without decoding its lines.
///
/// It holds the report fold (``LedgerReportFold``) of the file's events, stopped at a coverage
/// point (byte length, line count, last line's sequence number and checksum, as the budget
/// summary records them):
/// - one fixed-size row per job that ended in the file (``JobSummary/Row``): integer money with a
///   currency index and a known flag, seconds, instants in milliseconds, enum codes, and ids into a
///   string table (policy, provider, tag keys and values) and a tag-set table; job and task ids in
///   a byte heap; earlier attempts' costs in a side list of fixed-size entries;
/// - the jobs decided in the file and not ended at the coverage point (``pending``), as the file
///   offsets of their events, so that the fold continues from there;
/// - the offsets of events the fold skipped because their job was not decided in this file
///   (``foreign``): the last steps of a job decided in an earlier month.
///
/// The row layout is relational on purpose: a SQL store can answer the same seam with one table of
/// these columns (see ``LedgerStore/addReportJobs(in:catalog:to:)``).
struct JobSummary {
    /// Fixed bytes per row.
    static let rowSize = 120
    /// Fixed bytes per earlier attempt.
    static let attemptSize = 48
    /// `none` for a string id.
    static let noString = UInt32.max
    /// `none` for an instant.
    static let noTime = Int64.min

    let month: LedgerMonth
    var coverage = BudgetCache.Coverage()
    var strings: [String] = []
    var stringIndex: [String: UInt32] = [:]
    /// Each tag set as sorted (key, value) string ids.
    var tagSets: [[UInt32]] = []
    var tagSetIndex: [[UInt32]: UInt32] = [:]
    var rows: [UInt8] = []
    var rowCount = 0
    var attempts: [UInt8] = []
    var attemptCount = 0
    /// Job and task ids: each a little-endian UInt32 length, then its UTF-8 bytes.
    var heap: [UInt8] = []
    /// Offsets of the events of each job not ended at the coverage point, in decided order.
    var pending: [[Int64]] = []
    /// Offsets of the events the fold skipped.
    var foreign: [Int64] = []
    /// Each row's events' offsets, in the order of the rows (a row names its first and count).
    var events: [Int64] = []
    /// Row index + 1 per slot of an open-addressing table on the job id's hash (0: empty); built
    /// when written, or when first needed.
    var index: [UInt32] = []

    init(month: LedgerMonth) { self.month = month }

    // MARK: interning

    mutating func intern(_ s: String) -> UInt32 {
        if let id = stringIndex[s] { return id }
        let id = UInt32(strings.count)
        strings.append(s)
        stringIndex[s] = id
        return id
    }

    mutating func internTags(_ tags: [String: String]) -> UInt32 {
        var flat: [UInt32] = []
        flat.reserveCapacity(tags.count * 2)
        for (k, v) in tags.sorted(by: { $0.key < $1.key }) {
            flat.append(intern(k))
            flat.append(intern(v))
        }
        if let id = tagSetIndex[flat] { return id }
        let id = UInt32(tagSets.count)
        tagSets.append(flat)
        tagSetIndex[flat] = id
        return id
    }

    mutating func store(_ s: String) -> UInt32 {
        let at = UInt32(heap.count)
        let bytes = Array(s.utf8)
        append(UInt32(bytes.count), to: &heap)
        heap.append(contentsOf: bytes)
        return at
    }

    /// Whether a whole heap entry starts at `at`.
    func heapEntryValid(_ at: UInt32) -> Bool {
        let a = Int(at)
        guard a <= heap.count - 4 else { return false }
        return heap.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: a, as: UInt32.self)) <= heap.count - a - 4 }
    }

    /// The id stored at `at`; nil when the heap does not hold one there (a damaged summary).
    func heapString(_ at: UInt32) -> String? {
        let a = Int(at)
        guard a <= heap.count - 4 else { return nil }
        return heap.withUnsafeBytes { b in
            let n = Int(b.loadUnaligned(fromByteOffset: a, as: UInt32.self))
            guard n <= heap.count - a - 4 else { return nil }
            return String(decoding: UnsafeRawBufferPointer(rebasing: b[(a + 4)..<(a + 4 + n)]), as: UTF8.self)
        }
    }

    // MARK: codes

    static func code<T: CaseIterable & Equatable>(_ v: T?) -> UInt8 {
        guard let v, let i = Array(T.allCases).firstIndex(of: v) else { return 0 }
        return UInt8(i + 1)
    }

    static func value<T: CaseIterable>(_ code: UInt8, _ type: T.Type) -> T? {
        let all = Array(T.allCases)
        guard code > 0, Int(code) <= all.count else { return nil }
        return all[Int(code) - 1]
    }

    /// The statuses by code - 1, made once: `allCases` builds a new array on every call.
    static let statuses = ReportJob.Status.allCases

    static func currencyCode(_ c: Currency) -> UInt8 { UInt8(Currency.known.firstIndex(of: c) ?? 0) }

    static func millis(_ d: Date?) -> Int64 { d.map { LedgerTime($0).milliseconds } ?? noTime }

    static func date(_ ms: Int64) -> Date? { ms == noTime ? nil : LedgerTime(milliseconds: ms).date }

    // MARK: rows

    /// Field offsets within a row.
    enum Field {
        static let decidedAt = 0, submittedAt = 8, finishedAt = 16, endOffset = 24, estimate = 32, actual = 40
        static let reported = 48, duration = 56, jobID = 64, taskID = 68, policy = 72, tagSet = 76, attemptsStart = 80
        static let retries = 84, provider = 88, attemptCount = 92, status = 96, behavior = 97, mode = 98, resolution = 99
        static let requiredMode = 100, requiredResolution = 101, flags = 102, estimateCurrency = 103, actualCurrency = 104
        static let costSource = 105, eventCount = 106, eventsStart = 108, estimateUSD = 112
    }

    /// Row flags.
    enum Flag {
        static let estimateKnown: UInt8 = 1, actualKnown: UInt8 = 2, reportedKnown: UInt8 = 4, offer: UInt8 = 8, task: UInt8 = 16
        /// The job still held a budget reservation when it ended (nothing settled or released it).
        static let reservationOpen: UInt8 = 32
        /// The decision recorded the estimate's USD figure.
        static let estimateUSDKnown: UInt8 = 64
        /// The job was decided more than once: a report whose period starts between its decisions
        /// (or that carries the job from the month before) folds it from its events instead.
        static let irregular: UInt8 = 128
    }

    /// Adds a job the fold ended (its billed seconds are what the provider reported; the billing
    /// rule is applied when read, with the reader's price tables). False when a count leaves the
    /// row's range (the summary is then not used).
    mutating func add(_ job: ReportJob, endedAt offset: Int64, events jobEvents: [Int64], reservationOpen: Bool, irregular: Bool = false) -> Bool {
        guard job.failedOver.count < Int(UInt16.max), jobEvents.count < Int(UInt16.max), events.count + jobEvents.count < Int(UInt32.max), job.retries >= 0, job.retries < Int(UInt32.max),
              attemptCount + job.failedOver.count < Int(UInt32.max), heap.count < Int(UInt32.max) - (1 << 24) else { return false }
        var row = [UInt8](repeating: 0, count: Self.rowSize)
        let policy = intern(job.policy)
        let tagSet = internTags(job.request.tags)
        let provider = job.offer.map { intern($0.provider.rawValue) } ?? Self.noString
        let jobID = store(job.id)
        let taskID = job.taskID.map { store($0) } ?? 0
        var flags: UInt8 = 0
        if job.estimatedCost != nil { flags |= Flag.estimateKnown }
        if job.actualCost != nil { flags |= Flag.actualKnown }
        if job.reportedSeconds != nil { flags |= Flag.reportedKnown }
        if job.offer != nil { flags |= Flag.offer }
        if job.taskID != nil { flags |= Flag.task }
        if reservationOpen { flags |= Flag.reservationOpen }
        if job.estimatedUSD != nil { flags |= Flag.estimateUSDKnown }
        if irregular { flags |= Flag.irregular }
        let eventsStart = UInt32(events.count)
        events += jobEvents
        row.withUnsafeMutableBytes { r in
            r.storeBytes(of: Self.millis(job.decidedAt), toByteOffset: Field.decidedAt, as: Int64.self)
            r.storeBytes(of: Self.millis(job.submittedAt), toByteOffset: Field.submittedAt, as: Int64.self)
            r.storeBytes(of: Self.millis(job.finishedAt), toByteOffset: Field.finishedAt, as: Int64.self)
            r.storeBytes(of: offset, toByteOffset: Field.endOffset, as: Int64.self)
            r.storeBytes(of: job.estimatedCost?.nanos ?? 0, toByteOffset: Field.estimate, as: Int64.self)
            r.storeBytes(of: job.actualCost?.nanos ?? 0, toByteOffset: Field.actual, as: Int64.self)
            r.storeBytes(of: job.reportedSeconds?.micros ?? 0, toByteOffset: Field.reported, as: Int64.self)
            r.storeBytes(of: job.request.duration.micros, toByteOffset: Field.duration, as: Int64.self)
            r.storeBytes(of: jobID, toByteOffset: Field.jobID, as: UInt32.self)
            r.storeBytes(of: taskID, toByteOffset: Field.taskID, as: UInt32.self)
            r.storeBytes(of: policy, toByteOffset: Field.policy, as: UInt32.self)
            r.storeBytes(of: tagSet, toByteOffset: Field.tagSet, as: UInt32.self)
            r.storeBytes(of: UInt32(attemptCount), toByteOffset: Field.attemptsStart, as: UInt32.self)
            r.storeBytes(of: UInt32(job.retries), toByteOffset: Field.retries, as: UInt32.self)
            r.storeBytes(of: provider, toByteOffset: Field.provider, as: UInt32.self)
            r.storeBytes(of: UInt16(job.failedOver.count), toByteOffset: Field.attemptCount, as: UInt16.self)
            r[Field.status] = Self.code(job.status)
            r[Field.behavior] = Self.code(job.request.behavior)
            r[Field.mode] = Self.code(job.offer?.mode)
            r[Field.resolution] = Self.code(job.offer?.resolution)
            r[Field.requiredMode] = Self.code(job.request.mode)
            r[Field.requiredResolution] = Self.code(job.request.resolution)
            r[Field.flags] = flags
            r[Field.estimateCurrency] = job.estimatedCost.map { Self.currencyCode($0.currency) } ?? 0
            r[Field.actualCurrency] = job.actualCost.map { Self.currencyCode($0.currency) } ?? 0
            r[Field.costSource] = Self.code(job.actualCostSource)
            r.storeBytes(of: UInt16(jobEvents.count), toByteOffset: Field.eventCount, as: UInt16.self)
            r.storeBytes(of: eventsStart, toByteOffset: Field.eventsStart, as: UInt32.self)
            r.storeBytes(of: job.estimatedUSD?.nanos ?? 0, toByteOffset: Field.estimateUSD, as: Int64.self)
        }
        rows.append(contentsOf: row)
        rowCount += 1
        for a in job.failedOver {
            var entry = [UInt8](repeating: 0, count: Self.attemptSize)
            let p = intern(a.offer.provider.rawValue)
            let task = a.taskID.map { store($0) } ?? 0
            entry.withUnsafeMutableBytes { e in
                e.storeBytes(of: p, toByteOffset: 0, as: UInt32.self)
                e.storeBytes(of: task, toByteOffset: 4, as: UInt32.self)
                e.storeBytes(of: a.cost?.nanos ?? 0, toByteOffset: 8, as: Int64.self)
                e.storeBytes(of: Self.millis(a.submittedAt), toByteOffset: 16, as: Int64.self)
                e.storeBytes(of: Self.millis(a.finishedAt), toByteOffset: 24, as: Int64.self)
                e[32] = Self.code(a.offer.mode)
                e[33] = Self.code(a.offer.resolution)
                e[34] = Self.code(a.failure)
                e[35] = Self.code(a.costSource)
                e[36] = a.cost.map { Self.currencyCode($0.currency) } ?? 0
                e[37] = (a.cost != nil ? Flag.actualKnown : 0) | (a.taskID != nil ? Flag.task : 0)
            }
            attempts.append(contentsOf: entry)
            attemptCount += 1
        }
        return true
    }

    /// A row's fields, read in place.
    struct Row {
        let base: UnsafeRawPointer

        @inline(__always) func i64(_ at: Int) -> Int64 { base.loadUnaligned(fromByteOffset: at, as: Int64.self) }
        @inline(__always) func u32(_ at: Int) -> UInt32 { base.loadUnaligned(fromByteOffset: at, as: UInt32.self) }
        @inline(__always) func u8(_ at: Int) -> UInt8 { base.load(fromByteOffset: at, as: UInt8.self) }
        var decidedAt: Int64 { i64(Field.decidedAt) }
        var submittedAt: Int64 { i64(Field.submittedAt) }
        var finishedAt: Int64 { i64(Field.finishedAt) }
        var endOffset: Int64 { i64(Field.endOffset) }
        var flags: UInt8 { u8(Field.flags) }
        var status: UInt8 { u8(Field.status) }
        var provider: UInt32 { u32(Field.provider) }
        var tagSet: UInt32 { u32(Field.tagSet) }
        var policy: UInt32 { u32(Field.policy) }
        var attemptCount: Int { Int(base.loadUnaligned(fromByteOffset: Field.attemptCount, as: UInt16.self)) }
        var retries: Int { Int(u32(Field.retries)) }
        var eventsStart: Int { Int(u32(Field.eventsStart)) }
        var eventCount: Int { Int(base.loadUnaligned(fromByteOffset: Field.eventCount, as: UInt16.self)) }
    }

    // MARK: the id index

    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// The id table for the rows: twice as many slots as rows, a power of two.
    func buildIndex() -> [UInt32] {
        var capacity = 16
        while capacity < rowCount * 2 { capacity *= 2 }
        var table = [UInt32](repeating: 0, count: capacity)
        let mask = capacity - 1
        heap.withUnsafeBytes { h in
            for i in 0..<rowCount {
                let at = withRow(i) { Int($0.u32(Field.jobID)) }
                let n = Int(h.loadUnaligned(fromByteOffset: at, as: UInt32.self))
                var slot = Int(truncatingIfNeeded: Self.hash(UnsafeRawBufferPointer(rebasing: h[(at + 4)..<(at + 4 + n)]))) & mask
                while table[slot] != 0 { slot = (slot + 1) & mask }
                table[slot] = UInt32(i + 1)
            }
        }
        return table
    }

    /// The rows of the job `id` (a job id decided twice in one month has two), via ``index``.
    func rows(of id: String) -> [Int] {
        guard !index.isEmpty, index.count & (index.count - 1) == 0 else { return [] }
        var key = Array(id.utf8)
        let mask = index.count - 1
        var slot = key.withUnsafeBytes { Int(truncatingIfNeeded: Self.hash($0)) } & mask
        var found: [Int] = []
        var probes = 0
        while index[slot] != 0, probes < index.count {
            let row = Int(index[slot]) - 1
            if row < rowCount, let stored = withRow(row, { heapString($0.u32(Field.jobID)) }), stored.utf8.elementsEqual(key) { found.append(row) }
            slot = (slot + 1) & mask
            probes += 1
        }
        key.removeAll()
        return found.sorted()
    }

    func withRow<T>(_ i: Int, _ body: (Row) -> T) -> T {
        rows.withUnsafeBytes { body(Row(base: $0.baseAddress! + i * Self.rowSize)) }
    }

    /// The job of row `i`, as the ledger's fold hands it on; `catalog` supplies the billing rule
    /// where the provider reported no quantity.
    func job(_ i: Int, catalog: PriceCatalog) -> ReportJob? {
        withRow(i) { r in job(r, catalog: catalog) }
    }

    func job(_ r: Row, catalog: PriceCatalog) -> ReportJob? {
        let flags = r.flags
        func money(_ at: Int, _ currencyAt: Int, _ flag: UInt8) -> Money? {
            flags & flag == 0 ? nil : Money(nanos: r.i64(at), currency: Currency.known[Int(r.u8(currencyAt))])
        }
        var tags: [String: String] = [:]
        let set = tagSets[Int(r.tagSet)]
        var k = 0
        while k + 1 < set.count {
            tags[strings[Int(set[k])]] = strings[Int(set[k + 1])]
            k += 2
        }
        let request = Job(behavior: Self.value(r.u8(Field.behavior), Behavior.self) ?? .animate, duration: Seconds(micros: r.i64(Field.duration)),
                          resolution: Self.value(r.u8(Field.requiredResolution), Resolution.self), mode: Self.value(r.u8(Field.requiredMode), Mode.self),
                          tags: tags)
        var offer: OfferRef?
        if flags & Flag.offer != 0, let p = ProviderID(strings[Int(r.provider)]), let m = Self.value(r.u8(Field.mode), Mode.self),
           let res = Self.value(r.u8(Field.resolution), Resolution.self) {
            offer = OfferRef(provider: p, mode: m, resolution: res)
        }
        let status = Self.value(r.status, ReportJob.Status.self) ?? .unfinished
        let reported = flags & Flag.reportedKnown != 0 ? Seconds(micros: r.i64(Field.reported)) : nil
        var billed: Seconds?
        if status == .succeeded { billed = reported ?? offer.flatMap { LedgerReportFold.ruleSeconds(offer: $0, duration: request.duration, catalog) } }
        var failedOver: [ReportAttempt] = []
        var damaged = false
        let start = Int(r.u32(Field.attemptsStart))
        if r.attemptCount > 0 {
            attempts.withUnsafeBytes { all in
                for a in start..<(start + r.attemptCount) {
                    let e = all.baseAddress! + a * Self.attemptSize
                    guard let p = ProviderID(strings[Int(e.loadUnaligned(as: UInt32.self))]),
                          let m = Self.value(e.load(fromByteOffset: 32, as: UInt8.self), Mode.self),
                          let res = Self.value(e.load(fromByteOffset: 33, as: UInt8.self), Resolution.self) else { continue }
                    let f = e.load(fromByteOffset: 37, as: UInt8.self)
                    var task: String?
                    if f & Flag.task != 0 {
                        task = heapString(e.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                        if task == nil { damaged = true }
                    }
                    failedOver.append(ReportAttempt(
                        offer: OfferRef(provider: p, mode: m, resolution: res),
                        taskID: task,
                        cost: f & Flag.actualKnown != 0 ? Money(nanos: e.loadUnaligned(fromByteOffset: 8, as: Int64.self),
                                                               currency: Currency.known[Int(e.load(fromByteOffset: 36, as: UInt8.self))]) : nil,
                        costSource: Self.value(e.load(fromByteOffset: 35, as: UInt8.self), JobReport.CostSource.self),
                        failure: Self.value(e.load(fromByteOffset: 34, as: UInt8.self), FailureClass.self),
                        submittedAt: Self.date(e.loadUnaligned(fromByteOffset: 16, as: Int64.self)),
                        finishedAt: Self.date(e.loadUnaligned(fromByteOffset: 24, as: Int64.self))))
                }
            }
        }
        var taskID: String?
        if flags & Flag.task != 0 {
            guard let t = heapString(r.u32(Field.taskID)) else { return nil }
            taskID = t
        }
        guard !damaged, let id = heapString(r.u32(Field.jobID)) else { return nil }
        return ReportJob(id: id, status: status, policy: strings[Int(r.policy)], request: request, offer: offer,
                         taskID: taskID,
                         estimatedCost: money(Field.estimate, Field.estimateCurrency, Flag.estimateKnown),
                         estimatedUSD: flags & Flag.estimateUSDKnown != 0 ? Money(nanos: r.i64(Field.estimateUSD), currency: .usd) : nil, billedSeconds: billed,
                         reportedSeconds: reported, actualCost: money(Field.actual, Field.actualCurrency, Flag.actualKnown),
                         actualCostSource: Self.value(r.u8(Field.costSource), JobReport.CostSource.self), retries: r.retries,
                         failedOver: failedOver, decidedAt: LedgerTime(milliseconds: r.decidedAt).date,
                         submittedAt: Self.date(r.submittedAt), finishedAt: Self.date(r.finishedAt))
    }
}

@inline(__always)
func append<T: FixedWidthInteger>(_ v: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
}
