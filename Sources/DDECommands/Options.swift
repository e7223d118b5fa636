// The option groups the commands share: one definition each, so `dde task create`, `delegate`,
// `node`, `exec`, `commit`, ... spell, document and check an option the same way.
import ArgumentParser
import DDE
import DDEExecutor
import Foundation

/// The MQTT broker (`dde delegate`, `dde node`, `dde code publish`).
struct BrokerOption: ParsableArguments {
    @Option(name: .customLong("broker"), help: "MQTT broker URL: mqtt://host[:1883], or mqtts://host[:8883] for TLS (the broker's certificate and host name verified).")
    var url: String

    @OptionGroup var security: MQTTSecurityOptions

    @Option(name: .customLong("connect-timeout"), help: "Milliseconds to wait for the broker to accept the connection, the name lookup and TLS included.")
    var connectTimeout: Int = 5000

    /// `base` with the TLS, credential and timeout options.
    func options(_ base: MQTTOptions = MQTTOptions()) throws(DDEError) -> MQTTOptions {
        guard connectTimeout >= 1, connectTimeout <= 600_000 else {
            throw DDEError(.argument, "--connect-timeout must be 1 to 600000 ms, not \(connectTimeout)")
        }
        var o = base
        o.security = security.security
        o.connectTimeoutMs = connectTimeout
        return o
    }
}

/// TLS and credentials for the MQTT connection (`--broker` of delegate, node, code publish, demo).
/// Files and a variable's name only: a password never goes on the command line (where `ps` and
/// the shell's history would show it), and the library reads and wipes it.
struct MQTTSecurityOptions: ParsableArguments {
    @Option(name: .customLong("ca-file"), help: "With mqtts://: PEM file of the CA(s) that signed the broker's certificate (default: the system store /etc/ssl/certs).")
    var caFile: String?

    @Option(name: .customLong("ca-path"), help: "With mqtts://: a folder of hashed CA certificates (openssl rehash), instead of --ca-file.")
    var caPath: String?

    @Option(name: .customLong("tls-cert"), help: "With mqtts://: this device's certificate (PEM), for brokers that require one (mutual TLS).")
    var certFile: String?

    @Option(name: .customLong("tls-key"), help: "The private key of --tls-cert (PEM, unencrypted; keep it mode 0600).")
    var keyFile: String?

    @Option(name: .customLong("psk-file"), help: "With mqtts://: TLS with a pre-shared key instead of certificates: a file holding one line IDENTITY:HEXKEY.")
    var pskFile: String?

    @Option(help: "MQTT user name.")
    var username: String?

    @Option(name: .customLong("password-file"), help: "With --username and mqtts://: a file holding the password on one line.")
    var passwordFile: String?

    @Option(name: .customLong("password-env"), help: "With --username and mqtts://: the name of an environment variable holding the password.")
    var passwordEnv: String?

    var security: MQTTSecurity {
        MQTTSecurity(caFile: caFile, caPath: caPath, certFile: certFile, keyFile: keyFile, pskFile: pskFile,
                     username: username, passwordFile: passwordFile, passwordEnv: passwordEnv)
    }
}

/// The MQTT client id under which the broker keeps a session (`dde delegate`, `dde node`).
struct ClientIdOption: ParsableArguments {
    @Option(name: .customLong("client-id"), help: "MQTT client id (default dde-<role>-<12 hex of the key>, role req for delegate, node for node; the broker keeps the session under it).")
    var value: String?

    func id(role: String, key: PublicKey) -> String { value ?? MQTTTransport.clientId(role: role, key: key) }
}

/// The requester's key (`dde task create`, `delegate`, `commit`).
struct RequesterKeyOption: ParsableArguments {
    @Option(name: .customLong("key"), help: "Requester key file (from `dde keygen`): signs tasks and receipts.")
    var path: String

    func load() throws(DDEError) -> KeyPair { try KeyFile.load(from: path) }
}

