// A receipt, receiptVersion 1 (PROTOCOL.md section 8): the requester's signed record that it
// accepted one proof and moved its state from one node root to the next. Receipts form a chain:
// each names the hash of the one before it and starts from the state root it ended at.

/// The executor's proof as a receipt names it; the proof itself is kept whole next to the receipt.
public struct RemoteProof: Sendable, Equatable {
    public var executorPublicKey: PublicKey
    /// H(proof) including its signature (`ExecutionProof.proofHash`).
    public var proofHash: Digest
    public var proofSignature: Signature

    public init(executorPublicKey: PublicKey, proofHash: Digest, proofSignature: Signature) {
        self.executorPublicKey = executorPublicKey
        self.proofHash = proofHash
        self.proofSignature = proofSignature
    }

    var json: JSON {
        .object(JSONObject(uniqueMembers: [
            .init("executorPublicKey", .string(executorPublicKey.hex)),
            .init("proofHash", .string(proofHash.hex)),
            .init("proofSignature", .string(proofSignature.hex)),
        ]))
    }

    var canonicalBytes: [UInt8] {
        var w = CanonicalObjectWriter(capacity: 320)
        w.hex("executorPublicKey", executorPublicKey)
        w.hex("proofHash", proofHash)
        w.hex("proofSignature", proofSignature)
        return w.finish()
    }

    init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "receipt.remote")
        try r.only(["executorPublicKey", "proofHash", "proofSignature"])
        executorPublicKey = try r.publicKey("executorPublicKey")
        proofHash = try r.digest("proofHash")
        proofSignature = try r.signature("proofSignature")
    }
}

public struct Receipt: Sendable {
    /// The version this dde writes: 2 adds `assurance`; 3 has the same fields, its state roots
    /// are node roots over the dApps' v2 state tree roots (PROTOCOL.md section 8). Versions 1
    /// and 2 (node roots over v1 roots) still parse and verify, so older chains stay valid.
    public static let version: UInt64 = 3

    /// This receipt's version (1, 2 or 3).
    public internal(set) var receiptVersion: UInt64

    /// Position in the chain, from 0.
    public var index: UInt64
    /// Unix milliseconds of the commit.
    public var timestamp: UInt64
    /// The local identity that signs the chain.
    public var identity: PublicKey
    public var dappId: String
    public var action: String
    public var taskId: Digest
    public var inputHash: Digest
    public var capabilitiesDeclared: [String]
    public var capabilitiesUsed: [String]
    public var resultHash: Digest
    public var executionTraceHash: Digest
    /// Node root before this commit (the previous receipt's nextStateRoot; genesis: the empty root).
    public var previousStateRoot: Digest
    /// Node root after applying this commit's writes.
    public var nextStateRoot: Digest
    /// nil for index 0.
    public var previousReceiptHash: Digest?
    public var remote: RemoteProof
    /// How the result was assured (nil only in a receiptVersion 1 receipt).
    public var assurance: Assurance?
    /// H(receipt without receiptHash and signature).
    public var receiptHash: Digest
    /// The identity's signature of kind `receipt` over receiptHash.
    public var signature: Signature

    static let fields = ["receiptVersion", "assurance", "index", "timestamp", "identity", "dappId", "action", "taskId",
                         "inputHash", "capabilitiesDeclared", "capabilitiesUsed", "resultHash",
                         "executionTraceHash", "previousStateRoot", "nextStateRoot", "previousReceiptHash",
                         "remote", "receiptHash", "signature"]

