// Tasks, policies, verification and canonical JSON for C callers. See include/dde.h.
import CDDE

/// What a dde_task * points to: an immutable, fully checked task.
final class TaskHandle {
    let task: ComputeTask
    init(_ task: ComputeTask) { self.task = task }
}

/// What a dde_policy * points to.
final class PolicyHandle {
    var policy = VerifyPolicy()
}

func task(_ pointer: OpaquePointer?) throws(DDEError) -> ComputeTask {
    try handle(pointer, .task, as: TaskHandle.self).task
}

func handOut(_ t: ComputeTask, _ out: UnsafeMutablePointer<OpaquePointer?>) throws(DDEError) {
    out.pointee = try newHandle(TaskHandle(t), .task)
}

@_cdecl("dde_canonicalize")
public func dde_canonicalize(_ json: UnsafePointer<CChar>?, _ length: Int,
                             _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                             _ outLength: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded { () throws(DDEError) in
        let input = try inputBytes(json, length, "json")
        _ = try outputPointer(out, "out")
        try emit(try JSONParser.parse(input).canonicalBytes(), out, outLength)
    }
}

@_cdecl("dde_task_create")
public func dde_task_create(_ spec: UnsafePointer<CChar>?, _ length: Int, _ secretKey: UnsafePointer<UInt8>?,
                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded { () throws(DDEError) in
        let input = try inputBytes(spec, length, "spec")
        let sk = try fixedInput(secretKey, KeyPair.secretKeyByteCount, "secret_key")
        let o = try outputPointer(out, "task")
        o.pointee = nil
        let requester = try KeyPair.fromSecretKey(sk)
        let taskSpec = try TaskSpec(json: try JSONParser.parse(input), now: cdde_now_ms())
        try handOut(try ComputeTask.create(taskSpec, requester: requester), o)
    }
}

@_cdecl("dde_task_parse")
public func dde_task_parse(_ json: UnsafePointer<CChar>?, _ length: Int,
                           _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded { () throws(DDEError) in
        let input = try inputBytes(json, length, "json")
        let o = try outputPointer(out, "task")
        o.pointee = nil
        try handOut(try ComputeTask(bytes: input), o)
    }
}

@_cdecl("dde_task_free")
public func dde_task_free(_ pointer: OpaquePointer?) {
    // A freed, closed or foreign handle is ignored: there is no status to report it with.
    _ = try? takeHandle(pointer, .task, as: TaskHandle.self)
}

@_cdecl("dde_task_json")
public func dde_task_json(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                          _ outLength: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded { () throws(DDEError) in
        let t = try task(handle)
        try emit(t.canonicalBytes, out, outLength)
    }
}

/// Writes 64 hex characters and a NUL.
func writeHex(_ digest: Digest, _ out: UnsafeMutablePointer<CChar>) {
    var i = 0
    for c in digest.hex.utf8 { out[i] = CChar(bitPattern: c); i += 1 }
    out[i] = 0
}

@_cdecl("dde_task_id")
public func dde_task_id(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<CChar>?) -> Int32 {
    guarded { () throws(DDEError) in
        let t = try task(handle)
        writeHex(t.taskId, try outputPointer(out, "id_hex"))
    }
}

@_cdecl("dde_policy_new")
public func dde_policy_new(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded { () throws(DDEError) in
        let o = try outputPointer(out, "policy")
        o.pointee = nil
        o.pointee = try newHandle(PolicyHandle(), .policy)
    }
}

@_cdecl("dde_policy_deny")
public func dde_policy_deny(_ pointer: OpaquePointer?, _ publicKey: UnsafePointer<UInt8>?, _ reason: Int32) -> Int32 {
    guarded { () throws(DDEError) in
        let p = try handle(pointer, .policy, as: PolicyHandle.self)
        let pk = try PublicKey(bytes: Array(try fixedInput(publicKey, PublicKey.byteCount, "public_key")))
        switch Status(rawValue: reason) {
        case .executorBanned: p.policy.banned.insert(pk)
        case .executorBlacklisted: p.policy.blacklisted.insert(pk)
        default:
            throw DDEError(.argument, "reason must be DDE_ERR_EXECUTOR_BANNED or DDE_ERR_EXECUTOR_BLACKLISTED")
        }
    }
}

@_cdecl("dde_policy_free")
public func dde_policy_free(_ pointer: OpaquePointer?) {
    _ = try? takeHandle(pointer, .policy, as: PolicyHandle.self)
}

/// NULL accepts every executor; a policy handle that is freed or foreign is an error, never
/// taken for NULL (that would accept executors the caller meant to refuse).
func policy(_ pointer: OpaquePointer?) throws(DDEError) -> VerifyPolicy {
    guard pointer != nil else { return .acceptAll }
    return try handle(pointer, .policy, as: PolicyHandle.self).policy
}

@_cdecl("dde_verify")
public func dde_verify(_ handle: OpaquePointer?, _ result: UnsafePointer<CChar>?, _ length: Int,
                       _ policyHandle: OpaquePointer?) -> Int32 {
    guarded { () throws(DDEError) in
        let t = try task(handle)
        let input = try inputBytes(result, length, "result_json")
        _ = try Verifier.verify(task: t, resultBytes: input, policy: try policy(policyHandle))
    }
}

@_cdecl("dde_key_save")
public func dde_key_save(_ path: UnsafePointer<CChar>?, _ secretKey: UnsafePointer<UInt8>?) -> Int32 {
    guarded { () throws(DDEError) in
        let p = try inputString(path, "path")
        let pair = try KeyPair.fromSecretKey(try fixedInput(secretKey, KeyPair.secretKeyByteCount, "secret_key"))
        try KeyFile.save(pair, to: p)
    }
}

@_cdecl("dde_key_load")
public func dde_key_load(_ path: UnsafePointer<CChar>?, _ publicKey: UnsafeMutablePointer<UInt8>?,
                         _ secretKey: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guarded { () throws(DDEError) in
        let p = try inputString(path, "path")
        let pk = try outputPointer(publicKey, "public_key")
        let sk = try outputPointer(secretKey, "secret_key")
        let pair = try KeyFile.load(from: p)
        pair.publicKey.copyBytes(to: pk)
        pair.withSecretKey { s in if let b = s.baseAddress { memcpy(sk, b, KeyPair.secretKeyByteCount) } }
    }
}
