// Key files: one small JSON document holding the seed, written with mode 0600.
//   {"kind":"dde-ed25519-key","publicKey":"<64 hex>","seed":"<64 hex>"}
// The public key is stored too, so a damaged or mismatched file is caught on load.
import CDDE

public enum KeyFile {
    static let kind = "dde-ed25519-key"
    static let maxBytes = 4096

    /// The file's bytes for `pair`. They contain the secret seed: wipe them after use.
    static func encode(_ pair: KeyPair) -> [UInt8] {
        pair.withSecretKey { sk in
            let seed = Hex.encode(UnsafeRawBufferPointer(rebasing: sk[0..<KeyPair.seedByteCount]))
            let text = "{\"kind\":\"\(kind)\",\"publicKey\":\"\(pair.publicKey.hex)\",\"seed\":\"\(seed)\"}\n"
            return Array(text.utf8)
        }
    }

    public static func save(_ pair: KeyPair, to path: String) throws(DDEError) {
        var bytes = encode(pair)
        defer { bytes.withUnsafeMutableBytes { b in if let p = b.baseAddress { sodium_memzero(p, b.count) } } }
        let err = bytes.withUnsafeBufferPointer { b in cdde_write_private_file(path, b.baseAddress, b.count) }
        guard err == 0 else { throw DDEError(.io, "cannot write key file \(path) (errno \(err))") }
    }

    public static func load(from path: String) throws(DDEError) -> KeyPair {
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        defer { buffer.withUnsafeMutableBytes { b in if let p = b.baseAddress { sodium_memzero(p, b.count) } } }
        var length = 0
        let err = buffer.withUnsafeMutableBufferPointer { b in cdde_read_file(path, b.baseAddress, b.count, &length) }
        guard err == 0 else {
            throw DDEError(.io, "cannot read key file \(path) (errno \(err)); create one with `dde keygen`")
        }
        return try decode(Array(buffer[0..<length]), path: path)
    }

    static func decode(_ bytes: [UInt8], path: String) throws(DDEError) -> KeyPair {
        let json: JSON
        do throws(DDEError) {
            json = try JSONParser.parse(bytes, limits: JSONLimits(maxBytes: maxBytes, maxDepth: 2))
        } catch {
            throw DDEError(.key, "\(path) is not a dde key file: \(error.detail)")
        }
        do throws(DDEError) {
            return try decodeFields(json, path: path)
        } catch {
            // Whatever is wrong inside (a missing field, bad hex), the file is a damaged key file.
            throw DDEError(.key, "\(path) is not a valid dde key file: \(error.detail)")
        }
    }

    private static func decodeFields(_ json: JSON, path: String) throws(DDEError) -> KeyPair {
        let r = try FieldReader(json, context: "key file")
        try r.only(["kind", "publicKey", "seed"])
        guard sameScalars(try r.string("kind"), kind) else {
            throw DDEError(.key, "\(path): kind must be \"\(kind)\"")
        }
        var seed = try Hex.decode(try r.string("seed"), count: KeyPair.seedByteCount, field: "key file seed")
        defer { seed.withUnsafeMutableBytes { b in if let p = b.baseAddress { sodium_memzero(p, b.count) } } }
        let pair = try KeyPair.fromSeed(seed)
        guard pair.publicKey == (try r.publicKey("publicKey")) else {
            throw DDEError(.key, "\(path): publicKey does not match the seed (damaged or edited file)")
        }
        return pair
    }
}
