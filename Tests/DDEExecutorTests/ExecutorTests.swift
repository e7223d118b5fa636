import DDE
import DDEExecutor
import Foundation
import XCTest

final class ExecutorTests: XCTestCase {
    var store: CodeStore!
    let requester = KeyPair.generate()

    override func setUpWithError() throws {
        store = try CodeStore(directory: temporaryDirectory(self))
    }

    func walletTask(amount: Int, bobBalance: String = "100", limits: ExecutionLimits = ExecutionLimits()) throws -> ComputeTask {
        let hash = try store.add(try exampleModule("wallet"))
        let payload = try JSONParser.parse(#"{"to":"alice","from":"bob","amount":\#(amount)}"#)
        let spec = TaskSpec(dappId: "wallet", dappCodeHash: hash, action: "send", payload: payload,
                            raw: "send \(amount) frame to Alice", requiredCapabilities: ["state.write", "state.read"],
                            state: StateMap(values: [bytes("balance/bob"): bytes(bobBalance)]),
                            limits: limits, timestamp: 1_700_000_000_000)
        return try ComputeTask.create(spec, requester: requester)
    }

    func testEveryProofVerifies() throws {
        let task = try walletTask(amount: 5)
        let result = try Executor.execute(task: task, keyPair: KeyPair.generate(), codeStore: store, now: 1_700_000_000_100)
        let verdict = try Verifier.verify(task: task, result: result)
        XCTAssertEqual(verdict.resultHash, result.proof.resultHash)
        // Through the wire form too: canonical bytes, parsed and verified again.
        _ = try Verifier.verify(task: task, resultBytes: result.canonicalBytes)
        XCTAssertEqual(result.result, try JSONParser.parse(#"{"from":95,"ok":true,"to":5}"#))
        XCTAssertEqual(result.proof.capabilitiesDeclared, ["state.read", "state.write"])
        XCTAssertEqual(result.proof.capabilitiesUsed, ["state.read", "state.write"])
        XCTAssertEqual(result.proof.timestamp, 1_700_000_000_100)
        XCTAssertEqual(task.stateOrEmpty.applying(result.stateWrites).values,
                       [bytes("balance/bob"): bytes("95"), bytes("balance/alice"): bytes("5")])

        // The overdraft answer and a counter run verify as well.
        let refused = try Executor.execute(task: try walletTask(amount: 500), keyPair: KeyPair.generate(), codeStore: store)
        _ = try Verifier.verify(task: try walletTask(amount: 500), result: refused)
    }

    func testTwoExecutorsAgreeOnEverythingButTheKey() throws {
        let task = try walletTask(amount: 7)
        let a = try Executor.execute(task: task, keyPair: KeyPair.generate(), codeStore: store)
        let b = try Executor.execute(task: task, keyPair: KeyPair.generate(), codeStore: store)
        XCTAssertNotEqual(a.proof.executorPublicKey, b.proof.executorPublicKey)
        XCTAssertEqual(a.proof.resultHash, b.proof.resultHash)
        XCTAssertEqual(a.proof.executionTraceHash, b.proof.executionTraceHash)
        XCTAssertEqual(a.proof.nextStateRoot, b.proof.nextStateRoot)
        XCTAssertEqual(a.proof.stateWritesHash, b.proof.stateWritesHash)
        XCTAssertEqual(a.stateWrites, b.stateWrites)
        XCTAssertEqual(a.proof.fuelUsed, b.proof.fuelUsed)
        XCTAssertEqual(a.proof.traceLength, b.proof.traceLength)
    }

    func testRefusalsCarryTheirStatus() throws {
        let missing = try ComputeTask.create(TaskSpec(dappId: "x", dappCodeHash: SHA256.hash(bytes("none")), action: "send",
                                                      payload: .null, timestamp: 1), requester: requester)
        XCTAssertThrowsError(try Executor.execute(task: missing, keyPair: KeyPair.generate(), codeStore: store)) { error in
            XCTAssertEqual((error as? DDEError)?.status, .codeNotFound)
        }
        let poor = try walletTask(amount: 5, limits: ExecutionLimits(maxFuel: 50))
        XCTAssertThrowsError(try Executor.execute(task: poor, keyPair: KeyPair.generate(), codeStore: store)) { error in
            XCTAssertEqual((error as? DDEError)?.status, .outOfFuel)
        }
    }

    func testAuditHoldsForHonestProofsAndNamesTheFirstLie() throws {
        let task = try walletTask(amount: 5)
        let executor = KeyPair.generate()
        let honest = try Executor.execute(task: task, keyPair: executor, codeStore: store)
        let report = try Audit.check(task: task, result: honest, codeStore: store)
        XCTAssertTrue(report.holds, "\(report.field ?? "") expected \(report.expected ?? "") claimed \(report.claimed ?? "")")

        // A lying executor claims less fuel and signs it: the proof still verifies, the audit catches it.
        var proof = honest.proof
        proof.fuelUsed -= 1
        proof.sign(with: executor)
        let lie = ComputeResult(proof: proof, result: honest.result, stateWrites: honest.stateWrites, executionLatency: 0)
        XCTAssertNoThrow(try Verifier.verify(task: task, result: lie))
        let caught = try Audit.check(task: task, result: lie, codeStore: store)
        XCTAssertEqual(caught.field, "fuelUsed")
        XCTAssertEqual(caught.expected, String(honest.proof.fuelUsed))

        // Another claims a different result and writes, consistently hashed and signed.
        var forged = honest.proof
        let fakeResult = try JSONParser.parse(#"{"from":0,"ok":true,"to":100}"#)
        let fakeWrites = StateWrites([bytes("balance/bob"): .some(bytes("0")), bytes("balance/alice"): .some(bytes("100"))])
        forged.resultHash = fakeResult.hash
        forged.stateWritesHash = fakeWrites.hash
        forged.nextStateRoot = task.stateOrEmpty.applying(fakeWrites).root
        forged.sign(with: executor)
        let forgedResult = ComputeResult(proof: forged, result: fakeResult, stateWrites: fakeWrites, executionLatency: 0)
        XCTAssertNoThrow(try Verifier.verify(task: task, result: forgedResult))
        XCTAssertEqual(try Audit.check(task: task, result: forgedResult, codeStore: store).field, "resultHash")

        // A proof for a task the auditor's re-run refuses: the field is "execution".
        let poor = try walletTask(amount: 5, limits: ExecutionLimits(maxFuel: 50))
        XCTAssertEqual(try Audit.check(task: poor, result: honest, codeStore: store).field, "execution")
    }
}
