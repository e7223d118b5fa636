// ComputeTask (PROTOCOL.md section 3): what a requester asks executors to run. taskVersion 2
// carries only the state entries its execution may touch, proven against previousStateRoot (the
// v2 state tree, section 6.2); taskVersion 1 carries the dApp's whole state (section 6.1).

public struct Intent: Sendable, Equatable {
    /// The exported function to call: `() -> i32`.
    public var action: String
    /// The input; its JCS bytes are what the module reads, and inputHash = H(payload).
    public var payload: JSON
    /// The human request the intent came from ("send 5 frame to Alice").
    public var raw: String
    /// Unix milliseconds.
    public var timestamp: UInt64

    public init(action: String, payload: JSON, raw: String, timestamp: UInt64) {
        self.action = action
        self.payload = payload
        self.raw = raw
        self.timestamp = timestamp
    }

    public var json: JSON {
        .object(JSONObject(uniqueMembers: [
            .init("action", .string(action)), .init("payload", payload),
            .init("raw", .string(raw)), .init("timestamp", .int(timestamp)),
        ]))
    }

    /// Longest action and raw request, in UTF-8 bytes.
    static let maxActionBytes = 256
    static let maxRawBytes = 64 << 10

    /// Schema and encodings (`validate` checks the values).
    init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "task.intent")
        try r.only(["action", "payload", "raw", "timestamp"])
        action = try r.string("action", maxBytes: .max)
        payload = try r.value("payload")
        raw = try r.string("raw", maxBytes: .max)
        timestamp = try r.integer("timestamp")
    }

    /// The rules on its values, however it was made (`ComputeTask.Fields.validate`).
    func validate() throws(DDEError) {
        guard !action.isEmpty else { throw DDEError(.schema, "task.intent.action must not be empty") }
        try checkLength(action, Intent.maxActionBytes, "task.intent.action")
        try checkLength(raw, Intent.maxRawBytes, "task.intent.raw")
        try checkSafe(timestamp, "task.intent.timestamp")
    }
}

/// The execution limits a task sets.
public struct ExecutionLimits: Sendable, Equatable {
    public static let defaultMaxExecutionSteps: UInt64 = 500
    public static let defaultMaxFuel: UInt64 = 1_000_000_000

    /// Most host (capability and io) calls.
    public var maxExecutionSteps: UInt64 = defaultMaxExecutionSteps
    /// Most fuel (WebAssembly operators).
    public var maxFuel: UInt64 = defaultMaxFuel
    /// Wall-clock bound in milliseconds; a timeout yields no proof.
    public var maxExecutionTime: UInt64?
    /// Memory bound in bytes.
    public var maxMemoryUsage: UInt64?

    public init(maxExecutionSteps: UInt64 = defaultMaxExecutionSteps, maxFuel: UInt64 = defaultMaxFuel,
                maxExecutionTime: UInt64? = nil, maxMemoryUsage: UInt64? = nil) {
        self.maxExecutionSteps = maxExecutionSteps
        self.maxFuel = maxFuel
        self.maxExecutionTime = maxExecutionTime
        self.maxMemoryUsage = maxMemoryUsage
    }
}

public struct ComputeTask: Sendable {
    /// The version of partial-state tasks (the delegation path); 1 is the whole-state form.
    public static let version: UInt64 = 2
    /// The whole-state form, still read, verified and committed (section 3).
    public static let wholeStateVersion: UInt64 = 1

    /// 1 (whole state) or 2 (partial state).
    public let taskVersion: UInt64

    public let taskId: Digest
    public let intent: Intent
    public let dappId: String
    public let dappCodeHash: Digest
    public let requiredCapabilities: [String]
    public let inputHash: Digest
    public let previousStateRoot: Digest
    /// v1: the dApp state the task runs on; nil when the task carries none (the empty state).
    /// v2: the present entries of the partial state (`partialState` has them all).
    public let state: StateMap?
    /// v2: the keys the task carries, present or absent, and their checked proof.
    public let partialState: PartialState?
    public let requesterPublicKey: PublicKey
    public let timestamp: UInt64
    public let limits: ExecutionLimits
    public let signature: Signature

    /// v1: the state's sorted keys and leaf hashes, for the root after a result's writes (check 8).
    let stateLeaves: StateLeaves

