import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fast 64-bit checksum for the job summary's sections (four independent multiply-rotate lanes
/// over 8-byte words: several GB/s, where CRC-32C in software reads about one). It finds damage;
/// it is not a defence against a forger, and needs none: a forged summary can only misstate what
/// the ledger, which stays the truth, says again on a rebuild.
enum SummaryChecksum {
    static let p1: UInt64 = 0x9E37_79B9_7F4A_7C15, p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F

    static func of(_ b: UnsafeRawBufferPointer) -> UInt64 {
        var a: UInt64 = p1, c: UInt64 = p2, d: UInt64 = p1 ^ p2, e: UInt64 = 0x1656_67B1_9E37_79F9
        let n = b.count
        var i = 0
        if let base = b.baseAddress {
            while i + 32 <= n {
                a = ((a ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* p1).rotated(31)
                c = ((c ^ base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)) &* p1).rotated(31)
                d = ((d ^ base.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)) &* p1).rotated(31)
                e = ((e ^ base.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)) &* p1).rotated(31)
                i += 32
            }
            while i < n {
                a = ((a ^ UInt64(base.load(fromByteOffset: i, as: UInt8.self))) &* p2).rotated(27)
                i += 1
            }
        }
        var h = UInt64(n) &* p2
        for lane in [a, c, d, e] { h = ((h ^ lane) &* p1).rotated(29) &* p2 }
        return h ^ (h >> 32)
    }
}

extension UInt64 {
    @inline(__always) func rotated(_ k: UInt64) -> UInt64 { (self << k) | (self >> (64 - k)) }
}

/// The job summary on disk (`summaries/jobs-YYYY-MM.bin` beside the ledger files): a header of
/// 28 little-endian 64-bit words, then nine sections, each with its own checksum in the header
/// so that a report can check and read only the sections it uses.
///
/// Header words: magic, format version, the month (YYYYMM), the coverage (byte length, lines, last
/// sequence, last line's CRC-32C), rows, attempts, the nine section lengths (strings, tag sets,
/// rows, attempts, heap, pending, foreign, events, index), their nine checksums, and the checksum
/// of the words before it. Everything read is checked (lengths, ids, codes, offsets) before use; anything
/// wrong and the summary is rebuilt from the ledger.
enum JobSummaryFile {
    static let magic: UInt64 = 0x3130_4D53_424F_4A57  // "WJOBSM01"
    static let version: UInt64 = 1
    static let headerWords = 28
    static let headerBytes = headerWords * 8
    enum Section: Int, CaseIterable { case strings, tagSets, rows, attempts, heap, pending, foreign, events, index }

    static func path(directory: String, month: LedgerMonth) -> String { directory + "/summaries/jobs-\(month).bin" }

    // MARK: writing

    static func encode(_ s: JobSummary) -> [UInt8] {
        var sections = [[UInt8]](repeating: [], count: Section.allCases.count)
        var strings: [UInt8] = []
        append(UInt32(s.strings.count), to: &strings)
        for text in s.strings {
            let b = Array(text.utf8)
            append(UInt32(b.count), to: &strings)
            strings.append(contentsOf: b)
        }
        sections[Section.strings.rawValue] = strings
        var sets: [UInt8] = []
        append(UInt32(s.tagSets.count), to: &sets)
        for set in s.tagSets {
            append(UInt32(set.count), to: &sets)
            for id in set { append(id, to: &sets) }
        }
        sections[Section.tagSets.rawValue] = sets
        sections[Section.rows.rawValue] = s.rows
        sections[Section.attempts.rawValue] = s.attempts
        sections[Section.heap.rawValue] = s.heap
        var pending: [UInt8] = []
        append(UInt32(s.pending.count), to: &pending)
        for offsets in s.pending {
            append(UInt32(offsets.count), to: &pending)
            for o in offsets { append(o, to: &pending) }
        }
        sections[Section.pending.rawValue] = pending
        var foreign: [UInt8] = []
        append(UInt32(s.foreign.count), to: &foreign)
        for o in s.foreign { append(o, to: &foreign) }
        sections[Section.foreign.rawValue] = foreign
        var events: [UInt8] = []
        events.reserveCapacity(s.events.count * 8)
        for o in s.events { append(o, to: &events) }
        sections[Section.events.rawValue] = events
        var index: [UInt8] = []
        let table = s.index.isEmpty ? s.buildIndex() : s.index
        index.reserveCapacity(table.count * 4)
        for slot in table { append(slot, to: &index) }
        sections[Section.index.rawValue] = index

        var header: [UInt64] = [magic, version, UInt64(bitPattern: s.month.year &* 100 &+ s.month.month),
                                UInt64(bitPattern: s.coverage.offset), UInt64(s.coverage.lines), UInt64(bitPattern: s.coverage.lastSequence),
                                UInt64(s.coverage.lastCRC), UInt64(s.rowCount), UInt64(s.attemptCount)]
        header += sections.map { UInt64($0.count) }
        header += sections.map { b in b.withUnsafeBytes { SummaryChecksum.of($0) } }
        header.append(header.withUnsafeBytes { SummaryChecksum.of($0) })
        var out: [UInt8] = []
        out.reserveCapacity(headerBytes + sections.reduce(0) { $0 + $1.count })
        for w in header { append(w, to: &out) }
        for b in sections { out.append(contentsOf: b) }
        return out
    }

