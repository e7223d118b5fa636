// Seeded randomness for the simulation: every draw that shapes a run (keys, latencies, payloads,
// liars' coin flips, and the requester's audit draw and tie-breaks injected through
// `Delegator(random:)`) comes from these generators, so the same seed gives the same table.

/// SplitMix64: seeds the other generators and derives independent streams from labels.
struct SplitMix64 {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256**: the generator every stream uses. A class, so closures handed to the core share it.
final class Xoshiro {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init(seed: UInt64) {
        var sm = SplitMix64(seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
    }

    /// A stream of its own for `label` and `index` under `seed` (stable across runs and builds:
    /// no Swift Hasher, whose seed changes every process).
    convenience init(seed: UInt64, _ label: String, _ index: Int = 0) {
        self.init(seed: Stream.derive(seed, label, index))
    }

    func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1).
    func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in 0..<n (n > 0).
    func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// 32 bytes (a key seed).
    func bytes32() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for _ in 0..<4 {
            var v = next()
            for _ in 0..<8 { out.append(UInt8(truncatingIfNeeded: v)); v >>= 8 }
        }
        return out
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

enum Stream {
    /// FNV-1a of the label, mixed with the seed and the index through SplitMix64.
    static func derive(_ seed: UInt64, _ label: String, _ index: Int) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in label.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        var sm = SplitMix64(seed ^ h)
        _ = sm.next()
        sm.state ^= UInt64(bitPattern: Int64(index)) &* 0xD1B5_4A32_D192_ED03
        return sm.next()
    }

    /// A deterministic draw in [0, 1) for (seed, a, b): a liar's coin for one task, without
    /// consuming any stream (so one executor's choice never shifts another's).
    static func coin(_ seed: UInt64, _ a: UInt64, _ b: UInt64) -> Double {
        var sm = SplitMix64(seed ^ (a &* 0x9E37_79B9_7F4A_7C15) ^ (b &* 0xC2B2_AE3D_27D4_EB4F))
        return Double(sm.next() >> 11) * 0x1.0p-53
    }
}
