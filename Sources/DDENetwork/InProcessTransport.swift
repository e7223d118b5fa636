// The embedded default transport: a hub in one process with one endpoint per participant. It
// implements what the core relies on from MQTT: topic filters (`+`, `#`), retained messages
// (delivered on subscribe; an empty retained payload clears the topic), and at-least-once
// delivery (here exactly once, or twice with `duplicateDeliveries`, to exercise receivers).
// Thread-safe: endpoints may be used from different threads.
import DDE
import Foundation

public final class InProcessHub: @unchecked Sendable {
    private let lock = NSLock()
    private var endpoints: [WeakEndpoint] = []
    private var retained: [String: [UInt8]] = [:]
    /// Deliver every message twice (QoS 1 allows duplicates; tests use this).
    public var duplicateDeliveries = false
    /// Give a new subscription the retained messages it matches (as MQTT requires). False: a
    /// broker that does not, as RabbitMQ 3.x for a wildcard filter or for a subscriber on
    /// another node of the cluster (docs/NETWORK.md, Brokers); tests use this.
    public var retainedOnSubscribe = true

    public init() {}

    /// A new endpoint on this hub.
    public func endpoint(name: String = "endpoint") -> InProcessTransport {
        let e = InProcessTransport(hub: self, name: name)
        lock.lock()
        endpoints.removeAll { $0.endpoint == nil }
        endpoints.append(WeakEndpoint(endpoint: e))
        lock.unlock()
        return e
    }

    func publish(topic: String, payload: [UInt8], retain: Bool) {
        lock.lock()
        if retain {
            if payload.isEmpty { retained[topic] = nil } else { retained[topic] = payload }
        }
        let targets = endpoints.compactMap { $0.endpoint }
        let twice = duplicateDeliveries
        lock.unlock()
        // A retained clear (empty payload) is not delivered, as in MQTT.
        if retain && payload.isEmpty { return }
        for e in targets where e.wants(topic) {
            e.enqueue(Message(topic: topic, payload: payload))
            if twice { e.enqueue(Message(topic: topic, payload: payload)) }
        }
    }

    func retainedMessages(matching filter: String) -> [Message] {
        lock.lock()
        defer { lock.unlock() }
        guard retainedOnSubscribe else { return [] }
        return retained.filter { Topic.matches(filter, $0.key) }
            .sorted { $0.key < $1.key }
            .map { Message(topic: $0.key, payload: $0.value) }
    }

    private struct WeakEndpoint {
        weak var endpoint: InProcessTransport?
    }
}

public final class InProcessTransport: Transport, @unchecked Sendable {
    /// Messages queued for one endpoint before new ones are dropped (a stuck receiver must not
    /// exhaust memory).
    public static let maxQueued = 100_000

    public let name: String
    private let hub: InProcessHub
    private let condition = NSCondition()
    private var filters: [String] = []
    private var queue: [Message] = []
    private var head = 0
    private var closed = false
    /// Messages dropped because the queue was full.
    public private(set) var dropped = 0

    init(hub: InProcessHub, name: String) {
        self.hub = hub
        self.name = name
    }

    public func publish(topic: String, payload: [UInt8], retain: Bool) throws(DDEError) {
        guard !isClosed else { throw DDEError(.closed, "in-process transport \(name) is closed") }
        guard Self.isValidTopic(topic) else {
            throw DDEError(.argument, "publish: topic \"\(topic)\" must be non-empty without + or #")
        }
        hub.publish(topic: topic, payload: payload, retain: retain)
    }

    public func subscribe(_ filter: String) throws(DDEError) {
        guard !isClosed else { throw DDEError(.closed, "in-process transport \(name) is closed") }
        guard !filter.isEmpty else { throw DDEError(.argument, "subscribe: empty topic filter") }
        condition.lock()
        let new = !filters.contains(filter)
        if new { filters.append(filter) }
        condition.unlock()
        // As MQTT: a new subscription receives the retained messages it matches.
        if new {
            for m in hub.retainedMessages(matching: filter) { enqueue(m) }
        }
    }

    public func unsubscribe(_ filter: String) throws(DDEError) {
        condition.lock()
        filters.removeAll { $0 == filter }
        condition.unlock()
    }

    public func receive(timeoutMs: Int) throws(DDEError) -> Message? {
        let deadline = Date(timeIntervalSinceNow: Double(max(0, timeoutMs)) / 1000)
        condition.lock()
        defer { condition.unlock() }
        while head == queue.count {
            if closed { throw DDEError(.closed, "in-process transport \(name) is closed") }
            if timeoutMs <= 0 || !condition.wait(until: deadline) {
                if head == queue.count { return nil }
            }
        }
        let m = queue[head]
        head += 1
        if head > 1024 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        return m
    }

    /// Closes the endpoint: receivers waiting are woken with `.closed`.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    func wants(_ topic: String) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return !closed && filters.contains { Topic.matches($0, topic) }
    }

    func enqueue(_ m: Message) {
        condition.lock()
        if queue.count - head >= Self.maxQueued {
            dropped += 1
        } else {
            queue.append(m)
            condition.signal()
        }
        condition.unlock()
    }

    static func isValidTopic(_ topic: String) -> Bool {
        !topic.isEmpty && !topic.utf8.contains(UInt8(ascii: "+")) && !topic.utf8.contains(UInt8(ascii: "#"))
    }
}
