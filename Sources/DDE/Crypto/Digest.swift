import CDDE

/// A SHA-256 digest: 32 bytes, written as 64 lowercase hex characters in protocol objects.
public struct Digest: Hashable, Sendable {
    public static let byteCount = 32
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(DDEError) {
        guard bytes.count == Digest.byteCount else {
            throw DDEError(.argument, "a digest is 32 bytes, got \(bytes.count)")
        }
        self.bytes = bytes
    }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    public init(hex: String, field: @autoclosure () -> String) throws(DDEError) {
        bytes = try Hex.decode(hex, count: Digest.byteCount, field: field())
    }

    public var hex: String { Hex.encode(bytes) }
}

public enum SHA256 {
    public static func hash(_ data: UnsafeRawBufferPointer) -> Digest {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBufferPointer { o in
            _ = crypto_hash_sha256(o.baseAddress!, data.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                   UInt64(data.count))
        }
        return Digest(unchecked: out)
    }

    public static func hash(_ bytes: [UInt8]) -> Digest {
        bytes.withUnsafeBytes { hash($0) }
    }

    public static func hash(_ text: String) -> Digest {
        var s = text
        return s.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// Incremental hashing for multi-part messages (Merkle nodes, trace steps).
    public struct Hasher {
        private var state = crypto_hash_sha256_state()

        public init() { _ = crypto_hash_sha256_init(&state) }

        public mutating func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBufferPointer { b in
                _ = crypto_hash_sha256_update(&state, b.baseAddress, UInt64(b.count))
            }
        }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            _ = crypto_hash_sha256_update(&state, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                          UInt64(bytes.count))
        }

        public mutating func update(byte: UInt8) {
            var b = byte
            withUnsafeBytes(of: &b) { update($0) }
        }

        /// Big-endian 32-bit length or count.
        public mutating func update(uint32BE v: UInt32) {
            var be = v.bigEndian
            withUnsafeBytes(of: &be) { update($0) }
        }

        public mutating func finalize() -> Digest {
            var out = [UInt8](repeating: 0, count: 32)
            out.withUnsafeMutableBufferPointer { o in _ = crypto_hash_sha256_final(&state, o.baseAddress!) }
            return Digest(unchecked: out)
        }
    }
}

extension JSON {
    /// H(x) of the protocol: SHA-256 of the RFC 8785 canonical bytes.
    public var hash: Digest { SHA256.hash(canonicalBytes()) }
}
