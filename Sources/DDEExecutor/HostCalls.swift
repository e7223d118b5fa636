// The host side of one run: the "dde" functions, the state overlay, the output, the trace.
// Every function checks every guest pointer and length before it has any effect, and records one
// trace step (docs/EXECUTION.md section 4 fixes the bytes of args and returned per function).
import DDE
import Dispatch
import WasmKit

final class HostCalls {
    let input: [UInt8]
    let state: [[UInt8]: [UInt8]]
    /// A v2 task's partial state: the keys the run may touch.
    let partial: PartialState?
    let maxSteps: Int
    let deadline: UInt64?
    var memory: Memory?

    /// Writes so far: key -> new value, nil for deleted.
    private(set) var overlay: [[UInt8]: [UInt8]?] = [:]
    private(set) var output: [UInt8] = []
    private(set) var logs: [[UInt8]] = []
    private var logBytes = 0
    private(set) var trace = ExecutionTrace()
    private(set) var capabilitiesUsed: [String] = []
    /// Why a host function stopped the run, if one did.
    private(set) var abort: DDEError?

    init(request: ExecutionRequest, deadline: UInt64?) {
        input = request.input
        state = request.state
        partial = request.partialState
        maxSteps = Int(clamping: request.limits.maxExecutionSteps)
        self.deadline = deadline
    }

    func function(_ spec: HostFunction, store: WasmKit.Store) -> Function {
        Function(store: store, parameters: Array(repeating: .i32, count: spec.parameterCount), results: [.i32]) {
            [unowned self] _, arguments in
            var args: [UInt32] = []
            args.reserveCapacity(arguments.count)
            for argument in arguments {
                guard case .i32(let v) = argument else { throw self.fail(DDEError(.internalError, "\(spec.name) got a non-i32 argument")) }
                args.append(v)
            }
            return [.i32(try self.call(spec, args))]
        }
    }

    private func fail(_ error: DDEError) -> HostAbort {
        if abort == nil { abort = error }
        return HostAbort(error: abort ?? error)
    }

    /// One host call: step accounting, the function itself, the trace step.
    private func call(_ spec: HostFunction, _ a: [UInt32]) throws -> UInt32 {
        guard trace.length < maxSteps else {
            throw fail(DDEError(.tooManySteps, "the action made more than maxExecutionSteps \(maxSteps) host calls (at \(spec.name))"))
        }
        if let deadline, DispatchTime.now().uptimeNanoseconds > deadline {
            throw fail(DDEError(.timeout, "the action ran past maxExecutionTime (noticed at \(spec.name))"))
        }
        // args starts with every i32 argument as u32be; each function appends the guest bytes it
        // read. returned is the guest bytes it wrote, then the result as u32be.
        var argsBytes: [UInt8] = []
        for v in a { appendU32(&argsBytes, v) }
        var written: [UInt8] = []
        let result: UInt32
        do {
            switch spec.name {
            case "input_size":
                result = UInt32(truncatingIfNeeded: input.count)
            case "input_read":
                let n = min(Int(a[1]), input.count)
                try checkRange(a[0], UInt32(n), spec.name, "ptr")
                let bytes = Array(input[0..<n])
                try writeGuest(a[0], bytes)
                written = bytes
                result = UInt32(n)
            case "output_write":
                let bytes = try readGuest(a[0], a[1], spec.name, "ptr/len")
                guard output.count + bytes.count <= HostLimits.maxOutputBytes else {
                    throw DDEError(.limit, "output_write: the result would exceed \(HostLimits.maxOutputBytes) bytes")
                }
                argsBytes += bytes
                output += bytes
                result = 0
            case "state_get":
                let key = try readKey(a[0], a[1], spec.name)
                try checkCarried(key)
                try checkRange(a[2], a[3], spec.name, "value buffer")
                argsBytes += key
                if let value = currentValue(key) {
                    if value.count <= Int(a[3]) {
                        try writeGuest(a[2], value)
                        written = value
                    }
                    result = UInt32(value.count)
                } else {
                    result = UInt32(bitPattern: -1)
                }
            case "state_set":
                let key = try readKey(a[0], a[1], spec.name)
                try checkCarried(key)
                guard a[3] <= HostLimits.maxValueBytes else {
                    throw DDEError(.limit, "state_set: a value is at most \(HostLimits.maxValueBytes) bytes, got \(a[3])")
                }
                let value = try readGuest(a[2], a[3], spec.name, "value")
                argsBytes += key
                argsBytes += value
                overlay[key] = .some(value)
                result = 0
            case "state_delete":
                let key = try readKey(a[0], a[1], spec.name)
                try checkCarried(key)
                argsBytes += key
                result = currentValue(key) == nil ? 0 : 1
                overlay[key] = .some(nil)
            case "sha256":
                guard a[1] <= HostLimits.maxHashBytes else {
                    throw DDEError(.limit, "sha256: at most \(HostLimits.maxHashBytes) bytes per call, got \(a[1])")
                }
                try checkRange(a[2], 32, spec.name, "out_ptr")
                let data = try readGuest(a[0], a[1], spec.name, "ptr/len")
                argsBytes += data
                let digest = SHA256.hash(data).bytes
                try writeGuest(a[2], digest)
                written = digest
                result = 0
            case "ed25519_verify":
                guard a[2] <= HostLimits.maxVerifyMessageBytes else {
                    throw DDEError(.limit, "ed25519_verify: a message is at most \(HostLimits.maxVerifyMessageBytes) bytes, got \(a[2])")
                }
                let signature = try readGuest(a[0], 64, spec.name, "sig_ptr")
                let message = try readGuest(a[1], a[2], spec.name, "msg_ptr/msg_len")
                let publicKey = try readGuest(a[3], 32, spec.name, "pk_ptr")
                argsBytes += signature
                argsBytes += message
                argsBytes += publicKey
                result = Ed25519.verify(signature: signature, message: message, publicKey: publicKey) ? 1 : 0
            case "log":
                guard logBytes + Int(a[1]) <= HostLimits.maxLogBytes else {
                    throw DDEError(.limit, "log: the run's log would exceed \(HostLimits.maxLogBytes) bytes")
                }
                let bytes = try readGuest(a[0], a[1], spec.name, "ptr/len")
                argsBytes += bytes
                logs.append(bytes)
                logBytes += bytes.count
                result = 0
            default:
                throw DDEError(.internalError, "host function \(spec.name) has no implementation")
            }
        } catch let error as DDEError {
            throw fail(error)
        }
        if spec.capability != HostFunction.io, !capabilitiesUsed.contains(spec.capability) {
            capabilitiesUsed.append(spec.capability)
        }
        appendU32(&written, result)
        trace.append(capability: spec.capability, function: spec.name, args: argsBytes, returned: written)
        return result
    }

