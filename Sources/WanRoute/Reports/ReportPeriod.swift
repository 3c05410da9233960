import Foundation

/// Why a report could not be built.
public enum ReportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `--month` is not `YYYY-MM`.
    case badMonth(String)
    /// `--tz` names no time zone.
    case badTimeZone(String)
    /// `--group-by` names something that is not a dimension.
    case badDimension(String)
    /// A sum left the range Int64 nano-units can hold.
    case overflow(String)

    /// The problem as one sentence that says what to do.
    public var description: String {
        switch self {
        case .badMonth(let m): return "'\(m)' is not a month; write it as YYYY-MM, such as 2026-12"
        case .badTimeZone(let z): return "'\(z)' is not a time zone; use an IANA name such as UTC, Europe/Berlin or Asia/Shanghai"
        case .badDimension(let d): return "'\(d)' cannot be grouped by; use provider, behavior, mode, resolution, policy, status or tag:KEY (at most \(ReportDimension.maximumCount), comma-separated)"
        case .overflow(let what): return "\(what) is too large to add up exactly"
        }
    }
}

/// One calendar month in a time zone: the instants it starts and ends at and where each day begins.
///
/// A job belongs to the month (and the day) in which it was decided, read in this zone; so a job
/// decided at 20:00 UTC on 30 November is in December's report for Asia/Shanghai.
public struct ReportPeriod: Sendable, Equatable {
    /// The year, such as 2026.
    public let year: Int
    /// The month, 1-12.
    public let month: Int
    /// The zone the month and its days are read in.
    public let timeZone: TimeZone
    /// Seconds since 1970 at which each day begins, plus the month's end: `days + 1` values.
    public let boundaries: [Int64]
    /// `YYYY-MM-DD` of each day.
    public let dayLabels: [String]

    /// The month `YYYY-MM` in a zone (IANA name; `UTC` by default).
    public init(month text: String, timeZone zone: String = "UTC") throws(ReportError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), (1970...9999).contains(y), (1...12).contains(m) else {
            throw .badMonth(text)
        }
        guard let tz = TimeZone(identifier: zone) else { throw .badTimeZone(zone) }
        self.init(year: y, month: m, timeZone: tz)
    }

    /// The month `month` of `year` in `timeZone`.
    public init(year: Int, month: Int, timeZone: TimeZone) {
        self.year = year
        self.month = month
        self.timeZone = timeZone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let first = calendar.date(from: DateComponents(year: year, month: month, day: 1))!
        let days = calendar.range(of: .day, in: .month, for: first)!.count
        var boundaries: [Int64] = []
        var labels: [String] = []
        for d in 0...days {
            let date = calendar.date(byAdding: .day, value: d, to: first)!
            boundaries.append(Int64(date.timeIntervalSince1970.rounded(.down)))
            if d < days { labels.append(String(format: "%04d-%02d-%02d", year, month, d + 1)) }
        }
        self.boundaries = boundaries
        self.dayLabels = labels
    }

    /// `YYYY-MM`.
    public var label: String { String(format: "%04d-%02d", year, month) }
    /// The first instant of the month.
    public var start: Date { Date(timeIntervalSince1970: TimeInterval(boundaries[0])) }
    /// The first instant after the month (exclusive end).
    public var end: Date { Date(timeIntervalSince1970: TimeInterval(boundaries[boundaries.count - 1])) }
    /// Days in the month.
    public var dayCount: Int { boundaries.count - 1 }
    /// The month's length in seconds (a day may be 23 or 25 hours across a clock change).
    public var lengthSeconds: Int64 { boundaries[boundaries.count - 1] - boundaries[0] }

    /// Which day of the month an instant falls on (0-based), or nil when outside the month.
    public func dayIndex(_ date: Date) -> Int? {
        dayIndex(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// ``dayIndex(_:)`` for seconds since 1970.
    public func dayIndex(epochSeconds t: Int64) -> Int? {
        guard t >= boundaries[0], t < boundaries[boundaries.count - 1] else { return nil }
        var lo = 0, hi = boundaries.count - 1
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if boundaries[mid] <= t { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// Whether an instant is inside the month.
    public func contains(_ date: Date) -> Bool { dayIndex(date) != nil }

    /// The day label `YYYY-MM-DD`, in the period's zone, of any instant (inside the month or not).
    public func dayLabel(_ date: Date) -> String {
        // Inside the month, the label is the day's (reconcile asks for every job's).
        if let d = dayIndex(date) { return dayLabels[d] }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }
}

/// UTC instants as FOCUS and the JSON outputs write them: `YYYY-MM-DDTHH:mm:ssZ`.
public enum UTCTimestamp {
    /// The instant rounded down to the second, `2026-12-01T00:00:00Z`.
    public static func string(_ date: Date) -> String { string(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down))) }

    /// ``string(_:)`` for seconds since 1970 (proleptic Gregorian calendar, no leap seconds).
    public static func string(epochSeconds t: Int64) -> String {
        let days = t >= 0 ? t / 86_400 : (t - 86_399) / 86_400
        let secs = t - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        // Digits by hand: String(format:) costs microseconds per call on Linux.
        var bytes: [UInt8] = Array("0000-00-00T00:00:00Z".utf8)
        func put(_ v: Int64, at i: Int, width: Int) {
            var v = v
            for k in stride(from: i + width - 1, through: i, by: -1) {
                bytes[k] = UInt8(48 + v % 10)
                v /= 10
            }
        }
        put(y, at: 0, width: 4)
        put(m, at: 5, width: 2)
        put(d, at: 8, width: 2)
        put(secs / 3600, at: 11, width: 2)
        put(secs % 3600 / 60, at: 14, width: 2)
        put(secs % 60, at: 17, width: 2)
        return String(decoding: bytes, as: UTF8.self)
    }
}
