import Foundation
import XCTest
@testable import DDE

/// The task's kept canonical bytes (`ComputeTask.create`), the compute_task envelope's direct reader
/// (`TaskOffer.readPlain(envelope:)`) and the compute_result envelope's
/// (`ComputeResult.readPlain(envelope:)`) against the generic serialiser, parser and FieldReader:
/// the same bytes, the same values, the same statuses; what a direct reader does not handle it
/// leaves to the generic path (nil).
final class ComputeTaskReaderTests: XCTestCase {
    /// Tasks of every shape `create` makes: v1 with and without state, v2 with present and absent
    /// keys, the optional limits, strings that need escaping or are not ASCII.
    static var tasks: [ComputeTask] {
        var specs = [Fixture.spec(), Fixture.spec(state: nil), Fixture.spec(state: StateMap())]
        var v2 = Fixture.spec()
        v2.stateKeys = [Array("count".utf8), Array("absent".utf8), Array("clé/ü".utf8)]
        specs.append(v2)
        var limits = v2
        limits.limits = ExecutionLimits(maxExecutionSteps: 7, maxFuel: 99, maxExecutionTime: 250, maxMemoryUsage: 1 << 20)
        limits.raw = "line one\nline \"two\" \u{1}"
        limits.dappId = "wallet/ü"
        limits.intentTimestamp = 5
        specs.append(limits)
        var empty = Fixture.spec(state: StateMap(values: [Array("a".utf8): [], Array("z\u{10000}".utf8): [1], Array("z\u{FFFD}".utf8): [2]]))
        empty.stateKeys = [Array("z\u{10000}".utf8), Array("z\u{FFFD}".utf8), Array("a".utf8)]
        empty.payload = try! JSONParser.parse(#"{"n":[1,2,{"k":null}],"t":true,"é":"ü"}"#)
        specs.append(empty)
        var number = v2
        number.payload = .array([.number(1.5), .string("\u{7}"), .null])
        specs.append(number)
        return specs.map { try! ComputeTask.create($0, requester: Fixture.requester) }
    }

    private func offer(_ task: ComputeTask) -> [UInt8] {
        TaskOffer(task: task, executors: [Fixture.executor.publicKey, Fixture.other.publicKey]).envelopeBytes
    }

    private func generic(_ bytes: [UInt8]) throws(DDEError) -> TaskOffer {
        let e = try Envelope.decode(bytes)
        guard e.type == .computeTask else { throw DDEError(.messageType, "not an offer") }
        return try TaskOffer(json: e.payload)
    }

    private func status(_ body: () throws(DDEError) -> Any?) -> Status {
        do throws(DDEError) {
            _ = try body()
            return .ok
        } catch {
            return error.status
        }
    }

    func testCreateKeepsTheCanonicalForm() throws {
        for t in Self.tasks {
            // The direct bytes are the canonical form of the task's object, and parse back to a
            // task whose id and signature verify.
            XCTAssertEqual(t.canonicalBytes, t.json.canonicalBytes())
            let back = try ComputeTask(json: try JSONParser.parse(t.canonicalBytes))
            XCTAssertEqual(back.taskId, t.taskId)
            XCTAssertEqual(back.canonicalBytes, t.canonicalBytes)
            XCTAssertEqual(back.json, t.json)
            XCTAssertEqual(back.partialState?.keys, t.partialState?.keys)
        }
    }

    /// The task `create` returns holds what its signed bytes say, field by field (a writer that
    /// spelled one field wrong would leave the requester and its executors disagreeing on what was
    /// signed), and the bytes are the canonical form of the object built member by member, for
    /// the shapes above and for random specs: strings that need escaping or are not ASCII in every
    /// string field, optional limits present or not, integers up to 2^53-1, v1 and v2.
    func testCreatedFieldsAreWhatTheSignedBytesSay() throws {
        var rng = StateTreeTests.Rng(77)
        let alphabet: [String] = ["a", "Z", "\"", "\\", "/", "\u{0}", "\u{1F}", "\u{7F}", "\u{2028}", "é", "\u{FFFD}", "\u{E000}", "\u{1F600}", " "]
        func text(_ n: Int) -> String { (0..<n).map { _ in alphabet[rng.below(alphabet.count)] }.joined() }
        func integer() -> UInt64 { [0, 1, 255, 1 << 32, maxSafeInteger][rng.below(5)] }
        var specs = [TaskSpec]()
        for i in 0..<200 {
            var spec = Fixture.spec(state: i % 3 == 0 ? nil : StateMap(values: [Array("k\(text(3))".utf8): rng.bytes(rng.below(5))]))
            spec.dappId = "d" + text(rng.below(8))
            spec.action = "a" + text(rng.below(8))
            spec.raw = text(rng.below(12))
            spec.payload = .object(JSONObject(uniqueMembers: [.init("n", .number([-0.0, 1e21, 1e-7, Double.leastNonzeroMagnitude, 42][rng.below(5)])),
                                                               .init("s", .string(text(4)))]))
            spec.timestamp = integer()
            spec.intentTimestamp = rng.below(2) == 0 ? nil : integer()
            spec.limits = ExecutionLimits(maxExecutionSteps: integer(), maxFuel: integer(),
                                          maxExecutionTime: rng.below(2) == 0 ? nil : integer(),
                                          maxMemoryUsage: rng.below(2) == 0 ? nil : integer())
            if i % 2 == 0 { spec.stateKeys = [Array("k\(text(2))".utf8), Array("absent".utf8)] }
            specs.append(spec)
        }
        let random = try specs.map { spec throws(DDEError) in try ComputeTask.create(spec, requester: Fixture.requester) }
        for (i, t) in (Self.tasks + random).enumerated() {
            let back = try ComputeTask(json: try JSONParser.parse(t.canonicalBytes))
            XCTAssertEqual(back.taskVersion, t.taskVersion, "task \(i)")
            XCTAssertEqual(back.taskId, t.taskId, "task \(i)")
            XCTAssertEqual(back.intent, t.intent, "task \(i)")
            XCTAssertTrue(sameScalars(back.dappId, t.dappId), "task \(i)")
            XCTAssertEqual(back.dappCodeHash, t.dappCodeHash, "task \(i)")
            XCTAssertEqual(back.requiredCapabilities, t.requiredCapabilities, "task \(i)")
            XCTAssertEqual(back.inputHash, t.inputHash, "task \(i)")
            XCTAssertEqual(back.previousStateRoot, t.previousStateRoot, "task \(i)")
            XCTAssertEqual(back.state, t.state, "task \(i)")
            XCTAssertEqual(back.partialState?.keys, t.partialState?.keys, "task \(i)")
            XCTAssertEqual(back.partialState?.proof, t.partialState?.proof, "task \(i)")
            XCTAssertEqual(back.requesterPublicKey, t.requesterPublicKey, "task \(i)")
            XCTAssertEqual(back.timestamp, t.timestamp, "task \(i)")
            XCTAssertEqual(back.limits, t.limits, "task \(i)")
            XCTAssertEqual(back.signature, t.signature, "task \(i)")
            // The object member by member, written by the generic canonical writer.
            var members: [JSONObject.Member] = [
                .init("taskVersion", .int(t.taskVersion)), .init("taskId", .string(t.taskId.hex)), .init("intent", t.intent.json),
                .init("dappId", .string(t.dappId)), .init("dappCodeHash", .string(t.dappCodeHash.hex)),
                .init("requiredCapabilities", .strings(t.requiredCapabilities)), .init("inputHash", .string(t.inputHash.hex)),
                .init("previousStateRoot", .string(t.previousStateRoot.hex)),
                .init("requesterPublicKey", .string(t.requesterPublicKey.hex)), .init("timestamp", .int(t.timestamp)),
                .init("maxExecutionSteps", .int(t.limits.maxExecutionSteps)), .init("maxFuel", .int(t.limits.maxFuel)),
                .init("signature", .string(t.signature.hex)),
            ]
            if let v = t.limits.maxExecutionTime { members.append(.init("maxExecutionTime", .int(v))) }
            if let v = t.limits.maxMemoryUsage { members.append(.init("maxMemoryUsage", .int(v))) }
            if let partial = t.partialState {
                members.append(.init("state", partial.json))
                members.append(.init("stateProof", .string(Base64.encode(partial.proof))))
            } else if let state = t.state {
                members.append(.init("state", state.json))
            }
            XCTAssertEqual(t.canonicalBytes, JSON.object(JSONObject(uniqueMembers: members)).canonicalBytes(), "task \(i)")
        }
    }

    func testCreateRefusesWhatAReaderRefuses() {
        var long = Fixture.spec()
        long.dappId = String(repeating: "d", count: 257)
        XCTAssertStatus(.limit) { () throws(DDEError) in try ComputeTask.create(long, requester: Fixture.requester) }
        long = Fixture.spec()
        long.action = String(repeating: "a", count: 257)
        XCTAssertStatus(.limit) { () throws(DDEError) in try ComputeTask.create(long, requester: Fixture.requester) }
        long = Fixture.spec()
        long.raw = String(repeating: "r", count: (64 << 10) + 1)
        XCTAssertStatus(.limit) { () throws(DDEError) in try ComputeTask.create(long, requester: Fixture.requester) }
        var key = Fixture.spec()
        key.stateKeys = [[]]
        XCTAssertStatus(.limit) { () throws(DDEError) in try ComputeTask.create(key, requester: Fixture.requester) }
        key = Fixture.spec(state: StateMap(values: [Array("big".utf8): [UInt8](repeating: 1, count: maxStateValueBytes + 1)]))
        XCTAssertStatus(.limit) { () throws(DDEError) in try ComputeTask.create(key, requester: Fixture.requester) }
        // A key that is not UTF-8 could not be written as a JSON key as it is.
        key = Fixture.spec()
        key.stateKeys = [[0x61, 0xFF]]
        XCTAssertStatus(.encoding) { () throws(DDEError) in try ComputeTask.create(key, requester: Fixture.requester) }
        key = Fixture.spec(state: StateMap(values: [[0xC3]: [1]]))
        XCTAssertStatus(.encoding) { () throws(DDEError) in try ComputeTask.create(key, requester: Fixture.requester) }
        var empty = Fixture.spec()
        empty.dappId = ""
        XCTAssertStatus(.schema) { () throws(DDEError) in try ComputeTask.create(empty, requester: Fixture.requester) }
        empty = Fixture.spec()
        empty.action = ""
        XCTAssertStatus(.schema) { () throws(DDEError) in try ComputeTask.create(empty, requester: Fixture.requester) }
        var big = Fixture.spec()
        big.limits.maxFuel = maxSafeInteger + 1
        XCTAssertStatus(.number) { () throws(DDEError) in try ComputeTask.create(big, requester: Fixture.requester) }
        big = Fixture.spec()
        big.intentTimestamp = maxSafeInteger + 1
        XCTAssertStatus(.number) { () throws(DDEError) in try ComputeTask.create(big, requester: Fixture.requester) }
        var unknown = Fixture.spec()
        unknown.requiredCapabilities = ["state.read", "net.open"]
        XCTAssertStatus(.schema) { () throws(DDEError) in try ComputeTask.create(unknown, requester: Fixture.requester) }
    }

    /// The fields' rules (`Fields.validate`) refuse the same things in a task read from JSON.
    func testTheReaderRefusesWhatCreateRefuses() throws {
        let good = Fixture.task.json
        guard case .object(let o) = good else { return XCTFail("not an object") }
        func read(_ key: String, _ value: JSON) -> Status {
            var changed = o
            changed[key] = value
            return status { () throws(DDEError) in try ComputeTask(json: .object(changed)) }
        }
        XCTAssertEqual(read("dappId", .string(String(repeating: "d", count: 257))), .limit)
        XCTAssertEqual(read("dappId", .string("")), .schema)
        XCTAssertEqual(read("requiredCapabilities", .strings(["state.write", "state.read"])), .schema)
        XCTAssertEqual(read("requiredCapabilities", .strings(["net.open"])), .schema)
        XCTAssertEqual(read("requiredCapabilities", .array([.number(1)])), .schema)
        XCTAssertEqual(read("timestamp", .number(Double(maxSafeInteger) + 2)), .number)
        guard case .object(var intent) = o["intent"] else { return XCTFail("no intent") }
        intent["action"] = .string(String(repeating: "a", count: 257))
        XCTAssertEqual(read("intent", .object(intent)), .limit)
        intent["action"] = .string("")
        XCTAssertEqual(read("intent", .object(intent)), .schema)
        intent["action"] = .string("increment")
        intent["raw"] = .string(String(repeating: "r", count: (64 << 10) + 1))
        XCTAssertEqual(read("intent", .object(intent)), .limit)
    }

    func testEnvelopesWrittenDirectlyAreTheCanonicalOnes() {
        for t in Self.tasks {
            let o = TaskOffer(task: t, executors: [Fixture.executor.publicKey])
            XCTAssertEqual(o.envelopeBytes, o.envelope.canonicalBytes)
            XCTAssertEqual(TaskOffer(task: t, executors: []).envelopeBytes, TaskOffer(task: t, executors: []).envelope.canonicalBytes)
        }
        let r = Fixture.computeResult()
        XCTAssertEqual(Envelope.canonicalBytes(type: .computeResult, payload: r.canonicalBytes),
                       Envelope(type: .computeResult, payload: r.json).canonicalBytes)
    }

    func testPlainOfferReaderMatchesTheGenericPath() throws {
        var read = 0
        for t in Self.tasks {
            let bytes = offer(t)
            let slow = try generic(bytes)
            guard let fast = try TaskOffer.readPlain(envelope: bytes) else {
                // Only v2 tasks with escape-free strings and integers are read directly.
                let text = String(decoding: t.canonicalBytes, as: UTF8.self)
                XCTAssertTrue(t.taskVersion == 1 || text.contains("\\") || text.contains("1.5"), text)
                continue
            }
            read += 1
            XCTAssertEqual(fast.executors, slow.executors)
            XCTAssertEqual(fast.task.taskId, slow.task.taskId)
            XCTAssertEqual(fast.task.canonicalBytes, slow.task.canonicalBytes)
            XCTAssertEqual(fast.task.json, slow.task.json)
            XCTAssertEqual(fast.task.intent, slow.task.intent)
            XCTAssertEqual(fast.task.limits, slow.task.limits)
            XCTAssertEqual(fast.task.requiredCapabilities, slow.task.requiredCapabilities)
            XCTAssertEqual(fast.task.state, slow.task.state)
            XCTAssertEqual(fast.task.partialState?.keys, slow.task.partialState?.keys)
            XCTAssertEqual(fast.task.partialState?.proof, slow.task.partialState?.proof)
            XCTAssertEqual(fast.task.previousStateRoot, slow.task.previousStateRoot)
        }
        XCTAssertGreaterThanOrEqual(read, 2)
    }

    /// What differs between two readings of a task's fields (nil: nothing); as the fuzz harness
    /// `envelope` compares them.
    private func fieldDifference(_ a: ComputeTask.Fields, _ b: ComputeTask.Fields) -> String? {
        if a.taskVersion != b.taskVersion { return "taskVersion" }
        if a.taskId != b.taskId { return "taskId" }
        if a.intent != b.intent { return "intent" }
        if Array(a.dappId.utf8) != Array(b.dappId.utf8) { return "dappId" }
        if a.dappCodeHash != b.dappCodeHash { return "dappCodeHash" }
        if a.requiredCapabilities != b.requiredCapabilities { return "requiredCapabilities" }
        if a.inputHash != b.inputHash { return "inputHash" }
        if a.previousStateRoot != b.previousStateRoot { return "previousStateRoot" }
        if a.wholeState != b.wholeState { return "state (v1)" }
        if (a.partialRead == nil) != (b.partialRead == nil) { return "state (v2)" }
        if let p = a.partialRead, let q = b.partialRead {
            if p.proof != q.proof { return "stateProof" }
            if p.entries.map(\.key) != q.entries.map(\.key) || p.entries.map(\.value) != q.entries.map(\.value) { return "state (v2)" }
        }
        if a.requesterPublicKey != b.requesterPublicKey { return "requesterPublicKey" }
        if a.timestamp != b.timestamp { return "timestamp" }
        if a.limits != b.limits { return "limits" }
        if a.signature != b.signature { return "signature" }
        return nil
    }

    /// The offer's text with inputHash, taskId and the signature made right again (the fixture
    /// requester signs), the spelling kept: their hex is replaced in place. nil when the generic
    /// parser refuses the text.
    private func resigned(_ text: String, from t: ComputeTask) -> [UInt8]? {
        func task(_ text: String) -> JSONObject? {
            guard let e = try? Envelope.decode(Array(text.utf8)), case .object(let o) = e.payload,
                  case .object(let task)? = o["task"] else { return nil }
            return task
        }
        guard let first = task(text), case .object(let intent)? = first["intent"], let payload = intent["payload"] else { return nil }
        var text = text.replacingOccurrences(of: t.inputHash.hex, with: payload.hash.hex)
        guard let second = task(text) else { return nil }
        let id = ComputeTask.computeId(second)
        text = text.replacingOccurrences(of: t.taskId.hex, with: id.hex)
            .replacingOccurrences(of: t.signature.hex, with: Fixture.requester.sign(.task, id).hex)
        return Array(text.utf8)
    }

    /// Offers changed in their spelling or their values and signed again: what the direct reader
    /// reads has the generic reading's fields, unsigned hash, bytes and H(payload) (before the
    /// checks), and both paths then accept it; what it does not read is left to the generic path.
    func testPlainOfferReaderReadsResignedVariantsAsTheGenericPath() throws {
        let t = Self.tasks[3]
        let text = String(decoding: offer(t), as: UTF8.self)
        // (from, to, read directly?): nil where either answer is right.
        let changes: [(String, String, Bool?)] = [
            (#"{"by":1,"note":"é"}"#, #"{"by":1,"note":"é","ü":"x"}"#, true),        // a unicode key
            (#"{"by":1,"note":"é"}"#, #"{"by":1,"note":"é","\#u{10000}":[],"\#u{FFFD}":{}}"#, true),  // UTF-16 order
            (#"{"by":1,"note":"é"}"#, #"{"note":"é","by":1}"#, false),              // key order
            (#"{"by":1,"note":"é"}"#, #"{"by":1,"note":"\u00e9"}"#, false),         // an escape
            (#"{"by":1,"note":"é"}"#, #"{"by":1,"note":"a\"b"}"#, false),           // a needed escape
            (#"{"by":1,"note":"é"}"#, #"{"by": 1,"note":"é"}"#, false),             // whitespace
            (#"{"by":1,"note":"é"}"#, #"{"by":10,"note":"é"}"#, true),              // another number
            (#"{"by":1,"note":"é"}"#, #"{"by":1.0,"note":"é"}"#, false),            // number spellings
            (#"{"by":1,"note":"é"}"#, #"{"by":1e0,"note":"é"}"#, false),
            (#"{"by":1,"note":"é"}"#, #"{"by":-0,"note":"é"}"#, false),
            (#"{"by":1,"note":"é"}"#, #"{"by":0.5,"note":"é"}"#, nil),
            (#"{"by":1,"note":"é"}"#, #"{"by":1,"by":1,"note":"é"}"#, false),       // duplicate keys
            (#""maxFuel":1000"#, #""maxFuel":1000,"maxFuel":1000"#, false),
            (#""maxFuel":1000"#, #""maxFuel":1001"#, true),
            (#""maxFuel":1000"#, #""maxFuel":01000"#, false),
            (#""dappId":"counter""#, #""dappId":"counter/ü""#, true),
            (#""dappId":"counter""#, #""dappId":"c\u006funter""#, false),
            (#""action":"increment""#, #""action":"incr""#, true),
            (#""raw":"count one more""#, #""raw":"count one more\n""#, false),
            (#""raw":"count one more""#, #""raw":"count one more ✓""#, true),
            (#""timestamp":1764000000000}"#, #""timestamp":1764000000001}"#, true),
            (#""taskVersion":2"#, #""taskVersion":2.0"#, false),
            (#"{"payload":{"executors""#, #"{"payload": {"executors""#, false),
            (#""v":1}"#, #""v":1} "#, false),                                        // trailing bytes
            (#""v":1}"#, #""v":1}x"#, false),
        ]
        var read = 0
        for (from, to, expected) in changes {
            XCTAssertTrue(text.contains(from), from)
            let changed = text.replacingOccurrences(of: from, with: to)
            guard let bytes = resigned(changed, from: t) else {
                // The generic parser refuses it: so must the direct reader.
                XCTAssertNil(PlainOffer(envelope: Array(changed.utf8)), changed)
                XCTAssertNotEqual(expected, true, changed)
                continue
            }
            let slow = try generic(bytes)
            guard let plain = PlainOffer(envelope: bytes) else {
                XCTAssertNotEqual(expected, true, changed)
                continue
            }
            XCTAssertNotEqual(expected, false, changed)
            read += 1
            let e = try Envelope.decode(bytes)
            guard case .object(let o) = e.payload, let taskJSON = o["task"] else { return XCTFail(changed) }
            let r = try FieldReader(taskJSON, context: "task")
            let fields = try ComputeTask.Fields(r)
            XCTAssertNil(fieldDifference(plain.task.fields, fields), changed)
            XCTAssertEqual(plain.executors, slow.executors, changed)
            XCTAssertEqual(SHA256.hash(plain.task.unsigned), ComputeTask.computeId(r.object), changed)
            XCTAssertEqual(plain.task.bytes, taskJSON.canonicalBytes(), changed)
            XCTAssertEqual(plain.task.payloadHash, fields.intent.payload.hash, changed)
            let fast = try plain.checked()
            XCTAssertEqual(fast.task.taskId, slow.task.taskId, changed)
            XCTAssertEqual(fast.task.canonicalBytes, slow.task.canonicalBytes, changed)
            XCTAssertEqual(fast.task.json, slow.task.json, changed)
        }
        XCTAssertGreaterThanOrEqual(read, changes.filter { $0.2 == true }.count)
    }

    /// Canonical offers whose task fails a check: the direct reader throws the generic path's status.
    func testPlainOfferReaderRefusesWithTheGenericStatus() throws {
        let t = Self.tasks[3]
        let text = String(decoding: offer(t), as: UTF8.self)
        func variant(_ from: String, _ to: String) -> [UInt8] {
            XCTAssertTrue(text.contains(from), from)
            return Array(text.replacingOccurrences(of: from, with: to).utf8)
        }
        let count = Base64.encode(Array("41".utf8))
        let cases: [([UInt8], Status)] = [
            (variant(#""taskVersion":2,"timestamp":1764000000000"#, #""taskVersion":2,"timestamp":1764000000001"#), .taskId),
            (variant(t.signature.hex, Fixture.other.sign(.task, t.taskId).hex), .taskSignature),
            (variant(#"{"by":1,"#, #"{"by":2,"#), .inputHashMismatch),
            (variant(#""count":"\#(count)""#, #""count":"\#(Base64.encode(Array("40".utf8)))""#), .stateProofValue),
        ]
        for (bytes, expected) in cases {
            XCTAssertNotEqual(expected, .ok)
            XCTAssertEqual(status { () throws(DDEError) in try TaskOffer.readPlain(envelope: bytes) }, expected)
            XCTAssertEqual(status { () throws(DDEError) in try self.generic(bytes) }, expected)
        }
    }

    /// Non-canonical, malformed, oversized or other messages: nil, and the generic path decides.
    func testPlainOfferReaderLeavesTheRestToTheGenericPath() throws {
        let t = Self.tasks[3]
        let bytes = offer(t)
        let text = String(decoding: bytes, as: UTF8.self)
        func variant(_ from: String, _ to: String) -> [UInt8] {
            XCTAssertTrue(text.contains(from), from)
            return Array(text.replacingOccurrences(of: from, with: to).utf8)
        }
        let v1 = offer(Self.tasks[0])
        // Valid but not in the plain form: the generic path accepts them.
        let valid: [[UInt8]] = [
            variant(#""dappId":"counter""#, #""dappId":"c\u006funter""#),          // an escape
            variant(#""dappId":"counter""#, #""dappId" : "counter""#),             // whitespace
            variant(#"{"by":1,"#, #"{ "by":1,"#),                                  // whitespace in the payload
            variant(#""maxFuel":1000"#, #""maxFuel":1e3"#),                        // a number not in ES6 form
            [UInt8](" ".utf8) + bytes,
            v1,                                                                    // taskVersion 1
            Array(text.replacingOccurrences(of: #"{"payload":"#, with: #"{"v":1,"payload":"#)
                .replacingOccurrences(of: #","v":1}"#, with: "}").utf8),         // envelope members reordered
        ]
        for b in valid {
            XCTAssertNil(try TaskOffer.readPlain(envelope: b), String(decoding: b, as: UTF8.self))
            XCTAssertEqual(try generic(b).task.taskId, t.taskVersion == 2 && b != v1 ? t.taskId : Self.tasks[0].taskId)
        }
        // Malformed ones: nil here, their own status there.
        let malformed: [([UInt8], Status)] = [
            (variant(#""maxFuel":1000"#, #""maxFuel":1000,"maxFuel":1000"#), .duplicateKey),
            (variant(#""maxFuel":1000"#, #""maxFuel":1000,"zzz":1"#), .schema),
            (variant(#""maxFuel":1000"#, #""maxFuel":"1000""#), .schema),
            (variant(#""maxFuel":1000"#, #""maxFuel":10.5"#), .number),
            (variant(#""taskVersion":2"#, #""taskVersion":3"#), .version),
            (variant(#""count":"\#(Base64.encode(Array("41".utf8)))""#, #""count":"NDE""#), .encoding),
            (variant(t.taskId.hex, t.taskId.hex.uppercased()), .encoding),
            (variant(Fixture.executor.publicKey.hex, "abcd"), .encoding),
            (variant(#""dappId":"counter""#, "\"dappId\":\"coun\tter\""), .json),
            (variant(#""type":"compute_task""#, #""type":"compute_tusk""#), .messageType),
            (variant(#""v":1}"#, #""v":2}"#), .version),
            (Array(bytes.dropLast()), .json),
            (bytes + [UInt8]("x".utf8), .json),
        ]
        for (b, expected) in malformed {
            XCTAssertNil(try TaskOffer.readPlain(envelope: b), String(decoding: b, as: UTF8.self))
            XCTAssertEqual(status { () throws(DDEError) in try self.generic(b) }, expected, String(decoding: b, as: UTF8.self))
        }
        // Over the limits: nil, and the generic reader's .limit.
        for limits in [JSONLimits(maxBytes: bytes.count - 1), JSONLimits(maxDepth: 3), JSONLimits(maxStringBytes: 100),
                       JSONLimits(maxObjectKeys: 3), JSONLimits(maxArrayElements: 1)] {
            XCTAssertNil(try TaskOffer.readPlain(envelope: bytes, limits: limits))
            XCTAssertStatus(.limit) { () throws(DDEError) in try TaskOffer(json: try Envelope.decode(bytes, limits: limits).payload) }
        }
        var many = [PublicKey]()
        for i in 0...TaskOffer.maxExecutors { many.append(PublicKey(SHA256.hash([UInt8(i & 0xFF), UInt8(i >> 8)]).storage)) }
        let crowded = TaskOffer(task: t, executors: many).envelopeBytes
        XCTAssertNil(try TaskOffer.readPlain(envelope: crowded))
        XCTAssertStatus(.limit) { () throws(DDEError) in try self.generic(crowded) }
        // Other messages are not offers.
        let r = Fixture.computeResult()
        XCTAssertNil(try TaskOffer.readPlain(envelope: Envelope.canonicalBytes(type: .computeResult, payload: r.canonicalBytes)))
        XCTAssertNil(try TaskOffer.readPlain(envelope: CodeRequest(codeHash: Fixture.codeHash).envelope.canonicalBytes))
        XCTAssertNil(try TaskOffer.readPlain(envelope: []))
    }

    /// An offer plain but for its last bytes is given up on at once (its end is compared first),
    /// not after reading the whole task: timed against reading the same offer unchanged.
    func testPlainOfferReaderLooksAtTheEndFirst() throws {
        var spec = Fixture.spec(state: StateMap(values: [Array("a".utf8): [UInt8](repeating: 1, count: 200_000),
                                                         Array("b".utf8): [UInt8](repeating: 2, count: 200_000),
                                                         Array("c".utf8): [UInt8](repeating: 3, count: 200_000)]))
        spec.stateKeys = [Array("a".utf8), Array("b".utf8), Array("c".utf8)]
        let t = try ComputeTask.create(spec, requester: Fixture.requester)
        let bytes = offer(t)
        XCTAssertGreaterThan(bytes.count, 800_000)
        // Valid, but with whitespace before the last brace: not plain.
        let spaced = Array(bytes.dropLast()) + Array(" }".utf8)
        XCTAssertEqual(try generic(spaced).task.taskId, t.taskId)
        func fastest(_ b: [UInt8]) throws -> UInt64 {
            var best = UInt64.max
            for _ in 0..<5 {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try TaskOffer.readPlain(envelope: b)
                best = min(best, DispatchTime.now().uptimeNanoseconds - start)
            }
            return best
        }
        XCTAssertNotNil(try TaskOffer.readPlain(envelope: bytes))
        XCTAssertNil(try TaskOffer.readPlain(envelope: spaced))
        let whole = try fastest(bytes), end = try fastest(spaced)
        XCTAssertLessThan(end * 50, whole, "\(end) ns to give up, \(whole) ns to read the offer")
    }

    func testPlainResultEnvelopeReader() throws {
        let r = Fixture.computeResult()
        let bytes = Envelope.canonicalBytes(type: .computeResult, payload: r.canonicalBytes)
        let read = try XCTUnwrap(ComputeResult.readPlain(envelope: bytes))
        XCTAssertEqual(read.canonicalBytes, r.canonicalBytes)
        XCTAssertEqual(read.result.canonicalBytes, r.canonicalBytes)
        XCTAssertEqual(read.proofSignedHash, r.proof.signedHash)
        XCTAssertEqual(read.resultHash, r.result.hash)
        XCTAssertEqual(read.stateWritesHash, r.stateWrites.hash)
        let text = String(decoding: bytes, as: UTF8.self)
        // Read, but not canonical: no bytes handed over (the session serialises the result).
        for (from, to) in [(#""executionLatency":7"#, #""executionLatency" :7"#), (#""executionLatency":7"#, #""executionLatency":7.0"#),
                           (#""ok":true"#, #""ok": true"#), (#""count":42"#, #""count":42 "#),
                           (#"{"payload":{"executionLatency":7,"#, #"{"payload":{"#)] {
            XCTAssertTrue(text.contains(from), from)
            var changed = text.replacingOccurrences(of: from, with: to)
            if to == #"{"payload":{"# {
                // The member moved to the end: out of canonical order.
                changed = changed.replacingOccurrences(of: #"},"type":"compute_result""#, with: #","executionLatency":7},"type":"compute_result""#)
            }
            let b = Array(changed.utf8)
            let again = try XCTUnwrap(ComputeResult.readPlain(envelope: b), changed)
            XCTAssertNil(again.canonicalBytes, changed)
            XCTAssertEqual(again.result.canonicalBytes, r.canonicalBytes)
        }
        // Not this message, or not in the plain form: nil.
        let error = ComputeErrorMessage(taskId: Fixture.task.taskId, executor: Fixture.executor, code: .busy, message: "busy")
        XCTAssertNil(ComputeResult.readPlain(envelope: error.envelope.canonicalBytes))
        XCTAssertNil(ComputeResult.readPlain(envelope: Array(text.replacingOccurrences(of: "compute_result", with: "compute_error").utf8)))
        XCTAssertNil(ComputeResult.readPlain(envelope: Array(bytes.dropLast())))
        XCTAssertNil(ComputeResult.readPlain(envelope: bytes, limits: JSONLimits(maxBytes: bytes.count - 1)))
        XCTAssertNil(ComputeResult.readPlain(envelope: bytes, limits: JSONLimits(maxDepth: 3)))
    }
}
