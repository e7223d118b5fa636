import CDDE

/// What a signature is over. Signing is domain-separated (PROTOCOL.md section 2): the signed
/// message is "dde/v1/" + kind + 0x00 + the 32 raw digest bytes, so a signature made for one kind
/// of object can never be replayed as another.
public enum SignatureKind: Sendable {
    case task, proof, receipt
    /// An executor's announcement (PROTOCOL.md section 10).
    case presence
    /// An executor's refusal of one task (compute_error, PROTOCOL.md section 10).
    case error

    public var label: String {
        switch self {
        case .task: return "task"
        case .proof: return "proof"
        case .receipt: return "receipt"
        case .presence: return "presence"
        case .error: return "error"
        }
    }

    /// "dde/v1/" + kind + 0x00, as static bytes.
    private var prefix: StaticString {
        switch self {
        case .task: return "dde/v1/task\0"
        case .proof: return "dde/v1/proof\0"
        case .receipt: return "dde/v1/receipt\0"
        case .presence: return "dde/v1/presence\0"
        case .error: return "dde/v1/error\0"
        }
    }

    /// The longest prefix ("dde/v1/presence" + 0x00).
    private static let maxPrefixBytes = 16

    /// The exact bytes that are signed for `digest`.
    public func message(for digest: Digest) -> [UInt8] {
        withMessage(for: digest) { Array($0) }
    }

    /// Lends the signed message for `digest`, assembled on the stack (every verification builds
    /// one; no array).
    func withMessage<R>(for digest: Digest, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let p = prefix
        let n = p.utf8CodeUnitCount + Digest.byteCount
        return withUnsafeTemporaryAllocation(byteCount: SignatureKind.maxPrefixBytes + Digest.byteCount, alignment: 8) { buffer in
            let m = buffer.baseAddress!
            m.copyMemory(from: p.utf8Start, byteCount: p.utf8CodeUnitCount)
            digest.copyBytes(to: m + p.utf8CodeUnitCount)
            return body(UnsafeRawBufferPointer(start: m, count: n))
        }
    }
}

/// An Ed25519 public key (32 bytes; 64 lowercase hex characters in protocol objects).
/// The bytes are held inline (see InlineBytes.swift); `bytes` makes an array when asked.
public struct PublicKey: Hashable, Sendable {
    public static let byteCount = ABILimits.publicKeyBytes  // abi/dde.abi; Bytes32 holds it
    var storage: Bytes32

    public var bytes: [UInt8] { storage.array }

    public init(bytes: [UInt8]) throws(DDEError) {
        guard bytes.count == PublicKey.byteCount else {
            throw DDEError(.key, "a public key is 32 bytes, got \(bytes.count)")
        }
        storage = Bytes32(bytes)
    }

    init(_ storage: Bytes32) { self.storage = storage }

    public init(hex: String, field: @autoclosure () -> ErrorDetail) throws(DDEError) {
        storage = try Bytes32(hex: hex, field: field())
    }

    public var hex: String { storage.hex }

    /// Lends the 32 bytes (no array).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { storage.withUnsafeBytes(body) }

    /// Copies the 32 bytes to `out`.
    public func copyBytes(to out: UnsafeMutableRawPointer) {
        storage.withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: PublicKey.byteCount) }
    }

    public static func == (a: PublicKey, b: PublicKey) -> Bool { a.storage == b.storage }

    /// Byte order of two keys (as `bytesLess` of their bytes), without arrays: sorting executors.
    public static func bytesLess(_ a: PublicKey, _ b: PublicKey) -> Bool { a.storage < b.storage }
    public func hash(into hasher: inout Hasher) { storage.hash(into: &hasher) }

    /// Checks a domain-separated signature of `kind` over `digest`.
    public func isValidSignature(_ signature: Signature, kind: SignatureKind, digest: Digest) -> Bool {
        Ed25519.ensureInitialised()
        return kind.withMessage(for: digest) { m in
            signature.storage.withUnsafeBytes { s in
                storage.withUnsafeBytes { p in
                    crypto_sign_verify_detached(s.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                m.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(m.count),
                                                p.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0
                }
            }
        }
    }
}

/// An Ed25519 signature (64 bytes; 128 lowercase hex characters).
/// The bytes are held inline (see InlineBytes.swift); `bytes` makes an array when asked.
public struct Signature: Hashable, Sendable {
    public static let byteCount = ABILimits.signatureBytes  // abi/dde.abi; Bytes64 holds it
    var storage: Bytes64

    public var bytes: [UInt8] { storage.array }

    public init(bytes: [UInt8]) throws(DDEError) {
        guard bytes.count == Signature.byteCount else {
            throw DDEError(.encoding, "a signature is 64 bytes, got \(bytes.count)")
        }
        storage = Bytes64(bytes)
    }

    init(_ storage: Bytes64) { self.storage = storage }

    public init(hex: String, field: @autoclosure () -> ErrorDetail) throws(DDEError) {
        storage = try Bytes64(hex: hex, field: field())
    }

    public var hex: String { storage.hex }

    /// Lends the 64 bytes (no array).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { storage.withUnsafeBytes(body) }

