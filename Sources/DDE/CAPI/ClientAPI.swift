// The delegating client for C (docs/PROTOCOL.md section 11): a store, a key and a transport,
// either MQTT (dde_client_new_mqtt: the shipped MQTTTransport, the few-calls path for firmware)
// or one the caller provides as a dde_transport_methods table (dde_client_new: any other link).
// See include/dde.h.
import CDDE

public typealias PublishFn = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<UInt8>?, Int, Int32) -> Int32
public typealias SubscribeFn = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Int32
/// receive(context, timeout_ms, &topic, &payload, &length, &received): DDE_OK with received 1
/// (a message) or 0 (none in time), or an error code.
public typealias ReceiveFn = @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                             UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<Int>?,
                                             UnsafeMutablePointer<Int32>?) -> Int32

/// A Transport over the caller's dde_transport_methods. A callback returns DDE_OK or a DDE_ERR_*
/// code, reported as `.transport` unless it is a known code.
final class CallbackTransport: Transport {
    let context: UnsafeMutableRawPointer?
    let publishFn: PublishFn
    let subscribeFn: SubscribeFn
    let receiveFn: ReceiveFn
    let unsubscribeFn: SubscribeFn?

    /// Reads a `const dde_transport_methods *` (through the C shim, which alone knows the struct's
    /// versions): `.argument` for NULL, a version below 1 or a required callback missing,
    /// `.version` for a version newer than this library reads.
    init(methods: UnsafeRawPointer?, context: UnsafeMutableRawPointer?) throws(DDEError) {
        var table = cdde_transport_methods()
        let rc = cdde_transport_read(methods, &table)
        let version = table.version
        switch rc {
        case 0: break
        case -1: throw DDEError(.argument, "methods is NULL")
        case -2: throw DDEError(.argument, "methods->version is \(version): set it to DDE_TRANSPORT_METHODS_VERSION (1)")
        case -3:
            throw DDEError(.version, "methods->version is \(version), this libdde reads versions 1 to \(ABILimits.transportMethodsVersion) (dde_transport_methods_version()): set version to the newest it reads if you use no newer member")
        default: throw DDEError(.argument, "methods->publish, ->subscribe and ->receive are required")
        }
        guard let publish = table.publish, let subscribe = table.subscribe, let receive = table.receive else {
            throw DDEError(.argument, "methods->publish, ->subscribe and ->receive are required")
        }
        self.context = context
        publishFn = publish
        subscribeFn = subscribe
        receiveFn = receive
        unsubscribeFn = table.unsubscribe
    }

    func failure(_ code: Int32, _ what: ErrorDetail) -> DDEError {
        let status = Status(rawValue: code) ?? .transport
        return DDEError(status == .ok ? .transport : status, "transport callback \(what) returned \(code)")
    }

    func publish(topic: String, payload: [UInt8], retain: Bool) throws(DDEError) {
        var t = topic
        let rc = t.withUTF8 { tb in
            tb.withMemoryRebound(to: CChar.self) { tc -> Int32 in
                // A NUL-terminated copy: Swift's UTF-8 view is not guaranteed to be terminated.
                var z = Array(tc)
                z.append(0)
                return payload.withUnsafeBufferPointer { pb in
                    z.withUnsafeBufferPointer { zb in publishFn(context, zb.baseAddress, pb.baseAddress, pb.count, retain ? 1 : 0) }
                }
            }
        }
        guard rc == 0 else { throw failure(rc, "publish(\(topic))") }
    }

    func call(_ fn: SubscribeFn, _ filter: String) -> Int32 {
        var z = Array(filter.utf8).map { CChar(bitPattern: $0) }
        z.append(0)
        return z.withUnsafeBufferPointer { fn(context, $0.baseAddress) }
    }

    func subscribe(_ filter: String) throws(DDEError) {
        let rc = call(subscribeFn, filter)
        guard rc == 0 else { throw failure(rc, "subscribe(\(filter))") }
    }

