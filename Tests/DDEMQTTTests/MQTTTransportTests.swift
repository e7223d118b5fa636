import XCTest
import Foundation
@testable import DDE

/// MQTTTransport against a real Mosquitto broker each test starts on 127.0.0.1.
final class MQTTTransportTests: XCTestCase {
    private func uniqueId(_ role: String) -> String { "t-\(role)-\(UUID().uuidString.prefix(8))" }

    /// Receives until a message arrives or `timeoutMs` passes (bounded).
    private func next(_ t: MQTTTransport, timeoutMs: Int = 3000) throws -> Message? {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while Date() < deadline {
            if let m = try t.receive(timeoutMs: 100) { return m }
        }
        return nil
    }

    func testURLParsing() throws {
        XCTAssertEqual(try MQTTTransport.parseURL("mqtt://127.0.0.1:1883").host, "127.0.0.1")
        XCTAssertEqual(try MQTTTransport.parseURL("mqtt://broker.local:8883/").port, 8883)
        XCTAssertEqual(try MQTTTransport.parseURL("mqtt://broker").port, 1883)
        let v6 = try MQTTTransport.parseURL("mqtt://[::1]:1999")
        XCTAssertEqual(v6.host, "::1")
        XCTAssertEqual(v6.port, 1999)
        XCTAssertFalse(try MQTTTransport.parseURL("mqtt://broker").tls)
        let secure = try MQTTTransport.parseURL("mqtts://broker.lan")
        XCTAssertEqual(secure.port, 8883)
        XCTAssertTrue(secure.tls)
        XCTAssertEqual(try MQTTTransport.parseURL("mqtts://[::1]:9999/").port, 9999)
        for bad in ["tcp://h:1", "mqtt://", "mqtts://", "mqtt://h:0", "mqtt://h:65536", "mqtt://h:x", "mqtt://u:p@h:1",
                    "mqtts://u:p@h", "mqtt://h:1/path", "mqtt://h h:1", "mqtt://[::1", "mqtt://h:", "mqttss://h"] {
            assertThrows(.argument) { () throws(DDEError) in try MQTTTransport.parseURL(bad) }
        }
    }

    /// Combinations that cannot work are refused before anything is opened: no file is read and
    /// no connection attempted (nothing listens on these URLs).
    func testSecurityCombinationsAreRefusedBeforeConnecting() {
        let refused: [(String, MQTTSecurity, String)] = [
            ("mqtt://127.0.0.1:1", MQTTSecurity(caFile: "ca.crt"), "use an mqtts:// broker URL"),
            ("mqtt://127.0.0.1:1", MQTTSecurity(pskFile: "k.psk"), "use an mqtts:// broker URL"),
            ("mqtt://127.0.0.1:1", MQTTSecurity(username: "u", passwordFile: "pw"), "clear text"),
            ("mqtts://127.0.0.1:1", MQTTSecurity(passwordEnv: "PW"), "a password needs a user name"),
            ("mqtts://127.0.0.1:1", MQTTSecurity(certFile: "c.crt"), "give both"),
            ("mqtts://127.0.0.1:1", MQTTSecurity(keyFile: "c.key"), "give both"),
            ("mqtts://127.0.0.1:1", MQTTSecurity(caFile: "ca.crt", pskFile: "k.psk"), "not both"),
            ("mqtts://127.0.0.1:1", MQTTSecurity(username: "u", passwordFile: "pw", passwordEnv: "PW"), "not both"),
            ("mqtts://127.0.0.1:1", MQTTSecurity(username: ""), "user name must be"),
            ("mqtts://127.0.0.1:1", MQTTSecurity(username: "u", passwordEnv: "A=B"), "environment variable"),
            ("mqtts://127.0.0.1:1", MQTTSecurity(username: "u", passwordEnv: "A\u{0}B"), "environment variable"),
            ("mqtts://127.0.0.1:1", MQTTSecurity(username: "u", passwordEnv: ""), "environment variable"),
            ("mqtts://127.0.0.1:1", MQTTSecurity(caFile: ""), "CA file path"),
        ]
        for (url, security, why) in refused {
            let e = assertThrows(.argument) { () throws(DDEError) in
                try MQTTTransport(url: url, clientId: uniqueId("x"), options: MQTTOptions(security: security))
            }
            XCTAssertTrue(e?.detail.contains(why) ?? false, "\(security): \(e?.detail ?? "")")
        }
    }

