// The protocol floor as one delegation (benchmarks/network.sh): the steps no implementation of
// the protocol can skip, done raw and in their order by two processes through the same broker,
// and timed end to end like a delegation. Each step as the floor's sum measures it
// (RawFloor): libsodium for Ed25519 and SHA-256 at the real lengths, sqlite3_* for the state
// read and the durable commit of the real rows, dde's C MQTT shim (cdde_mqtt.c, as fast as raw
// libmosquitto: BENCHMARKS.md, Network) for the messages, the execution as a spin as long as the
// executors' own measured run. No parsing, no JSON, no checks beyond the mandated ones.
//
// Why beside the sum: the sum adds medians measured hot, in loops, and a round trip at a pace
// imitated by spinning and sleeping; a delegation runs each step once, after its process slept,
// with the caches the other processes left. Whatever that costs any implementation is in this
// floor and not in the sum; what it costs dde beyond a minimal implementation stays in the ratio.
import CDDE
import DDE
import DDEBench
import Dispatch
import Foundation

/// What the delegations of `dde-bench-network delegate` hand to the raw delegation (`--raw-plan`):
/// the rows their commit wrote and the lengths of what each side hashes and sends.
struct RawDelegationPlan: Codable {
    var rows: RawCommitRows
    /// The offer and the result as dde sent them (envelope bytes).
    var offerBytes: Int
    var resultBytes: Int
    /// Hashed by the requester before it signs the task: the task without taskId and signature,
    /// the payload (inputHash).
    var taskHashLengths: [Int]
    /// Hashed by the executor before it runs: the same two, and the task's state proof (65-byte
    /// preimages: a path and a value hash per carried key, a hash per tree row).
    var checkHashLengths: [Int]
    /// Hashed by the requester after the answer (check 8's next root from the proof, 65-byte
    /// preimages), then H(result), H(stateWrites), proofHash and the receipt's hash; the proof
    /// without its signature (under the executor's signature) is hashed before them.
    var judgeHashLengths: [Int]
    var proofUnsignedBytes: Int
}

/// Layout of the raw messages: the sender's public key, its Ed25519 signature, then the body.
/// The offer's signed message is a 32-byte domain prefix and H(the body's first taskBytes), as
/// dde signs a prefix and a digest; the answer's the prefix and H(its body's first
/// proofUnsignedBytes). Byte 0 of the body carries the delegation's number (mod 256).
private enum RawMessage {
    static let header = 32 + 64
    static let prefix = [UInt8](repeating: 0x44, count: 32)

    static func sha256(_ p: UnsafeRawBufferPointer, _ length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_hash_sha256(&out, p.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(min(length, p.count)))
        return out
    }
}

private func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

private final class RawMQTT {
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
        guard cdde_mqtt_subscribe(handle, topic, &err, err.count) == 0 else { throw DDEError(.transport, "raw MQTT: \(String(cString: err))") }
    }

    func publish(_ topic: String, _ bytes: [UInt8]) throws(DDEError) {
        var err = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeBufferPointer { cdde_mqtt_publish(handle, topic, $0.baseAddress, $0.count, 0, &err, err.count) }
        guard rc == 0 else { throw DDEError(.transport, "raw MQTT: \(String(cString: err))") }
    }
}

enum RawDelegation {
    static let offerTopic = "bench/raw/offer"
    static let answerTopic = "bench/raw/answer"

