import XCTest
@testable import DDE

/// Envelopes and their payloads: round trips through canonical bytes, and every refusal with
/// its own status.
final class DelegationEnvelopeTests: XCTestCase {
    func decode(_ text: String, limits: JSONLimits = .default) throws(DDEError) -> Envelope {
        try Envelope.decode(Array(text.utf8), limits: limits)
    }

    func testCanonicalForm() throws {
        let e = CodeRequest(codeHash: Fixture.codeHash).envelope
        XCTAssertEqual(String(decoding: e.canonicalBytes, as: UTF8.self),
                       #"{"payload":{"codeHash":"\#(Fixture.codeHash.hex)"},"type":"code_request","v":1}"#)
    }

    func testTaskOfferRoundTrip() throws {
        let offer = TaskOffer(task: Fixture.task, executors: [Fixture.executor.publicKey])
        let back = try TaskOffer(json: try Envelope.decode(offer.envelope.canonicalBytes).payload)
        XCTAssertEqual(back.task.taskId, Fixture.task.taskId)
        XCTAssertEqual(back.executors, [Fixture.executor.publicKey])
        XCTAssertTrue(back.isAddressed(to: Fixture.executor.publicKey))
        XCTAssertFalse(back.isAddressed(to: Fixture.other.publicKey))
        XCTAssertTrue(TaskOffer(task: Fixture.task, executors: []).isAddressed(to: Fixture.other.publicKey))
    }

    func testTaskOfferChecksTheTask() throws {
        guard case .object(var task) = Fixture.task.json else { return XCTFail() }
        task["dappId"] = .string("other")  // the id no longer matches
        let payload = JSON.object(JSONObject(uniqueMembers: [.init("executors", .array([])), .init("task", .object(task))]))
        XCTAssertStatus(.taskId) { () throws(DDEError) in try TaskOffer(json: payload) }
        let badKey = JSON.object(JSONObject(uniqueMembers: [.init("executors", .array([.string("abcd")])), .init("task", Fixture.task.json)]))
        XCTAssertStatus(.encoding) { () throws(DDEError) in try TaskOffer(json: badKey) }
    }

    func testComputeErrorRoundTripAndUnknownCode() throws {
        let m = ComputeErrorMessage(taskId: Fixture.task.taskId, executorPublicKey: Fixture.executor.publicKey,
                                    code: .busy, message: "4 tasks in flight")
        let text = String(decoding: m.envelope.canonicalBytes, as: UTF8.self)
        XCTAssertTrue(text.contains(#""code":"DDE_ERR_BUSY""#), text)
        let back = try ComputeErrorMessage(json: try Envelope.decode(m.envelope.canonicalBytes).payload)
        XCTAssertEqual(back.code, .busy)
        XCTAssertEqual(back.message, "4 tasks in flight")
        let unknown = text.replacingOccurrences(of: "DDE_ERR_BUSY", with: "DDE_ERR_NOPE")
        XCTAssertStatus(.schema) { () throws(DDEError) in try ComputeErrorMessage(json: try self.decode(unknown).payload) }
    }

    func testStatusNamesRoundTrip() {
        for raw in Int32(0)...200 {
            guard let s = Status(rawValue: raw) else { continue }
            XCTAssertEqual(Status(name: s.nameString), s)
        }
        XCTAssertNil(Status(name: "DDE_ERR_"))
    }

    func testCodeMessageChecksItsHash() throws {
        let module: [UInt8] = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]
        let m = CodeMessage(module: module)
        let back = try CodeMessage(json: try Envelope.decode(m.envelope.canonicalBytes, limits: CodeMessage.limits).payload)
        XCTAssertEqual(back.module, module)
        var wrong = m
        wrong.codeHash = Fixture.codeHash
        XCTAssertStatus(.codeHash) { () throws(DDEError) in try CodeMessage(json: wrong.json) }
    }

    func testPresenceRoundTripAndGrants() throws {
        let p = Presence(executorPublicKey: Fixture.executor.publicKey, capabilities: ["state.read", "state.write"],
                         maxComputeTasksPerPeer: 2)
        let back = try Presence(json: try Envelope.decode(p.envelope.canonicalBytes).payload)
        XCTAssertEqual(back.maxComputeTasksPerPeer, 2)
        XCTAssertTrue(back.grants(["state.read"]))
        XCTAssertTrue(back.grants([]))
        XCTAssertFalse(back.grants(["state.read", "log"]))
        XCTAssertEqual(Topic.executors(Fixture.executor.publicKey), "dde/v1/executors/\(Fixture.executor.publicKey.hex)")
        XCTAssertTrue(Topic.matches(Topic.allExecutors, Topic.executors(Fixture.executor.publicKey)))
        XCTAssertFalse(Topic.matches(Topic.allExecutors, Topic.tasks))
    }

    func testRefusals() {
        XCTAssertStatus(.version) { () throws(DDEError) in try self.decode(#"{"payload":{},"type":"code","v":2}"#) }
        XCTAssertStatus(.messageType) { () throws(DDEError) in try self.decode(#"{"payload":{},"type":"gossip","v":1}"#) }
        XCTAssertStatus(.schema) { () throws(DDEError) in try self.decode(#"{"payload":{},"type":"code","v":1,"extra":0}"#) }
        XCTAssertStatus(.schema) { () throws(DDEError) in try self.decode(#"{"type":"code","v":1}"#) }
        XCTAssertStatus(.schema) { () throws(DDEError) in try self.decode(#"[1]"#) }
        XCTAssertStatus(.json) { () throws(DDEError) in try self.decode(#"{"payload":"#) }
        XCTAssertStatus(.duplicateKey) { () throws(DDEError) in try self.decode(#"{"v":1,"v":1,"type":"code","payload":{}}"#) }
        // The size limit is checked before parsing.
        let big = #"{"payload":""# + String(repeating: "x", count: 2000) + #"","type":"code","v":1}"#
        XCTAssertStatus(.limit) { () throws(DDEError) in try self.decode(big, limits: JSONLimits(maxBytes: 1024)) }
        XCTAssertNoThrow(try self.decode(big))
        XCTAssertEqual(Envelope.defaultMaxBytes, JSONLimits.default.maxBytes)
    }
}
