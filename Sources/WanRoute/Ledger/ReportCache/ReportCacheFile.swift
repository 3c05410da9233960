import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A report's grouped aggregates as bytes: a derived, checked, rebuildable cache that lets the
/// same report again skip the month's jobs. The file store keeps it beside the ledger
/// (`summaries/report-YYYY-MM-KEY.bin`), the PostgreSQL store in a table; both go through
/// ``ReportCache``, which decides when one is read and written.
///
/// It holds a ``MonthlyReportBuilder``'s state after every job of the period was added (group
/// sums per currency and in USD, counts, the times to result as value → count runs so percentiles
/// stay exact, the daily series, each budget's daily actuals), never rendered text: budget
/// projections depend on the instant and the budget state, and are worked out when rendering.
///
/// It is used only when its query key (``key(_:catalog:)``: the month, the zone's day boundaries,
/// the group-by, the policy's budgets, the pricing tables' digest) equals the report's, byte for
/// byte, and the ledger's identity recorded in it equals the ledger's now, byte for byte. The
/// identity is the store's own (bytes that change whenever an event the report reads changes): for
/// the files, every month file's size and the sequence number and checksum of the line ending
/// there (``identity(_:)``). Layout, all little-endian: magic, version, the key (length, bytes), the
/// identity (length, bytes), the builder's state, and a checksum of every byte before it. Reads are
/// bounded (``maximumBytes``) and every count and id is checked against what the report can hold;
/// anything wrong and the report is added up from the ledger again and the cache written anew.
enum ReportCacheFile {
    static let magic: UInt64 = 0x3130_4143_5450_5257  // "WRPTCA01"
    /// The meaning of the aggregates: raise it when what a report adds up from a job changes, so
    /// caches of an earlier build are not used. 2: jobs decided more than once are folded from their
    /// events (version 1 counted some of them wrongly). 3: the ledger's identity is the store's own
    /// bytes, with their length (version 2 held the file store's list of files).
    static let version: UInt64 = 3
    /// A cache holds groups and time runs, not jobs: anything larger is not read.
    static let maximumBytes = 64 << 20

    /// One ledger file as the aggregates saw it.
    struct FileIdentity: Equatable {
        var month: LedgerMonth
        var size: Int64
        var lastSequence: Int64
        var lastCRC: UInt32
    }

    /// The file store's identity of the ledger a report reads: the count of files, then per file its
    /// month, size, last sequence and last checksum.
    static func identity(_ files: [FileIdentity]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(files.count))
        for f in files {
            w.i64(Int64(f.month.year) * 100 + Int64(f.month.month))
            w.i64(f.size)
            w.i64(f.lastSequence)
            w.u32(f.lastCRC)
        }
        return w.bytes
    }

    /// Everything besides the ledger the aggregates depend on; nil when the catalog has no digest
    /// (it was not loaded from files), so no cache is kept.
    static func key(_ b: MonthlyReportBuilder, catalog: PriceCatalog) -> [UInt8]? {
        guard let pricing = catalog.sourceDigest else { return nil }
        var k: [UInt8] = []
        func text(_ s: String) {
            let bytes = Array(s.utf8)
            append(UInt32(bytes.count), to: &k)
            k += bytes
        }
        append(version, to: &k)
        append(Int64(b.period.year), to: &k)
        append(Int64(b.period.month), to: &k)
        text(b.period.timeZone.identifier)
        append(UInt32(b.period.boundaries.count), to: &k)
        for t in b.period.boundaries { append(t, to: &k) }
        append(UInt32(b.dimensions.count), to: &k)
        for d in b.dimensions { text(d.description) }
        append(UInt32(b.budgets.count), to: &k)
        for budget in b.budgets {
            text(budget.id)
            switch budget.scope {
            case .total: k.append(0)
            case .provider(let p): k.append(1); text(p.rawValue)
            case .tag(let t, let v): k.append(v == nil ? 2 : 3); text(t); text(v ?? "")
            }
            append(budget.monthly.nanos, to: &k)
        }
        text(pricing)
        return k
    }

    static func path(directory: String, period: ReportPeriod, key: [UInt8]) -> String {
        let name = String(format: "report-%04d-%02d-%016llx.bin", period.year, period.month, key.withUnsafeBytes { SummaryChecksum.of($0) })
        return directory + "/summaries/" + name
    }

    // MARK: writing

    static func encode(_ b: MonthlyReportBuilder, key: [UInt8], identity: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.u64(magic)
        w.u64(version)
        w.u32(UInt32(key.count))
        w.bytes += key
        w.u32(UInt32(identity.count))
        w.bytes += identity
        b.encodeAggregates(into: &w)
        w.u64(w.bytes.withUnsafeBytes { SummaryChecksum.of($0) })
        return w.bytes
    }

    // MARK: reading

    /// The file's bytes when it exists and is no larger than ``maximumBytes``.
    static func read(_ path: String) -> [UInt8]? {
        guard let fd = try? FileDescriptor.openIfExists(path, flags: O_RDONLY), let size = try? fd.size(),
              size >= 8, size <= Int64(maximumBytes), let bytes = try? fd.read(at: 0, count: Int(size)), bytes.count == Int(size) else { return nil }
        return bytes
    }

    /// The builder `fresh` with the saved aggregates, when `bytes` are a whole cache for `key` over
    /// the ledger whose identity is exactly `identity`; nil otherwise.
    static func decode(_ bytes: [UInt8], key: [UInt8], identity: [UInt8], into fresh: MonthlyReportBuilder) -> MonthlyReportBuilder? {
        guard bytes.count >= 8, bytes.count <= maximumBytes else { return nil }
        let body = bytes.count - 8
        let stored = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: body, as: UInt64.self)) }
        guard bytes.withUnsafeBytes({ SummaryChecksum.of(UnsafeRawBufferPointer(rebasing: $0[..<body])) }) == stored else { return nil }
        var r = ByteReader(bytes: Array(bytes[..<body]))
        guard r.u64() == magic, r.u64() == version, let keyLength = r.u32(), let savedKey = r.bytes(Int(keyLength)),
              savedKey.elementsEqual(key), let identityLength = r.u32(), Int(identityLength) == identity.count,
              let savedIdentity = r.bytes(identity.count), savedIdentity.elementsEqual(identity) else { return nil }
        var b = fresh
        guard b.decodeAggregates(from: &r), r.atEnd else { return nil }
        return b
    }
}

