// Random draws for decisions an attacker must not predict (the audit draw, ties among executors
// with equal records): libsodium's CSPRNG.
import CDDE

public enum SecureRandom {
    /// 64 random bits from libsodium's `randombytes_buf`.
    public static func next() -> UInt64 {
        Ed25519.ensureInitialised()
        var v: UInt64 = 0
        withUnsafeMutableBytes(of: &v) { randombytes_buf($0.baseAddress!, 8) }
        return v
    }

    /// A uniform double in [0, 1) from 53 of the bits of `draw`.
    public static func unit(_ draw: UInt64) -> Double {
        Double(draw >> 11) * (1.0 / 9007199254740992.0)
    }
}
