// The execution trace (docs/EXECUTION.md section 4): every host call is one step, folded into a
// rolling SHA-256 so that two runs agree on the hash exactly when they made the same calls with
// the same arguments and got the same answers.
//
//   h0  = SHA-256("dde/v1/trace")
//   h_i = SHA-256(h_{i-1} || u32be(i) || capability || 0x00 || function || 0x00
//                 || SHA-256(args_i) || SHA-256(returned_i))
import DDE

public struct ExecutionTrace: Sendable {
    public static let domain = "dde/v1/trace"

    /// h_n (h_0 before any step).
    public private(set) var head: Digest = SHA256.hash(ExecutionTrace.domain)
    /// n, the number of steps so far.
    public private(set) var length: Int = 0

    public init() {}

    /// Appends step i = length + 1.
    public mutating func append(capability: String, function: String, args: [UInt8], returned: [UInt8]) {
        length += 1
        var h = SHA256.Hasher()
        h.update(head.bytes)
        h.update(uint32BE: UInt32(truncatingIfNeeded: length))
        h.update(Array(capability.utf8))
        h.update(byte: 0)
        h.update(Array(function.utf8))
        h.update(byte: 0)
        h.update(SHA256.hash(args).bytes)
        h.update(SHA256.hash(returned).bytes)
        head = h.finalize()
    }
}
