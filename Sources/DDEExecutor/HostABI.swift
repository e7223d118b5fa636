// The host ABI: the functions a dApp may import from module "dde" (docs/EXECUTION.md section 3).
// Every parameter and result is an i32; pointers and lengths are unsigned offsets into the
// guest's exported memory "memory".
import DDE

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
        HostFunction(name: "input_size", capability: HostFunction.io, parameterCount: 0, usesMemory: false),
        HostFunction(name: "input_read", capability: HostFunction.io, parameterCount: 2, usesMemory: true),
        HostFunction(name: "output_write", capability: HostFunction.io, parameterCount: 2, usesMemory: true),
        HostFunction(name: "state_get", capability: "state.read", parameterCount: 4, usesMemory: true),
        HostFunction(name: "state_set", capability: "state.write", parameterCount: 4, usesMemory: true),
        HostFunction(name: "state_delete", capability: "state.write", parameterCount: 2, usesMemory: true),
        HostFunction(name: "sha256", capability: "crypto.hash", parameterCount: 3, usesMemory: true),
        HostFunction(name: "ed25519_verify", capability: "crypto.verify", parameterCount: 4, usesMemory: true),
        HostFunction(name: "log", capability: "log", parameterCount: 2, usesMemory: true),
    ]

    public static func named(_ name: String) -> HostFunction? {
        all.first { Array($0.name.utf8) == Array(name.utf8) }
    }

    /// The import module every host function lives in.
    public static let moduleName = "dde"
    /// The trace label of the always-allowed input/output functions (not a capability).
    public static let io = "io"
}

/// Bounds on what a guest can make the host hold. Going past one aborts the run with `.limit`.
public enum HostLimits {
    /// A state key (bytes; keys are 1 to this many bytes of UTF-8, as in the protocol).
    public static let maxKeyBytes = maxStateKeyBytes
    /// A state value (bytes): the core's bound, so every write fits a compute_result.
    public static let maxValueBytes = maxStateValueBytes
    /// All output_write calls together (the result document), as the JSON parser's default.
    public static let maxOutputBytes = 1 << 20
    /// All log calls together.
    public static let maxLogBytes = 64 << 10
    /// Message given to ed25519_verify.
    public static let maxVerifyMessageBytes = 1 << 20
    /// Data given to sha256 in one call.
    public static let maxHashBytes = 16 << 20
}
