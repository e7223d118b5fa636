// How a committed result was assured (receiptVersion 2, PROTOCOL.md section 8): what a reader of
// the chain needs to know what each result is worth. A result one executor signed is worth that
// executor's word; one that other executors' signed proofs confirmed is worth more, and more
// again when a confirming executor was validated (or pinned) by this requester at the time.

public struct Assurance: Sendable, Equatable {
    public enum How: String, Sendable, CaseIterable {
        /// Committed by hand (`dde commit`, `dde_store_commit`): the caller verified one proof.
        case direct
        /// first_valid: the first valid proof; nobody confirmed it.
        case firstValid = "first_valid"
        /// quorum(k): k distinct executors agreed.
        case quorum
        /// audited mode, a trusted executor, not drawn for audit: nobody confirmed it.
        case unaudited
        /// audited mode, an executor still on probation: replicated before commit.
        case replicated
        /// audited mode, a trusted executor drawn for audit: another executor re-ran it.
        case audited
        /// audited mode, proofs disagreed: more executors were asked until a validated majority.
        case escalated
    }

    public var how: How
    /// Executors whose validly signed proofs agreed with the committed one (not its signer),
    /// sorted by key bytes.
    public var confirmedBy: [PublicKey]
    /// Whether the result was checked (quorum, replicated, audited, escalated) and the executors
    /// standing behind it (the signer and `confirmedBy`) included one validated or pinned by this
    /// requester at the time. False for agreement among fresh identities only (a Sybil majority
    /// is not excluded), and for results nobody checked.
    public var validated: Bool

    public init(how: How, confirmedBy: [PublicKey] = [], validated: Bool = false) {
        self.how = how
        var keys: [PublicKey] = []
        for k in confirmedBy where !keys.contains(k) { keys.append(k) }
        sortByIndex(&keys) { PublicKey.bytesLess($0, $1) }
        self.confirmedBy = keys
        self.validated = validated
    }

    public static let direct = Assurance(how: .direct)

    public var json: JSON {
        .object(JSONObject(uniqueMembers: [
            .init("confirmedBy", .array(confirmedBy.map { .string($0.hex) })),
            .init("how", .string(how.rawValue)),
            .init("validated", .bool(validated)),
        ]))
    }

    var canonicalBytes: [UInt8] {
        var w = CanonicalObjectWriter(capacity: 64 + 67 * confirmedBy.count)
        w.hexList("confirmedBy", confirmedBy)
        w.string("how", how.rawValue)
        w.bool("validated", validated)
        return w.finish()
    }

    init(json: JSON) throws(DDEError) {
        let r = try FieldReader(json, context: "receipt.assurance")
        try r.only(["confirmedBy", "how", "validated"])
        let name = try r.string("how", maxBytes: 32)
        guard let how = How.allCases.first(where: { sameScalars($0.rawValue, name) }) else {
            throw DDEError(.schema, "receipt.assurance.how: unknown value \"\(name)\"")
        }
        guard case .array(let items) = try r.value("confirmedBy") else {
            throw DDEError(.schema, "receipt.assurance.confirmedBy must be an array")
        }
        guard items.count <= TaskOffer.maxExecutors else {
            throw DDEError(.limit, "receipt.assurance.confirmedBy has more than \(TaskOffer.maxExecutors) keys")
        }
        var keys: [PublicKey] = []
        for item in items {
            guard case .string(let hex) = item else {
                throw DDEError(.schema, "receipt.assurance.confirmedBy must hold key strings")
            }
            keys.append(try PublicKey(hex: hex, field: "receipt.assurance.confirmedBy"))
        }
        for i in keys.indices.dropFirst() where !PublicKey.bytesLess(keys[i - 1], keys[i]) {
            throw DDEError(.schema, "receipt.assurance.confirmedBy must be sorted by key bytes without repeats")
        }
        guard case .bool(let validated) = try r.value("validated") else {
            throw DDEError(.schema, "receipt.assurance.validated must be true or false")
        }
        self.how = how
        self.confirmedBy = keys
        self.validated = validated
    }
}
