// The host ABI: the functions a dApp may import from module "dde" (docs/EXECUTION.md section 3).
// Every parameter and result is an i32; pointers and lengths are unsigned offsets into the
// guest's exported memory "memory".

/// The capabilities a task can declare (PROTOCOL.md section 4), in sorted order.
public enum Capability {
    public static let stateRead = "state.read"
    public static let stateWrite = "state.write"
    public static let cryptoHash = "crypto.hash"
    public static let cryptoVerify = "crypto.verify"
    public static let log = "log"
    /// The trace label of the always-allowed input/output functions. Not a capability.
    public static let io = "io"

    public static let all: [String] = [cryptoHash, cryptoVerify, log, stateRead, stateWrite]
}

/// One host function of module "dde".
public struct HostFunction: Sendable {
    public let name: String
    /// The capability it belongs to, or "io" for input/output (always allowed).
    public let capability: String
    public let parameterCount: Int
    /// Whether the function touches guest memory (then the module must export "memory").
    let usesMemory: Bool

    /// The whole ABI, in the order of docs/EXECUTION.md.
    public static let all: [HostFunction] = [
        HostFunction(name: "input_size", capability: Capability.io, parameterCount: 0, usesMemory: false),
        HostFunction(name: "input_read", capability: Capability.io, parameterCount: 2, usesMemory: true),
        HostFunction(name: "output_write", capability: Capability.io, parameterCount: 2, usesMemory: true),
        HostFunction(name: "state_get", capability: Capability.stateRead, parameterCount: 4, usesMemory: true),
        HostFunction(name: "state_set", capability: Capability.stateWrite, parameterCount: 4, usesMemory: true),
        HostFunction(name: "state_delete", capability: Capability.stateWrite, parameterCount: 2, usesMemory: true),
        HostFunction(name: "sha256", capability: Capability.cryptoHash, parameterCount: 3, usesMemory: true),
        HostFunction(name: "ed25519_verify", capability: Capability.cryptoVerify, parameterCount: 4, usesMemory: true),
        HostFunction(name: "log", capability: Capability.log, parameterCount: 2, usesMemory: true),
    ]

    public static func named(_ name: String) -> HostFunction? {
        all.first { Array($0.name.utf8) == Array(name.utf8) }
    }

    /// The import module every host function lives in.
    public static let moduleName = "dde"
}

/// Bounds on what a guest can make the host hold. Going past one aborts the run with `.limit`.
public enum HostLimits {
    /// A state key (bytes).
    public static let maxKeyBytes = 1024
    /// A state value (bytes).
    public static let maxValueBytes = 1 << 20
    /// All output_write calls together (the result document), as the JSON parser's default.
    public static let maxOutputBytes = 1 << 20
    /// All log calls together.
    public static let maxLogBytes = 64 << 10
    /// Message given to ed25519_verify.
    public static let maxVerifyMessageBytes = 1 << 20
    /// Data given to sha256 in one call.
    public static let maxHashBytes = 16 << 20
}
