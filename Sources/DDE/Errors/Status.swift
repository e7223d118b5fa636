// Every failure in dde has its own status code. The numbers are ABI: they appear in
// include/dde.h as DDE_* constants and never change meaning once published. Codes are grouped in
// ranges so each domain can grow without renumbering.
public enum Status: Int32, Sendable {
    // 0-19: general
    case ok = 0
    case argument = 1          // a NULL pointer, a bad length, an out-of-range value
    case noMemory = 2
    case internalError = 3
    case io = 4                // reading or writing a file failed
    case closed = 5            // the handle was already closed

    // 20-39: decoding and encoding (verification check 1: well-formed)
    case json = 20             // not RFC 8259 JSON
    case limit = 21            // a parser limit: size, depth, string length, key count
    case duplicateKey = 22     // an object names the same key twice
    case schema = 23           // a field is missing, unknown, or of the wrong type
    case encoding = 24         // hex, base64 or UTF-8 of a field is invalid
    case version = 25          // an unknown taskVersion / proofVersion / receiptVersion
    case number = 26           // a number that is not an integer in [0, 2^53-1] where one is needed

    // 40-59: task checks and the ten ordered verification checks (PROTOCOL.md section 7)
    case taskId = 40           // taskId is not H(task without taskId and signature)
    case taskSignature = 41    // the requester's signature over the task does not verify
    case taskMismatch = 42     // check 2: proof.taskId differs from the task's id
    case codeHashMismatch = 43 // check 3: dappCodeHash differs
    case inputHashMismatch = 44 // check 4: inputHash differs
    case capabilities = 45     // check 5: declared != required, or used is not a subset
    case stepsExceeded = 46    // check 6: traceLength > maxExecutionSteps
    case fuelExceeded = 47     // check 6: fuelUsed > maxFuel
    case resultHash = 48       // check 7: resultHash != H(result)
    case writesHash = 49       // check 7: stateWritesHash != H(stateWrites)
    case previousStateRoot = 50 // check 8: previousStateRoot differs from the task's
    case nextStateRoot = 51    // check 8: nextStateRoot is not the root after the writes
    case proofSignature = 52   // check 9: the executor's signature does not verify
    case executorBanned = 53   // check 10: policy: the executor is temporarily banned
    case executorBlacklisted = 54 // check 10: policy: the executor is blacklisted
    case resultMismatch = 55   // compute_result fields disagree with its proof (taskId, key, hash)
    case key = 56              // a key is malformed or does not match its pair
    case signature = 57        // a signature does not verify (outside proof verification)

    // 60-79: the durable store
    case store = 60            // SQLite failed (message says how)
    case stale = 61            // the task's previousStateRoot is not the dApp's current root
    case duplicate = 62        // the task is already committed
    case chainBroken = 63      // verifyChain found a bad link, hash, signature or root
    case schemaVersion = 64    // the store was written by a newer dde
    case notFound = 65

    // 80-99: execution
    case codeNotFound = 80     // no module with that dappCodeHash in the code store
    case codeHash = 81         // module bytes do not hash to the name they came under
    case codeInvalid = 82      // the module does not parse or validate
    case codeNondeterministic = 83 // float, SIMD, threads or atomics instructions
    case capabilityDenied = 84 // the module imports a capability the task did not declare
    case unknownImport = 85
    case noSuchAction = 86     // no export named intent.action of type () -> i32
    case outOfFuel = 87
    case tooManySteps = 88
    case memoryLimit = 89
    case timeout = 90
    case guestTrap = 91
    case guestBounds = 92      // a guest pointer/length outside its memory
    case resultNotJSON = 93    // output_write bytes are not one JSON document
    case actionFailed = 94     // the action returned a non-zero status
    case auditFailed = 95      // re-execution disagrees with a proof (the proof is evidence)

    // 100-119: network and delegation
    case transport = 100
    case noResult = 101        // no valid result before the deadline
    case quorumNotReached = 102
    case busy = 103            // the executor refused: too many concurrent tasks for this peer
    case messageType = 104     // an envelope of a message type this dde does not know
    case noExecutor = 105      // no executor fits the task (capabilities, reputation, critical rules)
    case unresolved = 106      // audited: proofs disagreed and no validated majority decided

    // 110-119: fraud evidence (PROTOCOL.md section 12)
    case evidenceAgrees = 110  // the evidence's proofs agree: it proves nothing
    case evidenceUnjudged = 111 // naming the liar needs a re-execution that was not possible here
}

