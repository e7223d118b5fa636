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
        var members: [JSONObject.Member] = [
            .init("taskVersion", .int(partial == nil ? wholeStateVersion : version)),
            .init("intent", intent.json),
            .init("dappId", .string(spec.dappId)),
            .init("dappCodeHash", .string(spec.dappCodeHash.hex)),
            .init("requiredCapabilities", .strings(caps)),
            .init("inputHash", .string(inputHash.hex)),
            .init("previousStateRoot", .string(partial?.root.hex ?? (spec.state ?? StateMap()).root.hex)),
            .init("requesterPublicKey", .string(requester.publicKey.hex)),
            .init("timestamp", .int(spec.timestamp)),
            .init("maxExecutionSteps", .int(spec.limits.maxExecutionSteps)),
            .init("maxFuel", .int(spec.limits.maxFuel)),
        ]
        if let partial {
            members.append(.init("state", partial.json))
            members.append(.init("stateProof", .string(Base64.encode(partial.proof))))
        } else if let state = spec.state {
            members.append(.init("state", state.json))
        }
        if let t = spec.limits.maxExecutionTime { members.append(.init("maxExecutionTime", .int(t))) }
        if let m = spec.limits.maxMemoryUsage { members.append(.init("maxMemoryUsage", .int(m))) }
        var object = JSONObject(uniqueMembers: members)
        let id = computeId(object)
        object["taskId"] = .string(id.hex)
        object["signature"] = .string(requester.sign(.task, id).hex)
        // Read what we built: one code path decides what a valid task is (FieldReader's schema
        // and limits, the state against the root). Its bytes are made once, here: the task is sent
        // and committed as them. (Writing them directly, without the tree, was 15 us faster on
        // the delegation path but 3 KB larger in the Embedded library, over its limit.)
        let json = JSON.object(object)
        return try ComputeTask(checking: try Fields(FieldReader(object: object, context: "task")), payloadHash: inputHash,
                               parsed: json, bytes: json.canonicalBytes(), checkIdAndSignature: false) { id }
    }
}
