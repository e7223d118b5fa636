// The last `capacity` items seen, for dropping repeats (an executor runs each task once though
// QoS 1 may deliver its offer twice): a set for the lookup and a ring for the order, so that
// forgetting the oldest moves nothing (dropping it from the front of an array moved 128 KiB for
// every task once 4,096 were held).
struct RecentSet<Element: Hashable> {
    let capacity: Int
    private var members = Set<Element>()
    private var ring: [Element] = []
    /// Where the oldest item is once the ring is full.
    private var oldest = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Adds `item`; false when it was seen among the last `capacity` (nothing changes then).
    mutating func insert(_ item: Element) -> Bool {
        guard members.insert(item).inserted else { return false }
        if ring.count < capacity {
            ring.append(item)
        } else {
            members.remove(ring[oldest])
            ring[oldest] = item
            oldest = (oldest + 1) % capacity
        }
        return true
    }

    func contains(_ item: Element) -> Bool { members.contains(item) }
    var count: Int { members.count }
}
