import DDE
import DDEExecutor
import Foundation
import XCTest

/// Running taskVersion 2 tasks (PROTOCOL.md section 3, EXECUTION.md section 3): the run sees the
/// carried entries only, a key outside them stops it with DDE_ERR_STATE_KEY_OUTSIDE naming the
/// key, and the proof's nextStateRoot (from the task's proof and the writes) verifies and equals
/// the root of the whole state after the writes.
final class PartialStateExecutionTests: XCTestCase {
    var store: CodeStore!
    let requester = KeyPair.generate()

    override func setUpWithError() throws {
        store = try CodeStore(directory: temporaryDirectory(self))
    }

    /// A wallet of 500 accounts user0..user499 with balance 100 each.
    static let wallet: StateMap = {
        var values = [[UInt8]: [UInt8]]()
        for i in 0..<500 { values[bytes("balance/user\(i)")] = bytes("100") }
        return StateMap(values: values)
    }()

    func send(from: String, to: String, keys: [String]) throws -> ComputeTask {
        let hash = try store.add(try exampleModule("wallet"))
        let spec = TaskSpec(dappId: "wallet", dappCodeHash: hash, action: "send",
                            payload: try JSONParser.parse(#"{"amount":30,"from":"\#(from)","to":"\#(to)"}"#),
                            requiredCapabilities: ["state.read", "state.write"], state: Self.wallet,
                            stateKeys: keys.map { bytes($0) }, timestamp: 1_700_000_000_000)
        return try ComputeTask.create(spec, requester: requester)
    }

    func testAV2TransferRunsOnItsTwoEntriesAndItsRootIsTheWholeStates() throws {
        let task = try send(from: "user1", to: "newcomer", keys: ["balance/user1", "balance/newcomer"])
        XCTAssertEqual(task.taskVersion, 2)
        let result = try Executor.execute(task: task, keyPair: KeyPair.generate(), codeStore: store)
        XCTAssertEqual(result.result, try JSONParser.parse(#"{"from":70,"ok":true,"to":30}"#))
        XCTAssertNoThrow(try Verifier.verify(task: task, result: result))
        XCTAssertEqual(result.proof.nextStateRoot, StateTree(Self.wallet.applying(result.stateWrites)).root)
        // An auditor re-executing agrees.
        XCTAssertTrue(try Audit.check(task: task, result: result, codeStore: store).holds)
    }

    func testAKeyOutsideTheTaskStopsTheRunAndIsNamed() throws {
        // The receiver is not carried: the run stops at its state_get, with the key as the detail.
        let task = try send(from: "user1", to: "user2", keys: ["balance/user1"])
        do {
            _ = try Executor.execute(task: task, keyPair: KeyPair.generate(), codeStore: store)
            XCTFail("the run read a key outside the task")
        } catch {
            XCTAssertEqual(error.status, .stateKeyOutside)
            XCTAssertEqual(error.detail, "balance/user2")
        }
        // With the key added it runs.
        let again = try send(from: "user1", to: "user2", keys: ["balance/user1", "balance/user2"])
        XCTAssertNoThrow(try Verifier.verify(task: again, result: try Executor.execute(task: again, keyPair: KeyPair.generate(), codeStore: store)))
    }
}
