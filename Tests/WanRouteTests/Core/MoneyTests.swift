import XCTest
@testable import WanRoute

final class MoneyTests: XCTestCase {
    func testParsesAndFormatsExactly() {
        XCTAssertEqual(Money(decimal: "0.04", currency: .usd)?.nanos, 40_000_000)
        XCTAssertEqual(Money(decimal: "0.0212", currency: .usd)?.decimalString, "0.0212")
        XCTAssertEqual(Money(decimal: "9.6", currency: .usd)?.description, "USD 9.60")
        XCTAssertEqual(Money(nanos: 5, currency: .cny).decimalString, "0.000000005")
        XCTAssertEqual(Money(nanos: -1_500_000_000, currency: .usd).decimalString, "-1.50")
    }

    func testRefusesWhatItCannotHoldExactly() {
        XCTAssertNil(Money(decimal: "0.0000000001", currency: .usd), "10 decimals would be rounded")
        XCTAssertEqual(Money(decimal: "0.1000000000", currency: .usd)?.nanos, 100_000_000, "trailing zeros lose nothing")
        for bad in ["", ".5", "5.", "1e3", "+1", "1,5", " 1", "0x10", "--1", "99999999999999"] {
            XCTAssertNil(Money(decimal: bad, currency: .usd), bad)
        }
    }

    func testSecondsFromContainerTimescaleRoundsToNearestMicrosecond() {
        XCTAssertEqual(Seconds(value: 1001, timescale: 30000).micros, 33_367)   // 33366.67 µs
        XCTAssertEqual(Seconds(value: 12345, timescale: 1000).decimalString, "12.345")
        XCTAssertEqual(Seconds(value: 1, timescale: 2_000_000).micros, 1)        // a half rounds up
        XCTAssertEqual(Seconds(decimal: "2.0"), Seconds(whole: 2))
        XCTAssertNil(Seconds(decimal: "1.0000001"))
    }

    func testExchangeConversionRoundsHalfAwayFromZero() {
        let rates = ExchangeRates(rates: [.init(currency: .cny, usdPerUnitMicros: 140_600, readOn: "2026-11-20", source: "test")])
        XCTAssertEqual(rates.usd(Money(decimal: "6", currency: .cny)!), Money(decimal: "0.8436", currency: .usd))
        // 0.000000005 CNY × 0.1406 = 0.000000000703 USD → rounds to 1 nano-dollar? No: 0.703 nano rounds to 1.
        XCTAssertEqual(rates.usd(Money(nanos: 5, currency: .cny))?.nanos, 1)
        XCTAssertEqual(rates.usd(Money(nanos: 3, currency: .cny))?.nanos, 0)  // 0.4218 nano rounds down
        XCTAssertNil(rates.usd(Money(nanos: 1, currency: Currency(code: "EUR")!)))
    }
}
