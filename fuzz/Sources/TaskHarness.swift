// task: ComputeTask from bytes (what an executor receives), and TaskSpec (what the C API, the
// CLI and Python take) through ComputeTask.create.
//
// A fuzzed task rarely survives its hash and signature checks, which come after every field is
// read; when it fails only there, the harness recomputes inputHash, previousStateRoot, taskId
// and the signature (the fixture requester's key) and parses again, so the state and the
// checks behind the hashes get fuzzed too, and the fixed-up task must then be accepted.
@testable import DDE

private let hashStatuses: [Status] = [.inputHashMismatch, .previousStateRoot, .taskId, .taskSignature]

/// A task this process holds must survive its own canonical bytes: an executor parses exactly
/// those. Only the size and depth limits may refuse them (numbers grow when canonicalised).
func checkTaskRoundTrip(_ t: ComputeTask) {
    let bytes = t.canonicalBytes
    do throws(DDEError) {
        let back = try ComputeTask(json: try JSONParser.parse(bytes))
        expect(back.taskId == t.taskId, "task id changed in a round trip")
        expect(back.canonicalBytes == bytes, "canonical bytes changed in a round trip")
        // v1: the root of the whole state; v2: the root the carried entries' proof gives.
        expect((back.partialState?.root ?? back.stateLeaves.root) == t.previousStateRoot, "state root changed in a round trip")
    } catch {
        expect(error.status == .limit, "a task's own canonical bytes are refused: \(error.message)")
    }
}

func fuzzTask(_ data: UnsafeRawBufferPointer) {
    let json: JSON
    do throws(DDEError) {
        json = try JSONParser.parse(data)
    } catch {
        return
    }

    // As a task, the way an executor reads one.
    do throws(DDEError) {
        checkTaskRoundTrip(try ComputeTask(json: json))
    } catch {
        // The fix-up recomputes a v1 root; a v2 task's root is its proof's (refused on its own).
        if hashStatuses.contains(error.status), case .object(var o) = json, o["stateProof"] == nil {
            // Every field was read; only hashes and the signature were wrong. Fix them up.
            if case .object(let intent)? = o["intent"], let payload = intent["payload"] {
                o["inputHash"] = .string(payload.hash.hex)
            }
            var state = StateMap()
            if let s = o["state"] {
                do throws(DDEError) {
                    state = try StateMap(json: s, field: "task.state")
                } catch {
                    fatalError("state refused after the task's fields were accepted: \(error.message)")
                }
            }
            o["previousStateRoot"] = .string(state.root.hex)
            o["requesterPublicKey"] = .string(Fixture.requester.publicKey.hex)
            let id = ComputeTask.computeId(o)
            o["taskId"] = .string(id.hex)
            o["signature"] = .string(Fixture.requester.sign(.task, id).hex)
            do throws(DDEError) {
                checkTaskRoundTrip(try ComputeTask(json: .object(o)))
            } catch {
                fatalError("a task with its hashes and signature fixed up is refused: \(error.message)")
            }
        }
    }

    // As a spec: whatever TaskSpec accepts, create must turn into a task that parses back.
    guard let spec = try? TaskSpec(json: json, now: 1_764_000_000_000) else { return }
    do throws(DDEError) {
        let t = try ComputeTask.create(spec, requester: Fixture.requester)
        checkTaskRoundTrip(t)
        expect(t.requesterPublicKey == Fixture.requester.publicKey, "created task names another requester")
    } catch {
        fatalError("TaskSpec accepted a spec that ComputeTask.create refuses: \(error.message)")
    }
}
