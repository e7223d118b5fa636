// envelope: every message a peer can publish, through Envelope.decode and the payload reader of
// its type; what is accepted must survive its own canonical bytes.
// presence: topic and payload pairs on the presence and evidence topics, into a real Delegator
// (what `discover` does with them), over a transport that only hands the messages out.
@testable import DDE
import Glibc

private func roundTrip(_ envelope: Envelope) {
    let bytes = envelope.canonicalBytes
    do throws(DDEError) {
        let back = try Envelope.decode(bytes)
        expect(back.type == envelope.type && back.payload == envelope.payload, "envelope changed in a round trip")
    } catch {
        expect(error.status == .limit, "an envelope's canonical bytes are refused: \(error.message)")
    }
}

func fuzzEnvelope(_ data: UnsafeRawBufferPointer) {
    checkDirectReaders(Array(data))
    let envelope: Envelope
    do throws(DDEError) {
        envelope = try Envelope.decode(Array(data))
    } catch {
        return
    }
    roundTrip(envelope)
    let payload = envelope.payload
    switch envelope.type {
    case .computeTask:
        guard let offer = try? TaskOffer(json: payload) else { return }
        _ = offer.isAddressed(to: Fixture.executor.publicKey)
        checkTaskRoundTrip(offer.task)
        roundTrip(offer.envelope)
    case .computeResult:
        guard let result = try? ComputeResult(json: payload) else { return }
        _ = try? Verifier.verify(task: Fixture.task, result: result)
        expect(result.canonicalBytes == result.json.canonicalBytes(), "ComputeResult.canonicalBytes differs from its JSON's")
    case .computeError:
        guard let e = try? ComputeErrorMessage(json: payload) else { return }
        let back = try? ComputeErrorMessage(json: e.json)
        expect(back?.signedHash == e.signedHash, "compute_error does not survive a round trip")
        _ = e.hasValidSignature
        roundTrip(e.envelope)
    case .codeRequest:
        guard let r = try? CodeRequest(json: payload) else { return }
        roundTrip(r.envelope)
    case .code:
        guard let c = try? CodeMessage(json: payload) else { return }
        expect(SHA256.hash(c.module) == c.codeHash, "code accepted under a hash it does not have")
        expect((try? CodeMessage(json: c.json))?.module == c.module, "code does not survive a round trip")
    case .presence:
        guard let p = try? Presence(json: payload) else { return }
        _ = p.grants(Fixture.task.requiredCapabilities)
        _ = Topic.executors(p.executorPublicKey)
        _ = p.hasValidSignature
        expect((try? Presence(json: p.json))?.signedHash == p.signedHash, "presence does not survive a round trip")
        roundTrip(p.envelope)
    case .evidence:
        guard let doc = try? EvidenceDocument(json: payload) else { return }
        _ = doc.selfEvidentVerdict
        roundTrip(doc.envelope)
    }
}

/// What differs between two readings of a task's fields (nil: nothing), field by field.
func fieldDifference(_ a: ComputeTask.Fields, _ b: ComputeTask.Fields) -> String? {
    if a.taskVersion != b.taskVersion { return "taskVersion" }
    if a.taskId != b.taskId { return "taskId" }
    if a.intent != b.intent { return "intent" }
    if a.dappId != b.dappId || Array(a.dappId.utf8) != Array(b.dappId.utf8) { return "dappId" }
    if a.dappCodeHash != b.dappCodeHash { return "dappCodeHash" }
    if a.requiredCapabilities.map({ Array($0.utf8) }) != b.requiredCapabilities.map({ Array($0.utf8) }) { return "requiredCapabilities" }
    if a.inputHash != b.inputHash { return "inputHash" }
    if a.previousStateRoot != b.previousStateRoot { return "previousStateRoot" }
    if a.wholeState != b.wholeState { return "state (v1)" }
    if (a.partialRead == nil) != (b.partialRead == nil) { return "state (v2)" }
    if let p = a.partialRead, let q = b.partialRead {
        if p.proof != q.proof { return "stateProof" }
        if p.entries.count != q.entries.count { return "state (v2)" }
        for (x, y) in zip(p.entries, q.entries) where x.key != y.key || x.value != y.value { return "state (v2)" }
    }
    if a.requesterPublicKey != b.requesterPublicKey { return "requesterPublicKey" }
    if a.timestamp != b.timestamp { return "timestamp" }
    if a.limits != b.limits { return "limits" }
    if a.signature != b.signature { return "signature" }
    return nil
}

