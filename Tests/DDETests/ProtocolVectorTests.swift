import XCTest
@testable import DDE

/// Recomputes every test vector that docs/PROTOCOL.md publishes, so the document and the code
/// cannot drift apart. The vectors were computed independently (Python hashlib/rfc8785/PyNaCl).
final class ProtocolVectorTests: XCTestCase {
    static func vectors() throws -> [String: String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/PROTOCOL.md"), encoding: .utf8)
        var out = [String: String]()
        var inVector = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inVector = line == "```vector"; continue }
            guard inVector, !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
            out[line[..<eq].trimmingCharacters(in: .whitespaces)] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    func testPublishedVectors() throws {
        let v = try Self.vectors()
        XCTAssertGreaterThanOrEqual(v.count, 6, "docs/PROTOCOL.md lost its vectors")

        let empty = SHA256.hash([UInt8]())
        XCTAssertEqual(Hex.encode(SignatureKind.task.message(for: empty)), v["sign_message_task_empty"])
        let pair = try KeyPair.fromSeed([UInt8](repeating: 1, count: 32))
        XCTAssertEqual(pair.publicKey.hex, v["seed01_public_key"])
        XCTAssertEqual(pair.sign(.task, empty).hex, v["seed01_signature"])

        XCTAssertEqual(StateMap().root.hex, v["state_root_empty"])
        XCTAssertEqual(StateMap(values: [Array("count".utf8): Array("41".utf8)]).root.hex, v["state_root_one"])
        let three = StateMap(values: [
            Array("balance/alice".utf8): [0, 0, 0, 0, 0, 0, 0, 5],
            Array("balance/bob".utf8): [0, 0, 0, 0, 0, 0, 0, 95],
            Array("count".utf8): Array("41".utf8),
        ])
        XCTAssertEqual(three.root.hex, v["state_root_three"])

        // The v2 state tree (section 6.2): roots, proofs, and the root after writes from a proof.
        XCTAssertEqual(StateTree(StateMap()).root.hex, v["state_tree_empty"])
        XCTAssertEqual(StateTree(StateMap(values: [Array("count".utf8): Array("41".utf8)])).root.hex, v["state_tree_one"])
        let tree = StateTree(three)
        XCTAssertEqual(tree.root.hex, v["state_tree_three"])
        let alice = Array("balance/alice".utf8), carol = Array("balance/carol".utf8), count = Array("count".utf8)
        XCTAssertEqual(Hex.encode(tree.proof(keys: [alice]).bytes), v["state_proof_alice"])
        XCTAssertEqual(Hex.encode(tree.proof(keys: [carol]).bytes), v["state_proof_carol"])
        let multi = try XCTUnwrap(v["state_proof_alice_carol_count"])
        XCTAssertEqual(Hex.encode(tree.proof(keys: [count, carol, alice]).bytes), multi)
        let proven = try ProvenState(proof: try Hex.decode(multi, count: multi.utf8.count / 2, field: "proof"),
                                     entries: [(alice, [0, 0, 0, 0, 0, 0, 0, 5]), (carol, nil), (count, Array("41".utf8))],
                                     root: tree.root)
        let writes = StateWrites([alice: [0, 0, 0, 0, 0, 0, 0, 2], carol: [0, 0, 0, 0, 0, 0, 0, 3], count: nil])
        XCTAssertEqual(try proven.root(applying: writes).hex, v["state_tree_after"])

        // A taskVersion 2 task (section 3) built from the same state and keys gives the same bytes.
        let spec = TaskSpec(dappId: "wallet", dappCodeHash: SHA256.hash(Array("wallet module".utf8)), action: "send",
                            payload: try JSONParser.parse(#"{"amount":3,"from":"alice","to":"carol"}"#),
                            requiredCapabilities: ["state.read", "state.write"], state: three, stateKeys: [alice, carol],
                            timestamp: 1_767_225_600_000)
        let v2 = try ComputeTask.create(spec, requester: pair)
        XCTAssertEqual(v2.taskId.hex, v["task_v2_wallet_id"])
        XCTAssertEqual(String(decoding: v2.canonicalBytes, as: UTF8.self), v["task_v2_wallet"])
        let parsed = try ComputeTask(json: try JSONParser.parse(Array(try XCTUnwrap(v["task_v2_wallet"]).utf8)))
        XCTAssertEqual(parsed.partialState?.entries.map { $0.value }, [[0, 0, 0, 0, 0, 0, 0, 5], nil])

        // Signed presence and compute_error (section 10): the published bytes parse, hash and
        // verify, and the same fields signed here give the same bytes.
        let presence = try Presence(json: try JSONParser.parse(Array(try XCTUnwrap(v["presence_seed01"]).utf8)))
        XCTAssertEqual(presence.signedHash.hex, v["presence_seed01_signed_hash"])
        XCTAssertTrue(presence.hasValidSignature)
        let mine = Presence(executor: pair, capabilities: ["state.read", "state.write"], timestamp: 1_767_225_600_000)
        XCTAssertEqual(String(decoding: mine.json.canonicalBytes(), as: UTF8.self), v["presence_seed01"])
        let error = try ComputeErrorMessage(json: try JSONParser.parse(Array(try XCTUnwrap(v["error_seed01"]).utf8)))
        XCTAssertEqual(error.signedHash.hex, v["error_seed01_signed_hash"])
        XCTAssertTrue(error.hasValidSignature)
        let refusal = ComputeErrorMessage(taskId: try Digest(hex: String(repeating: "ab", count: 32), field: "taskId"),
                                          executor: pair, code: .busy, message: "busy")
        XCTAssertEqual(String(decoding: refusal.json.canonicalBytes(), as: UTF8.self), v["error_seed01"])
    }
}
