// A direct reader for a compute_result, the document every verification parses (check 1). In
// one pass and without the generic JSON tree (except for the module's own `result` document) it
// reads the fields, decodes hex and base64 straight from the input and, when the proof and the
// state writes arrive in canonical form (as dde's executors send them), hashes their input bytes
// instead of serialising them again: H(proof without signature) is the input proof with its
// `,"signature":"..."` member cut out.
//
// It only handles the plain form: strings without escapes, each field once with its one type,
// within the limits. On anything else (an escape, a missing, unknown or repeated field, a wrong
// type or value, a syntax error, a limit) it gives up and returns nil, and the caller parses the
// document with the generic parser and FieldReader, which accept or refuse it with the precise
// status and message. So this reader accepts nothing the generic path refuses, and what it
// accepts has the same values (VerifierTests compare the two).

struct FastComputeResult {
    var result: ComputeResult
    /// H(proof without signature), when the proof's input bytes were canonical.
    var proofSignedHash: Digest?
    /// H(stateWrites), when the state writes' input bytes were canonical.
    var stateWritesHash: Digest?
    /// H(result), when CanonicalFromInput could write it from the input.
    var resultHash: Digest?
    /// Where the proof's canonical bytes (with its signature) lie in the input, when the input
    /// was the compute_result's canonical form itself (nil otherwise): H(proof) is their hash,
    /// without serialising the proof.
    var proofRange: Range<Int>? = nil
    /// Whether the input was the compute_result's canonical form itself (then it is what the
    /// store keeps, without serialising the result again).
    var inputIsCanonical: Bool { proofRange != nil }
    /// The compute_result's canonical bytes, a copy of the input, when `readPlain(envelope:)`
    /// found it canonical (what the store keeps). In this struct rather than beside it in a tuple,
    /// whose copies went through the runtime's generic value witnesses.
    var canonicalBytes: [UInt8]? = nil
}

extension ComputeResult {
    /// The compute_result in `bytes`, or nil when it is not in the plain form (see above).
    static func readPlain(_ bytes: UnsafeRawBufferPointer, limits: JSONLimits) -> FastComputeResult? {
        // Depth 3 (the capability arrays), the proof's 18 members, five capabilities and the
        // 128 hex characters of a signature fit every limit a caller would set; tighter limits
        // take the generic path, which reports them.
        guard bytes.count <= limits.maxBytes, limits.maxDepth >= 3, limits.maxObjectKeys >= 18,
              limits.maxArrayElements >= Capability.all.count, limits.maxStringBytes >= 128,
              let base = bytes.baseAddress, bytes.count > 0 else { return nil }
        var reader = Parser(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, limits: limits)
        do throws(DDEError) {
            return try reader.readComputeResult()
        } catch {
            return nil
        }
    }
}

extension ComputeResult {
    /// A compute_result envelope in canonical form, `{"payload":…,"type":"compute_result","v":1}`
    /// (what dde's executors send): the result read as `readPlain` reads it, with its canonical
    /// bytes (`canonicalBytes`, a slice of the envelope) when the payload was canonical. nil when
    /// the envelope is not in that form (or holds another message): `Envelope.decode` and the
    /// generic readers then decide.
    static func readPlain(envelope bytes: [UInt8], limits: JSONLimits = .default) -> FastComputeResult? {
        let prefix: StaticString = #"{"payload":"#, suffix: StaticString = #","type":"compute_result","v":1}"#
        let p = prefix.utf8CodeUnitCount, n = suffix.utf8CodeUnitCount
        return bytes.withUnsafeBufferPointer { b -> FastComputeResult? in
            guard let base = b.baseAddress, b.count > p + n, b.count <= limits.maxBytes,
                  sameBytes(UnsafeBufferPointer(start: base, count: p), UnsafeBufferPointer(start: prefix.utf8Start, count: p)),
                  sameBytes(UnsafeBufferPointer(start: base + b.count - n, count: n),
                            UnsafeBufferPointer(start: suffix.utf8Start, count: n)) else { return nil }
            // The payload between them, read as a document one level down: when it is exactly one
            // compute_result, the bytes are that envelope.
            var inner = limits
            inner.maxDepth -= 1
            let payload = UnsafeRawBufferPointer(start: base + p, count: b.count - p - n)
            guard var read = readPlain(payload, limits: inner) else { return nil }
            if read.inputIsCanonical { read.canonicalBytes = Array(payload) }
            return read
        }
    }
}

/// The reader gives up with this; the generic path then says what is wrong.
let notPlain = DDEError(.json, "not in the plain form")

