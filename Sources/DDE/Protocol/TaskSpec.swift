// What a caller specifies to create a task; the library fills in the hashes, id and signature.

public struct TaskSpec: Sendable {
    public var dappId: String
    public var dappCodeHash: Digest
    public var action: String
    public var payload: JSON
    public var raw: String
    public var requiredCapabilities: [String]
    /// The dApp's whole state. Without `stateKeys` the task carries it all (taskVersion 1); with
    /// them, only their entries and a proof (taskVersion 2).
    public var state: StateMap?
    /// The keys the execution may read or write (present or absent): a taskVersion 2 task
    /// carries their entries, proven against the root of `state` (or of the empty state).
    public var stateKeys: [[UInt8]]?
    /// A partial state already proven (from a store: `Store.stateProof`): a taskVersion 2 task
    /// carries it as it is; `state` and `stateKeys` are then ignored.
    public var partialState: PartialState?
    public var limits: ExecutionLimits
    /// Unix milliseconds; also the intent's timestamp unless `intentTimestamp` is set.
    public var timestamp: UInt64
    public var intentTimestamp: UInt64?

    public init(dappId: String, dappCodeHash: Digest, action: String, payload: JSON, raw: String = "",
                requiredCapabilities: [String] = [], state: StateMap? = nil, stateKeys: [[UInt8]]? = nil,
                partialState: PartialState? = nil,
                limits: ExecutionLimits = ExecutionLimits(), timestamp: UInt64, intentTimestamp: UInt64? = nil) {
        self.dappId = dappId
        self.dappCodeHash = dappCodeHash
        self.action = action
        self.payload = payload
        self.raw = raw
        self.requiredCapabilities = requiredCapabilities
        self.state = state
        self.stateKeys = stateKeys
        self.partialState = partialState
        self.limits = limits
        self.timestamp = timestamp
        self.intentTimestamp = intentTimestamp
    }

    static let fields = ["dappId", "dappCodeHash", "action", "payload", "raw", "requiredCapabilities", "state", "stateKeys",
                         "maxExecutionSteps", "maxFuel", "maxExecutionTime", "maxMemoryUsage", "timestamp",
                         "intentTimestamp"]

    /// Reads a spec document (the form the C API, CLI and Python take):
    /// `{"dappId", "dappCodeHash", "action", "payload"?, "raw"?, "requiredCapabilities"?, "state"?, "stateKeys"?,
    ///   "maxExecutionSteps"?, "maxFuel"?, "maxExecutionTime"?, "maxMemoryUsage"?, "timestamp"?,
    ///   "intentTimestamp"?}`; `timestamp` defaults to `now`.
    public init(json: JSON, now: UInt64) throws(DDEError) {
        let r = try FieldReader(json, context: "spec")
        try r.only(TaskSpec.fields)
        dappId = try r.string("dappId", maxBytes: 256)
        dappCodeHash = try r.digest("dappCodeHash")
        action = try r.string("action", maxBytes: 256)
        payload = r.has("payload") ? try r.value("payload") : .object(JSONObject())
        raw = r.has("raw") ? try r.string("raw", maxBytes: 64 << 10) : ""
        if r.has("requiredCapabilities") {
            guard case .array(let items) = try r.value("requiredCapabilities") else {
                throw DDEError(.schema, "spec.requiredCapabilities must be an array of strings")
            }
            var names = [String]()
            for item in items {
                guard case .string(let s) = item else {
                    throw DDEError(.schema, "spec.requiredCapabilities must be an array of strings")
                }
                names.append(s)
            }
            requiredCapabilities = try Capability.normalise(names)
        } else {
            requiredCapabilities = []
        }
        state = r.has("state") ? try StateMap(json: try r.value("state"), field: "spec.state") : nil
        if r.has("stateKeys") {
            guard case .array(let items) = try r.value("stateKeys") else {
                throw DDEError(.schema, "spec.stateKeys must be an array of strings")
            }
            var keys = [[UInt8]]()
            for item in items {
                guard case .string(let k) = item else { throw DDEError(.schema, "spec.stateKeys must be an array of strings") }
                keys.append(try checkedKey(k, field: "spec.stateKeys"))
            }
            stateKeys = keys
        } else {
            stateKeys = nil
        }
        partialState = nil
        limits = ExecutionLimits(
            maxExecutionSteps: try r.optionalInteger("maxExecutionSteps") ?? ExecutionLimits.defaultMaxExecutionSteps,
            maxFuel: try r.optionalInteger("maxFuel") ?? ExecutionLimits.defaultMaxFuel,
            maxExecutionTime: try r.optionalInteger("maxExecutionTime"),
            maxMemoryUsage: try r.optionalInteger("maxMemoryUsage"))
        timestamp = try r.optionalInteger("timestamp") ?? now
        intentTimestamp = try r.optionalInteger("intentTimestamp")
        guard !dappId.isEmpty, !action.isEmpty else {
            throw DDEError(.schema, "spec.dappId and spec.action must not be empty")
        }
    }
}