/// The executor's key (`dde node`, `dde exec`).
struct ExecutorKeyOption: ParsableArguments {
    @Option(name: .customLong("key"), help: "Executor key file (from `dde keygen`): signs the proofs.")
    var path: String

    func load() throws(DDEError) -> KeyPair { try KeyFile.load(from: path) }
}

/// The requester's store (`dde delegate`, `commit`, `chain`, `peers`, `evidence list|export|import`).
struct StoreOption: ParsableArguments {
    @Option(name: .customLong("store"), help: "The requester's store (SQLite file; created if absent): the dApp state, the receipt chain, reputation, evidence.")
    var path: String

    func open() throws(DDEError) -> Store { try Store(path: path) }
}

/// Where modules are kept by hash: --code, else $DDE_CODE_DIR, else ./dde-code (`dde node`,
/// `exec`, `audit`, `code add`, `evidence check` and `evidence import`).
struct CodeDirectory: ParsableArguments {
    @Option(name: .customLong("code"), help: "The code store folder: modules named by SHA-256, created if absent (default: $DDE_CODE_DIR or ./dde-code).")
    var path: String?

    func open() throws(DDEError) -> CodeStore {
        let dir = path ?? ProcessInfo.processInfo.environment["DDE_CODE_DIR"] ?? "dde-code"
        return try CodeStore(directory: URL(fileURLWithPath: dir))
    }
}

/// The task's fields as options (`dde task create`, `dde delegate`): a spec file and/or the
/// fields one by one (options override the file's fields), the limits among them.
struct TaskFields: ParsableArguments {
    @Option(help: "A spec document; options below override its fields.")
    var spec: String?

    @Option(help: "dApp id.")
    var dapp: String?

    @Option(help: "The module (.wasm, or .wat compiled first) whose SHA-256 names the code.")
    var code: String?

    @Option(help: "The code hash (64 hex), instead of --code.")
    var codeHash: String?

    @Option(help: "The exported function to run.")
    var action: String?

    @Option(help: "The payload (a JSON document).")
    var payload: String?

    @Option(help: "The human request the intent came from.")
    var raw: String?

    @Option(name: .customLong("cap"), help: "A required capability (repeat): state.read, state.write, crypto.hash, crypto.verify, log.")
    var capabilities: [String] = []

    @Option(help: "A JSON file with the dApp state: {\"key\": \"<base64>\", …}.")
    var state: String?

    @Option(name: .customLong("state-key"), help: "A state key the execution may read or write (repeat): the task carries only these keys' entries, proven against the state's root (taskVersion 2). Without any, `dde task create` makes a whole-state task (taskVersion 1); `dde delegate` carries every key of a small dApp, else none, and, when nothing was accepted, retries once with every key the executors name.")
    var stateKeys: [String] = []

    @Option(help: "Most host calls (default 500).") var maxSteps: UInt64?
    @Option(help: "Most fuel (default 1000000000).") var maxFuel: UInt64?
    @Option(help: "Wall-clock bound in ms.") var maxTime: UInt64?
    @Option(help: "Memory bound in bytes.") var maxMemory: UInt64?
    @Option(help: "Task timestamp in Unix ms (default: now; fix it for reproducible ids).") var timestamp: UInt64?

    /// The module `--code` names (a .wat file compiled first), or nil without `--code`.
    func module() throws(DDEError) -> [UInt8]? {
        guard let code else { return nil }
        let bytes = try readInput(code, what: "module", limit: .module)
        return code.hasSuffix(".wat") ? try compileWAT(bytes, path: code) : bytes
    }