    /// The requester: `count` timed raw delegations after `warmup` untimed; prints one JSON line.
    static func request(plan: RawDelegationPlan, port: Int, storePath: String, count: Int, warmup: Int, pauseUs: Int) throws(DDEError) {
        _ = cdde_init()
        let writer = try RawSQLiteWriter(path: storePath)
        defer { writer.close() }
        let mqtt = try RawMQTT(port: port, role: "rawreq")
        try mqtt.subscribe(answerTopic)
        var pk = [UInt8](repeating: 0, count: 32), sk = [UInt8](repeating: 0, count: 64)
        crypto_sign_keypair(&pk, &sk)
        defer { sodium_memzero(&sk, 64) }
        // The task as the requester serialises it: the offer's body, fresh bytes each time.
        var offer = [UInt8](repeating: 0, count: max(plan.offerBytes, RawMessage.header + 1))
        var scratch = plan.judgeHashLengths.map { [UInt8](repeating: 0, count: $0) }
        var samples: [Double] = [], commits: [Double] = []
        // The first commit writes the rows the first read needs.
        try writer.commit(plan.rows, index: 0)
        var index: Int64 = 1
        for i in 0..<(warmup + count) {
            randombytes_buf(&offer[RawMessage.header], offer.count - RawMessage.header)
            for j in scratch.indices { randombytes_buf(&scratch[j], scratch[j].count) }
            offer[RawMessage.header] = UInt8(truncatingIfNeeded: i)
            let t0 = now()
            cdde_trace(CDDE_TRACE_DELEGATE_START)
            // Build: read the state and its proof, hash the task, sign it, send it.
            try writer.readTaskState(plan.rows)
            let signed = offer.withUnsafeBytes { o -> [UInt8] in
                let body = UnsafeRawBufferPointer(rebasing: o[RawMessage.header...])
                var digest: [UInt8] = []
                for (k, length) in plan.taskHashLengths.enumerated() {
                    let d = RawMessage.sha256(body, length)
                    if k == 0 { digest = d }
                }
                return RawMessage.prefix + digest
            }
            offer.replaceSubrange(0..<32, with: pk)
            var signature = [UInt8](repeating: 0, count: 64)
            crypto_sign_detached(&signature, nil, signed, 64, sk)
            offer.replaceSubrange(32..<96, with: signature)
            cdde_trace(CDDE_TRACE_TASK_SIGNED)
            cdde_trace(CDDE_TRACE_OFFER_PUBLISH)
            try mqtt.publish(offerTopic, offer)
            // Wait for the answer (the warm-up's first offers may find the executor not yet
            // subscribed: sent again every 200 ms until one is answered).
            var answer: UnsafeMutablePointer<cdde_mqtt_message>? = nil
            let deadline = now() + 10_000_000_000
            while answer == nil {
                guard let m = cdde_mqtt_receive(mqtt.handle, 200) else {
                    guard now() < deadline else { throw DDEError(.timeout, "raw delegation \(i): no answer in 10 s") }
                    if i < warmup { try mqtt.publish(offerTopic, offer) }
                    continue
                }
                if m.pointee.length > RawMessage.header, m.pointee.payload[RawMessage.header] == offer[RawMessage.header] {
                    answer = m
                } else {
                    cdde_mqtt_message_free(m)
                }
            }
            guard let answer else { continue }
            cdde_trace(CDDE_TRACE_ANSWER_TAKEN)
            // Judge: the answer's signature over H(proof without signature), check 8's hashes,
            // the signed objects' hashes; sign the receipt; one durable transaction.
            let body = UnsafeRawBufferPointer(start: answer.pointee.payload + RawMessage.header,
                                              count: answer.pointee.length - RawMessage.header)
            let message = RawMessage.prefix + RawMessage.sha256(body, plan.proofUnsignedBytes)
            let valid = crypto_sign_verify_detached(answer.pointee.payload + 32, message, 64, answer.pointee.payload) == 0
            cdde_mqtt_message_free(answer)
            guard valid else { throw DDEError(.signature, "raw delegation \(i): the answer's signature does not verify") }
            var receiptHash: [UInt8] = []
            for j in scratch.indices { receiptHash = scratch[j].withUnsafeBytes { RawMessage.sha256($0, $0.count) } }
            cdde_trace(CDDE_TRACE_ANSWER_JUDGED)
            crypto_sign_detached(&signature, nil, RawMessage.prefix + receiptHash, 64, sk)
            cdde_trace(CDDE_TRACE_COMMIT_RECEIPT)
            let c0 = now()
            try writer.commit(plan.rows, index: index)
            index += 1
            let t1 = now()
            cdde_trace(CDDE_TRACE_COMMIT_DURABLE)
            cdde_trace(CDDE_TRACE_DELEGATE_END)
            if i >= warmup {
                samples.append(Double(t1 - t0) / 1000)
                commits.append(Double(t1 - c0) / 1000)
            }
            if pauseUs > 0 { usleep(UInt32(pauseUs)) }
        }
        // Done: the executor returns (and writes its probes, if traced).
        try mqtt.publish(offerTopic, [0])
        _ = cdde_mqtt_flush(mqtt.handle, 2000)
        samples.sort()
        commits.sort()
        func pick(_ a: [Double], _ q: Double) -> Double { a.isEmpty ? 0 : a[min(a.count - 1, Int(Double(a.count) * q))] }
        let doc = JSON.object(JSONObject(uniqueMembers: [
            .init("commitP50Us", .number((pick(commits, 0.5) * 10).rounded() / 10)),
            .init("count", .number(Double(samples.count))),
            .init("p50Us", .number((pick(samples, 0.5) * 10).rounded() / 10)),
            .init("p99Us", .number((pick(samples, 0.99) * 10).rounded() / 10)),
        ]))
        print(String(decoding: doc.canonicalBytes(), as: UTF8.self))
    }

