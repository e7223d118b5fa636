// The shipped Transport: MQTT 3.1.1 through libmosquitto, which the C shim loads at run time
// (Sources/CDDE/cdde_mqtt.c), so libdde.so does not link it and programs that never open an
// MQTT transport do not need it. See docs/NETWORK.md for the design; in short:
// - QoS 1 both ways, TCP_NODELAY on the client socket;
// - clean_session false with a stable client id, so the broker keeps subscriptions and queued
//   QoS-1 messages across disconnects and (with persistence) broker restarts;
// - libmosquitto's network thread reconnects on its own (after 1 s, then longer delays up to a cap) and the
//   shim subscribes again to every filter after each CONNACK;
// - arriving messages are copied into a bounded queue that `receive(timeoutMs:)` takes from in
//   the caller's thread; a message over `maxMessageBytes`, or one that does not fit the queue, is
//   dropped and the reason reported through `onNotice`.
import CDDE

/// Tunables of an MQTT connection.
public struct MQTTOptions: Sendable {
    /// Arriving payloads larger than this are dropped on receipt (default: the JSON parser's
    /// default document limit, so nothing is queued that the parser would refuse anyway).
    public var maxMessageBytes: Int
    /// Bounds of the receive queue between the network thread and `receive`; the message bound
    /// also caps publishes waiting for the broker's acknowledgement.
    public var maxQueuedMessages: Int
    public var maxQueuedBytes: Int
    public var keepAliveSeconds: Int
    /// How long `MQTTTransport.init` waits for the broker's CONNACK.
    public var connectTimeoutMs: Int
    /// Reconnect back-off: 1 s, growing (libmosquitto: quadratically) up to this many seconds.
    public var reconnectMaxSeconds: Int
    /// true: the broker keeps no session (for one-shot publishers); false (default): it keeps
    /// subscriptions and queued QoS-1 messages under the client id across disconnects.
    public var cleanSession: Bool

    public init(maxMessageBytes: Int = JSONLimits.default.maxBytes, maxQueuedMessages: Int = 4096,
                maxQueuedBytes: Int = 64 << 20, keepAliveSeconds: Int = 30,
                connectTimeoutMs: Int = 5000, reconnectMaxSeconds: Int = 4, cleanSession: Bool = false) {
        self.maxMessageBytes = maxMessageBytes
        self.maxQueuedMessages = maxQueuedMessages
        self.maxQueuedBytes = maxQueuedBytes
        self.keepAliveSeconds = keepAliveSeconds
        self.connectTimeoutMs = connectTimeoutMs
        self.reconnectMaxSeconds = reconnectMaxSeconds
        self.cleanSession = cleanSession
    }
}

/// Counters of one connection, for logs and tests.
public struct MQTTStats: Sendable {
    public var connected: Bool
    /// Accepted CONNACKs: more than 1 means it reconnected.
    public var connects: Int
    /// Messages dropped on receipt (over `maxMessageBytes`, queue full).
    public var dropped: UInt64
    public var queuedMessages: UInt64
    /// Publishes the broker has not acknowledged yet.
    public var unacknowledged: UInt64
}

public final class MQTTTransport: Transport, @unchecked Sendable {
    // The shim handle is thread-safe: publish may be called from any thread while another
    // receives. The handle is set once in init and freed in close()/deinit.
    private var handle: OpaquePointer?
    public let host: String
    public let port: Int
    public let clientId: String
    /// Called from `receive` (in the receiving thread) with each log line of the connection:
    /// reconnects and dropped messages with their reason. Default: none.
    public var onNotice: ((String) -> Void)?

    /// Connects to `url` (`mqtt://host:port`, port 1883 when omitted) as `clientId` and waits for
    /// the broker to accept. Use a stable id per role and key (`MQTTTransport.clientId`): the
    /// broker keeps the session under it, and a second client with the same id takes it over.
    public init(url: String, clientId: String, options: MQTTOptions = MQTTOptions()) throws(DDEError) {
        let (host, port) = try MQTTTransport.parseURL(url)
        guard !clientId.isEmpty, clientId.utf8.count <= 64, !clientId.utf8.contains(0) else {
            throw DDEError(.argument, "MQTT client id must be 1 to 64 bytes without NUL")
        }
        guard options.maxMessageBytes > 0, options.maxQueuedMessages > 0, options.maxQueuedBytes > 0 else {
            throw DDEError(.argument, "MQTT options: message and queue limits must be positive")
        }
        self.host = host
        self.port = port
        self.clientId = clientId
        var c = cdde_mqtt_options(
            max_message_bytes: options.maxMessageBytes, max_queued_messages: options.maxQueuedMessages,
            max_queued_bytes: options.maxQueuedBytes, keepalive_seconds: Int32(clamping: options.keepAliveSeconds),
            connect_timeout_ms: Int32(clamping: options.connectTimeoutMs),
            reconnect_max_seconds: Int32(clamping: options.reconnectMaxSeconds),
            clean_session: options.cleanSession ? 1 : 0)
        var err = [CChar](repeating: 0, count: 512)
        let h = err.withUnsafeMutableBufferPointer { e in
            cdde_mqtt_open(host, Int32(port), clientId, &c, e.baseAddress, e.count)
        }
        guard let h else { throw DDEError(.transport, MQTTTransport.text(err)) }
        handle = h
    }

