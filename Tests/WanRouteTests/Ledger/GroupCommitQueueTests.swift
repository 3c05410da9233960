import XCTest
@testable import WanRoute

/// The group commit's waiting room: one drain at a time, batches in arrival order within a limit.
final class GroupCommitQueueTests: XCTestCase {
    func testOnlyTheFirstCallerStartsADrainUntilTheDrainFindsNothing() {
        let queue = GroupCommitQueue<Int>()
        XCTAssertTrue(queue.add(1))
        XCTAssertFalse(queue.add(2), "a drain is running: the second caller only waits")
        XCTAssertEqual(queue.take(), [1, 2])
        XCTAssertFalse(queue.add(3), "the drain has not yet seen an empty queue")
        XCTAssertEqual(queue.take(), [3])
        XCTAssertEqual(queue.take(), [], "nothing waits: the drain ends")
        XCTAssertTrue(queue.add(4), "the next caller starts a new drain")
    }

    func testBatchesStayWithinTheLimitButAlwaysTakeOneCaller() {
        let queue = GroupCommitQueue<Int>()
        for n in [600, 300, 200, 1_500, 1] { _ = queue.add(n) }
        XCTAssertEqual(queue.take(limit: 1_000) { $0 }, [600, 300])
        XCTAssertEqual(queue.take(limit: 1_000) { $0 }, [200])
        XCTAssertEqual(queue.take(limit: 1_000) { $0 }, [1_500], "one caller above the limit still goes alone")
        XCTAssertEqual(queue.take(limit: 1_000) { $0 }, [1])
        XCTAssertEqual(queue.take(limit: 1_000) { $0 }, [])
    }
}
