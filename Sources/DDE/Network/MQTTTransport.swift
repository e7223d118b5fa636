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
//   dropped and the reason reported through `onNotice`;
// - `mqtts://`: TLS with the server certificate and its host name verified, optionally a client
//   certificate or a pre-shared key, and a user name with a password read from a file or an
//   environment variable (MQTTSecurity). The shim reads the secrets itself, so no Swift string
//   ever holds one.
import CDDE

/// TLS and credentials of an MQTT connection (docs/NETWORK.md section 1, "TLS and credentials").
/// Paths and a variable's name only: the password and the pre-shared key are read from their
/// file or variable when connecting, handed to libmosquitto and wiped, and never appear in a
/// message. TLS itself is asked for by the URL (`mqtts://`), and is then verified by default.
public struct MQTTSecurity: Sendable, Equatable {
    /// PEM file of the CAs the broker's certificate must chain to.
    public var caFile: String?
    /// A folder of hashed CA certificates (`openssl rehash`). Neither: the system store
    /// (/etc/ssl/certs).
    public var caPath: String?
    /// A client certificate and its key (PEM, the key unencrypted), for mutual TLS.
    public var certFile: String?
    public var keyFile: String?
    /// Instead of certificates: TLS-PSK, one line `IDENTITY:HEXKEY` (as Mosquitto's psk_file).
    public var pskFile: String?
    public var username: String?
    /// The password: a file holding it on one line, or an environment variable's name.
    public var passwordFile: String?
    public var passwordEnv: String?

    public init(caFile: String? = nil, caPath: String? = nil, certFile: String? = nil, keyFile: String? = nil,
                pskFile: String? = nil, username: String? = nil, passwordFile: String? = nil, passwordEnv: String? = nil) {
        self.caFile = caFile
        self.caPath = caPath
        self.certFile = certFile
        self.keyFile = keyFile
        self.pskFile = pskFile
        self.username = username
        self.passwordFile = passwordFile
        self.passwordEnv = passwordEnv
    }