    /// Copies the 64 bytes to `out`.
    public func copyBytes(to out: UnsafeMutableRawPointer) {
        storage.withUnsafeBytes { b in
            if let base = b.baseAddress { out.copyMemory(from: base, byteCount: Signature.byteCount) }
        }
    }

    public static func == (a: Signature, b: Signature) -> Bool { a.storage == b.storage }
    public func hash(into hasher: inout Hasher) { storage.hash(into: &hasher) }
}

/// An Ed25519 key pair. The secret key (libsodium's 64-byte seed||public form) lives in a buffer
/// this object owns and wipes when it is released; it is never copied into a Swift array.
public final class KeyPair {
    public static let secretKeyByteCount = ABILimits.secretKeyBytes
    public static let seedByteCount = ABILimits.seedBytes

    public let publicKey: PublicKey
    private let secret: UnsafeMutablePointer<UInt8>

    private init(publicKey: PublicKey, secret: UnsafeMutablePointer<UInt8>) {
        self.publicKey = publicKey
        self.secret = secret
    }

    deinit {
        sodium_memzero(secret, KeyPair.secretKeyByteCount)
        secret.deallocate()
    }

    /// A fresh key pair from libsodium's CSPRNG.
    public static func generate() -> KeyPair {
        Ed25519.ensureInitialised()
        let sk = UnsafeMutablePointer<UInt8>.allocate(capacity: secretKeyByteCount)
        let pk = Bytes32(filling: { p in _ = crypto_sign_keypair(p, sk) })
        return KeyPair(publicKey: PublicKey(pk), secret: sk)
    }

    /// The key pair determined by a 32-byte seed (deterministic; for tests and key derivation).
    public static func fromSeed(_ seed: UnsafeRawBufferPointer) throws(DDEError) -> KeyPair {
        guard seed.count == seedByteCount, let base = seed.baseAddress else {
            throw DDEError(.key, "an Ed25519 seed is 32 bytes, got \(seed.count)")
        }
        Ed25519.ensureInitialised()
        let sk = UnsafeMutablePointer<UInt8>.allocate(capacity: secretKeyByteCount)
        let pk = Bytes32(filling: { p in _ = crypto_sign_seed_keypair(p, sk, base.assumingMemoryBound(to: UInt8.self)) })
        return KeyPair(publicKey: PublicKey(pk), secret: sk)
    }

    public static func fromSeed(_ seed: [UInt8]) throws(DDEError) -> KeyPair {
        var result: Result<KeyPair, DDEError> = .failure(DDEError(.key, "empty seed"))
        seed.withUnsafeBytes { s in
            do throws(DDEError) { result = .success(try fromSeed(s)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// Adopts a 64-byte libsodium secret key; refuses one whose embedded public half does not
    /// match the key derived from its seed.
    public static func fromSecretKey(_ secretKey: UnsafeRawBufferPointer) throws(DDEError) -> KeyPair {
        guard secretKey.count == secretKeyByteCount, let base = secretKey.baseAddress else {
            throw DDEError(.key, "an Ed25519 secret key is 64 bytes, got \(secretKey.count)")
        }
        let pair = try fromSeed(UnsafeRawBufferPointer(start: base, count: seedByteCount))
        let embedded = UnsafeRawBufferPointer(start: base + seedByteCount, count: 32)
        guard pair.publicKey.withUnsafeBytes({ sodium_memcmp(embedded.baseAddress!, $0.baseAddress!, 32) }) == 0 else {
            throw DDEError(.key, "the secret key's public half does not match its seed")
        }
        return pair
    }

    /// Lends the 64 secret-key bytes; do not let them escape `body`.
    public func withSecretKey<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        body(UnsafeRawBufferPointer(start: secret, count: KeyPair.secretKeyByteCount))
    }

    /// A domain-separated signature of `kind` over `digest`.
    public func sign(_ kind: SignatureKind, _ digest: Digest) -> Signature {
        kind.withMessage(for: digest) { m in
            withUnsafeTemporaryAllocation(byteCount: Signature.byteCount, alignment: 8) { s in
                _ = crypto_sign_detached(s.baseAddress!.assumingMemoryBound(to: UInt8.self), nil,
                                         m.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(m.count), secret)
                return Signature(Bytes64(UnsafeRawPointer(s.baseAddress!)))
            }
        }
    }
}

extension PublicKey { init(uncheckedBytes: [UInt8]) { storage = Bytes32(uncheckedBytes) } }
extension Signature { init(uncheckedBytes: [UInt8]) { storage = Bytes64(uncheckedBytes) } }

public enum Ed25519 {
    static func ensureInitialised() { _ = cdde_init() }

    /// Raw Ed25519 verification (libsodium's crypto_sign_verify_detached, which rejects
    /// non-canonical and small-order encodings).
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, publicKey.count == 32 else { return false }
        ensureInitialised()
        return signature.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { m in
                publicKey.withUnsafeBufferPointer { p in
                    crypto_sign_verify_detached(s.baseAddress!, m.baseAddress, UInt64(m.count), p.baseAddress!) == 0
                }
            }
        }
    }
}
