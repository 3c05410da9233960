/// How a provider turns a job's duration into a bill.
///
/// The rule, written down once: the duration is divided into billing units (a whole number of
/// `increment` seconds, or frames at `fps`), rounded by ``rounding``; the units are then raised to
/// the ``minimum`` and lowered to the ``cap``; the cost is units times the exact price of one unit,
/// plus any flat fee. A minimum is rounded up to whole units and a cap down, so neither is crossed.
public struct BillingRule: Sendable, Equatable {
    /// What the provider measures.
    public enum Basis: String, Sendable, CaseIterable {
        /// The reference video's duration (APIXO detects it from `video_urls[0]`).
        case referenceSeconds = "reference-seconds"
        /// Seconds of output generated (DashScope `usage.video_duration`); the estimate uses the
        /// reference duration, since Wan 2.2 Animate's output follows its length.
        case outputSeconds = "output-seconds"
        /// Output frames counted at a fixed frame rate (fal.ai counts at 16 fps).
        case outputFrames = "output-frames"
        /// The provider does not say; no billable quantity can be estimated.
        case unknown
    }

    /// How a fractional number of units is rounded.
    public enum Rounding: String, Sendable, CaseIterable {
        /// Any part of a unit bills the whole unit (the default: an estimate is never below the bill).
        case up
        /// To the nearest unit, halves up.
        case nearest
        /// Only whole units bill.
        case down
    }

    /// What the provider measures to bill a job.
    public let basis: Basis
    /// How a fractional number of billing units is rounded.
    public let rounding: Rounding
    /// The length of one billing unit as the fraction `unitMicros / unitDivisor` microseconds:
    /// `(1_000_000, 1)` for whole seconds, `(1_000_000, 16)` for a frame at 16 fps. This is the
    /// numerator: the increment in microseconds (one second for frame-counted billing).
    public let unitMicros: Int64
    /// The denominator of the unit length: 1 for seconds-based rules, the frame rate for frames.
    public let unitDivisor: Int64
    /// The fewest seconds billed, if any.
    public let minimum: Seconds?
    /// The most seconds billed, if any.
    public let cap: Seconds?
    /// A fee added to every job, if any.
    public let flatFee: Money?
    /// Whether a task that fails is free: true where the provider documents it (DashScope, fal.ai),
    /// nil where nobody says, so a failed task's cost is reported unknown rather than zero.
    public let failedTasksFree: Bool?
    /// Free text from the pricing file (free quotas, refund policy).
    public let notes: String?

    /// Billable units for a duration after rounding, minimum and cap; nil when the basis is unknown
    /// or the duration is not one a job may have (``Seconds/isValidJobDuration``).
    public func billableUnits(for duration: Seconds) -> Int64? {
        if basis == .unknown || !duration.isValidJobDuration { return nil }
        return Self.units(duration.micros, unitMicros: unitMicros, unitDivisor: unitDivisor, rounding: rounding,
                          minimumUnits: minimumUnits, capUnits: capUnits)
    }

    /// The seconds that `units` billing units span, to the microsecond.
    public func seconds(forUnits units: Int64) -> Seconds {
        Self.seconds(units, unitMicros: unitMicros, unitDivisor: unitDivisor)
    }

    /// The minimum in whole units, rounded up so the minimum is never undercut (0 when none).
    var minimumUnits: Int64 {
        minimum.map { Self.divide($0.micros * unitDivisor, by: unitMicros, rounding: .up) } ?? 0
    }

    /// The cap in whole units, rounded down so the cap is never exceeded (Int64.max when none).
    var capUnits: Int64 {
        cap.map { Self.divide($0.micros * unitDivisor, by: unitMicros, rounding: .down) } ?? .max
    }

    /// The rule's arithmetic, shared with the quoting hot path (``PricingRow``).
    static func units(_ micros: Int64, unitMicros: Int64, unitDivisor: Int64, rounding: Rounding, minimumUnits: Int64, capUnits: Int64) -> Int64 {
        min(max(divide(micros * unitDivisor, by: unitMicros, rounding: rounding), minimumUnits), capUnits)
    }