    /// A receipt for an accepted proof, hashed and signed by `identity`, and its canonical bytes
    /// (`canonicalBytes`), serialised once: signed, with the hash and signature zero, the hash
    /// taken over the bytes without those two members (the unsigned form), then their hex written
    /// in place. `proofHash`: H(proof) with its signature (`ExecutionProof.proofHash`).
    static func signed(index: UInt64, timestamp: UInt64, identity: KeyPair, proof: ExecutionProof, proofHash: Digest,
                       previousStateRoot: Digest, nextStateRoot: Digest, previousReceiptHash: Digest?,
                       assurance: Assurance) -> (receipt: Receipt, bytes: [UInt8]) {
        var r = Receipt(index: index, timestamp: timestamp, identity: identity.publicKey, proof: proof, proofHash: proofHash,
                        previousStateRoot: previousStateRoot, nextStateRoot: nextStateRoot,
                        previousReceiptHash: previousReceiptHash, assurance: assurance)
        var hashAt = 0, signatureAt = 0
        var bytes = r.canonicalBytes(signed: true, hashAt: &hashAt, signatureAt: &signatureAt)
        // `,"receiptHash":"` 64 hex digits `"`, and `,"signature":"` 128 hex digits `"`.
        let hashMember = 16 + 64 + 1, signatureMember = 14 + 128 + 1
        assert(bytes[hashAt..<(hashAt + 16)].elementsEqual(",\"receiptHash\":\"".utf8)
               && bytes[signatureAt..<(signatureAt + 14)].elementsEqual(",\"signature\":\"".utf8))
        r.receiptHash = SHA256.hash(bytes, omitting: hashAt..<(hashAt + hashMember),
                                    signatureAt..<(signatureAt + signatureMember))
        r.signature = identity.sign(.receipt, r.receiptHash)
        r.receiptHash.withUnsafeBytes { Hex.write($0, into: &bytes, at: hashAt + 16) }
        r.signature.withUnsafeBytes { Hex.write($0, into: &bytes, at: signatureAt + 14) }
        return (r, bytes)
    }

    /// The fields, unhashed and unsigned.
    private init(index: UInt64, timestamp: UInt64, identity: PublicKey, proof: ExecutionProof, proofHash: Digest,
                 previousStateRoot: Digest, nextStateRoot: Digest, previousReceiptHash: Digest?, assurance: Assurance) {
        self.index = index
        self.assurance = assurance
        receiptVersion = Receipt.version
        self.timestamp = timestamp
        self.identity = identity
        dappId = proof.dappId
        action = proof.action
        taskId = proof.taskId
        inputHash = proof.inputHash
        capabilitiesDeclared = proof.capabilitiesDeclared
        capabilitiesUsed = proof.capabilitiesUsed
        resultHash = proof.resultHash
        executionTraceHash = proof.executionTraceHash
        self.previousStateRoot = previousStateRoot
        self.nextStateRoot = nextStateRoot
        self.previousReceiptHash = previousReceiptHash
        remote = RemoteProof(executorPublicKey: proof.executorPublicKey, proofHash: proofHash,
                             proofSignature: proof.signature)
        receiptHash = Digest(Bytes32())
        signature = Signature(Bytes64())
    }

