// The leaves of a task's state, computed once per task (when it is parsed or created): check 8
// needs the root after every result's writes, and only the written keys' leaves change, so a
// verification re-hashes those leaves and the interior nodes only. Memory per entry: a
// reference to the key (its bytes are shared with the StateMap) and the 32-byte leaf hash.
import CDDE

struct StateLeaves: Sendable {
    /// The keys, sorted by bytes.
    let keys: [[UInt8]]
    /// One 32-byte leaf hash per key, in the same order.
    let hashes: [UInt8]
    /// The root of the state itself.
    let root: Digest

    /// The empty state's (a v2 task's: its check 8 works from the proof).
    static var empty: StateLeaves { StateLeaves(keys: [], hashes: [], root: StateRoot.empty) }

    private init(keys: [[UInt8]], hashes: [UInt8], root: Digest) {
        self.keys = keys
        self.hashes = hashes
        self.root = root
    }

    init(_ map: StateMap) {
        let sorted = map.sortedEntries
        keys = sorted.map { $0.key }
        var leaves = [UInt8](repeating: 0, count: sorted.count * Digest.byteCount)
        leaves.withUnsafeMutableBufferPointer { out in
            guard let base = out.baseAddress else { return }
            for (i, e) in sorted.enumerated() {
                StateRoot.leaf(key: e.key, value: e.value, into: base + i * Digest.byteCount)
            }
        }
        hashes = leaves
        root = leaves.withUnsafeMutableBufferPointer { b in StateLeaves.reduce(b.baseAddress, count: sorted.count) }
    }

    /// The root of the state with `writes` applied (a nil value deletes the key): the sorted
    /// keys and the sorted writes are merged; unwritten keys keep their cached leaf.
    func root(applying writes: StateWrites) -> Digest {
        if writes.isEmpty { return root }
        let n = keys.count
        // Scratch for the new leaves, on the stack when it is small (the usual case).
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: (n + writes.entries.count) * Digest.byteCount) { out in
            var count = 0
            hashes.withUnsafeBufferPointer { cached in
                guard let o = out.baseAddress else { return }
                func keep(_ range: Range<Int>) {
                    guard let c = cached.baseAddress, !range.isEmpty else { return }
                    memcpy(o + count * Digest.byteCount, c + range.lowerBound * Digest.byteCount,
                           range.count * Digest.byteCount)
                    count += range.count
                }
                var i = 0
                for w in writes.entries {
                    var j = i
                    var order = 1
                    while j < n {
                        order = compareBytes(keys[j], w.key)
                        if order >= 0 { break }
                        j += 1
                    }
                    keep(i..<j)
                    i = j
                    if i < n && order == 0 { i += 1 }  // replaced or deleted
                    if let v = w.value {
                        StateRoot.leaf(key: w.key, value: v, into: o + count * Digest.byteCount)
                        count += 1
                    }
                }
                keep(i..<n)
            }
            return StateLeaves.reduce(out.baseAddress, count: count)
        }
    }

    /// The RFC 6962 root of `count` leaf hashes, computed level by level in place: pairs are
    /// hashed left to right and an odd last node moves up unchanged, which gives the same tree
    /// as splitting at the largest power of two below the count.
    /// `leaves` holds `count` * 32 bytes, overwritten.
    static func reduce(_ leaves: UnsafeMutablePointer<UInt8>?, count: Int) -> Digest {
        guard count > 0, let b = leaves else { return StateRoot.empty }
        var n = count
        // The node preimage 0x01 || left || right, on the stack.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1 + 2 * Digest.byteCount) { scratch in
            let s = scratch.baseAddress!
            s[0] = 0x01
            while n > 1 {
                let pairs = n / 2
                for k in 0..<pairs {
                    memcpy(s + 1, b + 2 * k * Digest.byteCount, 2 * Digest.byteCount)
                    SHA256.hash(UnsafeRawBufferPointer(scratch), into: b + k * Digest.byteCount)
                }
                if n & 1 == 1 {
                    memmove(b + pairs * Digest.byteCount, b + (n - 1) * Digest.byteCount, Digest.byteCount)
                }
                n = pairs + (n & 1)
            }
            return Digest(copying: b)
        }
    }
}

/// memcmp order of byte strings, shorter first on a common prefix: <0, 0 or >0.
func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
    let common = min(a.count, b.count)
    let c: Int32 = common == 0 ? 0 : a.withUnsafeBufferPointer { p in
        b.withUnsafeBufferPointer { q in memcmp(p.baseAddress!, q.baseAddress!, common) }
    }
    if c != 0 { return Int(c) }
    return a.count - b.count
}
