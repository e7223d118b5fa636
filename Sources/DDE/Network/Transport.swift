// The core is transport-agnostic (PROTOCOL.md section 10): it turns protocol objects into bytes
// and checked bytes back into objects; a Transport only moves bytes between topics. Receiving is
// pull-based (`receive(timeoutMs:)`) so a single-threaded firmware loop, a test and a threaded
// node can all drive it, and so the core needs no threads of its own.

/// One message as it arrived.
public struct Message: Sendable {
    public var topic: String
    public var payload: [UInt8]

    public init(topic: String, payload: [UInt8]) {
        self.topic = topic
        self.payload = payload
    }
}

/// Moves bytes between topics with at-least-once delivery (MQTT QoS 1 semantics): a receiver must
/// tolerate duplicates. Topic filters use MQTT syntax (`+` one level, `#` the rest).
public protocol Transport: AnyObject {
    /// Publishes `payload` on `topic`; `retain` keeps it for later subscribers (code by hash).
    func publish(topic: String, payload: [UInt8], retain: Bool) throws(DDEError)
    /// Starts delivering messages whose topic matches `filter`.
    func subscribe(_ filter: String) throws(DDEError)
    /// Stops delivering messages for `filter`.
    func unsubscribe(_ filter: String) throws(DDEError)
    /// The next message, waiting at most `timeoutMs` (0: only what is already there); nil when
    /// none arrived in time.
    func receive(timeoutMs: Int) throws(DDEError) -> Message?
}

/// Topic names of protocol v1.
public enum Topic {
    public static let tasks = "dde/v1/tasks"
    public static func results(requester: PublicKey) -> String { "dde/v1/results/\(requester.hex)" }
    public static func code(_ hash: Digest) -> String { "dde/v1/code/\(hash.hex)" }
    /// Where holders of code hear code_requests (executors missing a module ask here).
    public static let codeRequests = "dde/v1/code-requests"
    /// An executor's retained presence message (docs/PROTOCOL.md section 10).
    public static func executors(_ executor: PublicKey) -> String { "dde/v1/executors/\(executor.hex)" }
    /// The filter matching every executor's presence.
    public static let allExecutors = "dde/v1/executors/+"
    /// Where requesters share fraud evidence (docs/PROTOCOL.md section 12).
    public static let evidence = "dde/v1/evidence"

    /// True when `topic` matches the MQTT filter `filter`.
    public static func matches(_ filter: String, _ topic: String) -> Bool {
        let f = filter.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        let t = topic.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var i = 0
        while i < f.count {
            if f[i].elementsEqual("#".utf8) { return true }
            guard i < t.count else { return false }
            if !f[i].elementsEqual("+".utf8) && !f[i].elementsEqual(t[i]) { return false }
            i += 1
        }
        return i == t.count
    }
}
