// Hashes, keys and signatures for C callers. See include/dde.h.
import CDDE

@_cdecl("dde_sha256")
public func dde_sha256(_ input: UnsafeRawPointer?, _ length: Int, _ out: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guarded { () throws(DDEError) in
        let data = try inputBytes(input, length, "input")
        let o = try outputPointer(out, "out")
        let digest = SHA256.hash(data)
        digest.copyBytes(to: o)
    }
}

@_cdecl("dde_keypair")
public func dde_keypair(_ publicKey: UnsafeMutablePointer<UInt8>?, _ secretKey: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guarded { () throws(DDEError) in
        let pk = try outputPointer(publicKey, "public_key")
        let sk = try outputPointer(secretKey, "secret_key")
        try copyOut(KeyPair.generate(), pk, sk)
    }
}

/// Outputs last, as everywhere in the C API (ABI 0.0 renamed dde_keypair_from_seed(pk, sk, seed)).
@_cdecl("dde_seed_keypair")
public func dde_seed_keypair(_ seed: UnsafePointer<UInt8>?, _ publicKey: UnsafeMutablePointer<UInt8>?,
                             _ secretKey: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guarded { () throws(DDEError) in
        let s = try fixedInput(seed, KeyPair.seedByteCount, "seed")
        let pk = try outputPointer(publicKey, "public_key")
        let sk = try outputPointer(secretKey, "secret_key")
        try copyOut(KeyPair.fromSeed(s), pk, sk)
    }
}

private func copyOut(_ pair: KeyPair, _ pk: UnsafeMutablePointer<UInt8>, _ sk: UnsafeMutablePointer<UInt8>) throws(DDEError) {
    pair.publicKey.copyBytes(to: pk)
    pair.withSecretKey { s in
        if let base = s.baseAddress { memcpy(sk, base, KeyPair.secretKeyByteCount) }
    }
}

/// Kinds as the C API numbers them (DDE_KIND_TASK, ...).
func signatureKind(_ code: Int32) throws(DDEError) -> SignatureKind {
    switch code {
    case 1: return .task
    case 2: return .proof
    case 3: return .receipt
    case 4: return .presence
    case 5: return .error
    default: throw DDEError(.argument, "kind \(code) is not DDE_KIND_TASK (1), DDE_KIND_PROOF (2), DDE_KIND_RECEIPT (3), DDE_KIND_PRESENCE (4) or DDE_KIND_ERROR (5)")
    }
}

@_cdecl("dde_sign")
public func dde_sign(_ kind: Int32, _ hash: UnsafePointer<UInt8>?, _ secretKey: UnsafePointer<UInt8>?,
                     _ signature: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guarded { () throws(DDEError) in
        let k = try signatureKind(kind)
        let h = try fixedInput(hash, Digest.byteCount, "hash")
        let sk = try fixedInput(secretKey, KeyPair.secretKeyByteCount, "secret_key")
        let out = try outputPointer(signature, "signature")
        let pair = try KeyPair.fromSecretKey(sk)
        let sig = pair.sign(k, try Digest(bytes: Array(h)))
        sig.copyBytes(to: out)
    }
}

@_cdecl("dde_verify_signature")
public func dde_verify_signature(_ kind: Int32, _ hash: UnsafePointer<UInt8>?, _ publicKey: UnsafePointer<UInt8>?,
                                 _ signature: UnsafePointer<UInt8>?) -> Int32 {
    guarded { () throws(DDEError) in
        let k = try signatureKind(kind)
        let h = try fixedInput(hash, Digest.byteCount, "hash")
        let pk = try PublicKey(bytes: Array(try fixedInput(publicKey, PublicKey.byteCount, "public_key")))
        let sig = try Signature(bytes: Array(try fixedInput(signature, Signature.byteCount, "signature")))
        guard pk.isValidSignature(sig, kind: k, digest: try Digest(bytes: Array(h))) else {
            throw DDEError(.signature, "the signature does not verify for this key, kind and hash")
        }
    }
}

@_cdecl("dde_ed25519_verify")
public func dde_ed25519_verify(_ signature: UnsafePointer<UInt8>?, _ message: UnsafeRawPointer?, _ length: Int,
                               _ publicKey: UnsafePointer<UInt8>?) -> Int32 {
    guarded { () throws(DDEError) in
        let sig = try fixedInput(signature, Signature.byteCount, "signature")
        let msg = try inputBytes(message, length, "message")
        let pk = try fixedInput(publicKey, PublicKey.byteCount, "public_key")
        guard Ed25519.verify(signature: Array(sig), message: Array(msg), publicKey: Array(pk)) else {
            throw DDEError(.signature, "Ed25519 signature does not verify")
        }
    }
}
