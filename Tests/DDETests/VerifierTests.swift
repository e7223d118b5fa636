import XCTest
@testable import DDE

final class VerifierTests: XCTestCase {
    let task = Fixture.task

    func verify(_ r: ComputeResult, policy: VerifyPolicy = .acceptAll) throws(DDEError) -> Verdict {
        let bytes = Fixture.bytes(r)
        var verdict: Result<Verdict, DDEError> = .failure(DDEError(.internalError, "unset"))
        bytes.withUnsafeBytes { b in
            do throws(DDEError) { verdict = .success(try Verifier.verify(task: task, resultBytes: b, policy: policy)) }
            catch { verdict = .failure(error) }
        }
        return try verdict.get()
    }

    func testValidResultVerifies() throws {
        let v = try verify(Fixture.computeResult())
        XCTAssertEqual(v.executor, Fixture.executor.publicKey)
        XCTAssertEqual(v.taskId, task.taskId)
    }

    // Check 1: well-formed.
    func testCheck1Malformed() {
        for (bad, status) in [("{", Status.json), ("[]", .schema), (#"{"taskId":1}"#, .schema)] {
            XCTAssertStatus(status) { () throws(DDEError) in
                try Verifier.verify(task: self.task, result: try ComputeResult(json: try JSONParser.parse(bad)))
            }
        }
    }

    func testCheck2OtherTask() {
        let otherTask = try! ComputeTask.create(Fixture.spec(state: nil), requester: Fixture.requester)
        XCTAssertStatus(.taskMismatch) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(proof: Fixture.proof { $0.taskId = otherTask.taskId }))
        }
        XCTAssertStatus(.taskMismatch) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(proof: Fixture.proof { $0.action = "decrement" }))
        }
        XCTAssertStatus(.taskMismatch) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(proof: Fixture.proof { $0.dappId = "wallet" }))
        }
    }

    func testCheck3CodeHash() {
        XCTAssertStatus(.codeHashMismatch) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(proof: Fixture.proof { $0.dappCodeHash = SHA256.hash([1]) }))
        }
    }

    func testCheck4InputHash() {
        XCTAssertStatus(.inputHashMismatch) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(proof: Fixture.proof { $0.inputHash = SHA256.hash([2]) }))
        }
    }

    func testCheck5Capabilities() {
        XCTAssertStatus(.capabilities) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(proof: Fixture.proof { $0.capabilitiesDeclared = ["state.read"] }))
        }
        XCTAssertStatus(.capabilities) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(proof: Fixture.proof { $0.capabilitiesUsed = ["log"] }))
        }
    }

    func testCheck6Limits() {
        XCTAssertStatus(.stepsExceeded) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(proof: Fixture.proof { $0.traceLength = 11 }))
        }
        XCTAssertStatus(.fuelExceeded) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(proof: Fixture.proof { $0.fuelUsed = 1001 }))
        }
        // At the limit is fine.
        XCTAssertNoThrow(try verify(Fixture.computeResult(proof: Fixture.proof { $0.traceLength = 10; $0.fuelUsed = 1000 })))
    }

    func testCheck7ResultAndWritesHashes() {
        let forged = try! JSONParser.parse(#"{"count":1000,"ok":true}"#)
        XCTAssertStatus(.resultHash) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(result: forged))
        }
        let otherWrites = StateWrites([Array("count".utf8): Array("1000".utf8)])
        XCTAssertStatus(.writesHash) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(writes: otherWrites))
        }
    }

    func testCheck8StateRoots() {
        XCTAssertStatus(.previousStateRoot) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(proof: Fixture.proof { $0.previousStateRoot = StateRoot.empty }))
        }
        XCTAssertStatus(.nextStateRoot) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(proof: Fixture.proof { $0.nextStateRoot = StateRoot.empty }))
        }
    }

    func testCheck9Signature() {
        var p = Fixture.proof()
        p.signature = Fixture.other.sign(.proof, p.signedHash) // signed by someone else
        XCTAssertStatus(.proofSignature) { () throws(DDEError) in try self.verify(Fixture.computeResult(proof: p)) }
        var q = Fixture.proof()
        q.signature = Fixture.executor.sign(.task, q.signedHash) // right key, wrong domain
        XCTAssertStatus(.proofSignature) { () throws(DDEError) in try self.verify(Fixture.computeResult(proof: q)) }
    }

    func testCheck10Policy() {
        let key = Fixture.executor.publicKey
        XCTAssertStatus(.executorBanned) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(), policy: VerifyPolicy(banned: [key]))
        }
        XCTAssertStatus(.executorBlacklisted) { () throws(DDEError) in
            try self.verify(Fixture.computeResult(), policy: VerifyPolicy(blacklisted: [key]))
        }
    }

    /// The proof's direct canonical writer (used for signedHash and proofHash) must give the bytes
    /// of the generic serialiser, also for strings that need escaping or are not ASCII.
    func testProofCanonicalBytesMatchGenericSerialiser() {
        let plain = Fixture.proof()
        let odd = Fixture.proof {
            $0.dappId = "caf\u{e9} \"q\" \\ \u{1}\u{7f}\u{1F600}"
            $0.action = "a\u{FF61}\u{10000}\n"
            $0.capabilitiesUsed = []
            $0.traceLength = 0
            $0.fuelUsed = maxSafeInteger
            $0.timestamp = 1
        }
        for p in [plain, odd] {
            XCTAssertEqual(p.canonicalBytes(signed: false), p.unsignedJSON.canonicalBytes())
            XCTAssertEqual(p.canonicalBytes(signed: true), p.json.canonicalBytes())
            XCTAssertEqual(p.signedHash, p.unsignedJSON.hash)
            XCTAssertEqual(p.proofHash, p.json.hash)
        }
        // The members really are in canonical order (the generic serialiser would sort them).
        guard case .object(let o) = odd.json else { return XCTFail("proof JSON is not an object") }
        for i in 1..<o.members.count { XCTAssertTrue(utf16Less(o.members[i - 1].key, o.members[i].key)) }
    }

    /// Check 8's merge of sorted entries and writes gives the root of the map with the writes applied.
    func testRootAfterWritesMatchesAppliedMap() {
        func b(_ s: String) -> [UInt8] { Array(s.utf8) }
        let maps = [StateMap(), StateMap(values: [b("b"): b("1")]),
                    StateMap(values: [b("b"): b("1"), b("d"): b("2"), b("f"): b("3"), b("\u{e9}"): b("4")])]
        let writes = [StateWrites(), StateWrites([b("a"): b("x")]), StateWrites([b("b"): nil]),
                      StateWrites([b("c"): nil, b("z"): b("y")]),
                      StateWrites([b("a"): b("0"), b("b"): b("9"), b("c"): nil, b("d"): nil, b("e"): b("5"),
                                   b("f"): b("3"), b("g"): b(""), b("\u{e9}"): nil])]
        for m in maps {
            for w in writes { XCTAssertEqual(m.root(applying: w), m.applying(w).root) }
        }
    }

    func testOuterFieldsMustMatchProof() {
        var r = Fixture.computeResult()
        r.executorPublicKey = Fixture.other.publicKey
        XCTAssertStatus(.resultMismatch) { () throws(DDEError) in try self.verify(r) }
    }

    /// Every field of a valid compute_result, changed in every way a wire could change it,
    /// must be refused: flip a hex digit, change a number, change a string, drop, add.
    func testEveryMutantIsRefused() throws {
        let valid = Fixture.computeResult().json
        var mutants = [(String, JSON)]()
        collectMutants(valid, path: "", replace: { $0 }, into: &mutants)
        XCTAssertGreaterThan(mutants.count, 80)
        var accepted = [String]()
        for (path, mutant) in mutants {
            let bytes = mutant.canonicalBytes()
            let outcome: Result<Verdict, DDEError> = bytes.withUnsafeBytes { b in
                do throws(DDEError) { return .success(try Verifier.verify(task: task, resultBytes: b)) }
                catch { return .failure(error) }
            }
            if case .success = outcome { accepted.append(path) }
        }
        // executionLatency is the executor's unsigned report (docs/PROTOCOL.md: advisory, never
        // used for scoring); it is the only field a mutant may change without refusal.
        XCTAssertEqual(accepted.filter { !$0.hasPrefix(".executionLatency") }, [])
        XCTAssertFalse(accepted.isEmpty, "the executionLatency mutants should reach the verifier")
    }

    private func collectMutants(_ node: JSON, path: String, replace: (JSON) -> JSON, into out: inout [(String, JSON)]) {
        switch node {
        case .object(let o):
            // add a field
            var added = o
            added["zzExtra"] = .number(1)
            out.append((path + "+zzExtra", replace(.object(added))))
            for m in o.members {
                var dropped = o
                dropped[m.key] = nil
                out.append((path + "." + m.key + "-drop", replace(.object(dropped))))
                collectMutants(m.value, path: path + "." + m.key, replace: { v in
                    var changed = o
                    changed[m.key] = v
                    return replace(.object(changed))
                }, into: &out)
            }
        case .array(let a):
            for (i, v) in a.enumerated() {
                collectMutants(v, path: path + "[\(i)]", replace: { nv in
                    var changed = a
                    changed[i] = nv
                    return replace(.array(changed))
                }, into: &out)
            }
            out.append((path + "+elem", replace(.array(a + [.string("state.write")]))))
        case .string(let s):
            var u = Array(s.utf8)
            if !u.isEmpty {
                u[0] = u[0] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
                out.append((path + "~flip", replace(.string(String(decoding: u, as: UTF8.self)))))
            }
            out.append((path + "~append", replace(.string(s + "a"))))
        case .number(let d):
            out.append((path + "~+1", replace(.number(d + 1))))
            out.append((path + "~str", replace(.string("1"))))
        case .bool(let b):
            out.append((path + "~not", replace(.bool(!b))))
        case .null:
            out.append((path + "~0", replace(.number(0))))
        }
    }
}