/// A compute_result's members in canonical (RFC 8785) order.
private let resultKeys: [StaticString] = ["executionLatency", "executorPublicKey", "proof", "result", "resultHash",
                                          "stateWrites", "taskId"]

/// The proof's members in canonical (RFC 8785) order: a canonical proof lists them in this order.
private let proofKeys: [StaticString] = ["action", "capabilitiesDeclared", "capabilitiesUsed", "dappCodeHash",
                                         "dappId", "executionTraceHash", "executorPublicKey", "fuelUsed",
                                         "inputHash", "nextStateRoot", "previousStateRoot", "proofVersion",
                                         "resultHash", "signature", "stateWritesHash", "taskId", "timestamp",
                                         "traceLength"]
private let proofSignatureIndex = 13

/// Capability.all as static strings (compared with the input's bytes without a String).
let capabilityNames: [StaticString] = ["crypto.hash", "crypto.verify", "log", "state.read", "state.write"]

extension Parser {
    mutating func readComputeResult() throws(DDEError) -> FastComputeResult {
        // The outer taskId, resultHash and executorPublicKey repeat the proof's: their hex is
        // compared with the proof's values, not decoded.
        var taskId: Range<Int>?, resultHash: Range<Int>?, executor: Range<Int>?, latency: UInt64?
        var proof: (ExecutionProof, Digest?)?, result: JSON?, writes: (StateWrites, Digest?)?
        var proofRange = 0..<0
        var resultCanonical: [UInt8]?
        // Whether the input is canonical: no whitespace, members in order, each canonical.
        var canonical = true
        var last = -1
        if skipSpace() { canonical = false }
        try expect(UInt8(ascii: "{"))
        while true {
            if skipSpace() { canonical = false }
            let key = index(of: try plainString(), in: resultKeys, next: last + 1)
            if key <= last { canonical = false }
            last = key
            if skipSpace() { canonical = false }
            try expect(UInt8(ascii: ":"))
            if skipSpace() { canonical = false }
            switch key {
            case 0:
                guard latency == nil else { throw notPlain }
                latency = try integer(&canonical)
            case 1:
                guard executor == nil else { throw notPlain }
                executor = try plainString()
            case 2:
                guard proof == nil else { throw notPlain }
                let valueStart = pos
                proof = try readProof(&canonical)
                proofRange = valueStart..<pos
            case 3:
                guard result == nil else { throw notPlain }
                let valueStart = pos
                result = try parseValue(depth: 1)
                resultCanonical = CanonicalFromInput.bytes(base, valueStart..<pos)
                if !(resultCanonical?.withUnsafeBufferPointer({ $0.count == pos - valueStart && sameBytes($0, bytes(valueStart..<pos)) }) ?? false) {
                    canonical = false
                }
            case 4:
                guard resultHash == nil else { throw notPlain }
                resultHash = try plainString()
            case 5:
                guard writes == nil else { throw notPlain }
                writes = try readStateWrites(&canonical)
            case 6:
                guard taskId == nil else { throw notPlain }
                taskId = try plainString()
            default:
                throw notPlain
            }
            if skipSpace() { canonical = false }
            guard pos < count else { throw notPlain }
            if base[pos] == UInt8(ascii: ",") { pos += 1; continue }
            try expect(UInt8(ascii: "}"))
            break
        }
        if skipSpace() { canonical = false }
        guard pos == count, let taskId, let resultHash, let executor, let latency, let proof, let result,
              let writes else { throw notPlain }
        // The outer copies must agree with the proof (the generic path names the mismatch).
        guard proof.0.taskId.storage.equalsHex(bytes(taskId)), proof.0.resultHash.storage.equalsHex(bytes(resultHash)),
              proof.0.executorPublicKey.storage.equalsHex(bytes(executor)) else { throw notPlain }
        return FastComputeResult(
            result: ComputeResult(proof: proof.0, result: result, stateWrites: writes.0, executionLatency: latency),
            proofSignedHash: proof.1, stateWritesHash: writes.1, resultHash: resultCanonical.map { SHA256.hash($0) },
            proofRange: canonical ? proofRange : nil)
    }