    static func seconds(_ units: Int64, unitMicros: Int64, unitDivisor: Int64) -> Seconds {
        Seconds(micros: divide(units * unitMicros, by: unitDivisor, rounding: .nearest))
    }

    /// Integer division of non-negative values with the given rounding.
    static func divide(_ a: Int64, by b: Int64, rounding: Rounding) -> Int64 {
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        switch rounding {
        case .down: return q
        case .up: return r > 0 ? q + 1 : q
        case .nearest: return r * 2 >= b ? q + 1 : q
        }
    }
}

/// A width-to-height ratio such as 1:3, compared exactly in integers.
public struct AspectRatio: Sendable, Equatable, CustomStringConvertible {
    /// The width term of the ratio (1 in 1:3), from 1 to 1000.
    public let width: Int64
    /// The height term of the ratio (3 in 1:3), from 1 to 1000.
    public let height: Int64

    /// A ratio from `"W:H"` text, or nil.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Int64(parts[0]), let h = Int64(parts[1]), w > 0, h > 0, w <= 1000, h <= 1000 else { return nil }
        width = w
        height = h
    }

    /// The ratio as `W:H` text, such as `1:3`.
    public var description: String { "\(width):\(height)" }
}

/// The media kinds a job supplies.
public enum MediaKind: String, Sendable, Equatable {
    /// The reference video.
    case video
    /// The character image.
    case image
}

/// What a provider accepts for one input (the reference video or the character image).
public struct MediaLimits: Sendable, Equatable {
    /// Accepted container or image formats in lower case (`mp4`, `jpeg`), or nil if not stated.
    public var formats: [String]?
    /// The shortest accepted video duration, or nil if not stated (videos only).
    public var minimumDuration: Seconds?
    /// The longest accepted video duration, or nil if not stated (videos only).
    public var maximumDuration: Seconds?
    /// The least the shorter side may be, in pixels, or nil if not stated.
    public var minimumSide: Int64?
    /// The most the longer side may be, in pixels, or nil if not stated.
    public var maximumSide: Int64?
    /// The narrowest accepted width:height, or nil if not stated.
    public var minimumAspect: AspectRatio?
    /// The widest accepted width:height, or nil if not stated.
    public var maximumAspect: AspectRatio?
    /// The largest accepted file in bytes, or nil if not stated.
    public var maximumBytes: Int64?

    /// No limits at all.
    public static let none = MediaLimits()
}

/// Everything a provider checks before accepting a job.
public struct InputLimits: Sendable, Equatable {
    /// What the provider accepts for the reference video.
    public var video: MediaLimits
    /// What the provider accepts for the character image.
    public var image: MediaLimits
    /// URL schemes accepted for inputs, or nil if not stated.
    public var urlSchemes: [String]?
    /// Whether URLs must be ASCII only (DashScope and Modellix refuse others).
    public var urlASCIIOnly: Bool

    /// Whether the provider publishes any input limit at all.
    public var isPublished: Bool { video != .none || image != .none || urlSchemes != nil || urlASCIIOnly }
}

/// Where a price came from and how sure we are of it.
public struct Provenance: Sendable, Equatable {
    /// The page the price was read from.
    public let url: String
    /// How sure the price is: published, third-party or unknown.
    public let confidence: Confidence
    /// The day the source was read, `YYYY-MM-DD`.
    public let readOn: String
    /// A remark on the source, or nil.
    public let note: String?
}

/// One provider's pricing file, resolved.
public struct ProviderPricing: Sendable, Equatable {
    /// The provider's stable id, such as `dashscope-intl`.
    public let id: ProviderID
    /// The provider's name for people, such as `DashScope`.
    public let name: String
    /// A region qualifier, such as `international`, if the provider has several.
    public let region: String?
    /// Whether wanroute can submit jobs to it, or only quote it.
    public let hasAdapter: Bool
    /// The URL of the provider's API documentation.
    public let docs: String
    /// How the provider turns a job's duration into a bill.
    public let billing: BillingRule
    /// What the provider checks before accepting a job.
    public let limits: InputLimits

