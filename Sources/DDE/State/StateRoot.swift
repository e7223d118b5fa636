// The state root (PROTOCOL.md section 6): an RFC 6962 Merkle tree hash over the entries of a
// key-value map, one leaf per entry, leaves sorted by key bytes.
//
//   leaf(key, value) = SHA-256(0x00 || u32be(len(key)) || key || SHA-256(value))
//   node(l, r)       = SHA-256(0x01 || l || r)
//   root([])         = SHA-256("")                       (RFC 6962: hash of the empty string)
//   root([x])        = leaf(x)
//   root(xs)         = node(root(xs[0..<k]), root(xs[k...])), k the largest power of 2 < n
//
// A dApp's state root uses (key, value bytes) entries. The node root uses the same tree over
// (dappId, raw 32 bytes of that dApp's state root) entries.
public enum StateRoot {
    /// Root of the empty map: SHA-256 of the empty string.
    public static let empty: Digest = SHA256.hash([UInt8]())

    /// The leaf hash of one entry.
    public static func leaf(key: [UInt8], value: [UInt8]) -> Digest {
        var h = SHA256.Hasher()
        h.update(byte: 0x00)
        h.update(uint32BE: UInt32(truncatingIfNeeded: key.count))
        h.update(key)
        h.update(SHA256.hash(value))
        return h.finalize()
    }

    /// The same leaf hash, written to `out` (32 bytes): the preimage is assembled on the stack
    /// and hashed in one call.
    static func leaf(key: [UInt8], value: [UInt8], into out: UnsafeMutablePointer<UInt8>) {
        let n = 5 + key.count + Digest.byteCount
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n) { buffer in
            let p = buffer.baseAddress!
            p[0] = 0x00
            let length = UInt32(truncatingIfNeeded: key.count)
            p[1] = UInt8(truncatingIfNeeded: length >> 24)
            p[2] = UInt8(truncatingIfNeeded: length >> 16)
            p[3] = UInt8(truncatingIfNeeded: length >> 8)
            p[4] = UInt8(truncatingIfNeeded: length)
            key.withUnsafeBufferPointer { k in
                if let b = k.baseAddress { (p + 5).update(from: b, count: k.count) }
            }
            value.withUnsafeBytes { SHA256.hash($0, into: p + 5 + key.count) }
            SHA256.hash(UnsafeRawBufferPointer(start: p, count: n), into: out)
        }
    }

    static func node(_ left: Digest, _ right: Digest) -> Digest {
        var h = SHA256.Hasher()
        h.update(byte: 0x01)
        h.update(left)
        h.update(right)
        return h.finalize()
    }

    /// The root of a map given as entries already sorted by key bytes with unique keys.
    public static func root(sortedEntries: [(key: [UInt8], value: [UInt8])]) -> Digest {
        root(leaves: sortedEntries.map { leaf(key: $0.key, value: $0.value) })
    }

    /// The root over leaf hashes already in key order.
    static func root(leaves: [Digest]) -> Digest {
        leaves.isEmpty ? empty : subtree(leaves[...])
    }

    private static func subtree(_ leaves: ArraySlice<Digest>) -> Digest {
        if leaves.count == 1 { return leaves[leaves.startIndex] }
        var k = 1
        while k << 1 < leaves.count { k <<= 1 }
        let mid = leaves.startIndex + k
        return node(subtree(leaves[..<mid]), subtree(leaves[mid...]))
    }
}

/// Lexicographic order of byte strings (memcmp order, shorter first on a common prefix).
@inline(__always)
public func bytesLess(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.lexicographicallyPrecedes(b)
}