    /// Refuses combinations that cannot work, before anything is opened: TLS settings without
    /// `mqtts://`, a password without TLS (it would cross the network in clear text) or without a
    /// user name, a certificate without its key, certificates and a PSK together, names that are
    /// not C strings.
    public func check(tls: Bool) throws(DDEError) {
        let tlsPaths: [(String, String?)] = [("CA file", caFile), ("CA folder", caPath), ("client certificate", certFile),
                                             ("client key", keyFile), ("PSK file", pskFile)]
        for (what, value) in tlsPaths + [("password file", passwordFile)] {
            guard let value else { continue }
            guard !value.isEmpty, value.utf8.count <= ABILimits.maxPathBytes, !value.utf8.contains(0) else {
                throw DDEError(.argument, "the \(what) path must be 1 to \(ABILimits.maxPathBytes) bytes without NUL")
            }
        }
        if !tls {
            if let (what, _) = tlsPaths.first(where: { $0.1 != nil }) {
                throw DDEError(.argument, "a \(what) is for TLS: use an mqtts:// broker URL")
            }
            if passwordFile != nil || passwordEnv != nil {
                throw DDEError(.argument, "a password over mqtt:// would cross the network in clear text: use an mqtts:// broker URL")
            }
        }
        if (certFile == nil) != (keyFile == nil) {
            throw DDEError(.argument, "a client certificate needs its key, and a key its certificate: give both")
        }
        if pskFile != nil, caFile != nil || caPath != nil || certFile != nil {
            throw DDEError(.argument, "TLS-PSK replaces certificates: give the PSK file or the CA and certificate files, not both")
        }
        if passwordFile != nil, passwordEnv != nil {
            throw DDEError(.argument, "give the password file or the password's environment variable, not both")
        }
        if let username {
            guard !username.isEmpty, username.utf8.count <= ABILimits.maxUsernameBytes, !username.utf8.contains(0) else {
                throw DDEError(.argument, "the MQTT user name must be 1 to \(ABILimits.maxUsernameBytes) bytes without NUL")
            }
        } else if passwordFile != nil || passwordEnv != nil {
            throw DDEError(.argument, "a password needs a user name")
        }
        if let passwordEnv {
            let ok = !passwordEnv.isEmpty && passwordEnv.utf8.count <= 255
                && !passwordEnv.utf8.contains(0) && !passwordEnv.utf8.contains(UInt8(ascii: "="))
            guard ok else { throw DDEError(.argument, "the password's environment variable must be a name of 1 to 255 bytes without = or NUL") }
        }
    }
}

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
    /// TLS settings (with `mqtts://`) and credentials.
    public var security: MQTTSecurity

    public init(maxMessageBytes: Int = JSONLimits.default.maxBytes, maxQueuedMessages: Int = 4096,
                maxQueuedBytes: Int = 64 << 20, keepAliveSeconds: Int = 30,
                connectTimeoutMs: Int = 5000, reconnectMaxSeconds: Int = 4, cleanSession: Bool = false,
                security: MQTTSecurity = MQTTSecurity()) {
        self.security = security
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
    /// Whether the connection is TLS (`mqtts://`).
    public let tls: Bool
    public let clientId: String
    /// Called from `receive` (in the receiving thread) with each log line of the connection:
    /// reconnects and dropped messages with their reason. Default: none.
    public var onNotice: ((String) -> Void)?

    /// Connects to `url` (`mqtt://host[:1883]`, or `mqtts://host[:8883]` for TLS) as `clientId`
    /// and waits at most `options.connectTimeoutMs` (the name lookup included) for the broker to
    /// accept. Use a stable id per role and key (`MQTTTransport.clientId`): the broker keeps the
    /// session under it, and a second client with the same id takes it over. Fails with
    /// `.argument` for a bad URL or option, `.io` for a TLS or credentials file that cannot be
    /// read, `.transport` with the reason in one line otherwise (refused, unknown CA, host name
    /// mismatch, expired certificate, user or password refused, ...).
    public init(url: String, clientId: String, options: MQTTOptions = MQTTOptions()) throws(DDEError) {
        let (host, port, tls) = try MQTTTransport.parseURL(url)
        try MQTTTransport.checkClientId(clientId)
        guard options.maxMessageBytes > 0, options.maxQueuedMessages > 0, options.maxQueuedBytes > 0 else {
            throw DDEError(.argument, "MQTT options: message and queue limits must be positive")
        }
        let security = options.security
        try security.check(tls: tls)
        self.host = host
        self.port = port
        self.tls = tls
        self.clientId = clientId
        // C copies of the optional strings, alive until cdde_mqtt_open returns.
        var owned: [UnsafeMutablePointer<CChar>] = []
        defer { for p in owned { free(p) } }
        func c(_ text: String?) -> UnsafePointer<CChar>? {
            guard let text, let p = strdup(text) else { return nil }
            owned.append(p)
            return UnsafePointer(p)
        }
        let s = cdde_mqtt_security(
            tls: tls ? 1 : 0, ca_file: c(security.caFile), ca_path: c(security.caPath), cert_file: c(security.certFile),
            key_file: c(security.keyFile), psk_file: c(security.pskFile), username: c(security.username),
            password_file: c(security.passwordFile), password_env: c(security.passwordEnv))
        var o = cdde_mqtt_options(
            max_message_bytes: options.maxMessageBytes, max_queued_messages: options.maxQueuedMessages,
            max_queued_bytes: options.maxQueuedBytes, keepalive_seconds: Int32(clamping: options.keepAliveSeconds),
            connect_timeout_ms: Int32(clamping: options.connectTimeoutMs),
            reconnect_max_seconds: Int32(clamping: options.reconnectMaxSeconds),
            clean_session: options.cleanSession ? 1 : 0, security: s)
        var err = [CChar](repeating: 0, count: 512)
        var status: Int32 = Status.transport.rawValue
        let h = err.withUnsafeMutableBufferPointer { e in
            cdde_mqtt_open(host, Int32(port), clientId, &o, &status, e.baseAddress, e.count)
        }
        guard let h else { throw DDEError(Status(rawValue: status) ?? .transport, ErrorDetail(MQTTTransport.text(err))) }
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

    /// 1 to `maxClientIdBytes` bytes without NUL.
    public static func checkClientId(_ clientId: String) throws(DDEError) {
        guard !clientId.isEmpty, clientId.utf8.count <= ABILimits.maxClientIdBytes, !clientId.utf8.contains(0) else {
            throw DDEError(.argument, "MQTT client id must be 1 to \(ABILimits.maxClientIdBytes) bytes without NUL")
        }
    }

    /// A stable client id for `role` ("node", "req", ...) and a key: the same on every run.
    public static func clientId(role: String, key: PublicKey) -> String {
        // The first 12 hex digits: those of the first 6 bytes.
        let hex = key.withUnsafeBytes { Hex.encode(UnsafeRawBufferPointer(rebasing: $0[0..<6])) }
        return "dde-\(role)-\(hex)"
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
        guard rc == 0 else { throw DDEError(.transport, ErrorDetail(MQTTTransport.text(err))) }
    }

    public func subscribe(_ filter: String) throws(DDEError) {
        let h = try open()
        try MQTTTransport.checkTopic(filter, wildcards: true)
        var err = [CChar](repeating: 0, count: 512)
        let rc = err.withUnsafeMutableBufferPointer { e in cdde_mqtt_subscribe(h, filter, e.baseAddress, e.count) }
        guard rc == 0 else { throw DDEError(.transport, ErrorDetail(MQTTTransport.text(err))) }
    }

    public func unsubscribe(_ filter: String) throws(DDEError) {
        let h = try open()
        try MQTTTransport.checkTopic(filter, wildcards: true)
        var err = [CChar](repeating: 0, count: 512)
        let rc = err.withUnsafeMutableBufferPointer { e in cdde_mqtt_unsubscribe(h, filter, e.baseAddress, e.count) }
        guard rc == 0 else { throw DDEError(.transport, ErrorDetail(MQTTTransport.text(err))) }
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

    /// `mqtt://host[:port]` (port 1883 by default) or `mqtts://host[:port]` (TLS, port 8883 by
    /// default), with an optional trailing `/`. Host: a name, IPv4, or `[IPv6]`.
    public static func parseURL(_ url: String) throws(DDEError) -> (host: String, port: Int, tls: Bool) {
        let bytes = Array(url.utf8)
        let plain = Array("mqtt://".utf8), secure = Array("mqtts://".utf8)
        let tls = bytes.count > secure.count && Array(bytes[0..<secure.count]) == secure
        let scheme = tls ? secure : plain
        guard bytes.count > scheme.count, bytes.count <= ABILimits.maxURLBytes, Array(bytes[0..<scheme.count]) == scheme else {
            throw DDEError(.argument, "broker URL '\(url)' must look like mqtt://host:port or mqtts://host:port (e.g. mqtt://127.0.0.1:1883)")
        }
        var rest = Array(bytes[scheme.count...])
        if rest.last == UInt8(ascii: "/") { rest.removeLast() }
        guard !rest.contains(UInt8(ascii: "@")) else {
            throw DDEError(.argument, "broker URL '\(url)': user names and passwords do not go in the URL: give the user name as an option and the password in a file or an environment variable")
        }
        guard !rest.contains(UInt8(ascii: "/")), !rest.contains(UInt8(ascii: "?")) else {
            throw DDEError(.argument, "broker URL '\(url)': no path or query allowed, only mqtt://host:port or mqtts://host:port")
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
        var port = tls ? 8883 : 1883
        if !portBytes.isEmpty || rest.last == UInt8(ascii: ":") {
            guard !portBytes.isEmpty, portBytes.count <= 5, portBytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw DDEError(.argument, "broker URL '\(url)': port must be a number from 1 to 65535")
            }
            port = portBytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard port >= 1 && port <= 65535 else {
                throw DDEError(.argument, "broker URL '\(url)': port must be a number from 1 to 65535")
            }
        }
        return (String(decoding: hostBytes, as: UTF8.self), port, tls)
    }

    private static func isHex(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
    }
}
