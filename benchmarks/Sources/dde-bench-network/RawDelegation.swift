// The protocol floor as one delegation (benchmarks/network.sh): the steps no implementation of
// the protocol can skip, done raw and in their order by a raw requester (`RawRequester`, in the
// benchmark's own process, its delegations alternating with dde's) and a raw executor process
// (`dde-bench-network raw-execute`) through the same broker, timed end to end like a delegation.
// Raw as the floor's sum measures it (RawFloor): libsodium for Ed25519 and SHA-256 at the real
// lengths, sqlite3_* for the state read and the durable commit of the real rows; dde's C MQTT
// shim for the messages (cdde_mqtt.c, its network thread and queue: as fast as raw libmosquitto
// in BENCHMARKS.md, Network, and what any client that waits for other messages meanwhile needs);
// the task run by dde's sandbox (WasmKit), the execution the floor counts as it is. No JSON
// parsed or written outside that run, no checks beyond the mandated ones.
//
// Why beside the sum: the sum adds medians measured hot, in loops, and a round trip at a pace
// imitated by spinning and sleeping; a delegation runs each step once, after its process slept,
// with the caches the other processes (and the run) left. What that costs a minimal
// implementation is in this floor and not in the sum; what it costs dde beyond that stays in the
// ratio.
import CDDE
import DDE
import DDEBench
import DDEExecutor
import Dispatch
import Foundation

/// What the raw delegation repeats, from one of dde's delegations: the task (the raw executor
/// runs it), the rows the commit wrote, the sizes of the messages and of what each side hashes.
struct RawDelegationPlan: Codable {
    var task: [UInt8]
    var rows: RawCommitRows
    /// The offer and the result as dde sent them (envelope bytes).
    var offerBytes: Int
    var resultBytes: Int
    /// The requester's, before it signs the task: the task without taskId and signature (its id:
    /// the signed digest), the payload (inputHash).
    var taskHashLengths: [Int]
    /// The executor's, before it runs the task: the same two, then the task's state proof
    /// (65-byte preimages: a path and a value hash per carried key, a hash per tree row).
    var checkHashLengths: [Int]
    /// The executor's, after the run: H(result) and H(stateWrites) for its proof.
    var runHashLengths: [Int]
    /// The proof without its signature: hashed by the executor for its signature, by the
    /// requester to check it.
    var proofUnsignedBytes: Int
    /// The requester's, after the signature: check 8's next root from the proof (65-byte
    /// preimages), H(result), H(stateWrites), proofHash.
    var judgeHashLengths: [Int]
    /// The receipt without receiptHash and signature: hashed in the commit, for its signature.
    var receiptBytes: Int

    /// Throws unless the two lists whose first digest is signed have one, every length is
    /// positive, and what is hashed from a message fits its body (a short body would make the
    /// floor hash less than dde does); the other lengths are buffers of their own.
    func check() throws(DDEError) {
        let offerBody = offerBytes - RawMessage.header, resultBody = resultBytes - RawMessage.header
        guard !taskHashLengths.isEmpty, !checkHashLengths.isEmpty,
              (taskHashLengths + checkHashLengths).allSatisfy({ $0 > 0 && $0 <= offerBody }),
              proofUnsignedBytes > 0, proofUnsignedBytes <= resultBody,
              (runHashLengths + judgeHashLengths + [receiptBytes]).allSatisfy({ $0 > 0 }) else {
            throw DDEError(.argument, "raw delegation plan: a signed hash list is empty or a length is not positive or does not fit its message")
        }
    }
}

/// Layout of the raw messages: the sender's public key, its Ed25519 signature, then the body.
/// The offer's signed message is a 32-byte domain prefix and H(the body's first
/// taskHashLengths[0] bytes), as dde signs a prefix and a digest; the answer's the prefix and
/// H(its body's first proofUnsignedBytes). Byte 0 of each body is the delegation's number (mod 256).
enum RawMessage {
    static let header = 32 + 64
    static let prefix = [UInt8](repeating: 0x44, count: 32)
    static let planTopic = "bench/raw/plan"
    static let readyTopic = "bench/raw/ready"
    static let offerTopic = "bench/raw/offer"
    static let answerTopic = "bench/raw/answer"

    /// SHA-256 of the first `length` bytes of `p` (the plan's check makes them fit).
    static func sha256(_ p: UnsafeRawBufferPointer, _ length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_hash_sha256(&out, p.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(min(length, p.count)))
        return out
    }