    /// Secrets are read when connecting: a missing file is DDE_ERR_IO naming it, and the name of
    /// an unset variable is told, never a value.
    func testUnreadableCredentialsAreClearErrors() throws {
        let missing = "/nonexistent-\(UUID().uuidString)/pw"
        var e = assertThrows(.io) { () throws(DDEError) in
            try MQTTTransport(url: "mqtts://127.0.0.1:1", clientId: uniqueId("x"),
                              options: MQTTOptions(security: MQTTSecurity(pskFile: missing)))
        }
        XCTAssertTrue(e?.detail.contains("cannot read the PSK file \(missing)") ?? false, e?.detail ?? "")
        e = assertThrows(.io) { () throws(DDEError) in
            try MQTTTransport(url: "mqtts://127.0.0.1:1", clientId: uniqueId("x"),
                              options: MQTTOptions(security: MQTTSecurity(caFile: missing)))
        }
        XCTAssertTrue(e?.detail.contains("cannot read the CA file \(missing)") ?? false, e?.detail ?? "")
        let variable = "DDE_TEST_UNSET_\(UUID().uuidString.prefix(8))"
        e = assertThrows(.argument) { () throws(DDEError) in
            try MQTTTransport(url: "mqtts://127.0.0.1:1", clientId: uniqueId("x"),
                              options: MQTTOptions(security: MQTTSecurity(username: "u", passwordEnv: variable)))
        }
        XCTAssertTrue(e?.detail.contains("the environment variable \(variable) (the password) is not set") ?? false, e?.detail ?? "")
        // A PSK file that is not IDENTITY:HEXKEY: refused without echoing what it holds.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dde-psk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let psk = dir.appendingPathComponent("bad.psk")
        try "secret-identity:not-hex-secret\n".write(to: psk, atomically: true, encoding: .utf8)
        e = assertThrows(.io) { () throws(DDEError) in
            try MQTTTransport(url: "mqtts://127.0.0.1:1", clientId: uniqueId("x"),
                              options: MQTTOptions(security: MQTTSecurity(pskFile: psk.path)))
        }
        XCTAssertTrue(e?.detail.contains("must hold one line IDENTITY:HEXKEY") ?? false, e?.detail ?? "")
        XCTAssertFalse(e?.detail.contains("secret") ?? true, e?.detail ?? "")
    }

    func testTopicChecks() {
        XCTAssertNoThrow(try MQTTTransport.checkTopic("dde/v1/results/+", wildcards: true))
        XCTAssertNoThrow(try MQTTTransport.checkTopic("dde/#", wildcards: true))
        assertThrows(.argument) { () throws(DDEError) in try MQTTTransport.checkTopic("dde/#/x", wildcards: true) }
        assertThrows(.argument) { () throws(DDEError) in try MQTTTransport.checkTopic("dde/a+", wildcards: true) }
        assertThrows(.argument) { () throws(DDEError) in try MQTTTransport.checkTopic("dde/+", wildcards: false) }
        assertThrows(.argument) { () throws(DDEError) in try MQTTTransport.checkTopic("", wildcards: false) }
    }

    func testNoBrokerIsAClearTransportError() throws {
        let port = try TestBroker.freePort()
        let e = assertThrows(.transport) { () throws(DDEError) in
            try MQTTTransport(url: "mqtt://127.0.0.1:\(port)", clientId: uniqueId("x"))
        }
        XCTAssertTrue(e?.detail.contains("cannot connect to the MQTT broker at 127.0.0.1:\(port)") ?? false, e?.detail ?? "")
    }

    func testPublishSubscribeRoundTripQoS1() throws {
        let broker = try TestBroker()
        let a = try MQTTTransport(url: broker.url, clientId: uniqueId("a"))
        let b = try MQTTTransport(url: broker.url, clientId: uniqueId("b"))
        try b.subscribe("dde/test/+")
        try fence(b)
        let payload: [UInt8] = Array(0...255) + [0, 0, 1] // binary, with NULs
        try a.publish(topic: "dde/test/one", payload: payload, retain: false)
        try a.publish(topic: "dde/other", payload: [1], retain: false) // not subscribed
        try a.publish(topic: "dde/test/two", payload: [], retain: false)
        try a.flush(timeoutMs: 2000)
        let m1 = try XCTUnwrap(next(b))
        XCTAssertEqual(m1.topic, "dde/test/one")
        XCTAssertEqual(m1.payload, payload)
        let m2 = try XCTUnwrap(next(b))
        XCTAssertEqual(m2.topic, "dde/test/two")
        XCTAssertEqual(m2.payload, [])
        XCTAssertNil(try b.receive(timeoutMs: 200))
        XCTAssertEqual(a.stats.unacknowledged, 0)

        try b.unsubscribe("dde/test/+")
        try fence(b)
        try a.publish(topic: "dde/test/three", payload: [3], retain: false)
        XCTAssertNil(try b.receive(timeoutMs: 300))
    }