    /// A v2 task's run may touch only the keys the task carries: another key stops it, and the
    /// error's detail is the key itself (what the requester adds to retry).
    private func checkCarried(_ key: [UInt8]) throws(DDEError) {
        if let partial, !partial.carries(key) {
            throw DDEError(.stateKeyOutside, ErrorDetail(String(decoding: key, as: UTF8.self)))
        }
    }

    private func currentValue(_ key: [UInt8]) -> [UInt8]? {
        if let written = overlay[key] { return written }
        return state[key]
    }

    /// The writes that change something (a key set to its old value, or deleted while absent,
    /// is no write) in key-byte order, and the state they lead to.
    func finalWrites() -> ([StateWrite], [[UInt8]: [UInt8]]) {
        var next = state
        var writes: [StateWrite] = []
        for key in overlay.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let value = overlay[key] ?? nil
            guard value != state[key] else { continue }
            writes.append(StateWrite(key: key, value: value))
            next[key] = value
        }
        return (writes, next)
    }

    // MARK: guest memory

    private func checkRange(_ pointer: UInt32, _ length: UInt32, _ function: String, _ what: String) throws {
        guard let memory else {
            throw DDEError(.guestBounds, "\(function): the module has no memory named \"memory\"")
        }
        // Both operands are below 2^32, so the sum cannot overflow 64 bits.
        guard UInt64(pointer) + UInt64(length) <= UInt64(memory.byteCount) else {
            throw DDEError(.guestBounds, "\(function): \(what) [\(pointer), \(UInt64(pointer) + UInt64(length))) is outside the guest memory of \(memory.byteCount) bytes")
        }
    }

    private func readGuest(_ pointer: UInt32, _ length: UInt32, _ function: String, _ what: String) throws -> [UInt8] {
        try checkRange(pointer, length, function, what)
        guard let memory, length > 0 else { return [] }
        return memory.withUnsafeBufferPointer(offset: UInt(pointer), count: Int(length)) { Array($0) }
    }

    /// Keys are what the protocol's state maps allow: 1 to maxKeyBytes bytes of valid UTF-8.
    private func readKey(_ pointer: UInt32, _ length: UInt32, _ function: String) throws -> [UInt8] {
        guard length >= 1, length <= HostLimits.maxKeyBytes else {
            throw DDEError(.limit, "\(function): a state key has 1 to \(HostLimits.maxKeyBytes) bytes, got \(length)")
        }
        let key = try readGuest(pointer, length, function, "key")
        guard String(validating: key, as: UTF8.self) != nil else {
            throw DDEError(.encoding, "\(function): a state key must be valid UTF-8")
        }
        return key
    }

    /// Writes bytes whose range was already checked.
    private func writeGuest(_ pointer: UInt32, _ bytes: [UInt8]) throws {
        guard let memory, !bytes.isEmpty else { return }
        memory.withUnsafeMutableBufferPointer(offset: UInt(pointer), count: bytes.count) { buffer in
            buffer.copyBytes(from: bytes)
        }
    }
}

@inline(__always)
func appendU32(_ out: inout [UInt8], _ v: UInt32) {
    out.append(UInt8(v >> 24 & 0xff))
    out.append(UInt8(v >> 16 & 0xff))
    out.append(UInt8(v >> 8 & 0xff))
    out.append(UInt8(v & 0xff))
}