    /// The spec document (what dde_task_create takes). `allowState: false` refuses a state
    /// (`dde delegate` takes the dApp's state from the store). `module`: what `module()` gave,
    /// when the caller read it already.
    func specObject(allowState: Bool, module: [UInt8]? = nil) throws(DDEError) -> JSONObject {
        var object = JSONObject()
        if let spec {
            guard case .object(let o) = try parseJSON(try readInput(spec, what: "spec"), what: spec) else {
                throw DDEError(.schema, "\(spec) must hold a JSON object")
            }
            object = o
        }
        if let dapp { object["dappId"] = .string(dapp) }
        if code != nil, codeHash != nil {
            throw DDEError(.argument, "give --code or --code-hash, not both")
        }
        let bytes = module != nil ? module : try self.module()
        if let bytes { object["dappCodeHash"] = .string(SHA256.hash(bytes).hex) }
        if let codeHash { object["dappCodeHash"] = .string(codeHash) }
        if let action { object["action"] = .string(action) }
        if let payload { object["payload"] = try parseJSON(Array(payload.utf8), what: "--payload") }
        if let raw { object["raw"] = .string(raw) }
        if !capabilities.isEmpty { object["requiredCapabilities"] = .array(capabilities.map { .string($0) }) }
        if let state { object["state"] = try parseJSON(try readInput(state, what: "state"), what: state) }
        if !stateKeys.isEmpty { object["stateKeys"] = .array(stateKeys.map { .string($0) }) }
        if let maxSteps { object["maxExecutionSteps"] = .number(Double(maxSteps)) }
        if let maxFuel { object["maxFuel"] = .number(Double(maxFuel)) }
        if let maxTime { object["maxExecutionTime"] = .number(Double(maxTime)) }
        if let maxMemory { object["maxMemoryUsage"] = .number(Double(maxMemory)) }
        if let timestamp { object["timestamp"] = .number(Double(timestamp)) }
        if !allowState, object["state"] != nil {
            throw DDEError(.argument, "the task's state comes from the store (the dApp's current state); drop --state and \"state\" from the spec")
        }
        return object
    }
}

/// How a delegation makes sure of its result (`dde delegate`).
struct AssuranceOptions: ParsableArguments {
    @Option(help: "first_valid (accept the first valid proof), quorum (k executors must agree) or audited (replicate executors on probation, audit trusted ones at random).")
    var mode: String = "first_valid"

    @Option(help: "Quorum size (with --mode quorum).")
    var k: Int = 2

    @Option(help: "With --mode audited: the share of committed results you accept to be wrong.")
    var errorTarget: Double = 1e-3

    @Option(help: "With --mode audited: the share of executors assumed to lie.")
    var liarShare: Double = 0.2

    @Option(help: "With --mode audited: the lowest audit probability, however long an executor's record.")
    var auditFloor: Double = 0.01

    @Option(name: .customLong("pin"), help: "An executor you trust (public key hex, repeatable): audits and tie-breaks go to it first, and its word decides a disagreement.")
    var pinned: [String] = []

    @Option(name: .customLong("evidence-code"), help: "A code store folder: evidence received from other requesters is judged by re-executing from it (default: only self-evident evidence is acted on).")
    var evidenceCode: String?

    func apply(to o: inout DelegationOptions) throws(DDEError) {
        let audit = AuditPolicy(errorTarget: errorTarget, liarShare: liarShare, auditFloor: auditFloor)
        guard let named = try AssuranceMode.named(mode, quorum: k, audit: audit) else {
            throw DDEError(.argument, "--mode must be first_valid, quorum or audited, not \(mode)")
        }
        if case .audited = named {
            guard errorTarget > 0, errorTarget < 1 else { throw DDEError(.argument, "--error-target must be in (0, 1), not \(errorTarget)") }
            try audit.validate()
        }
        o.mode = named
        o.pinned = []
        for hex in pinned { o.pinned.append(try PublicKey(hex: hex, field: "--pin")) }
    }

    /// Re-execution for received evidence, when --evidence-code names a code store.
    func judge() -> ((EvidenceDocument) -> EvidenceDocument.Outcome?)? {
        guard let evidenceCode, let store = try? CodeStore(directory: URL(fileURLWithPath: evidenceCode)) else { return nil }
        return { doc in (try? Audit.outcome(of: doc.task, codeStore: store)) ?? nil }
    }
}