extension Status {
    /// The constant's name as in dde.h, e.g. "DDE_ERR_TASK_ID".
    public var name: StaticString {
        switch self {
        case .ok: return "DDE_OK"
        case .argument: return "DDE_ERR_ARGUMENT"
        case .noMemory: return "DDE_ERR_NOMEM"
        case .internalError: return "DDE_ERR_INTERNAL"
        case .io: return "DDE_ERR_IO"
        case .closed: return "DDE_ERR_CLOSED"
        case .json: return "DDE_ERR_JSON"
        case .limit: return "DDE_ERR_LIMIT"
        case .duplicateKey: return "DDE_ERR_DUPLICATE_KEY"
        case .schema: return "DDE_ERR_SCHEMA"
        case .encoding: return "DDE_ERR_ENCODING"
        case .version: return "DDE_ERR_VERSION"
        case .number: return "DDE_ERR_NUMBER"
        case .taskId: return "DDE_ERR_TASK_ID"
        case .taskSignature: return "DDE_ERR_TASK_SIGNATURE"
        case .taskMismatch: return "DDE_ERR_TASK_MISMATCH"
        case .codeHashMismatch: return "DDE_ERR_CODE_HASH_MISMATCH"
        case .inputHashMismatch: return "DDE_ERR_INPUT_HASH_MISMATCH"
        case .capabilities: return "DDE_ERR_CAPABILITIES"
        case .stepsExceeded: return "DDE_ERR_STEPS_EXCEEDED"
        case .fuelExceeded: return "DDE_ERR_FUEL_EXCEEDED"
        case .resultHash: return "DDE_ERR_RESULT_HASH"
        case .writesHash: return "DDE_ERR_WRITES_HASH"
        case .previousStateRoot: return "DDE_ERR_PREVIOUS_STATE_ROOT"
        case .nextStateRoot: return "DDE_ERR_NEXT_STATE_ROOT"
        case .proofSignature: return "DDE_ERR_PROOF_SIGNATURE"
        case .executorBanned: return "DDE_ERR_EXECUTOR_BANNED"
        case .executorBlacklisted: return "DDE_ERR_EXECUTOR_BLACKLISTED"
        case .resultMismatch: return "DDE_ERR_RESULT_MISMATCH"
        case .key: return "DDE_ERR_KEY"
        case .signature: return "DDE_ERR_SIGNATURE"
        case .store: return "DDE_ERR_STORE"
        case .stale: return "DDE_ERR_STALE"
        case .duplicate: return "DDE_ERR_DUPLICATE"
        case .chainBroken: return "DDE_ERR_CHAIN_BROKEN"
        case .schemaVersion: return "DDE_ERR_SCHEMA_VERSION"
        case .notFound: return "DDE_ERR_NOT_FOUND"
        case .codeNotFound: return "DDE_ERR_CODE_NOT_FOUND"
        case .codeHash: return "DDE_ERR_CODE_HASH"
        case .codeInvalid: return "DDE_ERR_CODE_INVALID"
        case .codeNondeterministic: return "DDE_ERR_CODE_NONDETERMINISTIC"
        case .capabilityDenied: return "DDE_ERR_CAPABILITY_DENIED"
        case .unknownImport: return "DDE_ERR_UNKNOWN_IMPORT"
        case .noSuchAction: return "DDE_ERR_NO_SUCH_ACTION"
        case .outOfFuel: return "DDE_ERR_OUT_OF_FUEL"
        case .tooManySteps: return "DDE_ERR_TOO_MANY_STEPS"
        case .memoryLimit: return "DDE_ERR_MEMORY_LIMIT"
        case .timeout: return "DDE_ERR_TIMEOUT"
        case .guestTrap: return "DDE_ERR_GUEST_TRAP"
        case .guestBounds: return "DDE_ERR_GUEST_BOUNDS"
        case .resultNotJSON: return "DDE_ERR_RESULT_NOT_JSON"
        case .actionFailed: return "DDE_ERR_ACTION_FAILED"
        case .auditFailed: return "DDE_ERR_AUDIT_FAILED"
        case .transport: return "DDE_ERR_TRANSPORT"
        case .noResult: return "DDE_ERR_NO_RESULT"
        case .quorumNotReached: return "DDE_ERR_QUORUM_NOT_REACHED"
        case .busy: return "DDE_ERR_BUSY"
        case .messageType: return "DDE_ERR_MESSAGE_TYPE"
        case .noExecutor: return "DDE_ERR_NO_EXECUTOR"
        case .unresolved: return "DDE_ERR_UNRESOLVED"
        case .evidenceAgrees: return "DDE_ERR_EVIDENCE_AGREES"
        case .evidenceUnjudged: return "DDE_ERR_EVIDENCE_UNJUDGED"
        }
    }