    func unsubscribe(_ filter: String) throws(DDEError) {
        guard let unsubscribeFn else { return }
        let rc = call(unsubscribeFn, filter)
        guard rc == 0 else { throw failure(rc, "unsubscribe(\(filter))") }
    }

    func receive(timeoutMs: Int) throws(DDEError) -> Message? {
        var topic: UnsafePointer<CChar>? = nil
        var payload: UnsafePointer<UInt8>? = nil
        var length = 0
        var received: Int32 = 0
        let rc = receiveFn(context, Int32(clamping: timeoutMs), &topic, &payload, &length, &received)
        guard rc == 0 else { throw failure(rc, "receive") }
        if received == 0 { return nil }
        guard let topic, length >= 0, payload != nil || length == 0 else {
            throw DDEError(.transport, "transport callback receive returned a NULL topic or a bad payload length \(length)")
        }
        // What a peer sent (a topic that is not UTF-8, a payload over the input limit) is dropped
        // like any other junk from the network; it must not end the caller's delegation.
        guard length <= maxInputBytes, let name = try? inputString(topic, "received topic", maxLength: ABILimits.maxTopicBytes) else {
            return nil
        }
        let bytes = length == 0 ? [] : Array(UnsafeBufferPointer(start: payload, count: length))
        return Message(topic: name, payload: bytes)
    }
}

/// The client's link: caller callbacks or the library's MQTT connection. An enum, not an
/// existential, so the core stays Embedded Swift.
final class ClientTransport: Transport {
    enum Link {
        case callbacks(CallbackTransport)
        case mqtt(MQTTTransport)
    }
    let link: Link

    init(_ link: Link) { self.link = link }

    func publish(topic: String, payload: [UInt8], retain: Bool) throws(DDEError) {
        switch link {
        case .callbacks(let t): try t.publish(topic: topic, payload: payload, retain: retain)
        case .mqtt(let t): try t.publish(topic: topic, payload: payload, retain: retain)
        }
    }

    func subscribe(_ filter: String) throws(DDEError) {
        switch link {
        case .callbacks(let t): try t.subscribe(filter)
        case .mqtt(let t): try t.subscribe(filter)
        }
    }

    func unsubscribe(_ filter: String) throws(DDEError) {
        switch link {
        case .callbacks(let t): try t.unsubscribe(filter)
        case .mqtt(let t): try t.unsubscribe(filter)
        }
    }

    func receive(timeoutMs: Int) throws(DDEError) -> Message? {
        switch link {
        case .callbacks(let t): return try t.receive(timeoutMs: timeoutMs)
        case .mqtt(let t): return try t.receive(timeoutMs: timeoutMs)
        }
    }

    /// MQTT: wait for the broker's acknowledgements (a retained code message must be on the
    /// broker before the caller relies on it). Callbacks: nothing to wait for.
    func flush(timeoutMs: Int) throws(DDEError) {
        if case .mqtt(let t) = link { try t.flush(timeoutMs: timeoutMs) }
    }

    func close() {
        if case .mqtt(let t) = link { t.close() }
    }
}

/// What a dde_client * points to.
final class ClientHandle {
    let store: Store
    let transport: ClientTransport
    let delegator: Delegator<ClientTransport>

    init(store: Store, transport: ClientTransport, delegator: Delegator<ClientTransport>) {
        self.store = store
        self.transport = transport
        self.delegator = delegator
    }
}

/// How long dde_client_publish_code and dde_client_free wait for the broker's acknowledgements.
let clientFlushMs = 5000

func client(_ pointer: OpaquePointer?) throws(DDEError) -> ClientHandle {
    try handle(pointer, .client, as: ClientHandle.self)
}

@_cdecl("dde_client_new")
public func dde_client_new(_ storePath: UnsafePointer<CChar>?, _ secretKey: UnsafePointer<UInt8>?,
                           _ methods: UnsafeRawPointer?, _ context: UnsafeMutableRawPointer?,
                           _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded { () throws(DDEError) in
        let o = try outputPointer(out, "client")
        o.pointee = nil
        let path = try inputString(storePath, "store_path")
        let sk = try fixedInput(secretKey, KeyPair.secretKeyByteCount, "secret_key")
        // Copied now: the caller's table may be gone after this call (context may not).
        let callbacks = try CallbackTransport(methods: methods, context: context)
        let identity = try KeyPair.fromSecretKey(sk)
        let store = try Store(path: path)
        try o.pointee = newClient(store: store, transport: ClientTransport(.callbacks(callbacks)), identity: identity)
    }
}

