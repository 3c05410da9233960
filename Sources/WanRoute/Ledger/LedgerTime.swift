import Foundation

/// An instant in the ledger: whole milliseconds since 1970-01-01T00:00:00Z, written as
/// `2026-12-02T01:59:27.123Z` (RFC 3339, UTC, always three fractional digits).
///
/// Integer milliseconds keep times exact through a write and a read, and order events without
/// floating point; the callers' clocks are injected (``TimeSource/date()``).
public struct LedgerTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since the Unix epoch.
    public let milliseconds: Int64

    /// The first instant of the year 10000: ledger times are before it (and from 1970 on).
    static let latestMilliseconds: Int64 = 253_402_300_800_000

    /// An instant from milliseconds since the Unix epoch.
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// The instant of `date`, truncated to the millisecond.
    public init(_ date: Date) {
        self.milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// The instant as a `Date` (Foundation's seconds as a Double: a time, never money).
    public var date: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    /// The UTC calendar month the instant falls in: the ledger file it belongs to.
    public var month: LedgerMonth {
        let (y, m, _) = Self.civil(fromDays: Self.floorDiv(milliseconds, 86_400_000))
        return LedgerMonth(uncheckedYear: y, month: m)
    }

    /// Orders instants.
    public static func < (a: LedgerTime, b: LedgerTime) -> Bool { a.milliseconds < b.milliseconds }

    /// `2026-12-02T01:59:27.123Z`.
    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the RFC 3339 text to `out`.
    public func write(into out: inout [UInt8]) {
        let days = Self.floorDiv(milliseconds, 86_400_000)
        let inDay = milliseconds - days * 86_400_000
        let (y, m, d) = Self.civil(fromDays: days)
        func put(_ v: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(v / divisor % 10))
                divisor /= 10
            }
        }
        put(y, 4); out.append(UInt8(ascii: "-"))
        put(m, 2); out.append(UInt8(ascii: "-"))
        put(d, 2); out.append(UInt8(ascii: "T"))
        put(inDay / 3_600_000, 2); out.append(UInt8(ascii: ":"))
        put(inDay / 60_000 % 60, 2); out.append(UInt8(ascii: ":"))
        put(inDay / 1000 % 60, 2); out.append(UInt8(ascii: "."))
        put(inDay % 1000, 3); out.append(UInt8(ascii: "Z"))
    }

    /// Parses exactly the form ``description`` writes (years 1970 to 9999); nil otherwise.
    public static func parse(_ s: UnsafeRawBufferPointer) -> LedgerTime? {
        guard s.count == 24, s[4] == UInt8(ascii: "-"), s[7] == UInt8(ascii: "-"), s[10] == UInt8(ascii: "T"),
              s[13] == UInt8(ascii: ":"), s[16] == UInt8(ascii: ":"), s[19] == UInt8(ascii: "."), s[23] == UInt8(ascii: "Z")
        else { return nil }
        func num(_ from: Int, _ count: Int) -> Int64? {
            var v: Int64 = 0
            for i in from..<(from + count) {
                let b = s[i]
                guard b >= 0x30, b <= 0x39 else { return nil }
                v = v * 10 + Int64(b - 0x30)
            }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2),
              let sec = num(17, 2), let ms = num(20, 3), y >= 1970, (1...12).contains(mo), d >= 1,
              d <= daysIn(year: y, month: mo), h < 24, mi < 60, sec < 60 else { return nil }
        let days = Self.days(fromCivil: y, mo, d)
        return LedgerTime(milliseconds: ((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + ms)
    }

    /// Parses the text form; nil when it is not exactly that form.
    public init?(_ text: String) {
        var t = text
        guard let v = t.withUTF8({ LedgerTime.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = v
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func daysIn(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// A UTC calendar month: the unit of the file ledger (one file per month) and of reports.
public struct LedgerMonth: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The year, such as 2026.
    public let year: Int64
    /// The month, 1 to 12.
    public let month: Int64

    init(uncheckedYear year: Int64, month: Int64) {
        self.year = year
        self.month = month
    }

    /// A month; nil when `month` is not 1 to 12 or the year is outside 1970 to 9999.
    public init?(year: Int, month: Int) {
        guard (1970...9999).contains(year), (1...12).contains(month) else { return nil }
        self.init(uncheckedYear: Int64(year), month: Int64(month))
    }

    /// Parses `YYYY-MM`; nil otherwise.
    public init?(_ text: String) {
        let u = Array(text.utf8)
        guard u.count == 7, u[4] == UInt8(ascii: "-"), u.enumerated().allSatisfy({ $0.offset == 4 || ($0.element >= 0x30 && $0.element <= 0x39) }),
              let y = Int(text.prefix(4)), let m = Int(text.suffix(2)) else { return nil }
        self.init(year: y, month: m)
    }

    /// `2026-12`.
    public var description: String {
        let y = String(year), m = String(month)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + (m.count == 1 ? "0" : "") + m
    }

    /// The first instant of the month (UTC).
    public var start: LedgerTime { LedgerTime(milliseconds: LedgerTime.days(fromCivil: year, month, 1) * 86_400_000) }
    /// The first instant of the next month (UTC).
    public var end: LedgerTime { next.start }
    /// The month after.
    public var next: LedgerMonth { month == 12 ? LedgerMonth(uncheckedYear: year + 1, month: 1) : LedgerMonth(uncheckedYear: year, month: month + 1) }
    /// The month before.
    public var previous: LedgerMonth { month == 1 ? LedgerMonth(uncheckedYear: year - 1, month: 12) : LedgerMonth(uncheckedYear: year, month: month - 1) }

    /// Orders months.
    public static func < (a: LedgerMonth, b: LedgerMonth) -> Bool { (a.year, a.month) < (b.year, b.month) }
}