    /// The name with its region for people: `DashScope (international)`.
    public var displayName: String { region.map { "\(name) (\($0))" } ?? name }
}

/// One thing a provider sells: a behaviour in a mode at a resolution, with its price.
public struct Offer: Sendable, Equatable {
    /// The position of the provider in ``PriceCatalog/providers``.
    public let providerIndex: Int
    /// The provider selling the offer.
    public let provider: ProviderID
    /// The behaviour sold.
    public let behavior: Behavior
    /// The mode sold.
    public let mode: Mode
    /// The output resolution sold.
    public let resolution: Resolution
    /// The price of one second, or nil when nobody publishes it (never zero in its place).
    public let pricePerSecond: Money?
    /// The exact price of one billing unit (see ``BillingRule``), precomputed at load.
    public let pricePerUnit: Money?
    /// A 0-100 quality score for routing; documented in the pricing file's source note.
    public let quality: Int
    /// Expected wall-clock time of a job on this offer.
    public let latency: LatencyModel
    /// Where the price came from and how sure it is.
    public let source: Provenance

    /// `provider/behavior/mode/resolution`, a stable key for tables, tests and policies.
    public var key: String { "\(provider.rawValue)/\(behavior.rawValue)/\(mode.rawValue)/\(resolution.rawValue)" }
}

/// Conversion into US dollars, so offers priced in other currencies can be compared.
public struct ExchangeRates: Sendable, Equatable {
    /// One rate: how many US dollars one unit of `currency` buys.
    public struct Rate: Sendable, Equatable {
        /// The currency converted from (never USD).
        public let currency: Currency
        /// USD per unit in 10^-6 units (`0.1406` is `140_600`).
        public let usdPerUnitMicros: Int64
        /// The day the rate was read, `YYYY-MM-DD`.
        public let readOn: String
        /// Where the rate comes from, as free text from the exchange-rates file.
        public let source: String
    }

    /// The known rates, at most one per currency.
    public let rates: [Rate]

    /// The rate for a currency, or nil.
    public func rate(for currency: Currency) -> Rate? { rates.first { $0.currency == currency } }

    /// `money` in US dollars, rounded to the nearest nano-dollar (halves away from zero); nil when
    /// no rate is known. US dollars come back unchanged.
    public func usd(_ money: Money) -> Money? {
        if money.currency == .usd { return money }
        guard let rate = rate(for: money.currency) else { return nil }
        return Money(nanos: Self.convert(money.nanos, usdPerUnitMicros: rate.usdPerUnitMicros), currency: .usd)
    }

    /// `nanos` of a currency in nano-dollars at a rate in micro-dollars per unit: the one
    /// conversion (nearest nano-dollar, halves away from zero).
    static func convert(_ nanos: Int64, usdPerUnitMicros: Int64) -> Int64 {
        let (high, low) = nanos.magnitude.multipliedFullWidth(by: UInt64(usdPerUnitMicros))
        let (q, r) = UInt64(1_000_000).dividingFullWidth((high, low))
        let rounded = Int64(clamping: q + (r >= 500_000 ? 1 : 0))
        return nanos < 0 ? -rounded : rounded
    }
}

extension Provenance {
    /// Whole days from ``readOn`` to `today` (both `YYYY-MM-DD`), or nil when either is not a date.
    /// Use it to flag prices nobody has checked for a while.
    public func ageInDays(asOf today: String) -> Int? {
        guard let read = Self.dayNumber(readOn), let now = Self.dayNumber(today) else { return nil }
        return now - read
    }

    /// Days since 1970-01-01 of a proleptic Gregorian `YYYY-MM-DD` date (Howard Hinnant's
    /// days_from_civil), without Foundation's calendars; nil when the text is not such a date.
    public static func dayNumber(_ text: String) -> Int? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y0 = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1...12).contains(m), (1...31).contains(d) else { return nil }
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