    /// The proof and, when its bytes are canonical, H(proof without signature). `exact` is set
    /// false unless the input is the canonical proof itself (members in order, no whitespace).
    mutating func readProof(_ exact: inout Bool) throws(DDEError) -> (ExecutionProof, Digest?) {
        let start = pos
        try expect(UInt8(ascii: "{"))
        // Each member's bytes, `"key":value`; when every member is canonical on its own (no
        // whitespace inside, numbers as plain digits), the canonical proof is these members in
        // key order, and the signed bytes are the same without the signature member.
        var canonical = true
        var seen: UInt32 = 0
        var members = [Range<Int>](repeating: 0..<0, count: proofKeys.count)
        var taskId = Bytes32(), dappCodeHash = Bytes32(), inputHash = Bytes32(), traceHash = Bytes32()
        var resultHash = Bytes32(), previousRoot = Bytes32(), nextRoot = Bytes32(), writesHash = Bytes32()
        var executor = Bytes32(), signature = Bytes64()
        var dappId = "", action = "", declared = [String](), used = [String]()
        var traceLength: UInt64 = 0, fuelUsed: UInt64 = 0, timestamp: UInt64 = 0
        var last = -1
        while true {
            if skipSpace() { exact = false }
            let memberStart = pos
            let key = index(of: try plainString(), in: proofKeys, next: last + 1)
            guard key >= 0, seen & (1 << UInt32(key)) == 0 else { throw notPlain }
            seen |= 1 << UInt32(key)
            if key < last { exact = false }
            last = key
            if skipSpace() { canonical = false }
            try expect(UInt8(ascii: ":"))
            if skipSpace() { canonical = false }
            switch key {
            case 0: action = try shortString()
            case 1: declared = try capabilities(&canonical)
            case 2: used = try capabilities(&canonical)
            case 3: dappCodeHash = try hex32()
            case 4: dappId = try shortString()
            case 5: traceHash = try hex32()
            case 6: executor = try hex32()
            case 7: fuelUsed = try integer(&canonical)
            case 8: inputHash = try hex32()
            case 9: nextRoot = try hex32()
            case 10: previousRoot = try hex32()
            case 11: guard try integer(&canonical) == ExecutionProof.version else { throw notPlain }
            case 12: resultHash = try hex32()
            case 13: signature = try hex64()
            case 14: writesHash = try hex32()
            case 15: taskId = try hex32()
            case 16: timestamp = try integer(&canonical)
            default: traceLength = try integer(&canonical)
            }
            members[key] = memberStart..<pos
            if skipSpace() { exact = false }
            guard pos < count else { throw notPlain }
            if base[pos] == UInt8(ascii: ",") { pos += 1; continue }
            try expect(UInt8(ascii: "}"))
            break
        }
        guard seen == (1 << UInt32(proofKeys.count)) - 1 else { throw notPlain }
        if !canonical { exact = false }
        var proof = ExecutionProof(
            taskId: Digest(taskId), dappId: dappId, dappCodeHash: Digest(dappCodeHash),
            action: action, inputHash: Digest(inputHash), capabilitiesDeclared: declared,
            capabilitiesUsed: used, executionTraceHash: Digest(traceHash), traceLength: traceLength,
            fuelUsed: fuelUsed, resultHash: Digest(resultHash), previousStateRoot: Digest(previousRoot),
            nextStateRoot: Digest(nextRoot), stateWritesHash: Digest(writesHash),
            executorPublicKey: PublicKey(executor), timestamp: timestamp)
        proof.signature = Signature(signature)
        guard canonical else { return (proof, nil) }
        let signed = joinedObject(members, skipping: proofSignatureIndex, capacity: pos - start)
        return (proof, SHA256.hash(signed))
    }

