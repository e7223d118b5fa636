// The store, the receipt chain and reputation for C callers. See include/dde.h.
import CDDE

/// What a dde_store * points to.
final class StoreHandle {
    let store: Store
    init(_ store: Store) { self.store = store }
}

func store(_ pointer: OpaquePointer?) throws(DDEError) -> Store {
    let s = try handle(pointer, .store, as: StoreHandle.self).store
    guard s.isOpen else { throw DDEError(.closed, "the store is closed") }
    return s
}

/// 0 means "now" in the C API's time arguments.
func clock(_ ms: UInt64) -> UInt64 { ms == 0 ? cdde_now_ms() : ms }
func clock64(_ ms: UInt64) -> Int64 { Int64(clamping: clock(ms)) }

func publicKeyArgument(_ p: UnsafePointer<UInt8>?) throws(DDEError) -> PublicKey {
    try PublicKey(bytes: Array(try fixedInput(p, PublicKey.byteCount, "public_key")))
}

@_cdecl("dde_store_open")
public func dde_store_open(_ path: UnsafePointer<CChar>?, _ options: UnsafePointer<CChar>?, _ optionsLength: Int,
                           _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded { () throws(DDEError) in
        let p = try inputString(path, "path")
        let o = try outputPointer(out, "store")
        o.pointee = nil
        var config = ReputationConfig()
        if options != nil {
            let bytes = try inputBytes(options, optionsLength, "options_json")
            config = try ReputationConfig(json: try JSONParser.parse(bytes))
        }
        let s = try Store(path: p, reputationConfig: config)
        do throws(DDEError) {
            o.pointee = try newHandle(StoreHandle(s), .store)
        } catch {
            s.close()
            throw error
        }
    }
}

@_cdecl("dde_store_close")
public func dde_store_close(_ pointer: OpaquePointer?) -> Int32 {
    guarded { () throws(DDEError) in
        guard pointer != nil else { return }
        // Out of the table first: from here on every call with this handle gets DDE_ERR_CLOSED.
        try takeHandle(pointer, .store, as: StoreHandle.self).store.closeChecked()
    }
}

@_cdecl("dde_store_commit")
public func dde_store_commit(_ handle: OpaquePointer?, _ taskHandle: OpaquePointer?, _ result: UnsafePointer<CChar>?,
                             _ length: Int, _ identitySecretKey: UnsafePointer<UInt8>?, _ nowMs: UInt64,
                             _ receipt: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                             _ receiptLength: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded { () throws(DDEError) in
        let s = try store(handle)
        let t = try task(taskHandle)
        let bytes = try inputBytes(result, length, "result_json")
        let identity = try KeyPair.fromSecretKey(try fixedInput(identitySecretKey, KeyPair.secretKeyByteCount, "identity_secret_key"))
        let parsed = try ComputeResult(json: try JSONParser.parse(bytes))
        let r = try s.commit(task: t, result: parsed, identity: identity, now: clock(nowMs))
        if receipt != nil { try emit(r.canonicalBytes, receipt, receiptLength) }
    }
}

@_cdecl("dde_store_head")
public func dde_store_head(_ handle: OpaquePointer?, _ count: UnsafeMutablePointer<UInt64>?,
                           _ receiptHash: UnsafeMutablePointer<CChar>?, _ stateRoot: UnsafeMutablePointer<CChar>?) -> Int32 {
    guarded { () throws(DDEError) in
        let s = try store(handle)
        let c = try outputPointer(count, "count")
        if let head = try s.head() {
            c.pointee = head.count
            if let receiptHash { writeHex(head.receiptHash, receiptHash) }
            if let stateRoot { writeHex(head.nextStateRoot, stateRoot) }
        } else {
            c.pointee = 0
            if let receiptHash { receiptHash[0] = 0 }
            if let stateRoot { writeHex(StateRoot.empty, stateRoot) }
        }
    }
}

@_cdecl("dde_store_verify_chain")
public func dde_store_verify_chain(_ handle: OpaquePointer?, _ checked: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded { () throws(DDEError) in
        let report = try store(handle).verifyChain()
        checked?.pointee = report.count
    }
}

@_cdecl("dde_store_export")
public func dde_store_export(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                             _ outLength: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded { () throws(DDEError) in
        let s = try store(handle)
        _ = try outputPointer(out, "out")
        var all = [UInt8]()
        // Each line arrives with its own newline.
        try s.exportJSONLines(withProofs: true) { line in all.append(contentsOf: line) }
        try emit(all, out, outLength)
    }
}