    /// Parses a receipt strictly (unknown fields, wrong types and encodings are refused). Does not
    /// check the hash or signature: see `computedHash` and `hasValidSignature`.
    public init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "receipt")
        try r.only(Receipt.fields)
        let version = try r.integer("receiptVersion")
        guard version >= 1 && version <= Receipt.version else {
            throw DDEError(.version, "receipt.receiptVersion is \(version); this dde knows 1 to \(Receipt.version)")
        }
        receiptVersion = version
        if version == 1 {
            guard !r.has("assurance") else { throw DDEError(.schema, "receipt: unknown field \"assurance\" in a version 1 receipt") }
            assurance = nil
        } else {
            assurance = try Assurance(json: try r.value("assurance"))
        }
        index = try r.integer("index")
        timestamp = try r.integer("timestamp")
        identity = try r.publicKey("identity")
        dappId = try r.string("dappId", maxBytes: 256)
        action = try r.string("action", maxBytes: 256)
        taskId = try r.digest("taskId")
        inputHash = try r.digest("inputHash")
        capabilitiesDeclared = try r.capabilities("capabilitiesDeclared")
        capabilitiesUsed = try r.capabilities("capabilitiesUsed")
        resultHash = try r.digest("resultHash")
        executionTraceHash = try r.digest("executionTraceHash")
        previousStateRoot = try r.digest("previousStateRoot")
        nextStateRoot = try r.digest("nextStateRoot")
        if case .null = try r.value("previousReceiptHash") {
            previousReceiptHash = nil
        } else {
            previousReceiptHash = try r.digest("previousReceiptHash")
        }
        remote = try RemoteProof(json: try r.value("remote"))
        receiptHash = try r.digest("receiptHash")
        signature = try r.signature("signature")
    }

    public init(bytes: [UInt8], limits: JSONLimits = .default) throws(DDEError) {
        try self.init(json: try JSONParser.parse(bytes, limits: limits))
    }

    /// The receipt without receiptHash and signature: what the hash covers.
    public var unsignedJSON: JSON {
        .object(JSONObject(uniqueMembers: [
            .init("receiptVersion", .int(versionWritten)),
            .init("index", .int(index)),
            .init("timestamp", .int(timestamp)),
            .init("identity", .string(identity.hex)),
            .init("dappId", .string(dappId)),
            .init("action", .string(action)),
            .init("taskId", .string(taskId.hex)),
            .init("inputHash", .string(inputHash.hex)),
            .init("capabilitiesDeclared", .strings(capabilitiesDeclared)),
            .init("capabilitiesUsed", .strings(capabilitiesUsed)),
            .init("resultHash", .string(resultHash.hex)),
            .init("executionTraceHash", .string(executionTraceHash.hex)),
            .init("previousStateRoot", .string(previousStateRoot.hex)),
            .init("nextStateRoot", .string(nextStateRoot.hex)),
            .init("previousReceiptHash", previousReceiptHash.map { .string($0.hex) } ?? .null),
            .init("remote", remote.json),
        ] + (assurance.map { [JSONObject.Member("assurance", $0.json)] } ?? [])))
    }

    /// The version as written (1 has no assurance, 2 and 3 have one).
    var versionWritten: UInt64 { receiptVersion }

    /// True when the state roots are node roots over v2 tree roots (version 3 on).
    public var rootsOverTrees: Bool { receiptVersion >= 3 }

    public var json: JSON {
        guard case .object(var o) = unsignedJSON else { return unsignedJSON }
        o["receiptHash"] = .string(receiptHash.hex)
        o["signature"] = .string(signature.hex)
        return .object(o)
    }

    /// RFC 8785 bytes of the whole receipt: what the store keeps and exports.
    public var canonicalBytes: [UInt8] { canonicalBytes(signed: true) }

    /// H(receipt without receiptHash and signature), recomputed from the fields.
    public var computedHash: Digest { SHA256.hash(canonicalBytes(signed: false)) }

    /// The canonical bytes of `json` (signed) or `unsignedJSON`, written directly: every commit
    /// hashes and stores a receipt, and building the tree and its hex strings first cost more
    /// than the writing. Members in canonical (byte) order; tests compare with the generic form.
    func canonicalBytes(signed: Bool) -> [UInt8] {
        canonicalBytes(signed: signed, hashAt: nil, signatureAt: nil)
    }

    /// `hashAt`, `signatureAt`: set to where the receiptHash and signature members start (the
    /// comma before each), or would in the unsigned form.
    private func canonicalBytes(signed: Bool, hashAt: UnsafeMutablePointer<Int>?, signatureAt: UnsafeMutablePointer<Int>?) -> [UInt8] {
        var w = CanonicalObjectWriter(capacity: 1536)
        w.string("action", action)
        if let assurance { w.canonical("assurance", assurance.canonicalBytes) }
        w.strings("capabilitiesDeclared", capabilitiesDeclared)
        w.strings("capabilitiesUsed", capabilitiesUsed)
        w.string("dappId", dappId)
        w.hex("executionTraceHash", executionTraceHash)
        w.hex("identity", identity)
        w.integer("index", index)
        w.hex("inputHash", inputHash)
        w.hex("nextStateRoot", nextStateRoot)
        if let previousReceiptHash { w.hex("previousReceiptHash", previousReceiptHash) } else { w.null("previousReceiptHash") }
        w.hex("previousStateRoot", previousStateRoot)
        hashAt?.pointee = w.bytes.count
        if signed { w.hex("receiptHash", receiptHash) }
        w.integer("receiptVersion", versionWritten)
        w.canonical("remote", remote.canonicalBytes)
        w.hex("resultHash", resultHash)
        signatureAt?.pointee = w.bytes.count
        if signed { w.hex("signature", signature) }
        w.hex("taskId", taskId)
        w.integer("timestamp", timestamp)
        return w.finish()
    }

    /// Where the chain ends when this is its last receipt.
    var head: ChainHead {
        ChainHead(count: index + 1, receiptHash: receiptHash, nextStateRoot: nextStateRoot, rootsOverTrees: rootsOverTrees)
    }

    /// True when `signature` is the identity's `receipt` signature over `receiptHash`.
    public var hasValidSignature: Bool {
        identity.isValidSignature(signature, kind: .receipt, digest: receiptHash)
    }
}

/// Where the chain ends.
public struct ChainHead: Sendable, Equatable {
    /// Receipts in the chain (the head's index + 1).
    public var count: UInt64
    public var receiptHash: Digest
    /// The node root after the last commit.
    public var nextStateRoot: Digest
    /// Whether that root is over the dApps' v2 tree roots (receiptVersion 3) or v1 roots.
    public var rootsOverTrees: Bool = true
}