    /// A one-line description of the code, as dde_status_message returns it.
    public var summary: StaticString {
        switch self {
        case .ok: return "success"
        case .argument: return "invalid argument (NULL pointer, bad length or out-of-range value)"
        case .noMemory: return "out of memory"
        case .internalError: return "internal error in dde (please report it)"
        case .io: return "file input/output failed"
        case .closed: return "the handle is closed"
        case .json: return "input is not valid JSON (RFC 8259)"
        case .limit: return "input exceeds a parser limit (size, depth, string length or key count)"
        case .duplicateKey: return "a JSON object repeats a key"
        case .schema: return "a field is missing, unknown, or of the wrong type"
        case .encoding: return "a hex, base64 or UTF-8 field is malformed"
        case .version: return "unknown protocol version"
        case .number: return "a number is not an integer in [0, 2^53-1]"
        case .taskId: return "taskId does not match the task's contents"
        case .taskSignature: return "the requester's task signature does not verify"
        case .taskMismatch: return "the proof is for another task"
        case .codeHashMismatch: return "the proof names other code (dappCodeHash differs)"
        case .inputHashMismatch: return "the proof names another input (inputHash differs)"
        case .capabilities: return "capabilities differ from the task's or exceed them"
        case .stepsExceeded: return "traceLength exceeds the task's maxExecutionSteps"
        case .fuelExceeded: return "fuelUsed exceeds the task's maxFuel"
        case .resultHash: return "resultHash does not match the result"
        case .writesHash: return "stateWritesHash does not match the state writes"
        case .previousStateRoot: return "previousStateRoot differs from the task's"
        case .nextStateRoot: return "nextStateRoot is not the root after applying the writes"
        case .proofSignature: return "the executor's proof signature does not verify"
        case .executorBanned: return "the executor is temporarily banned"
        case .executorBlacklisted: return "the executor is blacklisted"
        case .resultMismatch: return "the compute_result disagrees with its own proof"
        case .key: return "malformed key or key file"
        case .signature: return "the signature does not verify"
        case .store: return "the store (SQLite) failed"
        case .stale: return "stale task: the dApp's state has moved on since the task was made"
        case .duplicate: return "the task is already committed"
        case .chainBroken: return "the receipt chain does not verify"
        case .schemaVersion: return "the store was written by a newer version of dde"
        case .notFound: return "not found"
        case .codeNotFound: return "no module with that code hash in the code store"
        case .codeHash: return "module bytes do not match their code hash"
        case .codeInvalid: return "the module does not parse or validate"
        case .codeNondeterministic: return "the module uses float, SIMD, threads or atomics instructions"
        case .capabilityDenied: return "the module imports a capability the task did not declare"
        case .unknownImport: return "the module imports an unknown function"
        case .noSuchAction: return "the module exports no function () -> i32 named as the action"
        case .outOfFuel: return "execution ran out of fuel (maxFuel)"
        case .tooManySteps: return "execution made more capability calls than maxExecutionSteps"
        case .memoryLimit: return "execution needed more memory than maxMemoryUsage"
        case .timeout: return "execution exceeded maxExecutionTime"
        case .guestTrap: return "the module trapped"
        case .guestBounds: return "the module passed an out-of-bounds pointer to a host function"
        case .resultNotJSON: return "the module's output is not one JSON document"
        case .actionFailed: return "the action returned a non-zero status"
        case .auditFailed: return "re-execution disagrees with the proof"
        case .transport: return "the transport failed"
        case .noResult: return "no valid result arrived before the deadline"
        case .quorumNotReached: return "not enough executors agreed before the deadline"
        case .busy: return "the executor is busy (too many tasks from this requester)"
        case .messageType: return "unknown message type in an envelope"
        case .noExecutor: return "no known executor fits the task (capabilities, reputation or critical rules)"
        case .unresolved: return "proofs disagreed and no validated majority decided (nothing committed)"
        case .evidenceAgrees: return "the evidence's two proofs agree: it proves nothing"
        case .evidenceUnjudged: return "the evidence needs re-execution to name the liar, and none was possible here"
        }
    }
}

/// The one error type of the core. Typed throws (`throws(DDEError)`) keep the core free of
/// existentials so it compiles under Embedded Swift.
public struct DDEError: Error, Sendable {
    public let status: Status
    /// What exactly went wrong, for a human: which field, which position, what to do.
    public let detail: String

    public init(_ status: Status, _ detail: String) {
        self.status = status
        self.detail = detail
    }

    /// "DDE_ERR_X: detail".
    public var message: String { "\(status.name): \(detail)" }
}
