// Messages on the wire (docs/PROTOCOL.md section 10): every message is one envelope
// `{"v":1,"type":…,"payload":…}` in RFC 8785 canonical bytes. Decoding is strict and bounded:
// a size limit (1 MiB by default) and the JSON limits before anything is parsed, an unknown
// version is `.version`, an unknown type `.messageType`, unknown fields `.schema`.

/// The kinds of message of protocol v1.
public enum MessageType: Sendable, Equatable {
    /// Requester → executors on `Topic.tasks`: `TaskOffer`.
    case computeTask
    /// Executor → requester on `Topic.results(requester:)`: a compute_result.
    case computeResult
    /// Executor → requester on `Topic.results(requester:)`: `ComputeErrorMessage` (unsigned).
    case computeError
    /// Executor → holders of code on `Topic.codeRequests`: `CodeRequest`.
    case codeRequest
    /// Anyone → `Topic.code(hash)`, retained: `CodeMessage`.
    case code
    /// Executor → `Topic.executors(key)`, retained: `Presence`.
    case presence
    /// Requester → requesters on `Topic.evidence`: an `EvidenceDocument` (section 12).
    case evidence

    public static let all: [MessageType] = [.computeTask, .computeResult, .computeError, .codeRequest, .code, .presence,
                                            .evidence]

    /// The wire name.
    public var name: String {
        switch self {
        case .computeTask: return "compute_task"
        case .computeResult: return "compute_result"
        case .computeError: return "compute_error"
        case .codeRequest: return "code_request"
        case .code: return "code"
        case .presence: return "presence"
        case .evidence: return "evidence"
        }
    }

    /// The type with this wire name (compared by bytes), or nil.
    public init?(name: String) {
        for t in MessageType.all where sameScalars(t.name, name) {
            self = t
            return
        }
        return nil
    }
}

public struct Envelope: Sendable {
    public static let version: UInt64 = 1
    /// Default largest envelope in bytes (a code envelope may be given a larger limit).
    public static let defaultMaxBytes = 1 << 20

    public var type: MessageType
    public var payload: JSON

    public init(type: MessageType, payload: JSON) {
        self.type = type
        self.payload = payload
    }

    public var json: JSON {
        .object(JSONObject(uniqueMembers: [
            .init("payload", payload), .init("type", .string(type.name)), .init("v", .int(Envelope.version)),
        ]))
    }

    /// Canonical (RFC 8785) bytes: what is published.
    public var canonicalBytes: [UInt8] { json.canonicalBytes() }

    /// The canonical bytes of an envelope around a payload given as its canonical bytes, written
    /// directly (the same bytes as `canonicalBytes` of the parsed payload).
    public static func canonicalBytes(type: MessageType, payload: [UInt8]) -> [UInt8] {
        var w = CanonicalObjectWriter(capacity: payload.count + 48)
        w.canonical("payload", payload)
        w.string("type", type.name)
        w.integer("v", version)
        return w.finish()
    }

    /// Decodes an envelope. `limits.maxBytes` bounds the whole message (1 MiB by default).
    /// Throws `.limit`/`.json`/`.duplicateKey`/`.number` from the parser, `.schema` for a missing,
    /// unknown or mistyped field, `.version` for another `v`, `.messageType` for an unknown type.
    public static func decode(_ bytes: [UInt8], limits: JSONLimits = .default) throws(DDEError) -> Envelope {
        let json: JSON
        do throws(DDEError) {
            json = try JSONParser.parse(bytes, limits: limits)
        } catch {
            throw DDEError(error.status, "envelope: \(error.detail)")
        }
        let r = try FieldReader(json, context: "envelope")
        try r.only(["v", "type", "payload"])
        // The version first: a newer envelope may have fields this one does not know.
        try r.version("v", Envelope.version)
        let name = try r.string("type", maxBytes: 64)
        guard let type = MessageType(name: name) else {
            throw DDEError(.messageType, "envelope.type \"\(name)\" is not a v1 message type (known: compute_task, compute_result, compute_error, code_request, code, presence, evidence)")
        }
        return Envelope(type: type, payload: try r.value("payload"))
    }
}

