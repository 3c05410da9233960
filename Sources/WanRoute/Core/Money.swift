/// An ISO 4217 currency code that wanroute knows how to price in.
public struct Currency: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The three-letter code, such as `USD`.
    public let code: String

    /// US dollars: the currency every offer is compared in.
    public static let usd = Currency(uncheckedCode: "USD")
    /// Chinese yuan: DashScope's Beijing region prices in it.
    public static let cny = Currency(uncheckedCode: "CNY")

    /// The currencies a pricing file may name. Others are refused so a typo ("USB") cannot
    /// produce a price that never converts.
    public static let known: [Currency] = [.usd, .cny, Currency(uncheckedCode: "EUR"), Currency(uncheckedCode: "SGD")]

    /// A known currency by code, or nil.
    public init?(code: String) {
        guard let match = Currency.known.first(where: { $0.code == code }) else { return nil }
        self = match
    }

    private init(uncheckedCode: String) { self.code = uncheckedCode }

    /// The code, such as `USD`.
    public var description: String { code }
    /// Orders currencies by code.
    public static func < (a: Currency, b: Currency) -> Bool { a.code < b.code }
}

/// An exact amount of one currency, held as an Int64 count of nano-units (10^-9).
///
/// Nano-units keep every product of a price (at most 6 decimals) and a billable quantity exact;
/// Int64 holds about 9.2 billion units of a currency, far beyond any job or month here.
public struct Money: Hashable, Sendable, CustomStringConvertible {
    /// Digits after the decimal point that ``nanos`` carries.
    public static let scale = 9
    /// The amount in 10^-9 units of ``currency``.
    public let nanos: Int64
    /// The currency of the amount.
    public let currency: Currency

    /// An amount from nano-units.
    public init(nanos: Int64, currency: Currency) {
        self.nanos = nanos
        self.currency = currency
    }

    /// Zero of a currency.
    public static func zero(_ currency: Currency) -> Money { Money(nanos: 0, currency: currency) }

    /// Parses an exact decimal string ("0.04") in a currency; nil if it is not a plain decimal or
    /// has more than 9 fractional digits.
    public init?(decimal: String, currency: Currency) {
        guard case .success(let n) = FixedDecimal.parse(decimal, scale: Money.scale) else { return nil }
        self.init(nanos: n, currency: currency)
    }

    /// The exact amount as decimal text with at least two fractional digits: `"0.20"`, `"0.26235"`.
    /// This is the form used in JSON and CSV.
    public var decimalString: String {
        FixedDecimal.format(nanos, scale: Money.scale, minimumFractionDigits: 2)
    }

    /// The one format for people: currency code then the exact amount, `USD 0.20`.
    public var description: String { "\(currency.code) \(decimalString)" }

    /// The sum of two amounts of one currency. Mixing currencies is a programming error.
    ///
    /// Every amount wanroute reads is bounded far inside Int64 (see ``Money/largestNanos``), so a sum of
    /// them cannot overflow; for amounts from elsewhere use ``adding(_:)``, which cannot trap.
    public static func + (a: Money, b: Money) -> Money {
        precondition(a.currency == b.currency, "adding \(a.currency) to \(b.currency)")
        return a.adding(b) ?? Money(nanos: a.nanos > 0 ? .max : .min, currency: a.currency)
    }

    /// The amount times a whole count (a number of billable units); saturates rather than traps,
    /// use ``multiplied(by:)`` to see an overflow.
    public static func * (a: Money, count: Int64) -> Money {
        a.multiplied(by: count) ?? Money(nanos: (a.nanos < 0) != (count < 0) ? .min : .max, currency: a.currency)
    }

    /// The exact sum, or nil when it does not fit (or the currencies differ).
    public func adding(_ other: Money) -> Money? {
        guard currency == other.currency else { return nil }
        let (sum, overflow) = nanos.addingReportingOverflow(other.nanos)
        return overflow ? nil : Money(nanos: sum, currency: currency)
    }

    /// The exact product with a count, or nil when it does not fit.
    public func multiplied(by count: Int64) -> Money? {
        let (product, overflow) = nanos.multipliedReportingOverflow(by: count)
        return overflow ? nil : Money(nanos: product, currency: currency)
    }

    /// The largest amount any data file may state (a price, a fee, a limit, a budget): one
    /// million units of a currency. With durations bounded to a day (``Seconds/longestJob``),
    /// every product of a price and a duration stays below 10^17 nano-units, far inside Int64.
    public static let largestNanos: Int64 = 1_000_000 * 1_000_000_000
}

/// A time span held exactly as an Int64 count of microseconds.
///
/// Durations come from the command line as decimal text and from video containers as
/// `value / timescale`; microseconds hold both without floating point, and every limit and
/// billing increment in the pricing tables is a whole number of them.
public struct Seconds: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Digits after the decimal point that ``micros`` carries.
    public static let scale = 6
    /// The span in microseconds.
    public let micros: Int64

    /// A span of `micros` microseconds.
    public init(micros: Int64) { self.micros = micros }
    /// A whole number of seconds.
    public init(whole: Int64) { self.micros = whole * 1_000_000 }

    /// Parses decimal text such as `"12.345"`; nil when it is not a plain decimal with at most
    /// six fractional digits.
    public init?(decimal: String) {
        guard case .success(let n) = FixedDecimal.parse(decimal, scale: Seconds.scale) else { return nil }
        self.micros = n
    }

    /// The longest job wanroute accepts: a day of video. Every duration read from outside (the
    /// command line, a video's headers, a jobs file, a policy test, a provider's billed seconds)
    /// is held to it where it is read, which is what keeps every price × duration inside Int64.
    public static let longestJob = Seconds(micros: 86_400 * 1_000_000)

    /// Whether this is a duration a job may have: more than zero, at most ``longestJob``.
    public var isValidJobDuration: Bool { micros > 0 && micros <= Seconds.longestJob.micros }

    /// A container duration `value / timescale`, rounded to the nearest microsecond (halves up).
    ///
    /// Never traps: a quotient beyond Int64 saturates at `Int64.max` microseconds (callers bound
    /// durations to ``longestJob`` and refuse such values), and a timescale that is not positive
    /// gives `Int64.max` too.
    public init(value: Int64, timescale: Int64) {
        guard timescale > 0 else { self.micros = .max; return }
        let (high, low) = value.magnitude.multipliedFullWidth(by: 1_000_000)
        // dividingFullWidth traps when the quotient does not fit in 64 bits: that is high >= divisor.
        guard high < UInt64(timescale) else { self.micros = value < 0 ? .min : .max; return }
        let (q, r) = UInt64(timescale).dividingFullWidth((high, low))
        let (up, overflow) = q.addingReportingOverflow(r >= UInt64(timescale) - r ? 1 : 0)
        let rounded = overflow ? Int64.max : Int64(clamping: up)
        self.micros = value < 0 ? -rounded : rounded
    }

    /// Exact decimal text without trailing zeros: `"12.345"`, `"5"`.
    public var decimalString: String { FixedDecimal.format(micros, scale: Seconds.scale) }
    /// The decimal text with a unit: `12.345 s`.
    public var description: String { decimalString + " s" }
    /// Orders spans by length.
    public static func < (a: Seconds, b: Seconds) -> Bool { a.micros < b.micros }
}
