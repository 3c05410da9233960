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

    private func encode() -> [UInt8] {
        func amounts(_ d: [BudgetKey: Int64]) -> [String: String] {
            Dictionary(uniqueKeysWithValues: d.map { ($0.key.description, String($0.value)) })
        }
        let payload: [String: Any] = [
            "kind": "wanroute-budget-summary", "version": 1,
            "month": month.month.description, "zone": month.zone.identifier,
            "coverage": coverage.sorted { $0.key < $1.key }.map { m, c in
                ["month": m.description, "offset": String(c.offset), "lines": c.lines, "seq": String(c.lastSequence), "crc": Int(c.lastCRC)] as [String: Any]
            },
            "settled": amounts(tally.settled),
            "reserved": amounts(tally.reserved),
            "open": tally.open.sorted { $0.key < $1.key }.map { job, rs in
                ["job": job, "reservations": rs.map { ["nanos": String($0.nanos), "keys": $0.keys.map(\.description)] as [String: Any] }] as [String: Any]
            },
        ]
        var bytes = [UInt8]((try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])) ?? Data())
        let crc = CRC32C.checksum(bytes)
        bytes.append(contentsOf: Array("\ncrc32c \(crc)\n".utf8))
        return bytes
    }

    private func decode(_ data: Data) -> (BudgetTally, [LedgerMonth: Coverage])? {
        let bytes = [UInt8](data)
        guard let nl = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let payload = Array(bytes[..<nl])
        let trailer = String(decoding: bytes[(nl + 1)...], as: UTF8.self)
        guard trailer == "crc32c \(CRC32C.checksum(payload))\n",
              let root = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any],
              root["kind"] as? String == "wanroute-budget-summary", root["version"] as? Int == 1,
              root["month"] as? String == month.month.description, root["zone"] as? String == month.zone.identifier,
              let cov = root["coverage"] as? [[String: Any]], let settled = root["settled"] as? [String: String],
              let reserved = root["reserved"] as? [String: String], let open = root["open"] as? [[String: Any]]
        else { return nil }
        var coverage: [LedgerMonth: Coverage] = [:]
        for c in cov {
            guard let ms = c["month"] as? String, let m = LedgerMonth(ms), let o = (c["offset"] as? String).flatMap({ Int64($0) }),
                  let lines = c["lines"] as? Int, let seq = (c["seq"] as? String).flatMap({ Int64($0) }), let crc = c["crc"] as? Int,
                  let crc32 = UInt32(exactly: crc) else { return nil }
            coverage[m] = Coverage(offset: o, lines: lines, lastSequence: seq, lastCRC: crc32)
        }
        func amounts(_ d: [String: String]) -> [BudgetKey: Int64]? {
            var out: [BudgetKey: Int64] = [:]
            for (k, v) in d {
                guard let key = BudgetKey(k), let n = Int64(v) else { return nil }
                out[key] = n
            }
            return out
        }
        var t = BudgetTally(month: month)
        guard let s = amounts(settled), let r = amounts(reserved) else { return nil }
        t.settled = s
        t.reserved = r
        for o in open {
            guard let job = o["job"] as? String, let rs = o["reservations"] as? [[String: Any]] else { return nil }
            var list: [BudgetTally.Reservation] = []
            for x in rs {
                guard let n = (x["nanos"] as? String).flatMap({ Int64($0) }), let keys = x["keys"] as? [String] else { return nil }
                let parsed = keys.compactMap(BudgetKey.init)
                guard parsed.count == keys.count else { return nil }
                list.append(BudgetTally.Reservation(nanos: n, keys: parsed))
            }
            t.open[job] = list
        }
        return (t, coverage)
    }
}