// MARK: payloads

/// The compute_task payload: the signed task and the executors asked to run it. Executors not
/// listed ignore the offer; an empty list means anyone may answer.
public struct TaskOffer: Sendable {
    /// At most this many executors may be named in one offer.
    public static let maxExecutors = ABILimits.maxExecutors

    public var task: ComputeTask
    public var executors: [PublicKey]

    public init(task: ComputeTask, executors: [PublicKey]) {
        self.task = task
        self.executors = executors
    }

    /// Parses the payload; the task is fully checked (id and requester signature).
    public init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "compute_task")
        try r.only(["task", "executors"])
        executors = try TaskOffer.executors(try r.value("executors"))
        task = try ComputeTask(json: try r.value("task"))
    }

    /// The executors a compute_task's `executors` member names (hex keys, at most
    /// `maxExecutors`): an executor reads them first and drops an offer not meant for it before
    /// its task is read and checked.
    public static func executors(_ value: JSON) throws(DDEError) -> [PublicKey] {
        guard case .array(let items) = value else {
            throw DDEError(.schema, "compute_task.executors must be an array of public keys (hex)")
        }
        guard items.count <= TaskOffer.maxExecutors else {
            throw DDEError(.limit, "compute_task.executors names \(items.count) executors, more than \(TaskOffer.maxExecutors)")
        }
        var keys: [PublicKey] = []
        for item in items {
            guard case .string(let hex) = item else {
                throw DDEError(.schema, "compute_task.executors must hold only hex strings")
            }
            keys.append(try PublicKey(hex: hex, field: "compute_task.executors"))
        }
        return keys
    }

    public var json: JSON {
        .object(JSONObject(uniqueMembers: [
            .init("executors", .array(executors.map { .string($0.hex) })), .init("task", task.json),
        ]))
    }

    /// Whether `executor` is asked (listed, or nobody listed).
    public func isAddressed(to executor: PublicKey) -> Bool {
        TaskOffer.isAddressed(executors, to: executor)
    }

    /// Whether an offer naming `executors` asks `executor` (listed, or nobody listed).
    public static func isAddressed(_ executors: [PublicKey], to executor: PublicKey) -> Bool {
        executors.isEmpty || executors.contains(executor)
    }

    public var envelope: Envelope { Envelope(type: .computeTask, payload: json) }

    /// `envelope.canonicalBytes`, written directly around the task's own canonical bytes (a
    /// task built by `ComputeTask.create` is not serialised again).
    public var envelopeBytes: [UInt8] {
        let task = task.canonicalBytes
        var w = CanonicalObjectWriter(capacity: task.count + 80 + 67 * executors.count)
        w.hexList("executors", executors)
        w.canonical("task", task)
        return Envelope.canonicalBytes(type: .computeTask, payload: w.finish())
    }
}

/// The compute_error payload: an executor's refusal of a task, e.g. `DDE_ERR_BUSY` or
/// `DDE_ERR_CODE_NOT_FOUND`, signed by the executor it names (kind `error`, over H(payload
/// without signature); the task id inside keeps it from being replayed onto another task). A
/// requester ignores one whose signature does not verify: anyone can publish on a results topic.
/// Never scored: a refusal is no lie; it ends the requester's wait for that executor.
public struct ComputeErrorMessage: Sendable {
    public var taskId: Digest
    public var executorPublicKey: PublicKey
    public var code: Status
    public var message: String
    public var signature: Signature

    /// Unsigned (`sign` fills the signature in).
    public init(taskId: Digest, executorPublicKey: PublicKey, code: Status, message: String) {
        self.taskId = taskId
        self.executorPublicKey = executorPublicKey
        self.code = code
        self.message = message
        signature = Signature(Bytes64())
    }