@_cdecl("dde_client_new_mqtt")
public func dde_client_new_mqtt(_ brokerURL: UnsafePointer<CChar>?, _ storePath: UnsafePointer<CChar>?,
                                _ secretKey: UnsafePointer<UInt8>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded { () throws(DDEError) in
        try newMQTTClient(brokerURL, storePath, secretKey, options: nil, out)
    }
}

@_cdecl("dde_client_new_mqtt_v2")
public func dde_client_new_mqtt_v2(_ brokerURL: UnsafePointer<CChar>?, _ storePath: UnsafePointer<CChar>?,
                                   _ secretKey: UnsafePointer<UInt8>?, _ options: UnsafePointer<CChar>?,
                                   _ optionsLength: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded { () throws(DDEError) in
        let json = options == nil ? nil : try JSONParser.parse(try inputBytes(options, optionsLength, "options_json"))
        try newMQTTClient(brokerURL, storePath, secretKey, options: json, out)
    }
}

/// dde_client_new_mqtt and _v2: everything is checked (arguments, URL, options, key) before the
/// store is touched, so a typo creates no file.
func newMQTTClient(_ brokerURL: UnsafePointer<CChar>?, _ storePath: UnsafePointer<CChar>?,
                   _ secretKey: UnsafePointer<UInt8>?, options: JSON?,
                   _ out: UnsafeMutablePointer<OpaquePointer?>?) throws(DDEError) {
    let o = try outputPointer(out, "client")
    o.pointee = nil
    let url = try inputString(brokerURL, "broker_url", maxLength: ABILimits.maxURLBytes)
    let path = try inputString(storePath, "store_path")
    let sk = try fixedInput(secretKey, KeyPair.secretKeyByteCount, "secret_key")
    let identity = try KeyPair.fromSecretKey(sk)
    let tls = try MQTTTransport.parseURL(url).tls
    var mqttOptions = MQTTOptions()
    var clientId: String? = nil
    if let options { (mqttOptions, clientId) = try clientMQTTOptions(options) }
    try mqttOptions.security.check(tls: tls)
    let store = try Store(path: path)
    let mqtt: MQTTTransport
    do throws(DDEError) {
        mqtt = try MQTTTransport(url: url, clientId: clientId ?? MQTTTransport.clientId(role: "req", key: identity.publicKey),
                                 options: mqttOptions)
    } catch {
        store.close()
        throw error
    }
    try o.pointee = newClient(store: store, transport: ClientTransport(.mqtt(mqtt)), identity: identity)
}

/// The options of dde_client_new_mqtt_v2: `{"caFile","caPath","certFile","keyFile","pskFile",
/// "username","passwordFile","passwordEnv","clientId","connectTimeoutMs"}`, every member optional,
/// unknown ones refused (so a misspelt "cafile" is an error, not a silently unverified default).
func clientMQTTOptions(_ json: JSON) throws(DDEError) -> (MQTTOptions, String?) {
    let r = try FieldReader(json, context: "options")
    try r.only(["caFile", "caPath", "certFile", "keyFile", "pskFile", "username", "passwordFile", "passwordEnv",
                "clientId", "connectTimeoutMs"])
    func string(_ name: String) throws(DDEError) -> String? {
        guard r.has(name) else { return nil }
        guard case .string(let value) = try r.value(name) else { throw DDEError(.schema, "options.\(name) must be a string") }
        return value
    }
    var o = MQTTOptions()
    o.security = MQTTSecurity(caFile: try string("caFile"), caPath: try string("caPath"), certFile: try string("certFile"),
                              keyFile: try string("keyFile"), pskFile: try string("pskFile"), username: try string("username"),
                              passwordFile: try string("passwordFile"), passwordEnv: try string("passwordEnv"))
    if let ms = try r.optionalInteger("connectTimeoutMs") {
        guard ms >= 1, ms <= 600_000 else { throw DDEError(.argument, "options.connectTimeoutMs must be 1 to 600000, not \(ms)") }
        o.connectTimeoutMs = Int(ms)
    }
    let clientId = try string("clientId")
    if let clientId { try MQTTTransport.checkClientId(clientId) }
    return (o, clientId)
}

