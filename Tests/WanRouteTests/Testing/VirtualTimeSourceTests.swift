import Foundation
import WanRoute
import WanRouteTesting
import XCTest

/// The shipped virtual clock: what embedders' tests rely on when they drive the executor.
final class VirtualTimeSourceTests: XCTestCase {
    func testSleepsReturnAtOnceMoveTimeAndAreRecorded() async throws {
        let time = VirtualTimeSource(start: Seconds(micros: 5_000_000))
        try await time.sleep(for: Seconds(micros: 3_600_000_000))
        try await time.sleep(for: Seconds(micros: 250_000))
        XCTAssertEqual(time.now(), Seconds(micros: 3_605_250_000))
        XCTAssertEqual(time.sleeps, [Seconds(micros: 3_600_000_000), Seconds(micros: 250_000)])
        time.advance(by: Seconds(micros: 750_000))
        XCTAssertEqual(time.now(), Seconds(micros: 3_606_000_000))
        XCTAssertEqual(time.sleeps.count, 2, "advancing is not a wait")
        XCTAssertEqual(time.date(), Date(timeIntervalSince1970: 1_795_000_000 + 3_606))
    }

    func testACancelledTaskDoesNotSleep() async {
        let time = VirtualTimeSource()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await time.sleep(for: Seconds(micros: 1_000_000))
        }
        do {
            try await task.value
            XCTFail("a cancelled sleep returned")
        } catch {
            XCTAssertTrue(error is CancellationError, "\(error)")
        }
        XCTAssertEqual(time.sleeps, [])
        XCTAssertEqual(time.now(), Seconds(micros: 0))
    }
}
