import Foundation

extension BudgetTally {
    /// The tally as versioned bytes, for a store that keeps a checkpoint of it (the PostgreSQL
    /// store saves one so that a new process folds only the budget events after it). Keys as their
    /// text; open reservations by job, in job order.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = [1]
        func int(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) {
            int(Int64(s.utf8.count))
            out += Array(s.utf8)
        }
        for table in [settled, reserved] {
            int(Int64(table.count))
            for (k, v) in table.sorted(by: { $0.key.description < $1.key.description }) {
                string(k.description)
                int(v)
            }
        }
        int(Int64(open.count))
        for (job, reservations) in open.sorted(by: { $0.key < $1.key }) {
            string(job)
            int(Int64(reservations.count))
            for r in reservations {
                int(r.nanos)
                int(Int64(r.keys.count))
                for k in r.keys { string(k.description) }
            }
        }
        return out
    }

    /// Reads ``encoded()`` bytes as the tally of `month`; nil when they are not exactly one tally.
    public init?(encoded bytes: [UInt8], month: BudgetMonth) {
        var at = 1
        func int() -> Int64? {
            guard bytes.count - at >= 8 else { return nil }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(bytes[at + k]) << (8 * UInt64(k)) }
            at += 8
            return Int64(bitPattern: v)
        }
        func count() -> Int? {
            guard let n = int(), n >= 0, n <= Int64(bytes.count - at) else { return nil }
            return Int(n)
        }
        func string() -> String? {
            guard let n = count() else { return nil }
            defer { at += n }
            return String(validating: bytes[at..<(at + n)], as: UTF8.self)
        }
        func key() -> BudgetKey? { string().flatMap(BudgetKey.init) }
        guard bytes.first == 1 else { return nil }
        self.init(month: month)
        var tables: [[BudgetKey: Int64]] = []
        for _ in 0..<2 {
            guard let n = count() else { return nil }
            var table: [BudgetKey: Int64] = [:]
            for _ in 0..<n {
                guard let k = key(), let v = int(), table.updateValue(v, forKey: k) == nil else { return nil }
            }
            tables.append(table)
        }
        settled = tables[0]
        reserved = tables[1]
        guard let jobs = count() else { return nil }
        for _ in 0..<jobs {
            guard let job = string(), let n = count(), open[job] == nil else { return nil }
            var reservations: [Reservation] = []
            for _ in 0..<n {
                guard let nanos = int(), let keyCount = count() else { return nil }
                var keys: [BudgetKey] = []
                for _ in 0..<keyCount {
                    guard let k = key() else { return nil }
                    keys.append(k)
                }
                reservations.append(Reservation(nanos: nanos, keys: keys))
            }
            open[job] = reservations
        }
        guard at == bytes.count else { return nil }
    }
}