/// The handle for a store and a transport; closes both if the delegator cannot subscribe.
func newClient(store: Store, transport: ClientTransport, identity: KeyPair) throws(DDEError) -> OpaquePointer {
    let delegator: Delegator<ClientTransport>
    do throws(DDEError) {
        delegator = try Delegator(transport: transport, store: store, identity: identity)
    } catch {
        transport.close()
        store.close()
        throw error
    }
    do throws(DDEError) {
        return try newHandle(ClientHandle(store: store, transport: transport, delegator: delegator), .client)
    } catch {
        transport.close()
        store.close()
        throw error
    }
}

@_cdecl("dde_client_free")
public func dde_client_free(_ pointer: OpaquePointer?) -> Int32 {
    guarded { () throws(DDEError) in
        guard pointer != nil else { return }
        // Out of the table first: from here on every call with this handle gets DDE_ERR_CLOSED.
        let c = try takeHandle(pointer, .client, as: ClientHandle.self)
        // Publishes still in flight (the last offer) go out before the disconnect, bounded in
        // time; everything is closed whatever fails, and the first failure is reported.
        var failure: DDEError? = nil
        do throws(DDEError) { try c.transport.flush(timeoutMs: clientFlushMs) } catch { failure = error }
        c.transport.close()
        do throws(DDEError) { try c.store.closeChecked() } catch { if failure == nil { failure = error } }
        if let failure { throw failure }
    }
}

@_cdecl("dde_client_publish_code")
public func dde_client_publish_code(_ handle: OpaquePointer?, _ module: UnsafeRawPointer?, _ length: Int,
                                    _ codeHash: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guarded { () throws(DDEError) in
        let c = try client(handle)
        let bytes = try inputBytes(module, length, "module")
        let hash = try c.delegator.publishCode(Array(bytes))
        try c.transport.flush(timeoutMs: clientFlushMs)
        if let codeHash { hash.copyBytes(to: codeHash) }
    }
}

@_cdecl("dde_client_discover")
public func dde_client_discover(_ handle: OpaquePointer?, _ timeoutMs: UInt32, _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded { () throws(DDEError) in
        let c = try client(handle)
        let n = try c.delegator.discover(timeoutMs: UInt64(timeoutMs))
        count?.pointee = n
    }
}

@_cdecl("dde_client_delegate")
public func dde_client_delegate(_ handle: OpaquePointer?, _ spec: UnsafePointer<CChar>?, _ specLength: Int,
                                _ options: UnsafePointer<CChar>?, _ optionsLength: Int,
                                _ report: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                _ reportLength: UnsafeMutablePointer<Int>?) -> Int32 {
    cdde_clear_error()
    report?.pointee = nil  // on every path, a bad handle included: the caller may free it
    reportLength?.pointee = 0
    do throws(DDEError) {
        let c = try client(handle)
        let now = cdde_now_ms()
        let taskSpec = try TaskSpec(json: try JSONParser.parse(try inputBytes(spec, specLength, "spec")), now: now)
        let opts = options == nil ? DelegationOptions()
            : try delegationOptions(try JSONParser.parse(try inputBytes(options, optionsLength, "options")))
        let r = try c.delegator.delegate(taskSpec, options: opts)
        if report != nil { try emit(r.json.canonicalBytes(), report, reportLength) }
        if let failure = r.failure { return failureCode(failure) }
        return Status.ok.rawValue
    } catch {
        return failureCode(error)
    }
}

/// `report` is shadowed by the parameter of that name in dde_client_delegate.
func failureCode(_ e: DDEError) -> Int32 { report(e) }

