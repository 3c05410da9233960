import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One budget month's tally in a file store, with how far into each ledger file it has folded,
/// and its derived, rebuildable summary on disk (`summaries/MONTH@ZONE.json`).
///
/// The summary records, per ledger file, the byte length of the prefix it covers, the line count,
/// and the sequence number and checksum of the prefix's last line. Before use, each is checked
/// against the file (the line ending at that length must carry that sequence number and checksum);
/// any mismatch, or a summary that fails its own checksum, and the month is folded from the ledger
/// again. The ledger stays the truth.
final class BudgetCache: @unchecked Sendable {
    struct Coverage: Equatable {
        var offset: Int64 = 0
        var lines = 0
        var lastSequence: Int64 = 0
        var lastCRC: UInt32 = 0
    }

    /// Fold this many new ledger bytes before writing the summary again.
    static let saveEvery: Int64 = 4 << 20

    let month: BudgetMonth
    let directory: String
    let calls: any SystemCalls
    private let lock = NSLock()
    var tally: BudgetTally
    var coverage: [LedgerMonth: Coverage] = [:]
    var foldedSinceSave: Int64 = 0
    private var loaded = false

    init(month: BudgetMonth, directory: String, calls: any SystemCalls) {
        self.month = month
        self.directory = directory
        self.calls = calls
        self.tally = BudgetTally(month: month)
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    func reset() {
        tally = BudgetTally(month: month)
        coverage = [:]
        foldedSinceSave = 0
    }

    var path: String {
        directory + "/summaries/\(month.month)@\(month.zone.identifier.replacingOccurrences(of: "/", with: "_")).json"
    }

    /// Loads the summary the first time, if one exists and matches the ledger files.
    func loadSummaryOnce() throws {
        guard !loaded else { return }
        loaded = true
        guard let data = FileManager.default.contents(atPath: path), let (t, c) = decode(data), verify(c) else { return }
        tally = t
        coverage = c
    }

    /// Writes the summary (best effort: it is derived, and rebuilt when missing or wrong).
    func saveSummary() {
        try? DurableFiles.makeDirectory(directory + "/summaries")
        try? DurableFiles.replace(path, with: encode(), calls: calls)
        foldedSinceSave = 0
    }

    private func verify(_ c: [LedgerMonth: Coverage]) -> Bool {
        for (m, cover) in c where cover.offset > 0 {
            let p = directory + "/" + FileLedgerStore.fileName(m)
            guard let fd = try? FileDescriptor.openIfExists(p, flags: O_RDONLY, calls: calls),
                  let size = try? fd.size(), size >= cover.offset,
                  let line = try? LedgerFileScanner.line(endingAt: cover.offset, in: fd),
                  line.withUnsafeBytes({ LedgerCodec.verify($0) }),
                  line.withUnsafeBytes({ LedgerFileScanner.storedCRC($0) }) == cover.lastCRC,
                  line.withUnsafeBytes({ LedgerCodec.envelope($0)?.sequence }) == cover.lastSequence
            else { return false }
        }
        return true
    }

    // The summary is text, one record per line, fields separated by tabs; strings are JSON-quoted
    // (a tab inside one is escaped, so a raw tab always separates fields):
    //   wanroute-budget-summary 1 "2026-12" "America/Los_Angeles"
    //   file 2026-12 OFFSET LINES SEQ CRC          (per ledger file: the prefix folded)
    //   settled "KEY" NANOS / reserved "KEY" NANOS
    //   keys ID "KEY" "KEY"…                       (a set of budget keys, shared by reservations)
    //   open "JOB" NANOS KEYS-ID                   (one per open reservation, in order)
    //   crc32c CRC                                 (of every byte before this line)
    // Written and read by hand: a million-job month may leave thousands of open reservations, and
    // the summary must open in milliseconds.

    private func encode() -> [UInt8] {
        var out: [UInt8] = []
        func line(_ fields: [String]) {
            out.append(contentsOf: fields.joined(separator: "\t").utf8)
            out.append(0x0A)
        }
        func quoted(_ s: String) -> String {
            var b: [UInt8] = []
            LedgerCodec.string(s, &b)
            return String(decoding: b, as: UTF8.self)
        }
        line(["wanroute-budget-summary", "1", quoted(month.month.description), quoted(month.zone.identifier)])
        for (m, c) in coverage.sorted(by: { $0.key < $1.key }) {
            line(["file", m.description, String(c.offset), String(c.lines), String(c.lastSequence), String(c.lastCRC)])
        }
        for (k, v) in tally.settled.sorted(by: { $0.key.description < $1.key.description }) { line(["settled", quoted(k.description), String(v)]) }
        for (k, v) in tally.reserved.sorted(by: { $0.key.description < $1.key.description }) { line(["reserved", quoted(k.description), String(v)]) }
        var keySets: [[BudgetKey]: Int] = [:]
        for (job, rs) in tally.open.sorted(by: { $0.key < $1.key }) {
            for r in rs {
                let id: Int
                if let known = keySets[r.keys] {
                    id = known
                } else {
                    id = keySets.count
                    keySets[r.keys] = id
                    line(["keys", String(id)] + r.keys.map { quoted($0.description) })
                }
                line(["open", quoted(job), String(r.nanos), String(id)])
            }
        }
        line(["crc32c", String(CRC32C.checksum(out))])
        return out
    }

    private func decode(_ data: Data) -> (BudgetTally, [LedgerMonth: Coverage])? {
        let bytes = [UInt8](data)
        guard let lastLine = bytes.dropLast().lastIndex(of: 0x0A).map({ $0 + 1 }), bytes.last == 0x0A else { return nil }
        let trailer = String(decoding: bytes[lastLine..<(bytes.count - 1)], as: UTF8.self)
        guard trailer == "crc32c\t\(bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<lastLine])) })" else { return nil }
        var t = BudgetTally(month: month)
        var coverage: [LedgerMonth: Coverage] = [:]
        var keySets: [Int: [BudgetKey]] = [:]
        var keyCache: [String: BudgetKey] = [:]
        var first = true
        let ok: Bool = bytes.withUnsafeBytes { all in
            var start = 0
            while start < lastLine {
                guard let nl = memchrIndex(all, 0x0A, from: start, to: lastLine) else { return false }
                var fields: [UnsafeRawBufferPointer] = []
                var f = start
                while let tab = memchrIndex(all, 0x09, from: f, to: nl) {
                    fields.append(UnsafeRawBufferPointer(rebasing: all[f..<tab]))
                    f = tab + 1
                }
                fields.append(UnsafeRawBufferPointer(rebasing: all[f..<nl]))
                start = nl + 1
                func word(_ i: Int) -> String? { i < fields.count ? String(decoding: fields[i], as: UTF8.self) : nil }
                func int(_ i: Int) -> Int64? {
                    // Digits straight from the bytes: thousands of lines, no String each.
                    guard i < fields.count, !fields[i].isEmpty, fields[i].count <= 19 else { return nil }
                    var v: Int64 = 0
                    for b in fields[i] {
                        guard b >= 0x30, b <= 0x39 else { return nil }
                        v = v * 10 + Int64(b - 0x30)
                    }
                    return v
                }
                func tag(_ name: StaticString) -> Bool {
                    fields[0].count == name.utf8CodeUnitCount && memcmp(fields[0].baseAddress!, name.utf8Start, fields[0].count) == 0
                }
                func quoted(_ i: Int) -> String? {
                    guard i < fields.count else { return nil }
                    var p = LineParser(bytes: fields[i], end: fields[i].count)
                    guard let s = try? p.string(), p.i == fields[i].count else { return nil }
                    return s
                }
                func key(_ i: Int) -> BudgetKey? {
                    guard let s = quoted(i) else { return nil }
                    if let k = keyCache[s] { return k }
                    let k = BudgetKey(s)
                    keyCache[s] = k
                    return k
                }
                if first {
                    guard word(0) == "wanroute-budget-summary", word(1) == "1", quoted(2) == month.month.description,
                          quoted(3) == month.zone.identifier, fields.count == 4 else { return false }
                    first = false
                    continue
                }
                if tag("open") {
                    guard let job = quoted(1), let n = int(2), let id = int(3), let keys = keySets[Int(id)] else { return false }
                    t.open[job, default: []].append(BudgetTally.Reservation(nanos: n, keys: keys))
                    continue
                }
                switch word(0) {
                case "file":
                    guard let ms = word(1), let m = LedgerMonth(ms), let o = int(2), let l = int(3), let seq = int(4),
                          let crc = int(5), let crc32 = UInt32(exactly: crc) else { return false }
                    coverage[m] = Coverage(offset: o, lines: Int(l), lastSequence: seq, lastCRC: crc32)
                case "settled":
                    guard let k = key(1), let n = int(2) else { return false }
                    t.settled[k] = n
                case "reserved":
                    guard let k = key(1), let n = int(2) else { return false }
                    t.reserved[k] = n
                case "keys":
                    guard let id = int(1) else { return false }
                    var keys: [BudgetKey] = []
                    for i in 2..<fields.count {
                        guard let k = key(i) else { return false }
                        keys.append(k)
                    }
                    keySets[Int(id)] = keys
                default:
                    return false
                }
            }
            return !first
        }
        return ok ? (t, coverage) : nil
    }
}
