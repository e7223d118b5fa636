// ExecutionProof, proofVersion 1, and the compute_result payload (PROTOCOL.md section 5).

public struct ExecutionProof: Sendable {
    public static let version: UInt64 = 1

    public var taskId: Digest
    public var dappId: String
    public var dappCodeHash: Digest
    public var action: String
    public var inputHash: Digest
    public var capabilitiesDeclared: [String]
    public var capabilitiesUsed: [String]
    public var executionTraceHash: Digest
    public var traceLength: UInt64
    public var fuelUsed: UInt64
    public var resultHash: Digest
    public var previousStateRoot: Digest
    public var nextStateRoot: Digest
    public var stateWritesHash: Digest
    public var executorPublicKey: PublicKey
    public var timestamp: UInt64
    public var signature: Signature

    static let fields = ["proofVersion", "taskId", "dappId", "dappCodeHash", "action", "inputHash",
                         "capabilitiesDeclared", "capabilitiesUsed", "executionTraceHash", "traceLength",
                         "fuelUsed", "resultHash", "previousStateRoot", "nextStateRoot", "stateWritesHash",
                         "executorPublicKey", "timestamp", "signature"]

    /// Builds the unsigned fields; `sign` fills in the signature.
    public init(taskId: Digest, dappId: String, dappCodeHash: Digest, action: String, inputHash: Digest,
                capabilitiesDeclared: [String], capabilitiesUsed: [String], executionTraceHash: Digest,
                traceLength: UInt64, fuelUsed: UInt64, resultHash: Digest, previousStateRoot: Digest,
                nextStateRoot: Digest, stateWritesHash: Digest, executorPublicKey: PublicKey, timestamp: UInt64) {
        self.taskId = taskId
        self.dappId = dappId
        self.dappCodeHash = dappCodeHash
        self.action = action
        self.inputHash = inputHash
        self.capabilitiesDeclared = capabilitiesDeclared
        self.capabilitiesUsed = capabilitiesUsed
        self.executionTraceHash = executionTraceHash
        self.traceLength = traceLength
        self.fuelUsed = fuelUsed
        self.resultHash = resultHash
        self.previousStateRoot = previousStateRoot
        self.nextStateRoot = nextStateRoot
        self.stateWritesHash = stateWritesHash
        self.executorPublicKey = executorPublicKey
        self.timestamp = timestamp
        self.signature = Signature(Bytes64())  // a placeholder until `sign`
    }

    public init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "proof")
        try r.only(ExecutionProof.fields)
        try r.version("proofVersion", ExecutionProof.version)
        taskId = try r.digest("taskId")
        dappId = try r.string("dappId", maxBytes: 256)
        dappCodeHash = try r.digest("dappCodeHash")
        action = try r.string("action", maxBytes: 256)
        inputHash = try r.digest("inputHash")
        capabilitiesDeclared = try r.capabilities("capabilitiesDeclared")
        capabilitiesUsed = try r.capabilities("capabilitiesUsed")
        executionTraceHash = try r.digest("executionTraceHash")
        traceLength = try r.integer("traceLength")
        fuelUsed = try r.integer("fuelUsed")
        resultHash = try r.digest("resultHash")
        previousStateRoot = try r.digest("previousStateRoot")
        nextStateRoot = try r.digest("nextStateRoot")
        stateWritesHash = try r.digest("stateWritesHash")
        executorPublicKey = try r.publicKey("executorPublicKey")
        timestamp = try r.integer("timestamp")
        signature = try r.signature("signature")
    }

    /// The proof without its signature: what H() and the signature cover.
    public var unsignedJSON: JSON { members(signed: false) }

    public var json: JSON { members(signed: true) }

    /// The members in canonical (RFC 8785) order, so serialising them needs no sort.
    private func members(signed: Bool) -> JSON {
        var m = [JSONObject.Member]()
        m.reserveCapacity(18)
        m.append(.init("action", .string(action)))
        m.append(.init("capabilitiesDeclared", .strings(capabilitiesDeclared)))
        m.append(.init("capabilitiesUsed", .strings(capabilitiesUsed)))
        m.append(.init("dappCodeHash", .string(dappCodeHash.hex)))
        m.append(.init("dappId", .string(dappId)))
        m.append(.init("executionTraceHash", .string(executionTraceHash.hex)))
        m.append(.init("executorPublicKey", .string(executorPublicKey.hex)))
        m.append(.init("fuelUsed", .int(fuelUsed)))
        m.append(.init("inputHash", .string(inputHash.hex)))
        m.append(.init("nextStateRoot", .string(nextStateRoot.hex)))
        m.append(.init("previousStateRoot", .string(previousStateRoot.hex)))
        m.append(.init("proofVersion", .int(ExecutionProof.version)))
        m.append(.init("resultHash", .string(resultHash.hex)))
        if signed { m.append(.init("signature", .string(signature.hex))) }
        m.append(.init("stateWritesHash", .string(stateWritesHash.hex)))
        m.append(.init("taskId", .string(taskId.hex)))
        m.append(.init("timestamp", .int(timestamp)))
        m.append(.init("traceLength", .int(traceLength)))
        return .object(JSONObject(uniqueMembers: m))
    }

    /// H(proof without signature): what the executor signs (kind `proof`).
    public var signedHash: Digest { SHA256.hash(canonicalBytes(signed: false)) }

    /// H(proof) including its signature: how a receipt names the proof it accepted.
    public var proofHash: Digest { SHA256.hash(canonicalBytes(signed: true)) }

    /// The canonical bytes of `json` (signed) or `unsignedJSON`, written directly: verification
    /// hashes the proof every time, and building the tree and its hex strings first cost more
    /// than the hashing. Members in the same canonical order as `members(signed:)`.
    func canonicalBytes(signed: Bool) -> [UInt8] {
        var w = CanonicalObjectWriter(capacity: 1280)
        w.string("action", action)
        w.strings("capabilitiesDeclared", capabilitiesDeclared)
        w.strings("capabilitiesUsed", capabilitiesUsed)
        w.hex("dappCodeHash", dappCodeHash)
        w.string("dappId", dappId)
        w.hex("executionTraceHash", executionTraceHash)
        w.hex("executorPublicKey", executorPublicKey)
        w.integer("fuelUsed", fuelUsed)
        w.hex("inputHash", inputHash)
        w.hex("nextStateRoot", nextStateRoot)
        w.hex("previousStateRoot", previousStateRoot)
        w.integer("proofVersion", ExecutionProof.version)
        w.hex("resultHash", resultHash)
        if signed { w.hex("signature", signature) }
        w.hex("stateWritesHash", stateWritesHash)
        w.hex("taskId", taskId)
        w.integer("timestamp", timestamp)
        w.integer("traceLength", traceLength)
        return w.finish()
    }

    public mutating func sign(with executor: KeyPair) {
        executorPublicKey = executor.publicKey
        signature = executor.sign(.proof, signedHash)
    }

    public var hasValidSignature: Bool {
        executorPublicKey.isValidSignature(signature, kind: .proof, digest: signedHash)
    }
}

