import Foundation
import XCTest
@testable import WanRoute

/// Generated job and run ids: short, time-ordered, and different each time.
final class GeneratedIDTests: XCTestCase {
    func testAnIdIsThePrefixThenTheSecondThenFortyRandomBitsInBase32() {
        XCTAssertEqual(GeneratedID.make("j", second: 0, random: 0), "j000000000000000")
        XCTAssertEqual(GeneratedID.make("r", second: 1, random: 1 << 40 - 1), "r0000001zzzzzzzz")
        // 2026-12-02T00:00:00Z is second 1,796,169,600.
        let id = GeneratedID.make("j", at: Date(timeIntervalSince1970: 1_796_169_600.9))
        XCTAssertEqual(id.count, 16)
        XCTAssertTrue(id.hasPrefix("j1ngyqw0"), id)
        XCTAssertTrue(id.utf8.allSatisfy { GeneratedID.alphabet.contains($0) || $0 == UInt8(ascii: "j") })
    }

    func testIdsSortByTheSecondTheyWereMadeIn() {
        var previous = ""
        for second in [0, 1, 31, 32, 1_796_169_600, 1_796_169_601, 34_359_738_367] as [Int64] {
            let id = GeneratedID.make("j", second: second, random: UInt64(second) & 0xff)
            XCTAssertLessThan(previous, id)
            previous = id
        }
    }

    func testTenThousandIdsMadeInOneSecondAreAllDifferent() {
        let at = Date(timeIntervalSince1970: 1_796_169_600)
        XCTAssertEqual(Set((0..<10_000).map { _ in GeneratedID.make("j", at: at) }).count, 10_000)
    }
}