    /// Signed by `executor`, who is the one it names.
    public init(taskId: Digest, executor: KeyPair, code: Status, message: String) {
        self.init(taskId: taskId, executorPublicKey: executor.publicKey, code: code, message: message)
        sign(with: executor)
    }

    public init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "compute_error")
        try r.only(["taskId", "executorPublicKey", "code", "message", "signature"])
        taskId = try r.digest("taskId")
        executorPublicKey = try r.publicKey("executorPublicKey")
        let name = try r.string("code", maxBytes: 64)
        guard let status = Status(name: name) else {
            throw DDEError(.schema, "compute_error.code \"\(name)\" is not a DDE status name (DDE_ERR_…)")
        }
        code = status
        message = try r.string("message", maxBytes: 4096)
        signature = try r.signature("signature")
    }

    private func members(signed: Bool) -> JSON {
        var m: [JSONObject.Member] = [
            .init("code", .string(code.nameString)), .init("executorPublicKey", .string(executorPublicKey.hex)),
            .init("message", .string(message)),
        ]
        if signed { m.append(.init("signature", .string(signature.hex))) }
        m.append(.init("taskId", .string(taskId.hex)))
        return .object(JSONObject(uniqueMembers: m))
    }

    public var json: JSON { members(signed: true) }

    /// H(payload without signature): what the executor signs (kind `error`).
    public var signedHash: Digest { SHA256.hash(members(signed: false).canonicalBytes()) }

    public mutating func sign(with executor: KeyPair) {
        signature = executor.sign(.error, signedHash)
    }

    public var hasValidSignature: Bool {
        executorPublicKey.isValidSignature(signature, kind: .error, digest: signedHash)
    }

    public var envelope: Envelope { Envelope(type: .computeError, payload: json) }
}

/// The code_request payload: "whoever holds this module, publish it on `Topic.code(hash)`".
public struct CodeRequest: Sendable {
    public var codeHash: Digest

    public init(codeHash: Digest) { self.codeHash = codeHash }

    public init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "code_request")
        try r.only(["codeHash"])
        codeHash = try r.digest("codeHash")
    }

    public var json: JSON { .object(JSONObject(uniqueMembers: [.init("codeHash", .string(codeHash.hex))])) }
    public var envelope: Envelope { Envelope(type: .codeRequest, payload: json) }
}

/// The code payload: a WebAssembly module and its SHA-256. Decoding checks the hash, so a
/// receiver never keeps bytes under a name they do not hash to.
public struct CodeMessage: Sendable {
    /// Largest module (as the executor's code store).
    public static let maxModuleBytes = ABILimits.maxModuleBytes

    public var codeHash: Digest
    public var module: [UInt8]

    public init(module: [UInt8]) {
        self.module = module
        codeHash = SHA256.hash(module)
    }

    public init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "code")
        try r.only(["codeHash", "module"])
        codeHash = try r.digest("codeHash")
        let text = try r.string("module", maxBytes: (CodeMessage.maxModuleBytes / 3 + 1) * 4)
        module = try Base64.decode(text, field: "code.module")
        guard SHA256.hash(module) == codeHash else {
            throw DDEError(.codeHash, "code.module does not hash to code.codeHash \(codeHash.hex)")
        }
    }

    public var json: JSON {
        .object(JSONObject(uniqueMembers: [
            .init("codeHash", .string(codeHash.hex)), .init("module", .string(Base64.encode(module))),
        ]))
    }

    public var envelope: Envelope { Envelope(type: .code, payload: json) }

    /// The JSON limits a code envelope needs (a module in base64 is 4/3 of its bytes).
    public static var limits: JSONLimits {
        JSONLimits(maxBytes: (maxModuleBytes / 3 + 1) * 4 + 4096, maxStringBytes: (maxModuleBytes / 3 + 1) * 4)
    }
}