/// Appends little-endian integers and length-prefixed text to a byte array.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { append(v, to: &bytes) }
    mutating func u64(_ v: UInt64) { append(v, to: &bytes) }
    mutating func i64(_ v: Int64) { append(v, to: &bytes) }
    mutating func int(_ v: Int) { append(Int64(v), to: &bytes) }
    mutating func text(_ s: String) {
        let b = Array(s.utf8)
        u32(UInt32(b.count))
        bytes += b
    }
}

extension ByteReader {
    /// Bytes not yet read.
    var remaining: Int { bytes.count - at }

    mutating func u8() -> UInt8? { bytes(1)?.first }

    mutating func u64() -> UInt64? { i64().map { UInt64(bitPattern: $0) } }

    /// A count or amount that must lie in `0...limit`.
    mutating func int(max limit: Int) -> Int? {
        guard let v = i64(), v >= 0, v <= Int64(limit) else { return nil }
        return Int(v)
    }

    mutating func text() -> String? {
        guard let n = u32(), let b = bytes(Int(n)) else { return nil }
        return String(decoding: b, as: UTF8.self)
    }
}

// MARK: the builder's state

extension MonthlyReportBuilder {
    /// The most jobs a cache may claim: far above any month, and small enough that no sum of
    /// counts or percentile rank can overflow.
    static let cacheJobLimit = 1 << 48

    /// Whether nothing has been added yet (only such a builder is filled from a cache).
    var isEmpty: Bool { total.t.jobs == 0 && groups.isEmpty && !overflow }

    /// Sorts every group's times to result into runs (what a cache stores, and what ``finish`` reads).
    mutating func compactTimes() {
        total.compactTimes()
        for k in Array(groups.keys) { groups[k]!.compactTimes() }
        for i in providerTotals.indices { providerTotals[i].compactTimes() }
    }