    /// The object as parsed, when the task was read from a JSON tree (`init(json:)`).
    private let parsed: JSON?
    /// Its canonical bytes, when known without serialising the task again: one this process
    /// built (`create`) or read from canonical bytes (`TaskOffer.readPlain(envelope:)`). Sending
    /// and committing write them as they are.
    private let knownBytes: [UInt8]?

    /// The full signed object: as parsed, or read from the canonical bytes (this process wrote or
    /// checked them, so they parse; unbounded limits, as they were accepted already).
    public var json: JSON {
        if let parsed { return parsed }
        return (try? JSONParser.parse(canonicalBytes, limits: JSONLimits(maxBytes: .max, maxDepth: .max, maxStringBytes: .max,
                                                                         maxObjectKeys: .max, maxArrayElements: .max))) ?? .null
    }

    /// The dApp state the execution reads (empty when the task carries none; v2: the present
    /// entries).
    public var stateOrEmpty: StateMap { state ?? StateMap() }

    /// Longest dApp id, in UTF-8 bytes.
    static let maxDappIdBytes = 256

    static let fields = ["taskVersion", "taskId", "intent", "dappId", "dappCodeHash", "requiredCapabilities",
                         "inputHash", "previousStateRoot", "state", "stateProof", "requesterPublicKey", "timestamp",
                         "maxExecutionSteps", "maxFuel", "maxExecutionTime", "maxMemoryUsage", "signature"]

    /// Parses and fully checks a task: schema, encodings, inputHash, previousStateRoot, taskId and
    /// the requester's signature. An executor must refuse any task this refuses.
    public init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "task")
        try self.init(checking: try Fields(r), payloadHash: nil, parsed: json, bytes: nil) { ComputeTask.computeId(r.object) }
    }

    /// A task's fields as read or built, before the checks (`init(checking:…)`): what both readers
    /// (FieldReader here, the offer's direct reader) and `create` hand over.
    struct Fields {
        var taskVersion: UInt64
        var taskId: Digest
        var intent: Intent
        var dappId: String
        var dappCodeHash: Digest
        var requiredCapabilities: [String]
        var inputHash: Digest
        var previousStateRoot: Digest
        var wholeState: StateMap?
        var partialRead: (entries: [(key: [UInt8], value: [UInt8]?)], proof: [UInt8])?
        var requesterPublicKey: PublicKey
        var timestamp: UInt64
        var limits: ExecutionLimits
        var signature: Signature
    }

    /// The fields' rules (`Fields.validate`), then the checks that need several fields, in the
    /// protocol's order: inputHash, the state against previousStateRoot, then (`checkIdAndSignature`, false only for a task this process has just
    /// built and signed) taskId = `unsignedHash()` and the requester's signature. `payloadHash`:
    /// H(intent.payload) when the reader has it; `parsed` and `bytes`: see the properties.
    init(checking f: Fields, payloadHash: Digest?, parsed: JSON?, bytes: [UInt8]?, checkIdAndSignature: Bool = true,
         unsignedHash: () -> Digest) throws(DDEError) {
        taskVersion = f.taskVersion
        taskId = f.taskId
        intent = f.intent
        dappId = f.dappId
        dappCodeHash = f.dappCodeHash
        requiredCapabilities = f.requiredCapabilities
        inputHash = f.inputHash
        previousStateRoot = f.previousStateRoot
        requesterPublicKey = f.requesterPublicKey
        timestamp = f.timestamp
        limits = f.limits
        signature = f.signature
        self.parsed = parsed
        knownBytes = bytes

        try f.validate()
        guard (payloadHash ?? intent.payload.hash) == inputHash else {
            throw DDEError(.inputHashMismatch, "task.inputHash is not H(intent.payload)")
        }
        if let partialRead = f.partialRead {
            // v2: the proof of the carried entries against previousStateRoot (section 6.2).
            let partial = try PartialState(entries: partialRead.entries, proof: partialRead.proof, root: previousStateRoot)
            partialState = partial
            stateLeaves = .empty
            state = StateMap(values: partial.values)
        } else {
            partialState = nil
            state = f.wholeState
            stateLeaves = StateLeaves(f.wholeState ?? StateMap())
            guard stateLeaves.root == previousStateRoot else {
                throw DDEError(.previousStateRoot, "task.previousStateRoot is not the root of task.state")
            }
        }
        guard checkIdAndSignature else { return }
        let id = unsignedHash()
        guard id == taskId else {
            throw DDEError(.taskId, "task.taskId is not H(task without taskId and signature); expected \(id.hex)")
        }
        guard requesterPublicKey.isValidSignature(signature, kind: .task, digest: taskId) else {
            throw DDEError(.taskSignature, "task.signature does not verify for requesterPublicKey")
        }
    }

    /// Parses a task from bytes (JSON text) with the given limits.
    public init(bytes: UnsafeRawBufferPointer, limits: JSONLimits = .default) throws(DDEError) {
        try self.init(json: try JSONParser.parse(bytes, limits: limits))
    }

    /// taskId = H(task without taskId and signature).
    static func computeId(_ object: JSONObject) -> Digest {
        JSON.object(object.removing("taskId", "signature")).hash
    }

    /// Canonical (RFC 8785) bytes: what is sent and stored.
    public var canonicalBytes: [UInt8] { knownBytes ?? json.canonicalBytes() }
}

