// Fixed-size byte strings held inline, as machine words, instead of in a heap array: a
// verification handles a dozen digests and keys, and an array each (allocation, reference
// counting, freeing) cost more than the checks on them. The words hold the bytes in memory
// order (loaded and stored unaligned, native byte order), so comparing or hashing the words is
// comparing or hashing the bytes, and `withUnsafeBytes` lends the bytes in place.
import CDDE

/// 32 bytes inline.
struct Bytes32: Sendable {
    var words: (UInt64, UInt64, UInt64, UInt64)

    init() { words = (0, 0, 0, 0) }

    /// The 32 bytes at `p`.
    @inline(__always)
    init(_ p: UnsafeRawPointer) {
        words = (p.loadUnaligned(fromByteOffset: 0, as: UInt64.self), p.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                 p.loadUnaligned(fromByteOffset: 16, as: UInt64.self), p.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    /// The first 32 bytes of `bytes`, zero-filled when there are fewer (callers check the count).
    init(_ bytes: [UInt8]) {
        self.init()
        bytes.withUnsafeBytes { b in
            withUnsafeMutableBytes { o in
                if let s = b.baseAddress { o.baseAddress!.copyMemory(from: s, byteCount: min(b.count, 32)) }
            }
        }
    }

    /// Fills the bytes through `body` (32 writable bytes).
    @inline(__always)
    init(filling body: (UnsafeMutablePointer<UInt8>) -> Void) {
        self.init()
        withUnsafeMutableBytes { body($0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }

    @inline(__always)
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var copy = words
        return Swift.withUnsafeBytes(of: &copy, body)
    }

    @inline(__always)
    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        Swift.withUnsafeMutableBytes(of: &words, body)
    }

    var array: [UInt8] { withUnsafeBytes { Array($0) } }

    @inline(__always)
    static func == (a: Bytes32, b: Bytes32) -> Bool {
        // One branch: differences ORed together.
        ((a.words.0 ^ b.words.0) | (a.words.1 ^ b.words.1) | (a.words.2 ^ b.words.2) | (a.words.3 ^ b.words.3)) == 0
    }

    /// memcmp order of the bytes: each word read as a big-endian number (its first byte the
    /// most significant), compared word by word.
    static func < (a: Bytes32, b: Bytes32) -> Bool {
        let x = (UInt64(bigEndian: a.words.0), UInt64(bigEndian: a.words.1), UInt64(bigEndian: a.words.2), UInt64(bigEndian: a.words.3))
        let y = (UInt64(bigEndian: b.words.0), UInt64(bigEndian: b.words.1), UInt64(bigEndian: b.words.2), UInt64(bigEndian: b.words.3))
        return x < y
    }

    @inline(__always)
    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// Decodes 64 lowercase hex characters at `chars`; nil when one is not lowercase hex.
    @inline(__always)
    static func hex(_ chars: UnsafePointer<UInt8>) -> Bytes32? {
        var out = Bytes32()
        let ok = out.withUnsafeMutableBytes { o in Hex.decode(chars, count: 32, into: o.baseAddress!) }
        return ok ? out : nil
    }

    /// From a String of 64 lowercase hex characters (Status.encoding otherwise).
    init(hex text: String, field: @autoclosure () -> ErrorDetail) throws(DDEError) {
        self.init()
        var failure: DDEError?
        withUnsafeMutableBytes { o in
            do throws(DDEError) {
                try Hex.decode(text, count: 32, into: o.baseAddress!, field: field())
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// True when the 64 characters at `chars` are the lowercase hex of these bytes.
    func equalsHex(_ chars: UnsafeBufferPointer<UInt8>) -> Bool {
        guard chars.count == 64, let p = chars.baseAddress, let other = Bytes32.hex(p) else { return false }
        return other == self
    }

    var hex: String { withUnsafeBytes { Hex.encode($0) } }
}

/// 64 bytes inline (signatures).
struct Bytes64: Sendable {
    var low: Bytes32
    var high: Bytes32

    init() { low = Bytes32(); high = Bytes32() }

    init(_ p: UnsafeRawPointer) {
        low = Bytes32(p)
        high = Bytes32(p + 32)
    }

    init(_ bytes: [UInt8]) {
        self.init()
        bytes.withUnsafeBytes { b in
            if let s = b.baseAddress {
                low = Bytes32(s)
                high = Bytes32(s + 32)
            }
        }
    }

    /// The 64 bytes contiguously (the two halves copied side by side on the stack).
    @inline(__always)
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var copy = (low.words, high.words)
        return Swift.withUnsafeBytes(of: &copy, body)
    }

    static func hex(_ chars: UnsafePointer<UInt8>) -> Bytes64? {
        guard let low = Bytes32.hex(chars), let high = Bytes32.hex(chars + 64) else { return nil }
        var out = Bytes64()
        out.low = low
        out.high = high
        return out
    }

    var array: [UInt8] { withUnsafeBytes { Array($0) } }

    init(hex text: String, field: @autoclosure () -> ErrorDetail) throws(DDEError) {
        self.init(try Hex.decode(text, count: 64, field: field()))
    }

    @inline(__always)
    static func == (a: Bytes64, b: Bytes64) -> Bool { a.low == b.low && a.high == b.high }

    func hash(into hasher: inout Hasher) {
        low.hash(into: &hasher)
        high.hash(into: &hasher)
    }

    var hex: String { withUnsafeBytes { Hex.encode($0) } }
}

extension Hex {
    /// Decodes exactly `count` bytes from a String of lowercase hex into `out` (Status.encoding
    /// otherwise; `field` names the field in the message).
    static func decode(_ text: String, count: Int, into out: UnsafeMutableRawPointer,
                       field: @autoclosure () -> ErrorDetail) throws(DDEError) {
        let utf8 = text.utf8
        guard utf8.count == count * 2 else {
            throw DDEError(.encoding, "\(field()): expected \(count * 2) lowercase hex characters, got \(utf8.count)")
        }
        // Parsed strings are native and contiguous; the array path is for bridged ones.
        let fast: Bool? = utf8.withContiguousStorageIfAvailable { chars in
            chars.baseAddress.map { decode($0, count: count, into: out) } ?? false
        }
        let ok = fast ?? Array(utf8).withUnsafeBufferPointer { chars in
            chars.baseAddress.map { decode($0, count: count, into: out) } ?? false
        }
        guard ok else { throw DDEError(.encoding, "\(field()): not lowercase hex") }
    }
}