    /// The state writes and, when their bytes are canonical, H(stateWrites). `exact`: as for
    /// readProof.
    mutating func readStateWrites(_ exact: inout Bool) throws(DDEError) -> (StateWrites, Digest?) {
        let start = pos
        try expect(UInt8(ascii: "{"))
        var canonical = true
        var byteOrder = true
        var entries = [StateWrites.Entry]()
        var members = [Range<Int>]()
        entries.reserveCapacity(8)
        members.reserveCapacity(8)
        var previous = 0..<0
        if skipSpace() { exact = false }
        if pos < count && base[pos] == UInt8(ascii: "}") {
            pos += 1
        } else {
            while true {
                if skipSpace() { exact = false }
                let memberStart = pos
                let key = try plainString()
                guard !key.isEmpty, key.count <= maxStateKeyBytes, entries.count < limits.maxObjectKeys else {
                    throw notPlain
                }
                if !entries.isEmpty {
                    let a = bytes(previous), b = bytes(key)
                    if !utf16Less(a, b) { canonical = false }
                    if compare(a, b) >= 0 { byteOrder = false }
                }
                previous = key
                if skipSpace() { canonical = false }
                try expect(UInt8(ascii: ":"))
                if skipSpace() { canonical = false }
                var value: [UInt8]?
                guard pos < count else { throw notPlain }
                if base[pos] == UInt8(ascii: "n") {
                    try expectLiteral("null")
                } else {
                    let text = try plainString()
                    let decoded = try Base64.decode(bytes(text), field: "")
                    guard decoded.count <= maxStateValueBytes else { throw notPlain }
                    value = decoded
                }
                entries.append(StateWrites.Entry(key: Array(bytes(key)), value: value))
                members.append(memberStart..<pos)
                if skipSpace() { exact = false }
                guard pos < count else { throw notPlain }
                if base[pos] == UInt8(ascii: ",") { pos += 1; continue }
                try expect(UInt8(ascii: "}"))
                break
            }
        }
        if !byteOrder {
            // Sorted by bytes, a repeated key (which the generic parser refuses) sits next to itself.
            sortByIndex(&entries) { bytesLess($0.key, $1.key) }
            var i = 1
            while i < entries.count {
                guard entries[i - 1].key != entries[i].key else { throw notPlain }
                i += 1
            }
        }
        let writes = StateWrites(sortedUniqueEntries: entries)
        // Canonical members in canonical (UTF-16) key order: the canonical object is them joined.
        guard canonical else { exact = false; return (writes, nil) }
        let object = joinedObject(members, skipping: -1, capacity: pos - start)
        return (writes, SHA256.hash(object))
    }

    /// A capability list as FieldReader.capabilities reads it: known names, sorted, no repeats.
    mutating func capabilities(_ canonical: inout Bool) throws(DDEError) -> [String] {
        try expect(UInt8(ascii: "["))
        var out = [String]()
        out.reserveCapacity(Capability.all.count)  // one allocation, not one per doubling
        var previous = -1
        if skipSpace() { canonical = false }
        if pos < count && base[pos] == UInt8(ascii: "]") {
            pos += 1
            return out
        }
        while true {
            if skipSpace() { canonical = false }
            let name = try plainString()
            // Capability.all is sorted by bytes, so a sorted list has increasing indices.
            let i = index(of: name, in: capabilityNames)
            guard i > previous else { throw notPlain }
            previous = i
            out.append(Capability.all[i])
            if skipSpace() { canonical = false }
            guard pos < count else { throw notPlain }
            if base[pos] == UInt8(ascii: ",") { pos += 1; continue }
            try expect(UInt8(ascii: "]"))
            return out
        }
    }