@_cdecl("dde_store_policy")
public func dde_store_policy(_ handle: OpaquePointer?, _ nowMs: UInt64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded { () throws(DDEError) in
        let s = try store(handle)
        let o = try outputPointer(out, "policy")
        o.pointee = nil
        let p = PolicyHandle()
        p.policy = try s.reputation.policy(now: clock64(nowMs))
        o.pointee = try newHandle(p, .policy)
    }
}

// MARK: reputation

@_cdecl("dde_reputation_record_success")
public func dde_reputation_record_success(_ handle: OpaquePointer?, _ publicKey: UnsafePointer<UInt8>?,
                                          _ latencyMs: UInt64, _ nowMs: UInt64) -> Int32 {
    guarded { () throws(DDEError) in
        _ = try store(handle).reputation.recordSuccess(try publicKeyArgument(publicKey),
                                                       latencyMs: Int64(clamping: latencyMs), now: clock64(nowMs))
    }
}

@_cdecl("dde_reputation_record_failure")
public func dde_reputation_record_failure(_ handle: OpaquePointer?, _ publicKey: UnsafePointer<UInt8>?, _ nowMs: UInt64) -> Int32 {
    guarded { () throws(DDEError) in
        _ = try store(handle).reputation.recordFailure(try publicKeyArgument(publicKey), now: clock64(nowMs))
    }
}

@_cdecl("dde_reputation_record_timeout")
public func dde_reputation_record_timeout(_ handle: OpaquePointer?, _ publicKey: UnsafePointer<UInt8>?, _ nowMs: UInt64) -> Int32 {
    guarded { () throws(DDEError) in
        _ = try store(handle).reputation.recordTimeout(try publicKeyArgument(publicKey), now: clock64(nowMs))
    }
}

@_cdecl("dde_reputation_get")
public func dde_reputation_get(_ handle: OpaquePointer?, _ publicKey: UnsafePointer<UInt8>?, _ nowMs: UInt64,
                               _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                               _ outLength: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded { () throws(DDEError) in
        let s = try store(handle)
        let key = try publicKeyArgument(publicKey)
        _ = try outputPointer(out, "out")
        let now = clock64(nowMs)
        guard let record = try s.reputation.get(key, now: now) else {
            throw DDEError(.notFound, "no reputation record for executor \(key.hex)")
        }
        try emit(record.json(config: s.reputation.config, now: now).canonicalBytes(), out, outLength)
    }
}

@_cdecl("dde_reputation_status")
public func dde_reputation_status(_ handle: OpaquePointer?, _ publicKey: UnsafePointer<UInt8>?, _ nowMs: UInt64,
                                  _ banned: UnsafeMutablePointer<Int32>?, _ blacklisted: UnsafeMutablePointer<Int32>?) -> Int32 {
    guarded { () throws(DDEError) in
        let s = try store(handle)
        let key = try publicKeyArgument(publicKey)
        let now = clock64(nowMs)
        banned?.pointee = try s.reputation.isBanned(key, now: now) ? 1 : 0
        blacklisted?.pointee = try s.reputation.isBlacklisted(key, now: now) ? 1 : 0
    }
}

@_cdecl("dde_reputation_all")
public func dde_reputation_all(_ handle: OpaquePointer?, _ nowMs: UInt64,
                               _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                               _ outLength: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded { () throws(DDEError) in
        let s = try store(handle)
        _ = try outputPointer(out, "out")
        let now = clock64(nowMs)
        let records = try s.reputation.allInRoutingOrder(now: now)
        let items = records.map { $0.json(config: s.reputation.config, now: now) }
        try emit(JSON.array(items).canonicalBytes(), out, outLength)
    }
}

@_cdecl("dde_reputation_clear")
public func dde_reputation_clear(_ handle: OpaquePointer?, _ publicKey: UnsafePointer<UInt8>?) -> Int32 {
    guarded { () throws(DDEError) in
        let key = try publicKeyArgument(publicKey)
        guard try store(handle).reputation.clear(key) else {
            throw DDEError(.notFound, "no reputation record for executor \(key.hex)")
        }
    }
}

@_cdecl("dde_reputation_clear_all")
public func dde_reputation_clear_all(_ handle: OpaquePointer?) -> Int32 {
    guarded { () throws(DDEError) in try store(handle).reputation.clearAll() }
}