    /// Hashes the first `lengths[k]` bytes of `body` for each k; returns the first digest (the
    /// one a signature covers).
    static func digests(_ body: UnsafeRawBufferPointer, _ lengths: [Int]) -> [UInt8] {
        var first: [UInt8] = []
        for (k, length) in lengths.enumerated() {
            let d = sha256(body, length)
            if k == 0 { first = d }
        }
        return first
    }

    /// The signature of `prefix + digest` with `sk`, as dde signs a domain prefix and a digest.
    static func sign(_ digest: [UInt8], _ sk: [UInt8]) -> [UInt8] {
        let signed = prefix + digest
        var signature = [UInt8](repeating: 0, count: 64)
        crypto_sign_detached(&signature, nil, signed, UInt64(signed.count), sk)
        return signature
    }

    /// Signs `digest` and writes `pk` and the signature into the message's header.
    static func seal(_ message: inout [UInt8], digest: [UInt8], pk: [UInt8], sk: [UInt8]) {
        message.replaceSubrange(0..<32, with: pk)
        message.replaceSubrange(32..<96, with: sign(digest, sk))
    }

    /// Whether the signature in `m`'s header is its key's over `prefix + digest`.
    static func opens(_ m: UnsafeMutablePointer<cdde_mqtt_message>, digest: [UInt8]) -> Bool {
        let signed = prefix + digest
        return crypto_sign_verify_detached(m.pointee.payload + 32, signed, UInt64(signed.count), m.pointee.payload) == 0
    }

    /// The body of a message at least a header long.
    static func body(_ m: UnsafeMutablePointer<cdde_mqtt_message>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: m.pointee.payload + header, count: m.pointee.length - header)
    }

    static func randomize(_ bytes: inout [UInt8], from: Int) {
        bytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress! + from, $0.count - from) }
    }
}

private func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// One MQTT client on dde's C shim, clean session, QoS 1.
final class RawMQTT {
    let handle: OpaquePointer

    init(port: Int, role: String) throws(DDEError) {
        let s = cdde_mqtt_security(tls: 0, ca_file: nil, ca_path: nil, cert_file: nil, key_file: nil, psk_file: nil,
                                   username: nil, password_file: nil, password_env: nil)
        var o = cdde_mqtt_options(max_message_bytes: 1 << 20, max_queued_messages: 64, max_queued_bytes: 1 << 22,
                                  keepalive_seconds: 60, connect_timeout_ms: 5000, reconnect_max_seconds: 5,
                                  clean_session: 1, security: s)
        var err = [CChar](repeating: 0, count: 256)
        var status: Int32 = 0
        guard let h = cdde_mqtt_open("127.0.0.1", Int32(port), "dde-bench-\(role)-\(getpid())", &o, &status, &err, err.count) else {
            throw DDEError(.transport, "raw \(role): \(String(cString: err))")
        }
        handle = h
    }

    deinit { cdde_mqtt_close(handle) }

    func subscribe(_ topic: String) throws(DDEError) {
        var err = [CChar](repeating: 0, count: 256)
        guard cdde_mqtt_subscribe(handle, topic, &err, err.count) == 0 else {
            throw DDEError(.transport, "raw MQTT: \(String(cString: err))")
        }
    }

    func publish(_ topic: String, _ bytes: [UInt8]) throws(DDEError) {
        var err = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeBufferPointer { cdde_mqtt_publish(handle, topic, $0.baseAddress, $0.count, 0, &err, err.count) }
        guard rc == 0 else { throw DDEError(.transport, "raw MQTT: \(String(cString: err))") }
    }

    /// The next message on `topic`, waiting until `deadline` (uptime ns); others are dropped.
    func next(on topic: String, until deadline: UInt64, _ matches: (UnsafeMutablePointer<cdde_mqtt_message>) -> Bool = { _ in true })
        -> UnsafeMutablePointer<cdde_mqtt_message>? {
        while true {
            let t = now()
            guard t < deadline else { return nil }
            guard let m = cdde_mqtt_receive(handle, Int32(min(200, (deadline - t) / 1_000_000 + 1))) else { continue }
            if String(cString: m.pointee.topic) == topic, matches(m) { return m }
            cdde_mqtt_message_free(m)
        }
    }
}

/// The raw requester: one raw delegation per `delegate()`, against a `raw-execute` process.
final class RawRequester {
    private let plan: RawDelegationPlan
    private let writer: RawSQLiteWriter
    private let mqtt: RawMQTT
    private var pk = [UInt8](repeating: 0, count: 32), sk = [UInt8](repeating: 0, count: 64)
    private var offer: [UInt8]
    private var judged: [[UInt8]]
    private var receipt: [UInt8]
    private var number = 0
    private var index: Int64 = 0