extension ComputeTask {
    /// Builds and signs a task: inputHash = H(payload), previousStateRoot = root(state),
    /// taskId = H(task without taskId and signature), signature = sign(task, taskId). With
    /// `partialState` or `stateKeys` a taskVersion 2 task (the partial state and its proof, the
    /// v2 tree root), else taskVersion 1 (the whole state, the v1 root).
    public static func create(_ spec: TaskSpec, requester: KeyPair) throws(DDEError) -> ComputeTask {
        let caps = try Capability.normalise(spec.requiredCapabilities)
        guard !spec.dappId.isEmpty, !spec.action.isEmpty else {
            throw DDEError(.schema, "dappId and action must not be empty")
        }
        for v in [spec.timestamp, spec.intentTimestamp ?? 0, spec.limits.maxFuel, spec.limits.maxExecutionSteps,
                  spec.limits.maxExecutionTime ?? 0, spec.limits.maxMemoryUsage ?? 0] where v > maxSafeInteger {
            throw DDEError(.number, "timestamps and limits must be at most 2^53-1")
        }
        let intent = Intent(action: spec.action, payload: spec.payload, raw: spec.raw,
                            timestamp: spec.intentTimestamp ?? spec.timestamp)
        let partial = spec.partialState ?? spec.stateKeys.map { PartialState(map: spec.state ?? StateMap(), keys: $0) }
        let inputHash = spec.payload.hash
        // The members in three runs, by canonical (RFC 8785) order: those before "signature"
        // (the canonical writer sorts them), those between it and "taskId", those after "taskId".
        var head: [JSONObject.Member] = [
            .init("intent", intent.json),
            .init("dappId", .string(spec.dappId)),
            .init("dappCodeHash", .string(spec.dappCodeHash.hex)),
            .init("requiredCapabilities", .strings(caps)),
            .init("inputHash", .string(inputHash.hex)),
            .init("previousStateRoot", .string(partial?.root.hex ?? (spec.state ?? StateMap()).root.hex)),
            .init("requesterPublicKey", .string(requester.publicKey.hex)),
            .init("maxExecutionSteps", .int(spec.limits.maxExecutionSteps)),
            .init("maxFuel", .int(spec.limits.maxFuel)),
        ]
        if let t = spec.limits.maxExecutionTime { head.append(.init("maxExecutionTime", .int(t))) }
        if let m = spec.limits.maxMemoryUsage { head.append(.init("maxMemoryUsage", .int(m))) }
        var middle: [JSONObject.Member] = []
        if let partial {
            middle.append(.init("state", partial.json))
            middle.append(.init("stateProof", .string(Base64.encode(partial.proof))))
        } else if let state = spec.state {
            middle.append(.init("state", state.json))
        }
        let tail: [JSONObject.Member] = [
            .init("taskVersion", .int(partial == nil ? wholeStateVersion : version)),
            .init("timestamp", .int(spec.timestamp)),
        ]
        // Serialised once, as Receipt.signed does: the three runs with the signature's and
        // taskId's members between them, their hex not written yet; taskId = H(the bytes
        // without those two members), then the two written in place.
        var bytes: [UInt8] = []
        JSON.object(JSONObject(uniqueMembers: head)).writeCanonical(into: &bytes)
        bytes.removeLast()  // "}": the object goes on
        let signatureAt = bytes.count
        bytes.append(contentsOf: ",\"signature\":\"".utf8)
        for _ in 0..<129 { bytes.append(UInt8(ascii: "\"")) }  // 128 hex digits, then the quote
        let signatureEnd = bytes.count
        if !middle.isEmpty {
            JSON.object(JSONObject(uniqueMembers: middle)).writeCanonical(into: &bytes)
            bytes[signatureEnd] = UInt8(ascii: ",")  // was its "{"
            bytes.removeLast()
        }
        let taskIdAt = bytes.count
        bytes.append(contentsOf: ",\"taskId\":\"".utf8)
        for _ in 0..<65 { bytes.append(UInt8(ascii: "\"")) }  // 64 hex digits, then the quote
        let taskIdEnd = bytes.count
        JSON.object(JSONObject(uniqueMembers: tail)).writeCanonical(into: &bytes)
        bytes[taskIdEnd] = UInt8(ascii: ",")  // its "}" ends the task
        let id = SHA256.hash(bytes, omitting: signatureAt..<signatureEnd, taskIdAt..<taskIdEnd)
        let signature = requester.sign(.task, id)
        id.withUnsafeBytes { Hex.write($0, into: &bytes, at: taskIdAt + 11) }
        signature.withUnsafeBytes { Hex.write($0, into: &bytes, at: signatureAt + 14) }
        // Read what we built: one code path decides what a valid task is (FieldReader's schema
        // and limits, the state against the root). The task is sent and committed as `bytes`.
        // (Writing them directly, without the tree, was 15 us faster on the delegation path but
        // 3 KB larger in the Embedded library, over its limit.)
        var object = JSONObject(uniqueMembers: head)
        for m in middle { object.appendUnchecked(m.key, m.value) }
        for m in tail { object.appendUnchecked(m.key, m.value) }
        object.appendUnchecked("signature", .string(signature.hex))
        object.appendUnchecked("taskId", .string(id.hex))
        return try ComputeTask(checking: try Fields(FieldReader(object: object, context: "task")), payloadHash: inputHash,
                               parsed: .object(object), bytes: bytes, checkIdAndSignature: false) { id }
    }
}