    deinit { close() }

    /// Disconnects cleanly (the broker keeps the session for the next run with this id).
    /// Unacknowledged publishes are lost unless `flush` was called first. Idempotent.
    public func close() {
        if let h = handle {
            handle = nil
            cdde_mqtt_close(h)
        }
    }

    /// A stable client id for `role` ("node", "req", ...) and a key: the same on every run.
    public static func clientId(role: String, key: PublicKey) -> String {
        let hex = key.hex.utf8
        return "dde-\(role)-\(String(decoding: hex.prefix(12), as: UTF8.self))"
    }

    public func publish(topic: String, payload: [UInt8], retain: Bool) throws(DDEError) {
        let h = try open()
        try MQTTTransport.checkTopic(topic, wildcards: false)
        var err = [CChar](repeating: 0, count: 512)
        let rc = payload.withUnsafeBufferPointer { p in
            err.withUnsafeMutableBufferPointer { e in
                cdde_mqtt_publish(h, topic, p.baseAddress, p.count, retain ? 1 : 0, e.baseAddress, e.count)
            }
        }
        guard rc == 0 else { throw DDEError(.transport, MQTTTransport.text(err)) }
    }

    public func subscribe(_ filter: String) throws(DDEError) {
        let h = try open()
        try MQTTTransport.checkTopic(filter, wildcards: true)
        var err = [CChar](repeating: 0, count: 512)
        let rc = err.withUnsafeMutableBufferPointer { e in cdde_mqtt_subscribe(h, filter, e.baseAddress, e.count) }
        guard rc == 0 else { throw DDEError(.transport, MQTTTransport.text(err)) }
    }

    public func unsubscribe(_ filter: String) throws(DDEError) {
        let h = try open()
        try MQTTTransport.checkTopic(filter, wildcards: true)
        var err = [CChar](repeating: 0, count: 512)
        let rc = err.withUnsafeMutableBufferPointer { e in cdde_mqtt_unsubscribe(h, filter, e.baseAddress, e.count) }
        guard rc == 0 else { throw DDEError(.transport, MQTTTransport.text(err)) }
    }

    public func receive(timeoutMs: Int) throws(DDEError) -> Message? {
        let h = try open()
        let wait = Int32(clamping: max(0, timeoutMs))
        let message = cdde_mqtt_receive(h, wait)
        // Notices after the wait, so what happened during it (a reconnect, a drop) is told now.
        drainNotices(h)
        guard let m = message else { return nil }
        defer { cdde_mqtt_message_free(m) }
        let topic = String(cString: m.pointee.topic)
        let payload = m.pointee.length > 0
            ? Array(UnsafeBufferPointer(start: m.pointee.payload, count: m.pointee.length)) : []
        return Message(topic: topic, payload: payload)
    }

    /// Waits at most `timeoutMs` until the broker has acknowledged every publish so far;
    /// `DDE_ERR_TRANSPORT` naming how many are still pending otherwise.
    public func flush(timeoutMs: Int) throws(DDEError) {
        let h = try open()
        let left = cdde_mqtt_flush(h, Int32(clamping: max(0, timeoutMs)))
        guard left == 0 else {
            throw DDEError(.transport, "\(left) publish(es) not acknowledged by the broker at \(host):\(port) within \(timeoutMs) ms")
        }
    }

    public var stats: MQTTStats {
        var c = cdde_mqtt_counters()
        if let h = handle { cdde_mqtt_stats(h, &c) }
        return MQTTStats(connected: c.connected != 0, connects: Int(c.connects), dropped: c.dropped,
                         queuedMessages: c.queued_messages, unacknowledged: c.unacked)
    }

    // MARK: - helpers

    private func open() throws(DDEError) -> OpaquePointer {
        guard let h = handle else { throw DDEError(.closed, "the MQTT transport is closed") }
        return h
    }