/// The presence payload: an executor announcing itself (retained on `Topic.executors(key)`), so
/// requesters know whom they can pick; signed by the executor it names (kind `presence`, over
/// H(payload without signature)) and dated. Requesters ignore presence that is unsigned,
/// mis-signed, older than their `presenceMaxAgeMs` or older than one they hold, so nobody can
/// announce executors that are not there or bring back an old announcement. An executor with no
/// capabilities is withdrawing. Executors republish it every `presenceIntervalMs`.
public struct Presence: Sendable {
    public var executorPublicKey: PublicKey
    /// The capabilities the executor grants (sorted, known names); empty: withdrawn.
    public var capabilities: [String]
    /// Tasks of one requester it runs at once; more get a compute_error `DDE_ERR_BUSY`.
    public var maxComputeTasksPerPeer: UInt64
    /// When it was signed (Unix ms, the executor's clock).
    public var timestamp: UInt64
    public var signature: Signature

    /// Unsigned (`sign` fills the signature in); what a caller adding an executor by hand gives.
    public init(executorPublicKey: PublicKey, capabilities: [String] = Capability.all,
                maxComputeTasksPerPeer: UInt64 = 4, timestamp: UInt64 = 0) {
        self.executorPublicKey = executorPublicKey
        self.capabilities = capabilities
        self.maxComputeTasksPerPeer = maxComputeTasksPerPeer
        self.timestamp = timestamp
        signature = Signature(Bytes64())
    }

    /// Signed by `executor` at `timestamp`.
    public init(executor: KeyPair, capabilities: [String] = Capability.all, maxComputeTasksPerPeer: UInt64 = 4,
                timestamp: UInt64) {
        self.init(executorPublicKey: executor.publicKey, capabilities: capabilities,
                  maxComputeTasksPerPeer: maxComputeTasksPerPeer, timestamp: timestamp)
        sign(with: executor)
    }

    public init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "presence")
        try r.only(["executorPublicKey", "capabilities", "maxComputeTasksPerPeer", "timestamp", "signature"])
        executorPublicKey = try r.publicKey("executorPublicKey")
        capabilities = try r.capabilities("capabilities")
        maxComputeTasksPerPeer = try r.integer("maxComputeTasksPerPeer")
        timestamp = try r.integer("timestamp")
        signature = try r.signature("signature")
    }

    private func members(signed: Bool) -> JSON {
        var m: [JSONObject.Member] = [
            .init("capabilities", .strings(capabilities)),
            .init("executorPublicKey", .string(executorPublicKey.hex)),
            .init("maxComputeTasksPerPeer", .int(maxComputeTasksPerPeer)),
        ]
        if signed { m.append(.init("signature", .string(signature.hex))) }
        m.append(.init("timestamp", .int(timestamp)))
        return .object(JSONObject(uniqueMembers: m))
    }

    public var json: JSON { members(signed: true) }

    /// H(payload without signature): what the executor signs (kind `presence`).
    public var signedHash: Digest { SHA256.hash(members(signed: false).canonicalBytes()) }

    public mutating func sign(with executor: KeyPair) {
        signature = executor.sign(.presence, signedHash)
    }

    public var hasValidSignature: Bool {
        executorPublicKey.isValidSignature(signature, kind: .presence, digest: signedHash)
    }

    public var envelope: Envelope { Envelope(type: .presence, payload: json) }

    /// Whether the executor grants every capability in `required`.
    public func grants(_ required: [String]) -> Bool {
        required.allSatisfy { need in capabilities.contains { sameScalars($0, need) } }
    }
}

extension Status {
    /// The name as a String ("DDE_ERR_BUSY").
    public var nameString: String {
        name.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
    }

    /// The status named `name` (as in dde.h), or nil.
    public init?(name: String) {
        var raw: Int32 = 0
        while raw < 256 {
            if let s = Status(rawValue: raw), sameScalars(s.nameString, name) {
                self = s
                return
            }
            raw += 1
        }
        return nil
    }
}
