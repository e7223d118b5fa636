// Portable fraud evidence (PROTOCOL.md section 12): a task and two validly signed proofs for it
// that disagree. Deterministic execution gives one right answer, so at least one signer lied,
// and anyone holding the document can check that much with two signature checks and hashes;
// naming the liar takes a re-execution of the task (code by hash), except when both proofs are
// signed by the same key (it contradicted itself) or a proof fails a check on its own signed
// fields against the task. The document carries nothing unsigned: no result bytes, no writes.

public struct EvidenceDocument: Sendable {
    public static let version: UInt64 = 1
    /// Largest document accepted: a task as large as any (JSONLimits.default) and two proofs. As
    /// an MQTT message an envelope keeps the 1 MiB limit; a larger document travels as a file.
    public static var limits: JSONLimits {
        var l = JSONLimits.default
        l.maxBytes += 64 * 1024
        return l
    }

    public let task: ComputeTask
    /// Sorted by proofHash bytes: one spelling per document.
    public let proofs: [ExecutionProof]

    /// The outcome the deterministic execution would give (the fields a quorum agrees on).
    public struct Outcome: Sendable, Equatable {
        public var resultHash: Digest
        public var nextStateRoot: Digest
        public var stateWritesHash: Digest
        public var executionTraceHash: Digest

        public init(resultHash: Digest, nextStateRoot: Digest, stateWritesHash: Digest, executionTraceHash: Digest) {
            self.resultHash = resultHash
            self.nextStateRoot = nextStateRoot
            self.stateWritesHash = stateWritesHash
            self.executionTraceHash = executionTraceHash
        }

        public init(_ p: ExecutionProof) {
            self.init(resultHash: p.resultHash, nextStateRoot: p.nextStateRoot, stateWritesHash: p.stateWritesHash,
                      executionTraceHash: p.executionTraceHash)
        }
    }

    /// Who lied, and how that is known.
    public struct Verdict: Sendable {
        public enum How: String, Sendable {
            /// Both proofs carry the same key: it signed two different answers to one task.
            case equivocation
            /// A proof fails a check of its own signed fields against the task (section 7, 2-6, 8).
            case signedFields = "signed_fields"
            /// Re-execution gave the outcome; every proof that differs is a lie.
            case reexecution
        }
        public var liars: [PublicKey]
        public var how: How

        public init(liars: [PublicKey], how: How) {
            self.liars = liars
            self.how = how
        }
    }

    /// Builds the document from a task and two disagreeing proofs; checks it as `init(json:)` does.
    public init(task: ComputeTask, proofs a: ExecutionProof, _ b: ExecutionProof) throws(DDEError) {
        try self.init(task: task, checking: [a, b])
    }

    private init(task: ComputeTask, checking proofs: [ExecutionProof]) throws(DDEError) {
        guard proofs.count == 2 else {
            throw DDEError(.schema, "evidence.proofs must hold exactly 2 proofs, got \(proofs.count)")
        }
        for p in proofs {
            guard p.taskId == task.taskId else {
                throw DDEError(.taskMismatch, "evidence: a proof is for task \(p.taskId.hex), the document's task is \(task.taskId.hex): proofs of two different tasks prove nothing")
            }
            guard p.hasValidSignature else {
                throw DDEError(.proofSignature, "evidence: the proof signed by \(p.executorPublicKey.hex) does not verify: an unsigned claim proves nothing about anyone")
            }
        }
        guard Outcome(proofs[0]) != Outcome(proofs[1]) else {
            throw DDEError(.evidenceAgrees, "evidence: both proofs give the same resultHash, nextStateRoot, stateWritesHash and executionTraceHash: they agree, so nobody is shown to have lied")
        }
        self.task = task
        self.proofs = sortedByIndex(proofs) { Digest.bytesLess($0.proofHash, $1.proofHash) }
    }

    /// Parses and checks a document: the task (id and requester signature), both proof
    /// signatures, that both are for the task, that they disagree. It names no liar yet: see
    /// `verdict(reexecuted:)`.
    public init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "evidence")
        try r.only(["evidenceVersion", "proofs", "task"])
        try r.version("evidenceVersion", EvidenceDocument.version)
        let task = try ComputeTask(json: try r.value("task"))
        guard case .array(let items) = try r.value("proofs") else {
            throw DDEError(.schema, "evidence.proofs must be an array")
        }
        var proofs: [ExecutionProof] = []
        for item in items.prefix(3) { proofs.append(try ExecutionProof(json: item)) }
        guard items.count == 2 else {
            throw DDEError(.schema, "evidence.proofs must hold exactly 2 proofs, got \(items.count)")
        }
        try self.init(task: task, checking: proofs)
        guard Digest.bytesLess(self.proofs[0].proofHash, self.proofs[1].proofHash),
              self.proofs[0].proofHash == proofs[0].proofHash else {
            throw DDEError(.schema, "evidence.proofs must be sorted by proofHash")
        }
    }

    public init(bytes: [UInt8]) throws(DDEError) {
        try self.init(json: try JSONParser.parse(bytes, limits: EvidenceDocument.limits))
    }

    /// `{"evidenceVersion":1,"proofs":[proof, proof],"task":task}`.
    public var json: JSON {
        .object(JSONObject(uniqueMembers: [
            .init("evidenceVersion", .number(Double(EvidenceDocument.version))),
            .init("proofs", .array(proofs.map { $0.json })),
            .init("task", task.json),
        ]))
    }

    public var canonicalBytes: [UInt8] { json.canonicalBytes() }

    /// H(document): its id wherever it travels.
    public var id: Digest { SHA256.hash(canonicalBytes) }

    public var envelope: Envelope { Envelope(type: .evidence, payload: json) }

    /// The signers of both proofs (one key twice when it equivocated).
    public var signers: [PublicKey] { proofs.map { $0.executorPublicKey } }

    /// The liar, when the document names it by itself (equivocation, or a proof that fails a
    /// check of its own signed fields); nil when only a re-execution can tell.
    public var selfEvidentVerdict: Verdict? {
        if proofs[0].executorPublicKey == proofs[1].executorPublicKey {
            return Verdict(liars: [proofs[0].executorPublicKey], how: .equivocation)
        }
        var liars: [PublicKey] = []
        for p in proofs where !Self.signedFieldsHold(task, p) { liars.append(p.executorPublicKey) }
        return liars.isEmpty ? nil : Verdict(liars: liars, how: .signedFields)
    }

    /// The verdict given the outcome of a deterministic re-execution of the task: every signer
    /// whose proof differs from it lied (both, when the execution matches neither).
    public func verdict(reexecuted outcome: Outcome) -> Verdict {
        if let v = selfEvidentVerdict, v.how == .equivocation { return v }
        var liars: [PublicKey] = []
        for p in proofs where Outcome(p) != outcome || !Self.signedFieldsHold(task, p) {
            if !liars.contains(p.executorPublicKey) { liars.append(p.executorPublicKey) }
        }
        return Verdict(liars: liars, how: .reexecution)
    }

    private static func signedFieldsHold(_ task: ComputeTask, _ p: ExecutionProof) -> Bool {
        do throws(DDEError) {
            try Verifier.checkTaskFields(task: task, proof: p)
            try Verifier.checkPreviousRoot(task: task, proof: p)
            return true
        } catch {
            return false
        }
    }
}
