import XCTest
@testable import DDE

final class TaskTests: XCTestCase {
    func testCreatedTaskParsesBackAndHasProtocolHashes() throws {
        let t = Fixture.task
        let parsed = try ComputeTask(json: try JSONParser.parse(t.canonicalBytes))
        XCTAssertEqual(parsed.taskId, t.taskId)
        XCTAssertEqual(t.inputHash, t.intent.payload.hash)
        XCTAssertEqual(t.previousStateRoot, t.stateOrEmpty.root)
        XCTAssertEqual(t.requiredCapabilities, ["state.read", "state.write"]) // sorted
        XCTAssertTrue(t.requesterPublicKey.isValidSignature(t.signature, kind: .task, digest: t.taskId))
    }

    func testSameSpecAndKeyGiveSameTaskId() throws {
        let a = try ComputeTask.create(Fixture.spec(), requester: Fixture.requester)
        XCTAssertEqual(a.taskId, Fixture.task.taskId)
        XCTAssertEqual(a.canonicalBytes, Fixture.task.canonicalBytes)
    }

    private func reparse(_ edit: (inout JSONObject) -> Void) -> Result<ComputeTask, DDEError> {
        guard case .object(var o) = Fixture.task.json else { return .failure(DDEError(.internalError, "")) }
        edit(&o)
        do throws(DDEError) { return .success(try ComputeTask(json: .object(o))) } catch { return .failure(error) }
    }

    func testTamperedTaskIsRefused() {
        XCTAssertStatus(.taskId) { () throws(DDEError) in
            try self.reparse { $0["maxFuel"] = .number(5) }.get()
        }
        XCTAssertStatus(.taskSignature) { () throws(DDEError) in
            try self.reparse { o in
                o["signature"] = .string(Fixture.other.sign(.task, Fixture.task.taskId).hex)
            }.get()
        }
        XCTAssertStatus(.inputHashMismatch) { () throws(DDEError) in
            try self.reparse { o in
                guard case .object(var intent)? = o["intent"] else { return }
                intent["payload"] = .number(1)
                o["intent"] = .object(intent)
            }.get()
        }
        XCTAssertStatus(.schema) { () throws(DDEError) in try self.reparse { $0["extra"] = .null }.get() }
        XCTAssertStatus(.version) { () throws(DDEError) in try self.reparse { $0["taskVersion"] = .number(3) }.get() }
        XCTAssertStatus(.encoding) { () throws(DDEError) in
            try self.reparse { $0["taskId"] = .string(Fixture.task.taskId.hex.uppercased()) }.get()
        }
        XCTAssertStatus(.number) { () throws(DDEError) in try self.reparse { $0["timestamp"] = .number(-1) }.get() }
        XCTAssertStatus(.number) { () throws(DDEError) in try self.reparse { $0["timestamp"] = .number(1.5) }.get() }
    }

    func testSpecDocument() throws {
        let spec = try TaskSpec(json: try JSONParser.parse("""
            {"dappId":"wallet","dappCodeHash":"\(Fixture.codeHash.hex)","action":"transfer",
             "requiredCapabilities":["state.write","state.read","state.read"],"state":{"balance/bob":"AAAAAAAAAGQ="}}
            """), now: 42)
        XCTAssertEqual(spec.timestamp, 42)
        XCTAssertEqual(spec.requiredCapabilities, ["state.read", "state.write"])
        XCTAssertStatus(.schema) { () throws(DDEError) in
            try TaskSpec(json: try JSONParser.parse(#"{"dappId":"w","dappCodeHash":"\#(Fixture.codeHash.hex)","action":"a","requiredCapabilities":["net"]}"#), now: 0)
        }
        XCTAssertStatus(.schema) { () throws(DDEError) in
            try TaskSpec(json: try JSONParser.parse(#"{"dappId":"w","action":"a"}"#), now: 0)
        }
    }
}