    func encodeAggregates(into w: inout ByteWriter) {
        w.u8(overflow ? 1 : 0)
        w.u32(UInt32(values.count))
        for list in values {
            w.u32(UInt32(list.count))
            for v in list { w.text(v) }
        }
        w.u32(UInt32(groups.count))
        for (key, acc) in groups {
            for i in dimensions.indices { w.u32(key[i]) }
            acc.encode(into: &w)
        }
        total.encode(into: &w)
        w.u32(UInt32(providerNames.count))
        for (name, acc) in zip(providerNames, providerTotals) {
            w.text(name)
            acc.encode(into: &w)
        }
        for d in 0..<period.dayCount {
            w.int(dayJobs[d])
            w.i64(dayEstimated[d])
            w.i64(dayActual[d])
            w.int(dayUnknown[d])
            w.u32(UInt32(dayByProvider[d].count))
            for v in dayByProvider[d] { w.i64(v) }
        }
        for daily in fixedDaily {
            w.u8(daily == nil ? 0 : 1)
            for v in daily ?? [] { w.i64(v) }
        }
        w.u32(UInt32(budgetKeys.count))
        for ((k, key), daily) in zip(budgetKeys, budgetDailies) {
            w.u32(UInt32(k))
            key.encode(into: &w)
            for v in daily { w.i64(v) }
        }
        let codes = conversions.compactMap { Currency.known.firstIndex(of: $0) }.sorted()
        w.u32(UInt32(codes.count))
        for c in codes { w.u8(UInt8(c)) }
    }

    /// Reads back what ``encodeAggregates(into:)`` wrote into this fresh builder; false when
    /// anything is out of range or inconsistent.
    mutating func decodeAggregates(from r: inout ByteReader) -> Bool {
        let days = period.dayCount
        let limit = Self.cacheJobLimit
        guard let flag = r.u8(), flag <= 1, r.u32() == UInt32(dimensions.count) else { return false }
        overflow = flag == 1
        for i in dimensions.indices {
            guard let n = r.u32(), Int(n) <= r.remaining else { return false }
            for _ in 0..<n {
                guard let v = r.text(), interned[i][v] == nil else { return false }
                interned[i][v] = UInt32(values[i].count)
                values[i].append(v)
            }
        }
        guard let groupCount = r.u32(), Int(groupCount) <= r.remaining, !dimensions.isEmpty || groupCount == 0 else { return false }
        for _ in 0..<groupCount {
            var key = GroupKey()
            for i in dimensions.indices {
                guard let id = r.u32(), Int(id) < values[i].count else { return false }
                key[i] = id
            }
            guard groups[key] == nil, let acc = TotalsAccumulator.decode(from: &r) else { return false }
            groups[key] = acc
        }
        guard let t = TotalsAccumulator.decode(from: &r) else { return false }
        total = t
        guard let providers = r.u32(), Int(providers) <= r.remaining else { return false }
        for _ in 0..<providers {
            guard let name = r.text(), providerIndex[name] == nil, let acc = TotalsAccumulator.decode(from: &r) else { return false }
            providerIndex[name] = providerNames.count
            providerNames.append(name)
            providerTotals.append(acc)
        }
        for d in 0..<days {
            guard let jobs = r.int(max: limit), let est = r.i64(), let act = r.i64(), let unknown = r.int(max: limit),
                  let n = r.u32(), Int(n) <= providerNames.count else { return false }
            dayJobs[d] = jobs
            dayEstimated[d] = est
            dayActual[d] = act
            dayUnknown[d] = unknown
            var row: [Int64] = []
            for _ in 0..<n {
                guard let v = r.i64() else { return false }
                row.append(v)
            }
            dayByProvider[d] = row
        }
        for k in budgets.indices {
            guard let present = r.u8(), present == (fixedDaily[k] == nil ? 0 : 1) else { return false }
            if present == 1 {
                for d in 0..<days {
                    guard let v = r.i64() else { return false }
                    fixedDaily[k]![d] = v
                }
            }
        }
        guard let keyCount = r.u32(), Int(keyCount) <= r.remaining else { return false }
        for _ in 0..<keyCount {
            guard let k = r.u32(), Int(k) < budgets.count, case .tag(let tag, nil) = budgets[Int(k)].scope,
                  let key = BudgetKey.decode(from: &r), case .tag(tag, _) = key, budgetSlots[key] == nil else { return false }
            var daily: [Int64] = []
            for _ in 0..<days {
                guard let v = r.i64() else { return false }
                daily.append(v)
            }
            budgetSlots[key] = budgetDailies.count
            budgetDailies.append(daily)
            budgetKeys.append((Int(k), key))
        }
        guard let codes = r.u32(), Int(codes) <= Currency.known.count else { return false }
        for _ in 0..<codes {
            guard let c = r.u8(), Int(c) < Currency.known.count else { return false }
            conversions.insert(Currency.known[Int(c)])
        }
        // Counts that add up: every day's jobs make the total, and no group or provider holds more.
        var sum = 0
        for n in dayJobs {
            sum += n
            if sum > limit { return false }
        }
        return sum == total.t.jobs && groups.values.allSatisfy({ $0.t.jobs <= sum }) && providerTotals.allSatisfy({ $0.t.jobs <= sum })
            && dayUnknown.allSatisfy({ $0 <= sum })
    }
}

