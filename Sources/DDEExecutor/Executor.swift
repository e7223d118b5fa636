// The executor: runs a checked ComputeTask in the sandbox and signs what happened as an
// ExecutionProof (PROTOCOL.md section 5), in exactly the form the core's Verifier checks.
import DDE
import Dispatch
import Foundation

public enum Executor {
    /// The sandbox request a task stands for: its module (from the code store, re-hashed), its
    /// action, the JCS bytes of its payload, its state, capabilities and limits. With `sandbox`
    /// the module comes from that sandbox's cache when it holds it (checked and parsed once, on
    /// its first load: see `Sandbox.module`); run the request in that sandbox.
    public static func request(for task: ComputeTask, codeStore: CodeStore, sandbox: Sandbox? = nil) throws(DDEError) -> ExecutionRequest {
        let module: [UInt8]
        var prepared: PreparedModule? = nil
        if let sandbox {
            (module, prepared) = try sandbox.module(task.dappCodeHash, codeStore: codeStore)
        } else {
            module = try codeStore.module(for: task.dappCodeHash)
        }
        var request = ExecutionRequest(
            module: module,
            action: task.intent.action,
            input: task.intent.payload.canonicalBytes(),
            state: task.stateOrEmpty.values,
            capabilities: task.requiredCapabilities,
            limits: task.limits)
        request.partialState = task.partialState
        request.prepared = prepared
        return request
    }

    /// Runs `task` and returns the signed compute_result. Throws the refusal (code not found,
    /// nondeterministic code, out of fuel, timeout, ...) when there is nothing to prove; the
    /// caller answers with a compute_error then.
    ///
    /// `now` is the proof's timestamp in Unix milliseconds (default: the clock).
    public static func execute(task: ComputeTask, keyPair: KeyPair, codeStore: CodeStore,
                               sandbox: Sandbox = Sandbox(), now: UInt64? = nil) throws(DDEError) -> ComputeResult {
        let started = DispatchTime.now().uptimeNanoseconds
        let outcome = try sandbox.run(try request(for: task, codeStore: codeStore, sandbox: sandbox))
        var proof = ExecutionProof(
            taskId: task.taskId, dappId: task.dappId, dappCodeHash: task.dappCodeHash,
            action: task.intent.action, inputHash: task.inputHash,
            capabilitiesDeclared: task.requiredCapabilities,
            capabilitiesUsed: outcome.capabilitiesUsed,
            executionTraceHash: outcome.executionTraceHash,
            traceLength: UInt64(outcome.traceLength), fuelUsed: outcome.fuelUsed,
            resultHash: outcome.resultDocument.hash,
            previousStateRoot: task.previousStateRoot, nextStateRoot: outcome.nextStateRoot,
            stateWritesHash: stateWrites(outcome).hash,
            executorPublicKey: keyPair.publicKey,
            timestamp: now ?? UInt64(max(0, Date().timeIntervalSince1970 * 1000)))
        proof.sign(with: keyPair)
        let latency = (DispatchTime.now().uptimeNanoseconds &- started) / 1_000_000
        return ComputeResult(proof: proof, result: outcome.resultDocument, stateWrites: stateWrites(outcome),
                             executionLatency: latency)
    }

    /// The outcome's writes in the protocol's form.
    public static func stateWrites(_ outcome: ExecutionOutcome) -> StateWrites {
        var map: [[UInt8]: [UInt8]?] = [:]
        for write in outcome.stateWrites { map[write.key] = .some(write.value) }
        return StateWrites(map)
    }
}

/// What an audit found: whether a received proof holds up under re-execution, and if not, the
/// first field (in proof order) where it parts from what the auditor computed.
public struct AuditReport: Sendable {
    /// nil when the proof holds.
    public let field: String?
    /// The auditor's value of that field.
    public let expected: String?
    /// The proof's (or result's) claim.
    public let claimed: String?
    /// The auditor's own run; nil when re-execution refused the task.
    public let outcome: ExecutionOutcome?

    public var holds: Bool { field == nil }
}