    // MARK: reading

    /// A summary file opened and its header checked; sections are read on demand.
    struct Opened {
        let fd: FileDescriptor
        let month: LedgerMonth
        let coverage: BudgetCache.Coverage
        let rowCount: Int
        let attemptCount: Int
        let lengths: [Int]
        let checksums: [UInt64]

        func offset(of section: Section) -> Int64 {
            Int64(JobSummaryFile.headerBytes + lengths[..<section.rawValue].reduce(0, +))
        }

        /// The section's bytes, checked; nil when unreadable or damaged. `room` more bytes of
        /// capacity let a fold append to it without moving it (a copy of 120 MB of rows would
        /// double their memory for a moment).
        func read(_ section: Section, room: Int = 0) -> [UInt8]? {
            let n = lengths[section.rawValue]
            let start = offset(of: section)
            var whole = true
            // Read straight into the array's storage: zero-filling 100 MB first would cost a pass.
            let bytes = [UInt8](unsafeUninitializedCapacity: n + max(0, room)) { buffer, count in
                let raw = UnsafeMutableRawBufferPointer(buffer)
                var done = 0
                while done < n {
                    let got = (try? fd.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[done..<n]), at: start + Int64(done))) ?? 0
                    if got <= 0 {
                        whole = false
                        break
                    }
                    done += got
                }
                count = whole ? n : 0
            }
            guard whole, bytes.withUnsafeBytes({ SummaryChecksum.of($0) }) == checksums[section.rawValue] else { return nil }
            return bytes
        }
    }

    /// Opens the summary of `month` and checks its header; nil when missing, of another format or
    /// month, or damaged.
    static func open(_ path: String, month: LedgerMonth, calls: any SystemCalls) -> Opened? {
        guard let fd = try? FileDescriptor.openIfExists(path, flags: O_RDONLY, calls: calls),
              let size = try? fd.size(), size >= Int64(headerBytes),
              let raw = try? fd.read(at: 0, count: headerBytes), raw.count == headerBytes else { return nil }
        let w: [UInt64] = raw.withUnsafeBytes { b in (0..<headerWords).map { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) } }
        let sectionCount = Section.allCases.count
        guard w[0] == magic, w[1] == version, w[2] == UInt64(bitPattern: month.year &* 100 &+ month.month),
              w[headerWords - 1] == w[..<(headerWords - 1)].withUnsafeBytes({ SummaryChecksum.of($0) }) else { return nil }
        let lengths = w[9..<(9 + sectionCount)]
        guard lengths.allSatisfy({ $0 <= UInt64(size) }), lengths.reduce(0, +) + UInt64(headerBytes) == UInt64(size),
              w[3] <= UInt64(Int64.max), w[4] <= UInt64(Int.max), w[6] <= UInt64(UInt32.max),
              w[7] <= UInt64(size) / UInt64(JobSummary.rowSize), w[8] <= UInt64(size) / UInt64(JobSummary.attemptSize),
              lengths[9 + Section.rows.rawValue] == w[7] * UInt64(JobSummary.rowSize),
              lengths[9 + Section.attempts.rawValue] == w[8] * UInt64(JobSummary.attemptSize),
              lengths[9 + Section.events.rawValue] % 8 == 0, lengths[9 + Section.index.rawValue] % 4 == 0 else { return nil }
        return Opened(fd: fd, month: month,
                      coverage: BudgetCache.Coverage(offset: Int64(w[3]), lines: Int(w[4]), lastSequence: Int64(bitPattern: w[5]), lastCRC: UInt32(w[6])),
                      rowCount: Int(w[7]), attemptCount: Int(w[8]), lengths: lengths.map { Int($0) },
                      checksums: Array(w[(9 + sectionCount)..<(9 + 2 * sectionCount)]))
    }

    /// Reads and checks every section a report uses (`heap` adds the ids, the events and the id
    /// index; `ids` the ids alone); nil when any is damaged or inconsistent. `rowsRoom` rows more
    /// fit in the rows' storage.
    static func load(_ o: Opened, heap withHeap: Bool, ids: Bool = false, rowsRoom: Int = 0) -> JobSummary? {
        var s = JobSummary(month: o.month)
        s.coverage = o.coverage
        guard let strings = o.read(.strings), let sets = o.read(.tagSets), let rows = o.read(.rows, room: rowsRoom * JobSummary.rowSize),
              let attempts = o.read(.attempts),
              let pending = o.read(.pending), let foreign = o.read(.foreign) else { return nil }
        var reader = ByteReader(bytes: strings)
        guard let n = reader.u32(), Int(n) <= strings.count / 4 else { return nil }
        s.strings.reserveCapacity(Int(n))
        for _ in 0..<n {
            guard let len = reader.u32(), let b = reader.bytes(Int(len)) else { return nil }
            let text = String(decoding: b, as: UTF8.self)
            guard s.stringIndex[text] == nil else { return nil }
            s.stringIndex[text] = UInt32(s.strings.count)
            s.strings.append(text)
        }
        guard reader.atEnd else { return nil }
        reader = ByteReader(bytes: sets)
        guard let m = reader.u32(), Int(m) <= sets.count / 4 else { return nil }
        for _ in 0..<m {
            guard let k = reader.u32(), k % 2 == 0, Int(k) <= sets.count / 4 else { return nil }
            var set: [UInt32] = []
            for _ in 0..<k {
                guard let id = reader.u32(), id < UInt32(s.strings.count) else { return nil }
                set.append(id)
            }
            guard s.tagSetIndex[set] == nil else { return nil }
            s.tagSetIndex[set] = UInt32(s.tagSets.count)
            s.tagSets.append(set)
        }
        guard reader.atEnd else { return nil }
        reader = ByteReader(bytes: pending)
        guard let pc = reader.u32(), Int(pc) <= pending.count / 4 else { return nil }
        for _ in 0..<pc {
            guard let k = reader.u32(), k > 0, Int(k) <= pending.count / 8 else { return nil }
            var offsets: [Int64] = []
            for _ in 0..<k {
                guard let v = reader.i64(), v >= 0, o.coverage.offset > v, v > offsets.last ?? -1 else { return nil }
                offsets.append(v)
            }
            s.pending.append(offsets)
        }
        guard reader.atEnd else { return nil }
        reader = ByteReader(bytes: foreign)
        guard let fc = reader.u32(), Int(fc) <= foreign.count / 8 else { return nil }
        for _ in 0..<fc {
            guard let v = reader.i64(), v >= 0, o.coverage.offset > v, v > s.foreign.last ?? -1 else { return nil }
            s.foreign.append(v)
        }
        guard reader.atEnd else { return nil }
        s.rows = rows
        s.rowCount = o.rowCount
        s.attempts = attempts
        s.attemptCount = o.attemptCount
        let heapLength = o.lengths[Section.heap.rawValue]
        guard validRows(s, heapLength: heapLength), validAttempts(s, heapLength: heapLength) else { return nil }
        if withHeap {
            guard let heap = o.read(.heap) else { return nil }
            s.heap = heap
            guard validHeapReferences(s), let events = o.read(.events), let index = o.read(.index) else { return nil }
            s.events = events.withUnsafeBytes { b in (0..<(events.count / 8)).map { Int64(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) } }
            s.index = index.withUnsafeBytes { b in (0..<(index.count / 4)).map { UInt32(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) } }
            guard s.events.allSatisfy({ $0 >= 0 && $0 < o.coverage.offset }), s.index.allSatisfy({ Int($0) <= s.rowCount }),
                  s.index.count & (s.index.count - 1) == 0 || s.index.isEmpty, validEventRanges(s) else { return nil }
        } else if ids {
            guard let heap = o.read(.heap) else { return nil }
            s.heap = heap
            guard validHeapReferences(s) else { return nil }
        }
        return s
    }

    /// Every id, code and offset of every row in range, and rows in the order their jobs ended.
    static func validRows(_ s: JobSummary, heapLength: Int) -> Bool {
        typealias F = JobSummary.Field
        let strings = UInt32(s.strings.count), sets = UInt32(s.tagSets.count), heap = UInt32(clamping: heapLength)
        let statuses = UInt8(ReportJob.Status.allCases.count), behaviors = UInt8(Behavior.allCases.count)
        let modes = UInt8(Mode.allCases.count), resolutions = UInt8(Resolution.allCases.count)
        let currencies = UInt8(Currency.known.count), sources = UInt8(JobReport.CostSource.allCases.count)
        var lastEnd: Int64 = -1
        return s.rows.withUnsafeBytes { all in
            for i in 0..<s.rowCount {
                let r = JobSummary.Row(base: all.baseAddress! + i * JobSummary.rowSize)
                let flags = r.flags
                let end = r.endOffset
                guard end >= lastEnd, end < s.coverage.offset, r.status >= 1, r.status <= statuses, r.policy < strings, r.tagSet < sets,
                      r.u32(F.jobID) < heap, flags & JobSummary.Flag.task == 0 || r.u32(F.taskID) < heap,
                      r.u8(F.behavior) >= 1, r.u8(F.behavior) <= behaviors,
                      r.u8(F.mode) <= modes, r.u8(F.resolution) <= resolutions, r.u8(F.requiredMode) <= modes,
                      r.u8(F.requiredResolution) <= resolutions, r.u8(F.estimateCurrency) < currencies,
                      r.u8(F.actualCurrency) < currencies, r.u8(F.costSource) <= sources,
                      Int(r.u32(F.attemptsStart)) + r.attemptCount <= s.attemptCount else { return false }
                if flags & JobSummary.Flag.offer != 0 {
                    guard r.provider < strings, r.u8(F.mode) >= 1, r.u8(F.resolution) >= 1 else { return false }
                } else if r.provider != JobSummary.noString {
                    return false
                }
                lastEnd = end
            }
            return true
        }
    }

    /// Every job and task id a row or attempt names is a whole entry of the heap.
    static func validHeapReferences(_ s: JobSummary) -> Bool {
        typealias F = JobSummary.Field
        for i in 0..<s.rowCount {
            let ok = s.withRow(i) { r in
                s.heapEntryValid(r.u32(F.jobID)) && (r.flags & JobSummary.Flag.task == 0 || s.heapEntryValid(r.u32(F.taskID)))
            }
            if !ok { return false }
        }
        return s.attempts.withUnsafeBytes { all in
            for a in 0..<s.attemptCount {
                let e = all.baseAddress! + a * JobSummary.attemptSize
                if e.load(fromByteOffset: 37, as: UInt8.self) & JobSummary.Flag.task != 0,
                   !s.heapEntryValid(e.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) { return false }
            }
            return true
        }
    }

    static func validEventRanges(_ s: JobSummary) -> Bool {
        for i in 0..<s.rowCount where !s.withRow(i, { $0.eventsStart + $0.eventCount <= s.events.count }) { return false }
        return true
    }

    static func validAttempts(_ s: JobSummary, heapLength: Int) -> Bool {
        s.attempts.withUnsafeBytes { all in
            for a in 0..<s.attemptCount {
                let e = all.baseAddress! + a * JobSummary.attemptSize
                let flags = e.load(fromByteOffset: 37, as: UInt8.self)
                guard e.loadUnaligned(as: UInt32.self) < UInt32(s.strings.count),
                      flags & JobSummary.Flag.task == 0 || Int(e.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) < heapLength,
                      (1...UInt8(Mode.allCases.count)).contains(e.load(fromByteOffset: 32, as: UInt8.self)),
                      (1...UInt8(Resolution.allCases.count)).contains(e.load(fromByteOffset: 33, as: UInt8.self)),
                      e.load(fromByteOffset: 34, as: UInt8.self) <= UInt8(FailureClass.allCases.count),
                      e.load(fromByteOffset: 35, as: UInt8.self) <= UInt8(JobReport.CostSource.allCases.count),
                      e.load(fromByteOffset: 36, as: UInt8.self) < UInt8(Currency.known.count) else { return false }
            }
            return true
        }
    }
}

/// Reads little-endian integers and byte runs from untrusted bytes; nil past the end.
struct ByteReader {
    let bytes: [UInt8]
    var at = 0

    var atEnd: Bool { at == bytes.count }

    mutating func u32() -> UInt32? {
        guard at + 4 <= bytes.count else { return nil }
        defer { at += 4 }
        return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    }

    mutating func i64() -> Int64? {
        guard at + 8 <= bytes.count else { return nil }
        defer { at += 8 }
        return bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: Int64.self)) }
    }

    mutating func bytes(_ n: Int) -> ArraySlice<UInt8>? {
        guard n >= 0, n <= bytes.count - at else { return nil }
        defer { at += n }
        return bytes[at..<(at + n)]
    }
}