    /// The executor: answers each offer until the requester says it is done or `lifetime`
    /// seconds pass without an offer. Checks the
    /// task (its hashes, its signature; an offer that fails is dropped), then "runs" it: signs
    /// H(the answer's proof part) and spins until `executionUs` have passed since the run began,
    /// as long as dde's executors took for the run, the next root, the proof and its signature.
    static func serve(plan: RawDelegationPlan, port: Int, executionUs: Int, lifetime: Int) throws(DDEError) {
        _ = cdde_init()
        let mqtt = try RawMQTT(port: port, role: "rawexec")
        try mqtt.subscribe(offerTopic)
        var pk = [UInt8](repeating: 0, count: 32), sk = [UInt8](repeating: 0, count: 64)
        crypto_sign_keypair(&pk, &sk)
        defer { sodium_memzero(&sk, 64) }
        var answer = [UInt8](repeating: 0, count: max(plan.resultBytes, RawMessage.header + 1))
        while true {
            guard let m = cdde_mqtt_receive(mqtt.handle, Int32(lifetime * 1000)) else { return }
            defer { cdde_mqtt_message_free(m) }
            // A message shorter than a header is the requester's "done".
            guard m.pointee.length > RawMessage.header else { return }
            cdde_trace(CDDE_TRACE_NODE_TAKEN)
            // Check: the task's hashes (its id first: the signed digest) and the proof's, the
            // requester's signature.
            let body = UnsafeRawBufferPointer(start: m.pointee.payload + RawMessage.header,
                                              count: m.pointee.length - RawMessage.header)
            var digest: [UInt8] = []
            for (k, length) in plan.checkHashLengths.enumerated() {
                let d = RawMessage.sha256(body, length)
                if k == 0 { digest = d }
            }
            guard crypto_sign_verify_detached(m.pointee.payload + 32, RawMessage.prefix + digest, 64, m.pointee.payload) == 0 else {
                continue
            }
            cdde_trace(CDDE_TRACE_NODE_TASK_CHECKED)
            // Run.
            let start = now()
            randombytes_buf(&answer[RawMessage.header], answer.count - RawMessage.header)
            answer[RawMessage.header] = m.pointee.payload[RawMessage.header]
            let proofDigest = answer.withUnsafeBytes {
                RawMessage.sha256(UnsafeRawBufferPointer(rebasing: $0[RawMessage.header...]), plan.proofUnsignedBytes)
            }
            var signature = [UInt8](repeating: 0, count: 64)
            crypto_sign_detached(&signature, nil, RawMessage.prefix + proofDigest, 64, sk)
            answer.replaceSubrange(0..<32, with: pk)
            answer.replaceSubrange(32..<96, with: signature)
            let until = start + UInt64(executionUs) * 1000
            while now() < until {}
            cdde_trace(CDDE_TRACE_NODE_EXECUTED)
            cdde_trace(CDDE_TRACE_NODE_RESULT_PUBLISH)
            try mqtt.publish(answerTopic, answer)
        }
    }
}