    /// Two threads receive on one transport, each busy for a while after each message (the shim
    /// lets one receiver at a time read the socket itself; the other waits): every message still
    /// reaches one of them promptly, whichever is receiving when it arrives.
    func testTwoReceiversOnOneTransportGetEveryMessagePromptly() throws {
        let broker = try TestBroker()
        let a = try MQTTTransport(url: broker.url, clientId: uniqueId("a"))
        let b = try MQTTTransport(url: broker.url, clientId: uniqueId("b"))
        try b.subscribe("dde/test/+")
        try fence(b)
        let count = 10
        let latenciesMs = Latencies()
        var threads: [Thread] = []
        let done = DispatchGroup()
        for _ in 0..<2 {
            done.enter()
            let t = Thread {
                defer { done.leave() }
                while true {
                    if latenciesMs.count >= count { return }
                    guard let m = try? b.receive(timeoutMs: 300) else { continue }
                    guard m.payload.count == 8 else { continue }
                    let sent = m.payload.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    let ms = Double(DispatchTime.now().uptimeNanoseconds &- sent) / 1e6
                    latenciesMs.append(ms)
                    Thread.sleep(forTimeInterval: 0.2)  // busy with it, longer than the gap between messages
                }
            }
            threads.append(t)
            t.start()
        }
        Thread.sleep(forTimeInterval: 0.1)
        for _ in 0..<count {
            var now = DispatchTime.now().uptimeNanoseconds
            try a.publish(topic: "dde/test/x", payload: withUnsafeBytes(of: &now) { Array($0) }, retain: false)
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        let sorted = latenciesMs.sorted
        XCTAssertEqual(sorted.count, count)
        // One of the two is always receiving when a message arrives.
        XCTAssertLessThan(sorted[count / 2], 40, "latencies (ms): \(sorted)")
        XCTAssertLessThan(sorted[count * 8 / 10], 60, "latencies (ms): \(sorted)")
    }

    func testRetainedMessageReachesLaterSubscriber() throws {
        let broker = try TestBroker()
        let a = try MQTTTransport(url: broker.url, clientId: uniqueId("a"))
        try a.publish(topic: "dde/v1/code/abc", payload: Array("module".utf8), retain: true)
        try a.flush(timeoutMs: 2000)
        let b = try MQTTTransport(url: broker.url, clientId: uniqueId("b"))
        try b.subscribe("dde/v1/code/abc")
        let m = try XCTUnwrap(next(b))
        XCTAssertEqual(m.payload, Array("module".utf8))
    }

    func testOversizedMessageIsDroppedWithANotice() throws {
        let broker = try TestBroker()
        let a = try MQTTTransport(url: broker.url, clientId: uniqueId("a"))
        let b = try MQTTTransport(url: broker.url, clientId: uniqueId("b"), options: MQTTOptions(maxMessageBytes: 1000))
        var notices: [String] = []
        b.onNotice = { notices.append($0) }
        try b.subscribe("dde/t")
        try fence(b)
        try a.publish(topic: "dde/t", payload: [UInt8](repeating: 7, count: 1001), retain: false)
        try a.publish(topic: "dde/t", payload: [UInt8](repeating: 8, count: 1000), retain: false)
        let m = try XCTUnwrap(next(b))
        XCTAssertEqual(m.payload.count, 1000, "the message at the limit arrives, the one over it does not")
        XCTAssertNil(try b.receive(timeoutMs: 200))
        XCTAssertEqual(b.stats.dropped, 1)
        XCTAssertTrue(notices.contains { $0.contains("1001 bytes, over the 1000-byte limit") }, "\(notices)")
    }

    func testFullQueueDropsWithANotice() throws {
        let broker = try TestBroker()
        let a = try MQTTTransport(url: broker.url, clientId: uniqueId("a"))
        let b = try MQTTTransport(url: broker.url, clientId: uniqueId("b"), options: MQTTOptions(maxQueuedMessages: 3))
        var notices: [String] = []
        b.onNotice = { notices.append($0) }
        try b.subscribe("dde/t")
        try fence(b)
        for i in 0..<5 { try a.publish(topic: "dde/t", payload: [UInt8(i)], retain: false) }
        try a.flush(timeoutMs: 2000)
        // All five reach b (queued or dropped) before it reads.
        waitUntil("all five messages to reach b", seconds: 5) { b.stats.queuedMessages + b.stats.dropped >= 5 }
        var got: [UInt8] = []
        while let m = try b.receive(timeoutMs: 200) { got += m.payload }
        XCTAssertEqual(got, [0, 1, 2])
        XCTAssertEqual(b.stats.dropped, 2)
        XCTAssertTrue(notices.contains { $0.contains("receive queue is full") }, "\(notices)")
    }

    /// Broker restart with persistence: the subscriber's session survives, a QoS-1 message
    /// published while the subscriber reconnects is delivered, and both sides reconnect on their own.
    func testBrokerRestartKeepsSessionAndReconnects() throws {
        let broker = try TestBroker(persistence: true)
        let a = try MQTTTransport(url: broker.url, clientId: uniqueId("a"))
        let b = try MQTTTransport(url: broker.url, clientId: uniqueId("b"))
        var notices: [String] = []
        b.onNotice = { notices.append($0) }
        try b.subscribe("dde/r")
        try fence(b)
        try a.publish(topic: "dde/r", payload: [1], retain: false)
        XCTAssertEqual(try next(b)?.payload, [1])

        broker.stop()
        // Published while the broker is down: libmosquitto keeps it and sends it after reconnecting.
        try a.publish(topic: "dde/r", payload: [2], retain: false)
        try broker.start()
        // QoS 1 is at-least-once: [1] may come again if its PUBACK was lost with the broker.
        var m = try next(b, timeoutMs: 15000)
        var redelivered = 0
        while m?.payload == [1] && redelivered < 3 {
            redelivered += 1
            m = try next(b, timeoutMs: 15000)
        }
        XCTAssertEqual(m?.payload, [2])
        XCTAssertGreaterThanOrEqual(b.stats.connects, 2)
        XCTAssertTrue(notices.contains { $0.contains("reconnected to the broker (kept its session)") }, "\(notices)\n\(broker.log)")
        try a.flush(timeoutMs: 5000)
    }

    /// Without persistence the broker forgets the session: the client subscribes again on its own.
    func testResubscribesAfterBrokerLosesSession() throws {
        let broker = try TestBroker(persistence: false)
        let a = try MQTTTransport(url: broker.url, clientId: uniqueId("a"))
        let b = try MQTTTransport(url: broker.url, clientId: uniqueId("b"))
        try b.subscribe("dde/s")
        broker.stop()
        try broker.start()
        // Wait until both reconnected (bounded).
        waitUntil("both clients to reconnect", seconds: 15) {
            a.stats.connects >= 2 && b.stats.connects >= 2 && a.stats.connected && b.stats.connected
        }
        XCTAssertTrue(b.stats.connected)
        try fence(b) // the subscription the client made again on reconnecting is in place
        try a.publish(topic: "dde/s", payload: [9], retain: false)
        XCTAssertEqual(try next(b, timeoutMs: 5000)?.payload, [9])
    }

    func testClosedTransportRefuses() throws {
        let broker = try TestBroker()
        let a = try MQTTTransport(url: broker.url, clientId: uniqueId("a"))
        a.close()
        assertThrows(.closed) { () throws(DDEError) in try a.publish(topic: "x", payload: [], retain: false) }
        a.close() // idempotent
    }

    func testClientIdIsStableAndShort() {
        let key = testKey(3)
        let id = MQTTTransport.clientId(role: "node", key: key)
        XCTAssertEqual(id, MQTTTransport.clientId(role: "node", key: key))
        XCTAssertEqual(id, "dde-node-" + String(key.hex.prefix(12)))  // the key's first 12 hex digits
        XCTAssertLessThanOrEqual(id.utf8.count, 23) // MQTT 3.1.1's guaranteed client id length
        XCTAssertNotEqual(id, MQTTTransport.clientId(role: "node", key: testKey(4)))
    }
}

/// Latencies written by several receiving threads.
private final class Latencies: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Double] = []
    var count: Int { lock.lock(); defer { lock.unlock() }; return values.count }
    var sorted: [Double] { lock.lock(); defer { lock.unlock() }; return values.sorted() }
    func append(_ value: Double) { lock.lock(); values.append(value); lock.unlock() }
}
