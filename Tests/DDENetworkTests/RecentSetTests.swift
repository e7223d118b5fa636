import XCTest
@testable import DDENetwork

/// The executor's memory of the tasks it ran: a repeat among the last `capacity` is refused, the
/// oldest is forgotten first, and forgetting keeps the order through many turns of the ring.
final class RecentSetTests: XCTestCase {
    func testRepeatsAreRefusedAndTheOldestIsForgottenFirst() {
        var recent = RecentSet<Int>(capacity: 3)
        XCTAssertTrue(recent.insert(1))
        XCTAssertTrue(recent.insert(2))
        XCTAssertFalse(recent.insert(1), "a repeat while held")
        XCTAssertTrue(recent.insert(3))
        XCTAssertTrue(recent.insert(4), "full: 1 is forgotten")
        XCTAssertFalse(recent.contains(1))
        XCTAssertEqual(recent.count, 3)
        XCTAssertFalse(recent.insert(2), "2 is still held")
        XCTAssertTrue(recent.insert(1), "1 again, as new: 2 is forgotten")
        XCTAssertFalse(recent.contains(2))
        XCTAssertTrue(recent.contains(3) && recent.contains(4) && recent.contains(1))
    }

    func testManyTurnsKeepExactlyTheLastCapacity() {
        let capacity = 64
        var recent = RecentSet<Int>(capacity: capacity)
        for i in 0..<1000 {
            XCTAssertTrue(recent.insert(i))
            XCTAssertFalse(recent.insert(i))
            XCTAssertEqual(recent.count, min(i + 1, capacity))
            if i >= capacity { XCTAssertFalse(recent.contains(i - capacity), "item \(i - capacity) at step \(i)") }
            XCTAssertTrue(recent.contains(max(0, i - capacity + 1)))
        }
    }
}
