// The generated part of the seed corpora: valid signed documents (a fuzzer cannot forge a
// signature, so it needs real ones to mutate) and variants of their spelling. Deterministic:
// fixed keys, fixed times, deterministic Ed25519. `dde-fuzz --write-seeds DIR` writes them;
// fuzz/corpus/ holds the copy scripts/fuzz.sh --seeds last wrote, beside hand-written files.
@testable import DDE

enum Seeds {
    /// A JSON writer with the knobs the canonical one lacks (as ComputeResultReaderTests):
    /// reversed members, whitespace, integers >= 10 written with a fraction and an exponent.
    static func write(_ v: JSON, reversed: Bool = false, spaced: Bool = false, exponents: Bool = false) -> String {
        let sep = spaced ? ", " : ",", colon = spaced ? " : " : ":"
        switch v {
        case .object(let o):
            let members = reversed ? o.members.reversed() : o.members
            let inner = members.map { m in
                JSON.string(m.key).canonicalString + colon + write(m.value, reversed: reversed, spaced: spaced, exponents: exponents)
            }
            return (spaced ? "{ " : "{") + inner.joined(separator: sep) + (spaced ? " }" : "}")
        case .array(let a):
            return "[" + a.map { write($0, reversed: reversed, spaced: spaced, exponents: exponents) }.joined(separator: sep) + "]"
        case .number(let d) where exponents && d >= 10 && d == d.rounded() && d < 1e15:
            let n = UInt64(d)
            return "\(n / 10).\(n % 10)e1"
        default:
            return v.canonicalString
        }
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func all() -> [(String, [(String, [UInt8])])] {
        let task = Fixture.task
        let result = Fixture.computeResult()
        let resultJSON = result.json

        // json
        var json: [(String, [UInt8])] = [
            ("task.json", task.canonicalBytes),
            ("result-spaced.json", bytes(write(resultJSON, reversed: true, spaced: true))),
            ("mixed.json", bytes(#" {"b":[1,-0,1.5e300,"\u00e9\ud83d\ude00",true,false,null],"a":{"":{}},"\u20ac":-1e-7} "#)),
            ("keys-utf16-order.json", bytes("{\"\u{FF61}\":1,\"\u{1F600}\":2,\"\u{E000}\":3,\"a\":[[],[{}]]}")),
            ("deep.json", bytes(String(repeating: "[", count: 63) + String(repeating: "]", count: 63))),
            ("numbers.json", bytes("[0,1,-1,123456789012345,1234567890123456,9007199254740993,1E400,4.9e-324,0.1,1e21,1e-7,-0.0]")),
        ]
        json.append(("escapes.json", bytes(#"["\"\\\/\b\f\n\r\t\u0000\u001f\u007f\u2028"]"#)))

        // number: text, and 8-byte doubles (the second interpretation of the same input)
        var number: [(String, [UInt8])] = []
        let texts = ["0", "-0", "1", "0.1", "1e21", "1e-7", "123456789012345678901234567890", "4.9e-324", "2.4703282292062328e-324",
                     "1.7976931348623157e308", "1.7976931348623159e308", "9007199254740993", "0.30000000000000004",
                     "2.2250738585072011e-308", "1" + String(repeating: "0", count: 400) + "e-400",
                     "0." + String(repeating: "0", count: 330) + "1e330", "7.1e10", "100e-2"]
        for (i, t) in texts.enumerated() { number.append(("text-\(i)", bytes(t))) }
        let doubles: [Double] = [0, -0.0, 1, 0.1, 1e21, 1e-7, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 9007199254740992, 123.456,
                                 -1.5e-300, 2.2250738585072014e-308]
        for (i, d) in doubles.enumerated() {
            var bits = d.bitPattern.littleEndian
            number.append(("double-\(i)", withUnsafeBytes(of: &bits) { Array($0) }))
        }

        // task: tasks and specs
        let bare = try! ComputeTask.create(Fixture.spec(state: nil), requester: Fixture.requester)
        var task2 = Fixture.spec()
        task2.payload = try! JSONParser.parse(#"{"to":"alice","amount":5,"memo":"caf\u00e9 \ud83d\ude00"}"#)
        task2.limits = ExecutionLimits(maxExecutionSteps: 500, maxFuel: 1_000_000, maxExecutionTime: 2000, maxMemoryUsage: 65536)
        task2.state = StateMap(values: [Array("balance/alice".utf8): [0, 0, 0, 0, 0, 0, 0, 5], Array("k\u{e9}".utf8): []])
        let full = try! ComputeTask.create(task2, requester: Fixture.requester)
        let specFull = #"{"dappId":"wallet","dappCodeHash":"\#(Fixture.codeHash.hex)","action":"send","payload":{"to":"bob","n":[1,2.5]},"raw":"send 5","requiredCapabilities":["state.write","state.read","log"],"state":{"balance/alice":"AAAAAAAAAAU=","x":""},"maxExecutionSteps":100,"maxFuel":5000,"maxExecutionTime":1000,"maxMemoryUsage":65536,"timestamp":1764000000000,"intentTimestamp":1763999999000}"#
        let specMinimal = #"{"dappId":"counter","dappCodeHash":"\#(Fixture.codeHash.hex)","action":"increment","requiredCapabilities":["state.read","state.write"]}"#
        let taskSeeds: [(String, [UInt8])] = [
            ("task.json", task.canonicalBytes),
            ("task-no-state.json", bare.canonicalBytes),
            ("task-full.json", full.canonicalBytes),
            ("task-spaced.json", bytes(write(full.json, reversed: true, spaced: true))),
            ("spec-full.json", bytes(specFull)),
            ("spec-minimal.json", bytes(specMinimal)),
        ]

        // result: for the fixture task (the harness verifies against it)
        var resultSeeds: [(String, [UInt8])] = [("result.json", result.canonicalBytes)]
        for (name, reversed, spaced, exponents) in [("reversed", true, false, false), ("spaced", false, true, false),
                                                    ("exponents", false, false, true), ("all", true, true, true)] {
            resultSeeds.append(("result-\(name).json", bytes(write(resultJSON, reversed: reversed, spaced: spaced, exponents: exponents))))
        }
        let canonicalText = String(decoding: result.canonicalBytes, as: UTF8.self)
        resultSeeds.append(("result-escaped.json", bytes(canonicalText.replacingFirst(#""dappId":"counter""#, #""dappId":"c\u006funter""#))))
        let odd = StateWrites([Array("cl\u{e9}/\u{fc}".utf8): Array("v".utf8), Array("k".utf8): nil])
        let oddResult: JSON = try! JSONParser.parse(#"{"msg":"gr\u00fc\u00dfe \ud83d\ude00","n":1,"list":[1,2,{"z":null}]}"#)
        let oddProof = Fixture.proof(result: oddResult, writes: odd)
        resultSeeds.append(("result-non-ascii.json", Fixture.computeResult(proof: oddProof, result: oddResult, writes: odd).canonicalBytes))
        let other = Fixture.proof(signer: Fixture.other)
        resultSeeds.append(("result-other-executor.json", Fixture.computeResult(proof: other).canonicalBytes))
        let lying = Fixture.proof { $0.fuelUsed = 5000 }
        resultSeeds.append(("result-over-fuel.json", Fixture.computeResult(proof: lying).canonicalBytes))

        // evidence: two executors disagree; one executor contradicts itself; a proof over the task's limits
        let liarResult: JSON = try! JSONParser.parse(#"{"count":43,"ok":true}"#)
        let liar = Fixture.proof(result: liarResult, signer: Fixture.other)
        let disagree = try! EvidenceDocument(task: task, proofs: Fixture.proof(), liar)
        let selfLiar = Fixture.proof(result: liarResult)
        let equivocation = try! EvidenceDocument(task: task, proofs: Fixture.proof(), selfLiar)
        let overLimit = Fixture.proof(signer: Fixture.other) { $0.traceLength = 99; $0.executionTraceHash = SHA256.hash([1]) }
        let signedFields = try! EvidenceDocument(task: task, proofs: Fixture.proof(), overLimit)
        let evidenceSeeds: [(String, [UInt8])] = [
            ("disagree.json", disagree.canonicalBytes),
            ("equivocation.json", equivocation.canonicalBytes),
            ("signed-fields.json", signedFields.canonicalBytes),
        ]

        // envelope: one of each message type
        let offer = TaskOffer(task: task, executors: [Fixture.executor.publicKey, Fixture.other.publicKey])
        let module: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]
        // Presence is signed and dated: the presence harness's clock is Fixture.now.
        let presence = Presence(executor: Fixture.executor, timestamp: Fixture.now - 1_000)
        var v2Spec = Fixture.spec()
        v2Spec.stateKeys = [Array("count".utf8), Array("absent".utf8)]
        let v2Offer = TaskOffer(task: try! ComputeTask.create(v2Spec, requester: Fixture.requester),
                                executors: [Fixture.executor.publicKey])
        let envelopeSeeds: [(String, [UInt8])] = [
            ("compute_task.json", offer.envelope.canonicalBytes),
            ("compute_task_v2.json", v2Offer.envelopeBytes),
            ("compute_result.json", Envelope(type: .computeResult, payload: result.json).canonicalBytes),
            ("compute_error.json", ComputeErrorMessage(taskId: task.taskId, executor: Fixture.executor,
                                                       code: .busy, message: "busy: 4 tasks of this requester running").envelope.canonicalBytes),
            ("code_request.json", CodeRequest(codeHash: Fixture.codeHash).envelope.canonicalBytes),
            ("code.json", CodeMessage(module: module).envelope.canonicalBytes),
            ("presence.json", presence.envelope.canonicalBytes),
            ("presence-few.json", Presence(executor: Fixture.other, capabilities: ["log", "state.read"],
                                           maxComputeTasksPerPeer: 1, timestamp: Fixture.now).envelope.canonicalBytes),
            ("evidence.json", disagree.envelope.canonicalBytes),
        ]

        // presence: NUL-separated `topic\npayload` records into a Delegator
        func record(_ topic: String, _ payload: [UInt8]) -> [UInt8] { bytes(topic) + [0x0A] + payload }
        let p1 = record(Topic.executors(Fixture.executor.publicKey), presence.envelope.canonicalBytes)
        let p2 = record(Topic.executors(Fixture.other.publicKey),
                        Presence(executor: Fixture.other, timestamp: Fixture.now - 2_000).envelope.canonicalBytes)
        let withdraw = record(Topic.executors(Fixture.executor.publicKey),
                              Presence(executor: Fixture.executor, capabilities: [], timestamp: Fixture.now).envelope.canonicalBytes)
        let ev = record(Topic.evidence, disagree.envelope.canonicalBytes)
        let eq = record(Topic.evidence, equivocation.envelope.canonicalBytes)
        let presenceSeeds: [(String, [UInt8])] = [
            ("one.bin", p1),
            ("two-and-evidence.bin", p1 + [0] + p2 + [0] + ev),
            ("equivocation.bin", p1 + [0] + eq),
            ("clear.bin", p1 + [0] + bytes(Topic.executors(Fixture.executor.publicKey))),
            ("withdraw.bin", p1 + [0] + p2 + [0] + withdraw + [0] + p1),
            ("wrong-topic.bin", record(Topic.executors(Fixture.other.publicKey), presence.envelope.canonicalBytes)),
        ]

        // session: an options byte (0 first_valid, 1 quorum(2), 2 audited with a pin, 3 without;
        // SessionHarness.swift has the other bits), then answers to the
        // delegation of Fixture.sessionTask on the requester's results topic
        let st = Fixture.sessionTask
        let resultsTopic = Topic.results(requester: Fixture.requester.publicKey)
        func answer(_ signer: KeyPair, lie: Bool = false) -> [UInt8] {
            let r: JSON = lie ? liarResult : Fixture.result
            let p = Fixture.proof(for: st, result: r, signer: signer)
            return record(resultsTopic, Envelope(type: .computeResult, payload: Fixture.computeResult(proof: p, result: r).json).canonicalBytes)
        }
        func busy(_ signer: KeyPair) -> [UInt8] {
            record(resultsTopic, ComputeErrorMessage(taskId: st.taskId, executor: signer, code: .busy, message: "busy").envelope.canonicalBytes)
        }
        func joined(_ mode: UInt8, _ records: [[UInt8]]) -> [UInt8] {
            var out: [UInt8] = [mode]
            for (i, r) in records.enumerated() { out += (i > 0 ? [0] : []) + r }
            return out
        }
        let e1 = Fixture.executor, e2 = Fixture.other, e3 = Fixture.third
        let sessionSeeds: [(String, [UInt8])] = [
            ("first-valid.bin", joined(0, [answer(e2)])),
            ("first-valid-liar-first.bin", joined(0, [answer(e3, lie: true), answer(e1)])),
            ("quorum.bin", joined(1, [answer(e1), answer(e2)])),
            ("quorum-disagree.bin", joined(1, [answer(e1), answer(e2, lie: true), answer(e3)])),
            ("quorum-busy.bin", joined(1, [busy(e2), answer(e1), busy(e3)])),
            ("audited.bin", joined(2, [answer(e3), answer(e1)])),
            ("audited-liar.bin", joined(2, [answer(e3, lie: true), answer(e1), answer(e2)])),
            ("quorum3-fanout2.bin", joined(1 | 1 << 2 | 2 << 4, [answer(e1), answer(e2), answer(e3)])),
            ("critical-fallback.bin", joined(3 | 0xC0, [answer(e1), answer(e2), answer(e3)])),
            ("noise.bin", joined(0, [record(resultsTopic, bytes("{}")), record(Topic.evidence, disagree.envelope.canonicalBytes),
                                     record(Topic.executors(e1.publicKey), presence.envelope.canonicalBytes), answer(e1)])),
        ]

        // receipt: committed into the fuzz store (v2 with an assurance), and the same as v1
        FuzzStore.reset()
        // (the store's dApp state is empty: commit the task that starts from the empty state)
        let bareResult = Fixture.computeResult(proof: Fixture.proof(for: bare))
        let receipt = try! FuzzStore.store.commit(task: bare, result: bareResult, identity: Fixture.requester, now: 1_764_000_000_200)
        var v1 = receipt.json.objectValue!
        v1["assurance"] = nil
        v1["receiptVersion"] = .number(1)
        var quorum = receipt.json.objectValue!
        quorum["assurance"] = Assurance(how: .quorum, confirmedBy: [Fixture.other.publicKey], validated: true).json
        let receiptSeeds: [(String, [UInt8])] = [
            ("receipt.json", receipt.canonicalBytes),
            ("receipt-v1.json", JSON.object(v1).canonicalBytes()),
            ("receipt-quorum.json", JSON.object(quorum).canonicalBytes()),
            ("receipt-spaced.json", bytes(write(receipt.json, reversed: true, spaced: true))),
        ]

        // keyfile
        let keyFile = KeyFile.encode(Fixture.requester)
        let keySeeds: [(String, [UInt8])] = [
            ("requester.key", keyFile),
            ("spaced.key", bytes(write(try! JSONParser.parse(keyFile), reversed: true, spaced: true))),
            ("mismatch.key", bytes(String(decoding: keyFile, as: UTF8.self)
                .replacingFirst(Fixture.requester.publicKey.hex, Fixture.executor.publicKey.hex))),
        ]

        // storeoptions: the options JSON, optionally followed by NUL and 9-byte events
        var events: [UInt8] = []
        for (kind, t) in [(0, 1_000), (0, 2_000), (0, 3_000), (1, 4_000), (0x80 | 2, 5_000), (4, 6_000), (3, 7_000)] as [(UInt8, UInt64)] {
            var le = t.littleEndian
            events += [kind] + withUnsafeBytes(of: &le) { Array($0) }
        }
        let allOptions = #"{"banAfterConsecutiveInvalid":2,"banDurationMs":60000,"blacklistFailureRate":0.25,"blacklistMinAttempts":3,"halfLifeMs":3600000,"confidenceZ":1.96}"#
        let optionSeeds: [(String, [UInt8])] = [
            ("empty.json", bytes("{}")),
            ("all.json", bytes(allOptions)),
            ("edges.json", bytes(#"{"banAfterConsecutiveInvalid":1,"banDurationMs":9007199254740991,"blacklistFailureRate":0,"blacklistMinAttempts":9007199254740991,"halfLifeMs":1,"confidenceZ":10}"#)),
            ("no-decay.json", bytes(#"{"halfLifeMs":0,"blacklistFailureRate":1,"confidenceZ":0}"#)),
            ("events.bin", bytes(allOptions) + [0] + events),
        ]

        // chunk: a full chunk, a chunk with leaves and empty slots, a leaf at the top; each in
        // schema 4's form and schema 3's.
        var fullChunk = TreeChunk(), leaves = TreeChunk(), single = TreeChunk()
        for i in 1..<TreeChunk.slotCount { fullChunk.slots[i] = .node(Digest(unchecked: [UInt8](repeating: UInt8(i), count: 32))) }
        func h(_ b: UInt8) -> Digest { Digest(unchecked: [UInt8](repeating: b, count: 32)) }
        leaves.slots[1] = .node(h(1)); leaves.slots[2] = .node(h(2)); leaves.slots[3] = .leaf(path: h(3), valueHash: h(4))
        leaves.slots[4] = .empty; leaves.slots[5] = .node(h(5)); leaves.slots[10] = .leaf(path: h(6), valueHash: h(7))
        leaves.slots[11] = .node(h(8)); leaves.slots[22] = .node(h(9)); leaves.slots[23] = .leaf(path: h(10), valueHash: h(11))
        single.slots[1] = .leaf(path: h(12), valueHash: h(13))
        func schema3(_ c: TreeChunk, _ i: Int, _ out: inout [UInt8]) {
            switch c.slots[i] {
            case .none, .empty: out.append(0)
            case .leaf(let p, let v): out += [1] + p.bytes + v.bytes
            case .node(let d):
                out += [2] + d.bytes
                if i < TreeChunk.bottom { schema3(c, 2 * i, &out); schema3(c, 2 * i + 1, &out) }
            }
        }
        var chunkSeeds: [(String, [UInt8])] = []
        for (name, c) in [("full", fullChunk), ("leaves", leaves), ("leaf-top", single)] {
            var old: [UInt8] = []
            schema3(c, 1, &old)
            chunkSeeds += [("\(name).v4", c.encoded), ("\(name).v3", old)]
        }

        return [("json", json), ("number", number), ("task", taskSeeds), ("result", resultSeeds),
                ("envelope", envelopeSeeds), ("presence", presenceSeeds), ("session", sessionSeeds), ("evidence", evidenceSeeds),
                ("receipt", receiptSeeds), ("keyfile", keySeeds), ("storeoptions", optionSeeds), ("chunk", chunkSeeds)]
    }
}

extension String {
    /// The string with the first occurrence of `target` replaced (no Foundation here).
    func replacingFirst(_ target: String, _ replacement: String) -> String {
        let s = Array(utf8), t = Array(target.utf8)
        guard !t.isEmpty, s.count >= t.count else { return self }
        for i in 0...(s.count - t.count) where Array(s[i..<(i + t.count)]) == t {
            return String(decoding: s[..<i] + Array(replacement.utf8) + s[(i + t.count)...], as: UTF8.self)
        }
        return self
    }
}
