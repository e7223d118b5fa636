import DDE
import DDENetwork
import Foundation
import XCTest

/// Signed presence (PROTOCOL.md section 10) through a real Delegator on the in-process hub: an
/// attacker on the same hub publishes what a stranger on a broker could.
final class PresenceTests: XCTestCase {
    let executor = KeyPair.generate()
    let stranger = KeyPair.generate()
    /// The requester's clock is the real one (discover waits on it); timestamps are set from it.
    var now: UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    func requester() throws -> (Delegator<InProcessTransport>, InProcessTransport) {
        let hub = InProcessHub()
        let store = try Store(path: temporaryDirectory(self).appendingPathComponent("r.sqlite").path)
        addTeardownBlock { store.close() }
        let d = try Delegator(transport: hub.endpoint(name: "requester"), store: store, identity: KeyPair.generate())
        return (d, hub.endpoint(name: "attacker"))
    }

    func publish(_ t: InProcessTransport, _ key: PublicKey, _ payload: [UInt8]) throws {
        try t.publish(topic: Topic.executors(key), payload: payload, retain: true)
    }

    func testOnlySignedFreshPresenceOfTheKeyItNamesIsTaken() throws {
        let (d, attacker) = try requester()
        // Unsigned, signed by another key, on another key's topic, stale, far in the future.
        try publish(attacker, executor.publicKey, Presence(executorPublicKey: executor.publicKey, timestamp: now).envelope.canonicalBytes)
        var other = Presence(executorPublicKey: executor.publicKey, timestamp: now)
        other.sign(with: stranger)
        try publish(attacker, executor.publicKey, other.envelope.canonicalBytes)
        try publish(attacker, stranger.publicKey, Presence(executor: executor, timestamp: now).envelope.canonicalBytes)
        try publish(attacker, executor.publicKey, Presence(executor: executor, timestamp: now - d.presenceMaxAgeMs - 1).envelope.canonicalBytes)
        try publish(attacker, executor.publicKey, Presence(executor: executor, timestamp: now + d.presenceMaxSkewMs + 60_000).envelope.canonicalBytes)
        XCTAssertEqual(try d.discover(timeoutMs: 50), 0)
        XCTAssertEqual(d.ignoredMessages, 5)
        // The genuine one.
        try publish(attacker, executor.publicKey, Presence(executor: executor, timestamp: now - 1000).envelope.canonicalBytes)
        XCTAssertEqual(try d.discover(timeoutMs: 50), 1)
        XCTAssertEqual(d.executors.first?.executorPublicKey, executor.publicKey)
    }

    func testWithdrawalMustBeSignedAndReplaysCannotUndoIt() throws {
        let (d, attacker) = try requester()
        let announced = Presence(executor: executor, timestamp: now - 2000)
        try publish(attacker, executor.publicKey, announced.envelope.canonicalBytes)
        XCTAssertEqual(try d.discover(timeoutMs: 50), 1)
        // A stranger clears the topic (empty retained payload): nobody is removed.
        try publish(attacker, executor.publicKey, [])
        XCTAssertEqual(try d.discover(timeoutMs: 50), 1, "an unsigned withdrawal hides nobody")
        // The executor withdraws, signed; a replay of its older announcement does not bring it back.
        try publish(attacker, executor.publicKey, Presence(executor: executor, capabilities: [], timestamp: now - 1000).envelope.canonicalBytes)
        XCTAssertEqual(try d.discover(timeoutMs: 50), 0)
        try publish(attacker, executor.publicKey, announced.envelope.canonicalBytes)
        XCTAssertEqual(try d.discover(timeoutMs: 50), 0, "a replay older than the withdrawal")
        // A newer announcement is taken; an older one than the one held never replaces it.
        let newer = Presence(executor: executor, capabilities: ["state.read"], timestamp: now)
        try publish(attacker, executor.publicKey, newer.envelope.canonicalBytes)
        _ = try d.discover(timeoutMs: 50)
        try publish(attacker, executor.publicKey, announced.envelope.canonicalBytes)
        _ = try d.discover(timeoutMs: 50)
        XCTAssertEqual(d.executors.first?.capabilities, ["state.read"], "the newest signed presence stands")
    }
}