    private func drainNotices(_ h: OpaquePointer) {
        var buffer = [CChar](repeating: 0, count: 320)
        var rounds = 0
        while rounds < 128 {
            let got = buffer.withUnsafeMutableBufferPointer { b in cdde_mqtt_take_notice(h, b.baseAddress, b.count) }
            if got == 0 { break }
            onNotice?(MQTTTransport.text(buffer))
            rounds += 1
        }
    }

    static func text(_ buffer: [CChar]) -> String {
        var bytes: [UInt8] = []
        for c in buffer {
            if c == 0 { break }
            bytes.append(UInt8(bitPattern: c))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// MQTT topic rules: 1 to 65535 bytes, no NUL; `+` and `#` only as whole levels of a filter,
    /// `#` last; none at all in a topic one publishes to.
    static func checkTopic(_ topic: String, wildcards: Bool) throws(DDEError) {
        let bytes = Array(topic.utf8)
        guard !bytes.isEmpty, bytes.count <= 65535, !bytes.contains(0) else {
            throw DDEError(.argument, "MQTT topic must be 1 to 65535 bytes without NUL")
        }
        let levels = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for (i, level) in levels.enumerated() {
            let hasWildcard = level.contains(UInt8(ascii: "+")) || level.contains(UInt8(ascii: "#"))
            guard hasWildcard else { continue }
            guard wildcards else {
                throw DDEError(.argument, "MQTT topic '\(topic)': cannot publish to a topic with + or #")
            }
            let whole = level.count == 1
            let hashLast = level.first != UInt8(ascii: "#") || i == levels.count - 1
            guard whole, hashLast else {
                throw DDEError(.argument, "MQTT filter '\(topic)': + and # must be whole levels, # the last")
            }
        }
    }

    /// `mqtt://host[:port]` with an optional trailing `/`. Host: a name, IPv4, or `[IPv6]`.
    public static func parseURL(_ url: String) throws(DDEError) -> (host: String, port: Int) {
        let bytes = Array(url.utf8)
        let scheme = Array("mqtt://".utf8)
        guard bytes.count > scheme.count, bytes.count <= 300, Array(bytes[0..<scheme.count]) == scheme else {
            throw DDEError(.argument, "broker URL '\(url)' must look like mqtt://host:port (e.g. mqtt://127.0.0.1:1883)")
        }
        var rest = Array(bytes[scheme.count...])
        if rest.last == UInt8(ascii: "/") { rest.removeLast() }
        guard !rest.contains(UInt8(ascii: "@")) else {
            throw DDEError(.argument, "broker URL '\(url)': user names and passwords in the URL are not supported")
        }
        guard !rest.contains(UInt8(ascii: "/")), !rest.contains(UInt8(ascii: "?")) else {
            throw DDEError(.argument, "broker URL '\(url)': no path or query allowed, only mqtt://host:port")
        }
        var hostBytes: [UInt8]
        var portBytes: [UInt8] = []
        if rest.first == UInt8(ascii: "[") {
            guard let close = rest.firstIndex(of: UInt8(ascii: "]")) else {
                throw DDEError(.argument, "broker URL '\(url)': unterminated [IPv6] address")
            }
            hostBytes = Array(rest[1..<close])
            let after = Array(rest[(close + 1)...])
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else {
                    throw DDEError(.argument, "broker URL '\(url)': expected :port after ]")
                }
                portBytes = Array(after.dropFirst())
            }
            guard !hostBytes.isEmpty, hostBytes.allSatisfy({ isHex($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else {
                throw DDEError(.argument, "broker URL '\(url)': invalid IPv6 address")
            }
        } else {
            if let colon = rest.firstIndex(of: UInt8(ascii: ":")) {
                hostBytes = Array(rest[..<colon])
                portBytes = Array(rest[(colon + 1)...])
            } else {
                hostBytes = rest
            }
            let ok = !hostBytes.isEmpty && hostBytes.count <= 253 && hostBytes.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                    || b == UInt8(ascii: ".") || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
            }
            guard ok else { throw DDEError(.argument, "broker URL '\(url)': invalid host name") }
        }
        var port = 1883
        if !portBytes.isEmpty || rest.last == UInt8(ascii: ":") {
            guard !portBytes.isEmpty, portBytes.count <= 5, portBytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw DDEError(.argument, "broker URL '\(url)': port must be a number from 1 to 65535")
            }
            port = portBytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard port >= 1 && port <= 65535 else {
                throw DDEError(.argument, "broker URL '\(url)': port must be a number from 1 to 65535")
            }
        }
        return (String(decoding: hostBytes, as: UTF8.self), port)
    }

    private static func isHex(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
    }
}