/// An offer the direct reader reads, against the generic reading of the same bytes before any of
/// the task's checks (so whatever the fuzzer changes, and the hashes and signature no longer
/// match, a misread still shows): the same executors and fields, H(task without taskId and
/// signature), canonical bytes and H(intent.payload).
private func checkPlainOfferRead(_ bytes: [UInt8]) {
    guard let plain = PlainOffer(envelope: bytes) else { return }
    do throws(DDEError) {
        let envelope = try Envelope.decode(bytes)
        expect(envelope.type == .computeTask, "PlainOffer read a \(envelope.type) envelope")
        let offer = try FieldReader(envelope.payload, context: "compute_task")
        try offer.only(["task", "executors"])
        guard case .array(let items) = try offer.value("executors"), items.count <= TaskOffer.maxExecutors else {
            fatalError("PlainOffer read executors the generic path refuses")
        }
        var executors: [PublicKey] = []
        for item in items {
            guard case .string(let hex) = item else { fatalError("PlainOffer read an executor that is not a string") }
            executors.append(try PublicKey(hex: hex, field: "compute_task.executors"))
        }
        expect(executors == plain.executors, "the two offer readers read different executors")
        let task = try offer.value("task")
        let r = try FieldReader(task, context: "task")
        let fields = try ComputeTask.Fields(r)
        if let field = fieldDifference(plain.task.fields, fields) { fatalError("the two offer readers read different \(field)") }
        expect(SHA256.hash(plain.task.unsigned) == ComputeTask.computeId(r.object), "the two offer readers hash different unsigned tasks")
        expect(plain.task.bytes == task.canonicalBytes(), "the task bytes PlainOffer keeps are not the task's canonical bytes")
        expect(plain.task.payloadHash == fields.intent.payload.hash, "PlainOffer's H(intent.payload) is wrong")
    } catch {
        fatalError("PlainOffer read an offer whose fields the generic path refuses: \(error.message)")
    }
}

/// The direct readers of the delegation path's two messages (TaskOffer.readPlain(envelope:) on
/// the executor, ComputeResult.readPlain(envelope:) on the requester) against the generic path
/// (Envelope.decode and the payload's reader): they accept nothing it refuses, what they accept
/// reads the same, and a task they read but refuse (its hashes, proof or signature) is refused by
/// the generic path with the same status.
private func checkDirectReaders(_ bytes: [UInt8]) {
    checkPlainOfferRead(bytes)
    var envelope: Envelope?
    var envelopeStatus = Status.ok
    do throws(DDEError) {
        envelope = try Envelope.decode(bytes)
    } catch {
        envelopeStatus = error.status
    }
    var genericOffer: TaskOffer?
    var offerStatus = envelopeStatus
    if let envelope {
        if envelope.type == .computeTask {
            do throws(DDEError) {
                genericOffer = try TaskOffer(json: envelope.payload)
                offerStatus = .ok
            } catch {
                offerStatus = error.status
            }
        } else {
            offerStatus = .messageType
        }
    }
    do throws(DDEError) {
        if let fast = try TaskOffer.readPlain(envelope: bytes) {
            guard let slow = genericOffer else {
                fatalError("TaskOffer.readPlain read an offer the generic path refuses (\(offerStatus.name))")
            }
            expect(fast.task.taskId == slow.task.taskId && fast.executors == slow.executors, "the two offer readers read different offers")
            expect(fast.task.canonicalBytes == slow.task.canonicalBytes, "the two offer readers read different task bytes")
            expect(fast.task.json == slow.task.json, "the two offer readers read different tasks")
            expect(fast.task.canonicalBytes == fast.task.json.canonicalBytes(), "a task read directly is not canonical")
        }
    } catch {
        expect(error.status == offerStatus, "TaskOffer.readPlain refuses with \(error.status.name), the generic path with \(offerStatus.name)")
    }
    if let fast = ComputeResult.readPlain(envelope: bytes) {
        guard let envelope, envelope.type == .computeResult, let slow = try? ComputeResult(json: envelope.payload) else {
            fatalError("ComputeResult.readPlain(envelope:) read a compute_result the generic path refuses")
        }
        expect(fast.result.canonicalBytes == slow.canonicalBytes, "the two result readers read different results")
        if let h = fast.proofSignedHash { expect(h == slow.proof.signedHash, "H(proof without signature) from the envelope is wrong") }
        if let h = fast.resultHash { expect(h == slow.result.hash, "H(result) from the envelope is wrong") }
        if let h = fast.stateWritesHash { expect(h == slow.stateWrites.hash, "H(stateWrites) from the envelope is wrong") }
        if let b = fast.canonicalBytes {
            expect(b == slow.canonicalBytes, "bytes taken from the envelope as canonical are not the result's canonical bytes")
            if let r = fast.proofRange {
                expect(r.upperBound <= b.count && Array(b[r]) == slow.proof.canonicalBytes(signed: true),
                       "the proof's range in the canonical bytes is not the canonical proof")
            }
        }
    }
}