// In an extension, so that Swift still makes Fields' memberwise init (the direct reader's).
extension ComputeTask.Fields {
    /// The rules on the values that their types do not carry: the one place that says them for
    /// the three ways a task comes to be (read by FieldReader, read by the direct reader, built by
    /// `create`); `init(checking:…)` runs it first. The readers decode types and encodings only.
    func validate() throws(DDEError) {
        try intent.validate()
        guard !dappId.isEmpty else { throw DDEError(.schema, "task.dappId must not be empty") }
        try checkLength(dappId, ComputeTask.maxDappIdBytes, "task.dappId")
        try Capability.check(requiredCapabilities, field: "task.requiredCapabilities")
        try checkSafe(timestamp, "task.timestamp")
        try checkSafe(limits.maxExecutionSteps, "task.maxExecutionSteps")
        try checkSafe(limits.maxFuel, "task.maxFuel")
        if let t = limits.maxExecutionTime { try checkSafe(t, "task.maxExecutionTime") }
        if let m = limits.maxMemoryUsage { try checkSafe(m, "task.maxMemoryUsage") }
        // In key order, so that of several bad keys the same one is named every run.
        for (key, value) in wholeState?.sortedEntries ?? [] {
            try checkKey(key, field: "task.state")
            try checkValue(value, field: "task.state.\(String(decoding: key, as: UTF8.self))")
        }
        for e in partialRead?.entries ?? [] {
            try checkKey(e.key, field: "task.state")
            if let v = e.value { try checkValue(v, field: "task.state.\(String(decoding: e.key, as: UTF8.self))") }
        }
    }

    /// Schema and encodings, field by field (`validate` checks the values).
    init(_ r: FieldReader) throws(DDEError) {
        try r.only(ComputeTask.fields)
        taskVersion = try r.integer("taskVersion")
        guard taskVersion == ComputeTask.wholeStateVersion || taskVersion == ComputeTask.version else {
            throw DDEError(.version, "task.taskVersion is \(taskVersion); this dde knows 1 and 2")
        }
        taskId = try r.digest("taskId")
        intent = try Intent(json: try r.value("intent"))
        dappId = try r.string("dappId", maxBytes: .max)
        dappCodeHash = try r.digest("dappCodeHash")
        requiredCapabilities = try r.strings("requiredCapabilities")
        inputHash = try r.digest("inputHash")
        previousStateRoot = try r.digest("previousStateRoot")
        if taskVersion == ComputeTask.wholeStateVersion {
            guard !r.has("stateProof") else { throw DDEError(.schema, "task: unknown field \"stateProof\" in a version 1 task") }
            wholeState = r.has("state") ? try StateMap(json: try r.value("state"), field: "task.state") : nil
            partialRead = nil
        } else {
            wholeState = nil
            partialRead = try PartialState.read(state: try r.value("state"), proof: try r.value("stateProof"), field: "task")
        }
        requesterPublicKey = try r.publicKey("requesterPublicKey")
        timestamp = try r.integer("timestamp")
        limits = ExecutionLimits(
            maxExecutionSteps: try r.integer("maxExecutionSteps"), maxFuel: try r.integer("maxFuel"),
            maxExecutionTime: try r.optionalInteger("maxExecutionTime"),
            maxMemoryUsage: try r.optionalInteger("maxMemoryUsage"))
        signature = try r.signature("signature")
    }
}
