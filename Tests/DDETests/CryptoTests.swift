import XCTest
import Foundation
@testable import DDE

final class CryptoTests: XCTestCase {
    func testSHA256OfEmptyIsKnownVector() {
        XCTAssertEqual(SHA256.hash([UInt8]()).hex,
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    /// Digests, keys and signatures hold their bytes inline: no heap reference in the value.
    func testInlineStorageHasNoReference() {
        XCTAssertEqual(MemoryLayout<Digest>.size, 32)
        XCTAssertEqual(MemoryLayout<PublicKey>.size, 32)
        XCTAssertEqual(MemoryLayout<Signature>.size, 64)
        XCTAssertTrue(_isPOD(Digest.self) && _isPOD(PublicKey.self) && _isPOD(Signature.self))
    }

    func testDigestBytesHexAndEqualityRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let d = try Digest(bytes: bytes)
        XCTAssertEqual(d.bytes, bytes)
        XCTAssertEqual(d.hex, Hex.encode(bytes))
        XCTAssertEqual(try Digest(hex: d.hex, field: "x"), d)
        XCTAssertEqual(d.withUnsafeBytes { Array($0) }, bytes)
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { d.copyBytes(to: $0.baseAddress!) }
        XCTAssertEqual(out, bytes)
        // Every byte counts for equality and hashing.
        var set: Set<Digest> = [d]
        for i in 0..<32 {
            var other = bytes
            other[i] ^= 0x01
            let e = try Digest(bytes: other)
            XCTAssertNotEqual(e, d, "byte \(i)")
            set.insert(e)
        }
        set.insert(try Digest(bytes: bytes))
        XCTAssertEqual(set.count, 33)
        XCTAssertEqual(SHA256.hash(bytes), SHA256.hash(d.bytes))
    }

    func testDigestRefusesWrongLengthAndNonLowercaseHex() {
        XCTAssertThrowsError(try Digest(bytes: [UInt8](repeating: 0, count: 31))) { e in
            XCTAssertEqual((e as? DDEError)?.status, .argument)
        }
        let upper = String(repeating: "A", count: 64)
        XCTAssertThrowsError(try Digest(hex: upper, field: "f")) { e in
            XCTAssertEqual((e as? DDEError)?.status, .encoding)
        }
        XCTAssertThrowsError(try Digest(hex: String(repeating: "a", count: 62), field: "f")) { e in
            XCTAssertEqual((e as? DDEError)?.status, .encoding)
        }
        // The bad character last, past the first eight-character block.
        XCTAssertThrowsError(try PublicKey(hex: String(repeating: "0", count: 63) + "g", field: "f")) { e in
            XCTAssertEqual((e as? DDEError)?.status, .encoding)
        }
    }

    func testSignatureAndKeyRoundTripAndVerify() throws {
        let pair = try KeyPair.fromSeed([UInt8](repeating: 7, count: 32))
        let digest = SHA256.hash(Array("payload".utf8))
        let sig = pair.sign(.proof, digest)
        XCTAssertEqual(sig.bytes.count, 64)
        XCTAssertEqual(try Signature(hex: sig.hex, field: "s"), sig)
        XCTAssertEqual(try Signature(bytes: sig.bytes), sig)
        XCTAssertEqual(try PublicKey(hex: pair.publicKey.hex, field: "k"), pair.publicKey)
        XCTAssertTrue(pair.publicKey.isValidSignature(sig, kind: .proof, digest: digest))
        // The same bytes through libsodium directly, over the documented message.
        XCTAssertTrue(Ed25519.verify(signature: sig.bytes, message: Array("dde/v1/proof".utf8) + [0] + digest.bytes,
                                     publicKey: pair.publicKey.bytes))
        XCTAssertFalse(pair.publicKey.isValidSignature(sig, kind: .task, digest: digest))
        var forged = sig.bytes
        forged[63] ^= 0x10
        XCTAssertFalse(pair.publicKey.isValidSignature(try Signature(bytes: forged), kind: .proof, digest: digest))
        XCTAssertNotEqual(try Signature(bytes: forged), sig)
    }

    func testSignedMessageIsPrefixZeroDigest() throws {
        let digest = try Digest(bytes: Array(0..<32))
        for (kind, label) in [(SignatureKind.task, "task"), (.proof, "proof"), (.receipt, "receipt")] {
            XCTAssertEqual(kind.message(for: digest), Array("dde/v1/\(label)".utf8) + [0] + Array(0..<32))
        }
    }

    /// Keys sort in the byte order of their bytes (executor lists), including keys that differ
    /// only in a later word or share a prefix.
    func testPublicKeyOrderIsByteOrder() throws {
        var generator = SystemRandomNumberGenerator()
        var keys = [[UInt8]]()
        for _ in 0..<40 { keys.append((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }) }
        let base = keys[0]
        for i in [0, 7, 8, 15, 31] {
            var k = base
            k[i] = k[i] &+ 1
            keys.append(k)
        }
        keys.append(base)
        for a in keys {
            for b in keys {
                XCTAssertEqual(PublicKey.bytesLess(try PublicKey(bytes: a), try PublicKey(bytes: b)), bytesLess(a, b))
            }
        }
    }
}

final class HexAppendTests: XCTestCase {
    func testAppendMatchesEncodeAcrossItsChunkBoundaries() {
        for n in [0, 1, 31, 32, 63, 64, 65, 127, 128, 129, 300] {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            var out: [UInt8] = Array("x".utf8)
            Hex.append(bytes, to: &out)
            XCTAssertEqual(out, Array(("x" + Hex.encode(bytes)).utf8), "n = \(n)")
        }
    }
}

final class Base64Tests: XCTestCase {
    /// RFC 4648 section 10's vectors, then every length up to 70 against Foundation's encoder,
    /// each decoded back.
    func testEncodeMatchesRFC4648AndFoundationAndDecodesBack() throws {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==",
                       "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors { XCTAssertEqual(Base64.encode(Array(plain.utf8)), encoded, plain) }
        for n in 0...70 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 251) }
            let text = Base64.encode(bytes)
            XCTAssertEqual(text, Data(bytes).base64EncodedString(), "n = \(n)")
            XCTAssertEqual(try Base64.decode(text, field: "test"), bytes, "n = \(n)")
        }
    }
}