/// Hands out the messages it was given, in order; publishes nowhere.
final class FuzzTransport: Transport {
    var inbox: [Message] = []
    var next = 0
    func publish(topic: String, payload: [UInt8], retain: Bool) throws(DDEError) {}
    func subscribe(_ filter: String) throws(DDEError) {}
    func unsubscribe(_ filter: String) throws(DDEError) {}
    func receive(timeoutMs: Int) throws(DDEError) -> Message? {
        guard next < inbox.count else { return nil }
        next += 1
        return inbox[next - 1]
    }
}

nonisolated(unsafe) private var storePath = ""

/// One store per process (SQLite in a file: the store needs WAL), emptied before each input,
/// removed at exit.
enum FuzzStore {
    static let store: Store = {
        var dir = "/tmp"
        if let t = getenv("DDE_FUZZ_TMP") { dir = String(cString: t) }
        let path = "\(dir)/dde-fuzz-\(getpid()).db"
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        storePath = path
        atexit {
            for suffix in ["", "-wal", "-shm", "-journal"] { unlink(storePath + suffix) }
        }
        let s = try! Store(path: path)
        // No fsync and no WAL file per transaction: the harness needs speed, not durability.
        try! s.database.execute("PRAGMA synchronous=OFF")
        _ = try! s.database.queryText("PRAGMA journal_mode=MEMORY")
        return s
    }()

    static func reset() {
        try! store.database.execute("DELETE FROM evidence")
        try! store.reputation.clearAll()
    }
}

/// Messages from the input: records separated by NUL bytes, each `topic\npayload` (no newline:
/// the whole record is the topic and the payload is empty, a retained presence being cleared).
func messages(_ data: UnsafeRawBufferPointer, max: Int) -> [Message] {
    var out: [Message] = []
    for record in data.split(separator: 0, omittingEmptySubsequences: true).prefix(max) {
        if let nl = record.firstIndex(of: UInt8(ascii: "\n")) {
            out.append(Message(topic: String(decoding: record[record.startIndex..<nl], as: UTF8.self),
                               payload: Array(record[(nl + 1)...])))
        } else {
            out.append(Message(topic: String(decoding: record, as: UTF8.self), payload: []))
        }
    }
    return out
}

func fuzzPresence(_ data: UnsafeRawBufferPointer) {
    FuzzStore.reset()
    let transport = FuzzTransport()
    transport.inbox = messages(data, max: 64)
    let delegator: Delegator<FuzzTransport>
    do throws(DDEError) {
        delegator = try Delegator(transport: transport, store: FuzzStore.store, identity: Fixture.requester,
                                  clock: { Fixture.now }, random: { 42 })
    } catch {
        fatalError("Delegator: \(error.message)")
    }
    // A judge that re-executes nothing but answers like the first proof (so both verdict paths run).
    delegator.judge = { doc in EvidenceDocument.Outcome(doc.proofs[0]) }
    do throws(DDEError) {
        _ = try delegator.discover(timeoutMs: 0)
    } catch {
        fatalError("discover failed on messages from the network: \(error.message)")
    }
    expect(transport.next == transport.inbox.count, "discover stopped before the last message")
    for p in delegator.executors {
        expect(!p.executorPublicKey.hex.isEmpty, "executor without a key")
    }
    expect(delegator.executors.count <= Delegator<FuzzTransport>.maxExecutors, "executor list over its bound")
    if verbose {
        print("presence: \(transport.inbox.count) messages, \(delegator.executors.count) executors, "
              + "\(delegator.ignoredMessages) ignored, evidence \(delegator.evidenceReceived.map { "\($0.result)" })")
    }
}