    /// Creates the raw store at `storePath`, hands the plan to the raw executor (waiting at most
    /// 20 s for it to say it is ready) and runs `warmup` untimed raw delegations.
    init(plan: RawDelegationPlan, port: Int, storePath: String, warmup: Int) throws(DDEError) {
        _ = cdde_init()
        try plan.check()
        self.plan = plan
        writer = try RawSQLiteWriter(path: storePath)
        mqtt = try RawMQTT(port: port, role: "rawreq")
        offer = [UInt8](repeating: 0, count: plan.offerBytes)
        judged = plan.judgeHashLengths.map { [UInt8](repeating: 0, count: $0) }
        receipt = [UInt8](repeating: 0, count: plan.receiptBytes)
        // Random once: SHA-256 and signing take as long whatever the bytes, and the tag (byte 0
        // of the offer's body) makes every task's digest and signature new.
        RawMessage.randomize(&offer, from: RawMessage.header)
        for j in judged.indices { RawMessage.randomize(&judged[j], from: 0) }
        RawMessage.randomize(&receipt, from: 0)
        crypto_sign_keypair(&pk, &sk)
        try mqtt.subscribe(RawMessage.readyTopic)
        try mqtt.subscribe(RawMessage.answerTopic)
        guard let planBytes = try? JSONEncoder().encode(plan) else { throw DDEError(.io, "raw delegation: cannot encode the plan") }
        let deadline = now() + 20_000_000_000
        var ready: UnsafeMutablePointer<cdde_mqtt_message>? = nil
        while ready == nil, now() < deadline {  // sent again until answered: the executor may subscribe late
            try mqtt.publish(RawMessage.planTopic, Array(planBytes))
            ready = mqtt.next(on: RawMessage.readyTopic, until: min(deadline, now() + 500_000_000))
        }
        guard let ready else { throw DDEError(.timeout, "raw delegation: no raw executor (dde-bench-network raw-execute) answered in 20 s") }
        cdde_mqtt_message_free(ready)
        // The first commit writes the rows the first read needs.
        try writer.commit(plan.rows, index: index)
        index += 1
        for _ in 0..<warmup { _ = try delegate() }
    }

    deinit {
        // Done: the executor returns (and writes its probes, if traced).
        try? mqtt.publish(RawMessage.offerTopic, [0])
        _ = cdde_mqtt_flush(mqtt.handle, 2000)
        writer.close()
        sodium_memzero(&sk, 64)
    }

    /// One raw delegation: nanoseconds from its start to its durable commit, and of the commit's
    /// transaction alone.
    func delegate() throws(DDEError) -> (total: UInt64, commit: UInt64) {
        let tag = UInt8(truncatingIfNeeded: number)
        number += 1
        offer[RawMessage.header] = tag
        let t0 = now()
        cdde_trace(CDDE_TRACE_DELEGATE_START)
        // Build: read the state and its proof, hash the task, sign it, send it.
        try writer.readTaskState(plan.rows)
        let taskId = offer.withUnsafeBytes { RawMessage.digests(UnsafeRawBufferPointer(rebasing: $0[RawMessage.header...]), plan.taskHashLengths) }
        RawMessage.seal(&offer, digest: taskId, pk: pk, sk: sk)
        cdde_trace(CDDE_TRACE_TASK_SIGNED)
        cdde_trace(CDDE_TRACE_OFFER_PUBLISH)
        try mqtt.publish(RawMessage.offerTopic, offer)
        let answer = mqtt.next(on: RawMessage.answerTopic, until: now() + 10_000_000_000) {
            $0.pointee.length > RawMessage.header && $0.pointee.payload[RawMessage.header] == tag
        }
        guard let answer else { throw DDEError(.timeout, "raw delegation \(number): no answer in 10 s") }
        cdde_trace(CDDE_TRACE_ANSWER_TAKEN)
        // Judge: the answer's signature over H(proof without signature), then check 8's hashes
        // and the signed objects'.
        let valid = RawMessage.opens(answer, digest: RawMessage.sha256(RawMessage.body(answer), plan.proofUnsignedBytes))
        cdde_mqtt_message_free(answer)
        guard valid else { throw DDEError(.signature, "raw delegation \(number): the answer's signature does not verify") }
        for j in judged.indices { _ = judged[j].withUnsafeBytes { RawMessage.sha256($0, $0.count) } }
        cdde_trace(CDDE_TRACE_ANSWER_JUDGED)
        // Commit: the receipt's hash and signature, one durable transaction of the rows.
        _ = RawMessage.sign(receipt.withUnsafeBytes { RawMessage.sha256($0, $0.count) }, sk)
        cdde_trace(CDDE_TRACE_COMMIT_RECEIPT)
        let c0 = now()
        try writer.commit(plan.rows, index: index)
        index += 1
        let t1 = now()
        cdde_trace(CDDE_TRACE_COMMIT_DURABLE)
        cdde_trace(CDDE_TRACE_DELEGATE_END)
        return (t1 - t0, t1 - c0)
    }
}

