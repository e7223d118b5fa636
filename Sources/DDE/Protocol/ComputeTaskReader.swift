// A direct reader for a compute_task envelope, the message an executor parses for every offer.
// In one pass and without the generic JSON tree (except for the intent's payload, which the task
// keeps as a tree) it reads the envelope, the offer and its task, decodes hex and base64 where
// they stand and, since it takes only the canonical form (what dde's requesters send), needs no
// serialisation: H(task without taskId and signature) is the hash of the task's own members
// without those two, joined, and the task's canonical bytes are its slice of the envelope.
//
// Like the compute_result reader (ComputeResultReader.swift) it handles only the plain form: the
// envelope, offer and task canonical (no whitespace, members in canonical order, integers as
// digits, the payload canonical), strings without escapes, a taskVersion 2 task, within the
// limits. On anything else it gives up (nil) and the caller decodes the envelope with the generic
// parser (`Envelope.decode`, `TaskOffer(json:)`), which accepts or refuses it with the precise
// status. What it reads then goes through the checks of the generic path
// (`ComputeTask.init(checking:…)`: the fields' rules, inputHash, the state proof, taskId, the
// signature), which
// throw their own statuses. So it accepts nothing the generic path refuses, and what it accepts
// has the same values (ComputeTaskReaderTests and the fuzz harness `envelope` compare the two).

extension TaskOffer {
    /// The offer in a compute_task envelope's bytes, read directly when they are in the plain form
    /// above; nil when they are not (or hold another message): `Envelope.decode` and
    /// `TaskOffer(json:)` then decide. Throws what the task's checks refuse
    /// (`.inputHashMismatch`, the state-proof statuses, `.taskId`, `.taskSignature`), as
    /// `TaskOffer(json:)` would. `PlainOffer` is the same in two steps.
    public static func readPlain(envelope bytes: [UInt8], limits: JSONLimits = .default) throws(DDEError) -> TaskOffer? {
        guard let plain = PlainOffer(envelope: bytes, limits: limits) else { return nil }
        return try plain.checked()
    }
}

/// A compute_task envelope read directly, before its task's checks: an executor sees the
/// executors it names before the expensive checks (the state proof, the signature) and drops an
/// offer for others unchecked.
public struct PlainOffer {
    public let executors: [PublicKey]
    let task: PlainTask

    /// The offer in `bytes` when they are in the plain form (see the top of the file); nil when
    /// they are not.
    public init?(envelope bytes: [UInt8], limits: JSONLimits = .default) {
        let read: (executors: [PublicKey], task: PlainTask)? = bytes.withUnsafeBytes { raw in
            // The structure is 4 deep (the capabilities and the state), a task has at most 17
            // members and a signature's hex is 128 bytes: tighter limits take the generic path,
            // which reports them.
            guard raw.count <= limits.maxBytes, limits.maxDepth >= 4, limits.maxObjectKeys >= ComputeTask.fields.count,
                  limits.maxArrayElements >= Capability.all.count, limits.maxStringBytes >= 128,
                  let base = raw.baseAddress, raw.count > 0 else { return nil }
            var reader = Parser(base: base.assumingMemoryBound(to: UInt8.self), count: raw.count, limits: limits)
            return try? reader.readOfferEnvelope()
        }
        guard let read else { return nil }
        executors = read.executors
        task = read.task
    }

    /// Whether `executor` is asked (`TaskOffer.isAddressed(to:)`).
    public func isAddressed(to executor: PublicKey) -> Bool {
        TaskOffer.isAddressed(executors, to: executor)
    }

    /// The offer, its task checked as `TaskOffer(json:)` checks it; throws what the checks refuse.
    public func checked() throws(DDEError) -> TaskOffer {
        let plain = task
        let task = try ComputeTask(checking: plain.fields, payloadHash: plain.payloadHash, parsed: nil,
                                   bytes: plain.bytes) { SHA256.hash(plain.unsigned) }
        return TaskOffer(task: task, executors: executors)
    }
}

/// A task as the direct reader read it, before the checks.
struct PlainTask {
    var fields: ComputeTask.Fields
    /// H(intent.payload): the payload's input bytes, canonical.
    var payloadHash: Digest
    /// The task without taskId and signature, canonical: what taskId hashes.
    var unsigned: [UInt8]
    /// The task's canonical bytes (its input bytes).
    var bytes: [UInt8]
}