extension TotalsAccumulator {
    func encode(into w: inout ByteWriter) {
        for n in [t.jobs, t.succeeded, t.failed, t.needsAttention, t.unfinished, t.refused, t.estimatedUnknownJobs, t.actualUnknownJobs,
                  t.varianceJobs, t.retries, t.failovers] { w.int(n) }
        w.u8((t.estimatedUSDConverted ? 1 : 0) | (t.actualUSDConverted ? 2 : 0) | (overflow ? 4 : 0))
        for bag in [estimated, actual] {
            withUnsafeBytes(of: bag.nanos) { raw in for i in 0..<4 { w.i64(raw.load(fromByteOffset: i * 8, as: Int64.self)) } }
            w.u8(bag.seen)
        }
        for v in [estUSD, actUSD, variance, billedMicros] { w.i64(v) }
        var runs = self
        runs.compactTimes()
        w.u32(UInt32(runs.timeRuns.count))
        for run in runs.timeRuns {
            w.u32(UInt32(bitPattern: run.millis))
            w.int(run.count)
        }
    }

    static func decode(from r: inout ByteReader) -> TotalsAccumulator? {
        let limit = MonthlyReportBuilder.cacheJobLimit
        var a = TotalsAccumulator()
        var counts: [Int] = []
        for _ in 0..<11 {
            guard let n = r.int(max: limit) else { return nil }
            counts.append(n)
        }
        a.t.jobs = counts[0]
        a.t.succeeded = counts[1]
        a.t.failed = counts[2]
        a.t.needsAttention = counts[3]
        a.t.unfinished = counts[4]
        a.t.refused = counts[5]
        a.t.estimatedUnknownJobs = counts[6]
        a.t.actualUnknownJobs = counts[7]
        a.t.varianceJobs = counts[8]
        a.t.retries = counts[9]
        a.t.failovers = counts[10]
        guard counts[1...5].reduce(0, +) == a.t.jobs, counts[6...8].allSatisfy({ $0 <= a.t.jobs }), let flags = r.u8(), flags < 8 else { return nil }
        a.t.estimatedUSDConverted = flags & 1 != 0
        a.t.actualUSDConverted = flags & 2 != 0
        a.overflow = flags & 4 != 0
        for which in 0..<2 {
            var bag = NanoBag()
            var ok = true
            withUnsafeMutableBytes(of: &bag.nanos) { raw in
                for i in 0..<4 {
                    guard let v = r.i64() else { ok = false; return }
                    raw.storeBytes(of: v, toByteOffset: i * 8, as: Int64.self)
                }
            }
            guard ok, let seen = r.u8(), seen < 1 << 4 else { return nil }
            bag.seen = seen
            if which == 0 { a.estimated = bag } else { a.actual = bag }
        }
        guard let e = r.i64(), let u = r.i64(), let v = r.i64(), let b = r.i64(), let runCount = r.u32(), Int(runCount) <= r.remaining / 12 else { return nil }
        a.estUSD = e
        a.actUSD = u
        a.variance = v
        a.billedMicros = b
        var timed = 0
        for _ in 0..<runCount {
            guard let bits = r.u32(), let n = r.int(max: limit), n > 0 else { return nil }
            let millis = Int32(bitPattern: bits)
            if let last = a.timeRuns.last, last.millis >= millis { return nil }
            timed += n
            guard timed <= a.t.succeeded else { return nil }
            a.timeRuns.append(TimeRun(millis: millis, count: n))
        }
        return a
    }
}

extension BudgetKey {
    func encode(into w: inout ByteWriter) {
        switch self {
        case .total: w.u8(0)
        case .provider(let p): w.u8(1); w.text(p.rawValue)
        case .tag(let k, let v): w.u8(2); w.text(k); w.text(v)
        }
    }

    static func decode(from r: inout ByteReader) -> BudgetKey? {
        switch r.u8() {
        case 0: return .total
        case 1: return r.text().flatMap { ProviderID($0) }.map { .provider($0) }
        case 2:
            guard let k = r.text(), let v = r.text() else { return nil }
            return .tag(k, v)
        default: return nil
        }
    }
}
