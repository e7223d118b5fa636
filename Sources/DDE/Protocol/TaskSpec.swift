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
    ///
    /// The canonical bytes are written once, directly (no JSON tree): the unsigned task is hashed
    /// for the id, and the signed task is the same bytes with the `signature` and `taskId` members
    /// put in their canonical places. A reader's limits on the fields are enforced here, and the
    /// state is checked against the root (`init(checking:…)`, the readers' own checks).
    public static func create(_ spec: TaskSpec, requester: KeyPair) throws(DDEError) -> ComputeTask {
        let caps = try Capability.normalise(spec.requiredCapabilities)
        guard !spec.dappId.isEmpty, !spec.action.isEmpty else {
            throw DDEError(.schema, "dappId and action must not be empty")
        }
        for v in [spec.timestamp, spec.intentTimestamp ?? 0, spec.limits.maxFuel, spec.limits.maxExecutionSteps,
                  spec.limits.maxExecutionTime ?? 0, spec.limits.maxMemoryUsage ?? 0] where v > maxSafeInteger {
            throw DDEError(.number, "timestamps and limits must be at most 2^53-1")
        }
        guard spec.dappId.utf8.count <= maxDappIdBytes else {
            throw DDEError(.limit, "task.dappId is longer than \(maxDappIdBytes) bytes")
        }
        guard spec.action.utf8.count <= Intent.maxActionBytes else {
            throw DDEError(.limit, "task.intent.action is longer than \(Intent.maxActionBytes) bytes")
        }
        guard spec.raw.utf8.count <= Intent.maxRawBytes else {
            throw DDEError(.limit, "task.intent.raw is longer than \(Intent.maxRawBytes) bytes")
        }
        let intent = Intent(action: spec.action, payload: spec.payload, raw: spec.raw,
                            timestamp: spec.intentTimestamp ?? spec.timestamp)
        let partial = spec.partialState ?? spec.stateKeys.map { PartialState(map: spec.state ?? StateMap(), keys: $0) }
        let payload = spec.payload.canonicalBytes()
        let inputHash = SHA256.hash(payload)
        let root = partial?.root ?? (spec.state ?? StateMap()).root
        var entries: [(key: [UInt8], value: [UInt8]?)]?
        if let partial {
            entries = partial.entries
        } else if let state = spec.state {
            entries = state.sortedEntries.map { (key: $0.key, value: Optional($0.value)) }
        }
        let stateBytes = try entries.map { e throws(DDEError) in try canonicalState(e) }

        var i = CanonicalObjectWriter(capacity: payload.count + spec.action.utf8.count + spec.raw.utf8.count + 64)
        i.string("action", spec.action)
        i.canonical("payload", payload)
        i.string("raw", spec.raw)
        i.integer("timestamp", intent.timestamp)
        var w = CanonicalObjectWriter(capacity: 1024 + payload.count + spec.raw.utf8.count + (stateBytes?.count ?? 0)
                                                + (partial?.proof.count ?? 0) * 4 / 3)
        w.hex("dappCodeHash", spec.dappCodeHash)
        w.string("dappId", spec.dappId)
        w.hex("inputHash", inputHash)
        w.canonical("intent", i.finish())
        w.integer("maxExecutionSteps", spec.limits.maxExecutionSteps)
        if let t = spec.limits.maxExecutionTime { w.integer("maxExecutionTime", t) }
        w.integer("maxFuel", spec.limits.maxFuel)
        if let m = spec.limits.maxMemoryUsage { w.integer("maxMemoryUsage", m) }
        w.hex("previousStateRoot", root)
        w.hex("requesterPublicKey", requester.publicKey)
        w.strings("requiredCapabilities", caps)
        let signatureAt = w.bytes.count
        if let stateBytes { w.canonical("state", stateBytes) }
        if let partial { w.string("stateProof", Base64.encode(partial.proof)) }
        let taskIdAt = w.bytes.count
        w.integer("taskVersion", partial == nil ? wholeStateVersion : version)
        w.integer("timestamp", spec.timestamp)
        let unsigned = w.finish()
        let id = SHA256.hash(unsigned)
        let signature = requester.sign(.task, id)

        var bytes = [UInt8]()
        bytes.reserveCapacity(unsigned.count + 220)
        bytes += unsigned[..<signatureAt]
        bytes += #","signature":""#.utf8
        signature.withUnsafeBytes { Hex.append($0, to: &bytes) }
        bytes.append(UInt8(ascii: "\""))
        bytes += unsigned[signatureAt..<taskIdAt]
        bytes += #","taskId":""#.utf8
        id.withUnsafeBytes { Hex.append($0, to: &bytes) }
        bytes.append(UInt8(ascii: "\""))
        bytes += unsigned[taskIdAt...]

        let fields = Fields(
            taskVersion: partial == nil ? wholeStateVersion : version, taskId: id, intent: intent, dappId: spec.dappId,
            dappCodeHash: spec.dappCodeHash, requiredCapabilities: caps, inputHash: inputHash, previousStateRoot: root,
            wholeState: partial == nil ? spec.state : nil, partialRead: partial.map { ($0.entries, $0.proof) },
            requesterPublicKey: requester.publicKey, timestamp: spec.timestamp, limits: spec.limits, signature: signature)
        return try ComputeTask(checking: fields, payloadHash: inputHash, parsed: nil, bytes: bytes,
                               checkIdAndSignature: false) { id }
    }

    /// `{"key": "base64" | null, …}` in canonical form, each key checked as a reader checks it
    /// (UTF-8, 1 to maxStateKeyBytes bytes; values at most maxStateValueBytes).
    static func canonicalState(_ entries: [(key: [UInt8], value: [UInt8]?)]) throws(DDEError) -> [UInt8] {
        for e in entries {
            _ = try checkedKey(String(decoding: e.key, as: UTF8.self), field: "task.state")
            guard Array(String(decoding: e.key, as: UTF8.self).utf8) == e.key else {
                throw DDEError(.encoding, "task.state: a state key must be UTF-8")
            }
            if let v = e.value { _ = try checkedValue(v, field: "task.state") }
        }
        // Members in the UTF-16 order of their keys (RFC 8785), which differs from the byte order
        // only beyond the Basic Multilingual Plane.
        let order = sortedByIndex(Array(entries.indices)) { a, b in
            entries[a].key.withUnsafeBufferPointer { p in entries[b].key.withUnsafeBufferPointer { q in utf16Less(p, q) } }
        }
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (n, i) in order.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            writeCanonicalString(String(decoding: entries[i].key, as: UTF8.self), into: &out)
            out.append(UInt8(ascii: ":"))
            if let v = entries[i].value {
                out.append(UInt8(ascii: "\""))
                out += Base64.encode(v).utf8
                out.append(UInt8(ascii: "\""))
            } else {
                out += "null".utf8
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