private let signatureKey = 11, taskIdKey = 14
/// Every member but maxExecutionTime (5) and maxMemoryUsage (7).
private let requiredTaskKeys: UInt32 = (1 << 17 - 1) & ~(1 << 5 | 1 << 7)

extension Parser {
    /// `{"payload":{"executors":[…],"task":{…}},"type":"compute_task","v":1}`, nothing around it.
    mutating func readOfferEnvelope() throws(DDEError) -> (executors: [PublicKey], task: PlainTask) {
        // The end first: an input plain but for its last bytes is not read (a task's proof can be
        // up to a MiB of base64) before the generic parser reads it again.
        let suffix: StaticString = #"},"type":"compute_task","v":1}"#
        let n = suffix.utf8CodeUnitCount, end = suffix.utf8Start
        guard count > n else { throw notPlain }
        for i in 0..<n where base[count - n + i] != end[i] { throw notPlain }
        try expectLiteral(#"{"payload":{"executors":["#)
        var executors: [PublicKey] = []
        if pos < count && base[pos] == UInt8(ascii: "]") {
            pos += 1
        } else {
            while true {
                guard executors.count < TaskOffer.maxExecutors, executors.count < limits.maxArrayElements else { throw notPlain }
                executors.append(PublicKey(try hex32()))
                if try !expectEither(UInt8(ascii: ","), or: UInt8(ascii: "]")) { break }
            }
        }
        try expectLiteral(#","task":"#)
        let task = try readTask()
        try expectLiteral(suffix)
        guard pos == count else { throw notPlain }
        return (executors, task)
    }

    /// One of two bytes; true for the first.
    mutating func expectEither(_ a: UInt8, or b: UInt8) throws(DDEError) -> Bool {
        guard pos < count, base[pos] == a || base[pos] == b else { throw notPlain }
        pos += 1
        return base[pos - 1] == a
    }

    /// A canonical taskVersion 2 task at depth 3.
    mutating func readTask() throws(DDEError) -> PlainTask {
        // A task's members in canonical (RFC 8785) order; the reader takes them only in this order.
        // (Here rather than a global: the Embedded library, which has no use for this reader,
        // would keep a global's data.)
        let taskKeys: [StaticString] = ["dappCodeHash", "dappId", "inputHash", "intent", "maxExecutionSteps",
                                        "maxExecutionTime", "maxFuel", "maxMemoryUsage", "previousStateRoot",
                                        "requesterPublicKey", "requiredCapabilities", "signature", "state",
                                        "stateProof", "taskId", "taskVersion", "timestamp"]
        let start = pos
        try expect(UInt8(ascii: "{"))
        var members = [Range<Int>](repeating: 0..<0, count: taskKeys.count)
        var seen: UInt32 = 0
        var last = -1
        var canonical = true
        var dappCodeHash = Bytes32(), inputHash = Bytes32(), root = Bytes32(), requester = Bytes32(), taskId = Bytes32()
        var signature = Bytes64()
        var dappId = "", capabilities = [String](), proof = [UInt8]()
        var intent: (intent: Intent, payloadHash: Digest)?
        var entries = [(key: [UInt8], value: [UInt8]?)]()
        var steps: UInt64 = 0, time: UInt64?, fuel: UInt64 = 0, memory: UInt64?, version: UInt64 = 0, timestamp: UInt64 = 0
        while true {
            let memberStart = pos
            let key = index(of: try plainString(), in: taskKeys, next: last + 1)
            // In canonical order: also no repeats, and no unknown member (-1).
            guard key > last else { throw notPlain }
            last = key
            seen |= 1 << UInt32(key)
            try expect(UInt8(ascii: ":"))
            switch key {
            case 0: dappCodeHash = try hex32()
            case 1: dappId = try shortString()
            case 2: inputHash = try hex32()
            case 3: intent = try readIntent()
            case 4: steps = try integer(&canonical)
            case 5: time = try integer(&canonical)
            case 6: fuel = try integer(&canonical)
            case 7: memory = try integer(&canonical)
            case 8: root = try hex32()
            case 9: requester = try hex32()
            case 10: capabilities = try self.capabilities(&canonical)
            case 11: signature = try hex64()
            case 12: entries = try readCarriedState()
            case 13: proof = try Base64.decode(bytes(try plainString()), field: "")
            case 14: taskId = try hex32()
            case 15: version = try integer(&canonical)
            default: timestamp = try integer(&canonical)
            }
            members[key] = memberStart..<pos
            if try !expectEither(UInt8(ascii: ","), or: UInt8(ascii: "}")) { break }
        }
        guard canonical, seen & requiredTaskKeys == requiredTaskKeys, version == ComputeTask.version, !dappId.isEmpty,
              let intent else { throw notPlain }
        var unsignedMembers = [Range<Int>]()
        unsignedMembers.reserveCapacity(taskKeys.count)
        for (i, m) in members.enumerated() where seen & (1 << UInt32(i)) != 0 && i != signatureKey && i != taskIdKey {
            unsignedMembers.append(m)
        }
        let fields = ComputeTask.Fields(
            taskVersion: version, taskId: Digest(taskId), intent: intent.intent, dappId: dappId,
            dappCodeHash: Digest(dappCodeHash), requiredCapabilities: capabilities, inputHash: Digest(inputHash),
            previousStateRoot: Digest(root), wholeState: nil, partialRead: (entries, proof),
            requesterPublicKey: PublicKey(requester), timestamp: timestamp,
            limits: ExecutionLimits(maxExecutionSteps: steps, maxFuel: fuel, maxExecutionTime: time, maxMemoryUsage: memory),
            signature: Signature(signature))
        return PlainTask(fields: fields, payloadHash: intent.payloadHash,
                         unsigned: joinedObject(unsignedMembers, skipping: -1, capacity: pos - start),
                         bytes: Array(bytes(start..<pos)))
    }

    /// `{"action":…,"payload":…,"raw":…,"timestamp":…}`, canonical, at depth 4; the intent and
    /// H(payload).
    mutating func readIntent() throws(DDEError) -> (intent: Intent, payloadHash: Digest) {
        try expectLiteral(#"{"action":"#)
        let action = try shortString()
        try expectLiteral(#","payload":"#)
        let start = pos
        let payload = try parseValue(depth: 4)
        // Canonical when CanonicalFromInput writes it back byte for byte.
        guard let canonical = CanonicalFromInput.bytes(base, start..<pos), canonical.count == pos - start,
              canonical.withUnsafeBufferPointer({ sameBytes($0, bytes(start..<pos)) }) else { throw notPlain }
        try expectLiteral(#","raw":"#)
        let raw = try plainString()
        try expectLiteral(#","timestamp":"#)
        var plain = true
        let timestamp = try integer(&plain)
        try expect(UInt8(ascii: "}"))
        guard plain, !action.isEmpty, raw.count <= Intent.maxRawBytes else { throw notPlain }
        return (Intent(action: action, payload: payload, raw: String(decoding: bytes(raw), as: UTF8.self), timestamp: timestamp),
                SHA256.hash(canonical))
    }

    /// The task's `state`, canonical: keys in canonical order, each with the base64 of its value
    /// or null; its keys and values within their limits are checked by the fields' rules
    /// (`ComputeTask.Fields.validate`), as for a task the generic path reads.
    mutating func readCarriedState() throws(DDEError) -> [(key: [UInt8], value: [UInt8]?)] {
        try expect(UInt8(ascii: "{"))
        var entries = [(key: [UInt8], value: [UInt8]?)]()
        if pos < count && base[pos] == UInt8(ascii: "}") {
            pos += 1
            return entries
        }
        var previous = 0..<0
        while true {
            let key = try plainString()
            guard !key.isEmpty, key.count <= maxStateKeyBytes, entries.count < limits.maxObjectKeys,
                  entries.isEmpty || utf16Less(bytes(previous), bytes(key)) else { throw notPlain }
            previous = key
            try expect(UInt8(ascii: ":"))
            var value: [UInt8]?
            guard pos < count else { throw notPlain }
            if base[pos] == UInt8(ascii: "n") {
                try expectLiteral("null")
            } else {
                let decoded = try Base64.decode(bytes(try plainString()), field: "")
                guard decoded.count <= maxStateValueBytes else { throw notPlain }
                value = decoded
            }
            entries.append((Array(bytes(key)), value))
            if try !expectEither(UInt8(ascii: ","), or: UInt8(ascii: "}")) { return entries }
        }
    }
}
