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
        dappId = try r.string("dappId", maxBytes: ComputeTask.maxDappIdBytes)
        dappCodeHash = try r.digest("dappCodeHash")
        action = try r.string("action", maxBytes: Intent.maxActionBytes)
        payload = r.has("payload") ? try r.value("payload") : .object(JSONObject())
        raw = r.has("raw") ? try r.string("raw", maxBytes: Intent.maxRawBytes) : ""
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
        let partial = spec.partialState ?? spec.stateKeys.map { PartialState(map: spec.state ?? StateMap(), keys: $0) }
        let payload = spec.payload.canonicalBytes()
        var f = Fields(
            taskVersion: partial == nil ? wholeStateVersion : version, taskId: Digest(Bytes32()),
            intent: Intent(action: spec.action, payload: spec.payload, raw: spec.raw,
                           timestamp: spec.intentTimestamp ?? spec.timestamp),
            dappId: spec.dappId, dappCodeHash: spec.dappCodeHash,
            requiredCapabilities: try Capability.normalise(spec.requiredCapabilities),
            inputHash: SHA256.hash(payload), previousStateRoot: partial?.root ?? (spec.state ?? StateMap()).root,
            wholeState: partial == nil ? spec.state : nil, partialRead: partial.map { ($0.entries, $0.proof) },
            requesterPublicKey: requester.publicKey, timestamp: spec.timestamp, limits: spec.limits,
            signature: Signature(Bytes64()))
        // Written once, without a JSON tree (as Receipt.signed is): the members in canonical
        // (RFC 8785) order, the signature's and taskId's hex not known yet; taskId = H(the bytes
        // without those two members), then the two written in place.
        var w = CanonicalObjectWriter(capacity: 1024 + payload.count + (partial?.proof.count ?? 0) * 4 / 3)
        w.hex("dappCodeHash", f.dappCodeHash)
        w.string("dappId", f.dappId)
        w.hex("inputHash", f.inputHash)
        var intent = CanonicalObjectWriter(capacity: 64 + payload.count + f.intent.action.utf8.count + f.intent.raw.utf8.count)
        intent.string("action", f.intent.action)
        intent.canonical("payload", payload)
        intent.string("raw", f.intent.raw)
        intent.integer("timestamp", f.intent.timestamp)
        w.canonical("intent", intent.finish())
        w.integer("maxExecutionSteps", f.limits.maxExecutionSteps)
        if let t = f.limits.maxExecutionTime { w.integer("maxExecutionTime", t) }
        w.integer("maxFuel", f.limits.maxFuel)
        if let m = f.limits.maxMemoryUsage { w.integer("maxMemoryUsage", m) }
        w.hex("previousStateRoot", f.previousStateRoot)
        w.hex("requesterPublicKey", f.requesterPublicKey)
        w.strings("requiredCapabilities", f.requiredCapabilities)
        let signatureAt = w.bytes.count
        w.hex("signature", f.signature)
        let signatureEnd = w.bytes.count
        if let partial {
            w.canonical("state", partial.json.canonicalBytes())
            w.string("stateProof", Base64.encode(partial.proof))
        } else if let state = spec.state {
            w.canonical("state", state.json.canonicalBytes())
        }
        let taskIdAt = w.bytes.count
        w.hex("taskId", f.taskId)
        let taskIdEnd = w.bytes.count
        w.integer("taskVersion", f.taskVersion)
        w.integer("timestamp", f.timestamp)
        var bytes = w.finish()
        f.taskId = SHA256.hash(bytes, omitting: signatureAt..<signatureEnd, taskIdAt..<taskIdEnd)
        f.signature = requester.sign(.task, f.taskId)
        f.taskId.withUnsafeBytes { Hex.write($0, into: &bytes, at: taskIdAt + 11) }  // after `,"taskId":"`
        f.signature.withUnsafeBytes { Hex.write($0, into: &bytes, at: signatureAt + 14) }  // after `,"signature":"`
        // What a valid task is, decided where it is for a task read (`init(checking:…)`: the
        // fields' rules, the state against the root); taskId and signature are the ones just made.
        let id = f.taskId
        return try ComputeTask(checking: f, payloadHash: f.inputHash, parsed: nil, bytes: bytes, checkIdAndSignature: false) { id }
    }
}