    /// `{` + the members' input bytes joined by commas + `}`, copied into one buffer of at most
    /// `capacity` bytes (the members came from that many input bytes, with their braces).
    func joinedObject(_ members: [Range<Int>], skipping skipped: Int, capacity: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialised in
            guard let o = buffer.baseAddress else { initialised = 0; return }
            var n = 0
            o[n] = UInt8(ascii: "{"); n += 1
            for (i, r) in members.enumerated() where i != skipped {
                if n > 1 { o[n] = UInt8(ascii: ","); n += 1 }
                (o + n).update(from: base + r.lowerBound, count: r.count)
                n += r.count
            }
            o[n] = UInt8(ascii: "}"); n += 1
            initialised = n
        }
    }

    // MARK: Scanners

    /// Skips whitespace; true when there was some (the bytes are then not canonical).
    mutating func skipSpace() -> Bool {
        let before = pos
        skipWhitespace()
        return pos != before
    }

    mutating func expect(_ byte: UInt8) throws(DDEError) {
        guard pos < count, base[pos] == byte else { throw notPlain }
        pos += 1
    }

    /// The content range of a string without escapes (UTF-8 checked as the parser does).
    /// Eight bytes at a time while none is special: a quote, a backslash, a control character
    /// or a non-ASCII byte (those go through the byte loop, which checks UTF-8).
    mutating func plainString() throws(DDEError) -> Range<Int> {
        try expect(UInt8(ascii: "\""))
        let start = pos
        let ones: UInt64 = 0x0101_0101_0101_0101, top: UInt64 = 0x8080_8080_8080_8080
        while count - pos >= 8 {
            let x = UInt64(littleEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
            let quote = x ^ (0x22 &* ones), backslash = x ^ (0x5C &* ones)
            // A zero byte in `quote` or `backslash`, a byte below 0x20, or a top bit set in x.
            let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((x &- 0x20 &* ones) & ~x) | x
            if special & top != 0 { break }
            pos += 8
        }
        while pos < count {
            let c = base[pos]
            if c == UInt8(ascii: "\"") {
                let range = start..<pos
                pos += 1
                guard range.count <= limits.maxStringBytes else { throw notPlain }
                return range
            }
            if c == UInt8(ascii: "\\") || c < 0x20 { throw notPlain }
            if c < 0x80 { pos += 1 } else { try skipUTF8Sequence() }
        }
        throw notPlain
    }

    /// A string of at most 256 bytes (dappId, action).
    mutating func shortString() throws(DDEError) -> String {
        let r = try plainString()
        guard r.count <= 256 else { throw notPlain }
        return String(decoding: bytes(r), as: UTF8.self)
    }

    /// Exactly `byteCount` bytes in lowercase hex.
    /// Decoded where it stands: the decoder refuses anything but lowercase hex digits, so the
    /// string needs no separate scan.
    /// Straight into the inline words of a digest or key: no array.
    mutating func hex32() throws(DDEError) -> Bytes32 {
        try expect(UInt8(ascii: "\""))
        guard count - pos > 64, base[pos + 64] == UInt8(ascii: "\""), let decoded = Bytes32.hex(base + pos) else {
            throw notPlain
        }
        pos += 65
        return decoded
    }

    /// The same for a signature's 64 bytes.
    mutating func hex64() throws(DDEError) -> Bytes64 {
        try expect(UInt8(ascii: "\""))
        guard count - pos > 128, base[pos + 128] == UInt8(ascii: "\""), let decoded = Bytes64.hex(base + pos) else {
            throw notPlain
        }
        pos += 129
        return decoded
    }

    /// An integer in [0, 2^53-1], and whether it was written canonically (digits only).
    mutating func integer() throws(DDEError) -> (value: UInt64, canonical: Bool) {
        let start = pos
        guard pos < count else { throw notPlain }
        // Plain digits, no leading zero, at most 15 of them (below 2^53), then no '.', 'e' or 'E':
        // the value directly. Anything else goes through the parser's number reader.
        var v: UInt64 = 0
        while pos < count, base[pos] >= UInt8(ascii: "0"), base[pos] <= UInt8(ascii: "9"), pos - start < 16 {
            v = v &* 10 &+ UInt64(base[pos] &- UInt8(ascii: "0"))
            pos += 1
        }
        let n = pos - start
        if n >= 1, n <= 15, !(n > 1 && base[start] == UInt8(ascii: "0")),
           pos == count || (base[pos] != UInt8(ascii: ".") && base[pos] != UInt8(ascii: "e") && base[pos] != UInt8(ascii: "E")
                            && !(base[pos] >= UInt8(ascii: "0") && base[pos] <= UInt8(ascii: "9"))) {
            return (v, true)
        }
        pos = start
        let d = try parseNumber()
        guard d >= 0, d <= Double(maxSafeInteger), d == d.rounded(.towardZero) else { throw notPlain }
        var digitsOnly = true
        for i in start..<pos where base[i] < UInt8(ascii: "0") || base[i] > UInt8(ascii: "9") { digitsOnly = false }
        return (UInt64(d), digitsOnly)
    }

    mutating func integer(_ canonical: inout Bool) throws(DDEError) -> UInt64 {
        let (value, plain) = try integer()
        if !plain { canonical = false }
        return value
    }

    func bytes(_ r: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + r.lowerBound, count: r.count)
    }

    func index(of key: Range<Int>, in keys: [StaticString]) -> Int {
        guard !key.isEmpty else { return -1 }
        for (i, k) in keys.enumerated() where matches(key, k) { return i }
        return -1
    }

    /// The same, trying `keys[next]` first: a canonical document lists its keys in that order,
    /// so the first compare finds them.
    func index(of key: Range<Int>, in keys: [StaticString], next: Int) -> Int {
        if next >= 0 && next < keys.count && !key.isEmpty && matches(key, keys[next]) { return next }
        return index(of: key, in: keys)
    }

    /// Whether the input's bytes at `key` (not empty) are `k`: length, first and last byte rule
    /// out nearly every other key before a full compare.
    private func matches(_ key: Range<Int>, _ k: StaticString) -> Bool {
        let n = key.count, p = k.utf8Start
        return k.utf8CodeUnitCount == n && p[0] == base[key.lowerBound] && p[n - 1] == base[key.upperBound - 1]
            && sameBytes(bytes(key), UnsafeBufferPointer(start: p, count: n))
    }

    /// memcmp order.
    func compare(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        let n = min(a.count, b.count)
        var i = 0
        while i < n {
            if a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
            i += 1
        }
        return a.count - b.count
    }
}