public enum Audit {
    /// Re-executes `task` and compares the claims of `result` with the auditor's own run. A
    /// wall-clock deadline is not applied (how fast a machine is proves nothing); fuel, steps and
    /// memory bounds are. The signature and the rest of the verification are the Verifier's job:
    /// the last comparison runs it, so a report that holds means "verifies and re-executes".
    public static func check(task: ComputeTask, result: ComputeResult, codeStore: CodeStore,
                             sandbox: Sandbox = Sandbox()) throws(DDEError) -> AuditReport {
        var request = try Executor.request(for: task, codeStore: codeStore, sandbox: sandbox)
        request.limits.maxExecutionTime = nil
        let outcome: ExecutionOutcome
        do {
            outcome = try sandbox.run(request)
        } catch {
            return AuditReport(field: "execution", expected: "\(error.status.name): \(error.detail)",
                               claimed: "a successful run", outcome: nil)
        }
        let proof = result.proof
        let writes = Executor.stateWrites(outcome)
        let comparisons: [(String, String, String)] = [
            ("taskId", task.taskId.hex, proof.taskId.hex),
            ("dappCodeHash", task.dappCodeHash.hex, proof.dappCodeHash.hex),
            ("inputHash", task.inputHash.hex, proof.inputHash.hex),
            ("capabilitiesDeclared", task.requiredCapabilities.joined(separator: ","), proof.capabilitiesDeclared.joined(separator: ",")),
            ("capabilitiesUsed", outcome.capabilitiesUsed.joined(separator: ","), proof.capabilitiesUsed.joined(separator: ",")),
            ("executionTraceHash", outcome.executionTraceHash.hex, proof.executionTraceHash.hex),
            ("traceLength", String(outcome.traceLength), String(proof.traceLength)),
            ("fuelUsed", String(outcome.fuelUsed), String(proof.fuelUsed)),
            ("resultHash", outcome.resultDocument.hash.hex, proof.resultHash.hex),
            ("result", outcome.resultDocument.hash.hex, result.result.hash.hex),
            ("previousStateRoot", task.previousStateRoot.hex, proof.previousStateRoot.hex),
            ("nextStateRoot", outcome.nextStateRoot.hex, proof.nextStateRoot.hex),
            ("stateWritesHash", writes.hash.hex, proof.stateWritesHash.hex),
            ("stateWrites", writes.hash.hex, result.stateWrites.hash.hex),
        ]
        for (field, expected, claimed) in comparisons where expected.utf8.elementsEqual(claimed.utf8) == false {
            return AuditReport(field: field, expected: expected, claimed: claimed, outcome: outcome)
        }
        do {
            _ = try Verifier.verify(task: task, result: result)
        } catch {
            return AuditReport(field: "verify", expected: "DDE_OK", claimed: "\(error.status.name): \(error.detail)", outcome: outcome)
        }
        return AuditReport(field: nil, expected: nil, claimed: nil, outcome: outcome)
    }
}

extension Audit {
    /// What the deterministic execution of `task` gives, for judging evidence. Throws
    /// `.codeNotFound` when the module is not in the code store (nothing can be judged then);
    /// an execution that refuses the task returns nil.
    public static func outcome(of task: ComputeTask, codeStore: CodeStore,
                               sandbox: Sandbox = Sandbox()) throws(DDEError) -> EvidenceDocument.Outcome? {
        var request = try Executor.request(for: task, codeStore: codeStore, sandbox: sandbox)
        request.limits.maxExecutionTime = nil
        guard let run = try? sandbox.run(request) else { return nil }
        return EvidenceDocument.Outcome(resultHash: run.resultDocument.hash, nextStateRoot: run.nextStateRoot,
                                        stateWritesHash: Executor.stateWrites(run).hash,
                                        executionTraceHash: run.executionTraceHash)
    }

    /// Names the liars of an evidence document: by itself when it can (equivocation, signed
    /// fields), else by re-executing its task from `codeStore`.
    public static func judge(_ doc: EvidenceDocument, codeStore: CodeStore,
                             sandbox: Sandbox = Sandbox()) throws(DDEError) -> EvidenceDocument.Verdict {
        if let v = doc.selfEvidentVerdict { return v }
        guard let outcome = try outcome(of: doc.task, codeStore: codeStore, sandbox: sandbox) else {
            // Both claim a successful run; this run refused. That may be a difference of this
            // sandbox (a limit, a version), so it convicts nobody.
            throw DDEError(.evidenceUnjudged, "re-execution here refused task \(doc.task.taskId.hex), which both proofs claim ran: nobody can be named from this run")
        }
        return doc.verdict(reexecuted: outcome)
    }
}