/// The compute_result payload: the proof and what it commits to.
public struct ComputeResult: Sendable {
    public var taskId: Digest
    public var proof: ExecutionProof
    /// The module's output document.
    public var result: JSON
    public var stateWrites: StateWrites
    public var resultHash: Digest
    public var executorPublicKey: PublicKey
    /// Milliseconds the executor reports it spent (not signed: the requester measures its own).
    public var executionLatency: UInt64

    static let fields = ["taskId", "proof", "result", "stateWrites", "resultHash", "executorPublicKey",
                         "executionLatency"]

    public init(proof: ExecutionProof, result: JSON, stateWrites: StateWrites, executionLatency: UInt64) {
        self.taskId = proof.taskId
        self.proof = proof
        self.result = result
        self.stateWrites = stateWrites
        self.resultHash = proof.resultHash
        self.executorPublicKey = proof.executorPublicKey
        self.executionLatency = executionLatency
    }

    /// Parses a compute_result and checks that its outer copies (taskId, resultHash,
    /// executorPublicKey) agree with its proof (`Status.resultMismatch` otherwise).
    public init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "result")
        try r.only(ComputeResult.fields)
        taskId = try r.digest("taskId")
        proof = try ExecutionProof(json: try r.value("proof"))
        result = try r.value("result")
        stateWrites = try StateWrites(json: try r.value("stateWrites"), field: "result.stateWrites")
        resultHash = try r.digest("resultHash")
        executorPublicKey = try r.publicKey("executorPublicKey")
        executionLatency = try r.integer("executionLatency")
        guard taskId == proof.taskId else {
            throw DDEError(.resultMismatch, "result.taskId differs from result.proof.taskId")
        }
        guard resultHash == proof.resultHash else {
            throw DDEError(.resultMismatch, "result.resultHash differs from result.proof.resultHash")
        }
        guard executorPublicKey == proof.executorPublicKey else {
            throw DDEError(.resultMismatch, "result.executorPublicKey differs from result.proof.executorPublicKey")
        }
    }

    public init(bytes: UnsafeRawBufferPointer, limits: JSONLimits = .default) throws(DDEError) {
        if let plain = ComputeResult.readPlain(bytes, limits: limits) {
            self = plain.result
            return
        }
        try self.init(json: try JSONParser.parse(bytes, limits: limits))
    }

    public var json: JSON {
        .object(JSONObject(uniqueMembers: [
            .init("taskId", .string(taskId.hex)),
            .init("proof", proof.json),
            .init("result", result),
            .init("stateWrites", stateWrites.json),
            .init("resultHash", .string(resultHash.hex)),
            .init("executorPublicKey", .string(executorPublicKey.hex)),
            .init("executionLatency", .int(executionLatency)),
        ]))
    }

    /// The canonical bytes of `json`, with the proof written directly (no tree of hex Strings
    /// for it): every commit stores them. Members in canonical order; tests compare with the
    /// generic form.
    public var canonicalBytes: [UInt8] { canonicalBytes(proofBytes: proof.canonicalBytes(signed: true)) }

    /// The same with the proof's canonical bytes (signed) given.
    func canonicalBytes(proofBytes: [UInt8]) -> [UInt8] {
        var w = CanonicalObjectWriter(capacity: 2048)
        w.integer("executionLatency", executionLatency)
        w.hex("executorPublicKey", executorPublicKey)
        w.canonical("proof", proofBytes)
        w.canonical("result", result.canonicalBytes())
        w.hex("resultHash", resultHash)
        w.canonical("stateWrites", stateWrites.json.canonicalBytes())
        w.hex("taskId", taskId)
        return w.finish()
    }
}
