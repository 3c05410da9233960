/// Exact base-10 fixed-point text conversion for the integer types that carry money and time.
///
/// Money and durations are Int64 counts of a small unit (nano-units of a currency, microseconds);
/// this is the one place that turns them into decimal text and back, so no value passes through a
/// floating-point type.
public enum FixedDecimal {
    /// Why a decimal string was refused.
    public enum ParseFailure: Error, Sendable, Equatable {
        /// Not of the form `-?digits(.digits)?`.
        case notADecimal
        /// More fractional digits than the unit can hold exactly.
        case tooManyFractionDigits(allowed: Int)
        /// Larger than the type can hold.
        case outOfRange
    }

    /// Parses `"12.345"` into `12_345_000` at scale 6. Refuses exponents, signs other than a leading
    /// `-`, spaces, and digits beyond `scale` (rather than rounding them away silently).
    public static func parse(_ text: String, scale: Int) -> Result<Int64, ParseFailure> {
        var utf8 = Substring(text).utf8[...]
        var negative = false
        if utf8.first == UInt8(ascii: "-") { negative = true; utf8 = utf8.dropFirst() }
        var whole: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var sawDigit = false
        var inFraction = false
        for b in utf8 {
            if b == UInt8(ascii: ".") {
                if inFraction || !sawDigit { return .failure(.notADecimal) }
                inFraction = true
                continue
            }
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return .failure(.notADecimal) }
            let digit = Int64(b - UInt8(ascii: "0"))
            if inFraction {
                fractionDigits += 1
                if fractionDigits > scale {
                    // Trailing zeros beyond the scale change nothing; anything else would be lost.
                    if digit != 0 { return .failure(.tooManyFractionDigits(allowed: scale)) }
                    continue
                }
                fraction = fraction * 10 + digit
            } else {
                sawDigit = true
                let (m, o1) = whole.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(digit)
                if o1 || o2 { return .failure(.outOfRange) }
                whole = s
            }
        }
        if !sawDigit || (inFraction && fractionDigits == 0) { return .failure(.notADecimal) }
        for _ in min(fractionDigits, scale)..<scale { fraction *= 10 }
        let (scaled, o1) = whole.multipliedReportingOverflow(by: pow10(scale))
        let (total, o2) = scaled.addingReportingOverflow(fraction)
        if o1 || o2 { return .failure(.outOfRange) }
        return .success(negative ? -total : total)
    }

    /// Formats `value` (a count of 10^-scale units) as exact decimal text with trailing zeros
    /// trimmed but at least `minimumFractionDigits` digits after the point.
    public static func format(_ value: Int64, scale: Int, minimumFractionDigits: Int = 0) -> String {
        let unit = pow10(scale)
        let magnitude = value.magnitude
        let whole = magnitude / UInt64(unit)
        var fraction = magnitude % UInt64(unit)
        var digits = scale
        while digits > minimumFractionDigits, fraction % 10 == 0, digits > 0 {
            fraction /= 10
            digits -= 1
        }
        var text = value < 0 ? "-" : ""
        text += String(whole)
        if digits > 0 {
            let f = String(fraction)
            text += "." + String(repeating: "0", count: digits - f.count) + f
        }
        return text
    }

    /// 10 to the power `n`, for scales up to 18.
    public static func pow10(_ n: Int) -> Int64 {
        precondition(n >= 0 && n <= 18, "scale out of range")
        var v: Int64 = 1
        for _ in 0..<n { v *= 10 }
        return v
    }
}

extension FixedDecimal.ParseFailure: CustomStringConvertible {
    /// The failure as a phrase that follows the value: `is too large`.
    public var description: String {
        switch self {
        case .notADecimal: return "is not a plain decimal number such as 12 or 0.04"
        case .tooManyFractionDigits(let n): return "has more than \(n) digits after the decimal point"
        case .outOfRange: return "is too large"
        }
    }
}