/// `{"mode":"first_valid"|"quorum"|"audited","quorum":k,"fanout":n,"deadlineMs":ms,"lingerMs":ms,
///   "critical":bool,"allowFallback":bool,"provenAfterSuccesses":n,"errorTarget":x,"liarShare":x,
///   "auditFloor":x,"pinned":[pk hex],"shareEvidence":bool}`, every field optional.
func delegationOptions(_ json: JSON) throws(DDEError) -> DelegationOptions {
    let r = try FieldReader(json, context: "options")
    try r.only(["mode", "quorum", "fanout", "deadlineMs", "lingerMs", "critical", "allowFallback", "provenAfterSuccesses",
                "errorTarget", "liarShare", "auditFloor", "pinned", "shareEvidence"])
    var o = DelegationOptions()
    let quorum = try r.optionalInteger("quorum") ?? 2
    var audit = AuditPolicy()
    func fraction(_ name: String, upToOne: Bool = false) throws(DDEError) -> Double? {
        guard r.has(name) else { return nil }
        guard case .number(let d) = try r.value(name), d >= 0, upToOne ? d <= 1 : d < 1 else {
            throw DDEError(.argument, "options.\(name) must be a number in [0, 1\(upToOne ? "]" : ")")")
        }
        return d
    }
    let target = try fraction("errorTarget")
    if let t = target, t <= 0 { throw DDEError(.argument, "options.errorTarget must be in (0, 1)") }
    // auditFloor 1 audits every answer (AuditPolicy.validate and `dde delegate` allow it).
    audit = AuditPolicy(errorTarget: target ?? 1e-3, liarShare: try fraction("liarShare") ?? 0.2,
                        auditFloor: try fraction("auditFloor", upToOne: true) ?? 0.01)
    try audit.validate()
    if r.has("mode") {
        let name = try r.string("mode", maxBytes: 32)
        // JSON integers reach 2^53-1, past a 32-bit Int (armv7): a quorum out of range is refused
        // here with the number given, as AssuranceMode.named refuses it on 64-bit, before the
        // conversion (which clamps for the modes that ignore the quorum).
        if sameScalars(name, "quorum"), quorum > UInt64(TaskOffer.maxExecutors) {
            throw DDEError(.argument, "the quorum must be 1...\(TaskOffer.maxExecutors) executors, not \(quorum)")
        }
        guard let mode = try AssuranceMode.named(name, quorum: Int(clamping: quorum), audit: audit) else {
            throw DDEError(.schema, "options.mode must be \"first_valid\", \"quorum\" or \"audited\"")
        }
        o.mode = mode
    }
    if let f = try r.optionalInteger("fanout") {
        guard f >= 1, f <= UInt64(TaskOffer.maxExecutors) else { throw DDEError(.argument, "options.fanout must be 1...\(TaskOffer.maxExecutors)") }
        o.fanout = Int(f)
    }
    if let d = try r.optionalInteger("deadlineMs") { o.deadlineMs = d }
    if let l = try r.optionalInteger("lingerMs") { o.lingerMs = l }
    if let p = try r.optionalInteger("provenAfterSuccesses") { o.provenAfterSuccesses = Double(p) }
    for (name, flag) in [("critical", 0), ("allowFallback", 1), ("shareEvidence", 2)] where r.has(name) {
        guard case .bool(let b) = try r.value(name) else { throw DDEError(.schema, "options.\(name) must be true or false") }
        if flag == 0 { o.critical = b } else if flag == 1 { o.allowFallback = b } else { o.shareEvidence = b }
    }
    if r.has("pinned") {
        guard case .array(let items) = try r.value("pinned"), items.count <= TaskOffer.maxExecutors else {
            throw DDEError(.schema, "options.pinned must be an array of at most \(TaskOffer.maxExecutors) public keys (hex)")
        }
        for item in items {
            guard case .string(let hex) = item else { throw DDEError(.schema, "options.pinned must hold public keys (hex)") }
            o.pinned.append(try PublicKey(hex: hex, field: "options.pinned"))
        }
    }
    return o
}