enum RawExecutor {
    /// The raw executor: takes the plan, says it is ready, then answers each offer until the
    /// requester says it is done (a message shorter than a header) or `idleSeconds` pass without
    /// one. Checks each task raw (its hashes, its signature: an offer that fails ends the run with
    /// an error), runs the plan's task in dde's sandbox, hashes the result and the writes, signs
    /// H(the proof part of the answer) and sends the answer.
    static func serve(port: Int, module: [UInt8], idleSeconds: Int) throws(DDEError) {
        _ = cdde_init()
        let mqtt = try RawMQTT(port: port, role: "rawexec")
        try mqtt.subscribe(RawMessage.planTopic)
        try mqtt.subscribe(RawMessage.offerTopic)
        var pk = [UInt8](repeating: 0, count: 32), sk = [UInt8](repeating: 0, count: 64)
        crypto_sign_keypair(&pk, &sk)
        defer { sodium_memzero(&sk, 64) }
        let idle = UInt64(idleSeconds) * 1_000_000_000
        guard let m = mqtt.next(on: RawMessage.planTopic, until: now() + idle) else {
            throw DDEError(.timeout, "raw-execute: no plan in \(idleSeconds) s")
        }
        let planBytes = Data(bytes: m.pointee.payload, count: m.pointee.length)
        cdde_mqtt_message_free(m)
        guard let plan = try? JSONDecoder().decode(RawDelegationPlan.self, from: planBytes) else {
            throw DDEError(.schema, "raw-execute: the plan does not decode")
        }
        try plan.check()
        var parsed: Result<ComputeTask, DDEError> = .failure(DDEError(.schema, "raw-execute: no task"))
        plan.task.withUnsafeBytes { b in
            do throws(DDEError) { parsed = .success(try ComputeTask(bytes: b)) } catch { parsed = .failure(error) }
        }
        let task = try parsed.get()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dde-raw-execute-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let codeStore = try CodeStore(directory: folder)
        guard try codeStore.add(module) == task.dappCodeHash else {
            throw DDEError(.codeHash, "raw-execute: --code is not the module the plan's task names")
        }
        let sandbox = Sandbox()
        try mqtt.publish(RawMessage.readyTopic, [1])
        // Random once, as the requester's (the offer's tag, copied into byte 0 of the answer's
        // body, makes every proof digest new).
        var answer = [UInt8](repeating: 0, count: plan.resultBytes)
        var run = plan.runHashLengths.map { [UInt8](repeating: 0, count: $0) }
        RawMessage.randomize(&answer, from: RawMessage.header)
        for j in run.indices { RawMessage.randomize(&run[j], from: 0) }
        while true {
            guard let m = mqtt.next(on: RawMessage.offerTopic, until: now() + idle) else { return }
            defer { cdde_mqtt_message_free(m) }
            guard m.pointee.length > RawMessage.header else { return }  // the requester is done
            cdde_trace(CDDE_TRACE_NODE_TAKEN)
            // Check: the task's hashes (its id first: the signed digest) and its proof's, the
            // requester's signature.
            guard RawMessage.opens(m, digest: RawMessage.digests(RawMessage.body(m), plan.checkHashLengths)) else {
                throw DDEError(.signature, "raw-execute: an offer's signature does not verify")
            }
            cdde_trace(CDDE_TRACE_NODE_TASK_CHECKED)
            // Run in dde's sandbox (the execution and the next root from the task's proof), then
            // the proof's hashes and signature, raw.
            _ = try sandbox.run(try Executor.request(for: task, codeStore: codeStore, sandbox: sandbox))
            for j in run.indices { _ = run[j].withUnsafeBytes { RawMessage.sha256($0, $0.count) } }
            answer[RawMessage.header] = m.pointee.payload[RawMessage.header]
            let proofHash = answer.withUnsafeBytes {
                RawMessage.sha256(UnsafeRawBufferPointer(rebasing: $0[RawMessage.header...]), plan.proofUnsignedBytes)
            }
            RawMessage.seal(&answer, digest: proofHash, pk: pk, sk: sk)
            cdde_trace(CDDE_TRACE_NODE_EXECUTED)
            cdde_trace(CDDE_TRACE_NODE_RESULT_PUBLISH)
            try mqtt.publish(RawMessage.answerTopic, answer)
        }
    }
}
