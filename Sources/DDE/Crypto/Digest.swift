import CDDE

/// A SHA-256 digest: 32 bytes, written as 64 lowercase hex characters in protocol objects.
/// The bytes are held inline (see InlineBytes.swift); `bytes` makes an array when asked.
public struct Digest: Hashable, Sendable {
    public static let byteCount = ABILimits.hashBytes  // abi/dde.abi; Bytes32 holds it
    var storage: Bytes32

    public var bytes: [UInt8] { storage.array }

    /// Byte order of two digests, without arrays.
    static func bytesLess(_ a: Digest, _ b: Digest) -> Bool { a.storage < b.storage }

    public init(bytes: [UInt8]) throws(DDEError) {
        guard bytes.count == Digest.byteCount else {
            throw DDEError(.argument, "a digest is 32 bytes, got \(bytes.count)")
        }
        storage = Bytes32(bytes)
    }

    /// The caller has checked that there are 32 bytes.
    init(unchecked bytes: [UInt8]) { storage = Bytes32(bytes) }

    init(_ storage: Bytes32) { self.storage = storage }

    /// The 32 bytes at `p`.
    init(copying p: UnsafeRawPointer) { storage = Bytes32(p) }

    public init(hex: String, field: @autoclosure () -> ErrorDetail) throws(DDEError) {
        storage = try Bytes32(hex: hex, field: field())
    }

    public var hex: String { storage.hex }

    /// Lends the 32 bytes (no array).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { storage.withUnsafeBytes(body) }

    /// Copies the 32 bytes to `out`.
    public func copyBytes(to out: UnsafeMutableRawPointer) {
        storage.withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: Digest.byteCount) }
    }

    public static func == (a: Digest, b: Digest) -> Bool { a.storage == b.storage }
    public func hash(into hasher: inout Hasher) { storage.hash(into: &hasher) }
}

public enum SHA256 {
    public static func hash(_ data: UnsafeRawBufferPointer) -> Digest {
        Digest(Bytes32(filling: { o in
            _ = crypto_hash_sha256(o, data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(data.count))
        }))
    }

    /// Writes the 32-byte digest of `data` to `out` (no array in between: Merkle trees).
    static func hash(_ data: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) {
        _ = crypto_hash_sha256(out, data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(data.count))
    }

    public static func hash(_ bytes: [UInt8]) -> Digest {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// The digest of `bytes` without two ranges of them, `first` before `second`: a signed
    /// object serialised once, hashed without its hash and signature members (Receipt.signed,
    /// ComputeTask.create).
    static func hash(_ bytes: [UInt8], omitting first: Range<Int>, _ second: Range<Int>) -> Digest {
        var h = Hasher()
        bytes.withUnsafeBytes { b in
            h.update(UnsafeRawBufferPointer(rebasing: b[..<first.lowerBound]))
            h.update(UnsafeRawBufferPointer(rebasing: b[first.upperBound..<second.lowerBound]))
            h.update(UnsafeRawBufferPointer(rebasing: b[second.upperBound...]))
        }
        return h.finalize()
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

        mutating func finalize(into out: UnsafeMutablePointer<UInt8>) {
            _ = crypto_hash_sha256_final(&state, out)
        }

        public mutating func finalize() -> Digest {
            var out = Bytes32()
            out.withUnsafeMutableBytes { o in
                _ = crypto_hash_sha256_final(&state, o.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            return Digest(out)
        }

        /// Adds a digest's 32 bytes (Merkle nodes, trace steps) without an array.
        public mutating func update(_ digest: Digest) {
            digest.withUnsafeBytes { update($0) }
        }
    }
}

extension JSON {
    /// H(x) of the protocol: SHA-256 of the RFC 8785 canonical bytes.
    public var hash: Digest { SHA256.hash(canonicalBytes()) }
}
