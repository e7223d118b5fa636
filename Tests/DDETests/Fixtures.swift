import XCTest
@testable import DDE

/// Builds real, signed tasks and results for the verifier tests. The "executor" here is the
/// protocol arithmetic done by hand (hash the result, apply the writes, sign): the WebAssembly
/// executor has its own tests; these check that the verifier accepts exactly what it should.
enum Fixture {
    static func seed(_ n: UInt8) -> [UInt8] { [UInt8](repeating: n, count: 32) }
    static let requester = try! KeyPair.fromSeed(seed(1))
    static let executor = try! KeyPair.fromSeed(seed(2))
    static let other = try! KeyPair.fromSeed(seed(3))

    static let codeHash = SHA256.hash(Array("(module)".utf8))

    static func spec(state: StateMap? = StateMap(values: [Array("count".utf8): Array("41".utf8)])) -> TaskSpec {
        TaskSpec(dappId: "counter", dappCodeHash: codeHash, action: "increment",
                 payload: try! JSONParser.parse(#"{"by":1,"note":"é"}"#), raw: "count one more",
                 requiredCapabilities: ["state.write", "state.read"], state: state,
                 limits: ExecutionLimits(maxExecutionSteps: 10, maxFuel: 1000),
                 timestamp: 1_764_000_000_000)
    }

    static let task = try! ComputeTask.create(spec(), requester: requester)

    static let writes = StateWrites([Array("count".utf8): Array("42".utf8), Array("gone".utf8): nil])
    static let result: JSON = try! JSONParser.parse(#"{"count":42,"ok":true}"#)

    /// A valid proof for `task`, with `adjust` applied before signing.
    static func proof(for task: ComputeTask = task, result: JSON = result, writes: StateWrites = writes,
                      signer: KeyPair = executor, adjust: (inout ExecutionProof) -> Void = { _ in }) -> ExecutionProof {
        var p = ExecutionProof(
            taskId: task.taskId, dappId: task.dappId, dappCodeHash: task.dappCodeHash, action: task.intent.action,
            inputHash: task.inputHash, capabilitiesDeclared: task.requiredCapabilities,
            capabilitiesUsed: ["state.read", "state.write"], executionTraceHash: SHA256.hash(Array("trace".utf8)),
            traceLength: 3, fuelUsed: 500, resultHash: result.hash, previousStateRoot: task.previousStateRoot,
            nextStateRoot: task.stateOrEmpty.applying(writes).root, stateWritesHash: writes.hash,
            executorPublicKey: signer.publicKey, timestamp: 1_764_000_000_100)
        adjust(&p)
        p.signature = signer.sign(.proof, p.signedHash)
        return p
    }

    static func computeResult(proof: ExecutionProof = proof(), result: JSON = result,
                              writes: StateWrites = writes) -> ComputeResult {
        var r = ComputeResult(proof: proof, result: result, stateWrites: writes, executionLatency: 7)
        r.result = result
        r.stateWrites = writes
        return r
    }

    static func bytes(_ r: ComputeResult) -> [UInt8] { r.canonicalBytes }
}

/// Asserts that `body` throws a DDEError with `status`.
func XCTAssertStatus<T>(_ status: Status, _ body: () throws(DDEError) -> T,
                        file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected \(status.name), got success", file: file, line: line)
    } catch {
        XCTAssertEqual(error.status, status, "\(error.message)", file: file, line: line)
    }
}
