// Numbers as text, both ways, exactly as RFC 8785 needs them.
//
// - `ES6Number.format`: a Double in the ECMAScript Number::toString form (ECMA-262, section
//   "Number::toString"), which JCS prescribes for every number.
// - `ES6Number.parseDecimal` (internal): a JSON number's decimal text to the correctly rounded
//   Double. Embedded Swift cannot use `Double(String)`: it needs `_swift_stdlib_strtod_clocale`,
//   which the embedded runtime does not ship (checked for aarch64-none-none-elf), and libc strtod
//   would follow the host's locale. So the core converts by itself: an exact fast path (Clinger),
//   else a close approximation corrected by exact big-integer comparison against the midpoints
//   between neighbouring doubles.

public enum ES6Number {
    /// `value` as ECMAScript's `String(value)` writes it: shortest round-trip digits, plain
    /// notation for 1e-7 < |value| < 1e21, else `d.ddde+N`; -0 gives "0". Non-finite values
    /// cannot come from the parser (it refuses overflow); they give "null" as `JSON.stringify` does.
    public static func format(_ value: Double) -> String {
        var out = [UInt8]()
        out.reserveCapacity(24)
        write(value, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func write(_ value: Double, into out: inout [UInt8]) {
        guard value.isFinite else {
            out.append(contentsOf: "null".utf8)
            return
        }
        if value == 0 {  // also -0
            out.append(UInt8(ascii: "0"))
            return
        }
        let magnitude = value.magnitude
        // Integers below 2^53 are their own shortest digits: skip the digit generator.
        if magnitude < 9007199254740992.0, magnitude == magnitude.rounded(.towardZero) {
            if value < 0 { out.append(UInt8(ascii: "-")) }
            let v = UInt64(magnitude)
            writeDigits(v, count: digitCount(v), from: 0, to: digitCount(v), into: &out)
            return
        }
        // Double.description yields the shortest round-trip digits (closest on ties) in Swift's
        // own layout ("1e-07", "123.5", "1.5e+300"); take digits s (k of them) and the decimal
        // exponent n with value = 0.s * 10^n, then lay them out as ECMAScript does.
        var s: UInt64 = 0
        var k = 0
        var n = 0
        var pendingZeros = 0
        var seenNonZero = false
        var inFraction = false
        var inExponent = false
        var exponent = 0
        var exponentNegative = false
        for c in magnitude.description.utf8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let d = UInt64(c &- UInt8(ascii: "0"))
                if inExponent {
                    exponent = exponent &* 10 &+ Int(d)
                    continue
                }
                if !seenNonZero {
                    if d == 0 {
                        if inFraction { n -= 1 }
                        continue
                    }
                    seenNonZero = true
                }
                if !inFraction { n += 1 }
                if d == 0 {
                    pendingZeros += 1
                } else {
                    while pendingZeros > 0 {
                        s = s &* 10
                        k += 1
                        pendingZeros -= 1
                    }
                    s = s &* 10 &+ d
                    k += 1
                }
            case UInt8(ascii: "."): inFraction = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"): inExponent = true
            case UInt8(ascii: "-"): if inExponent { exponentNegative = true }
            default: break
            }
        }
        n += exponentNegative ? -exponent : exponent

        if value < 0 { out.append(UInt8(ascii: "-")) }
        if k <= n && n <= 21 {
            writeDigits(s, count: k, from: 0, to: k, into: &out)
            for _ in 0..<(n - k) { out.append(UInt8(ascii: "0")) }
        } else if 0 < n && n <= 21 {
            writeDigits(s, count: k, from: 0, to: n, into: &out)
            out.append(UInt8(ascii: "."))
            writeDigits(s, count: k, from: n, to: k, into: &out)
        } else if -6 < n && n <= 0 {
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "."))
            for _ in 0..<(-n) { out.append(UInt8(ascii: "0")) }
            writeDigits(s, count: k, from: 0, to: k, into: &out)
        } else {
            writeDigits(s, count: k, from: 0, to: 1, into: &out)
            if k > 1 {
                out.append(UInt8(ascii: "."))
                writeDigits(s, count: k, from: 1, to: k, into: &out)
            }
            out.append(UInt8(ascii: "e"))
            let e = n - 1
            out.append(e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            let m = UInt64(e.magnitude)
            writeDigits(m, count: digitCount(m), from: 0, to: digitCount(m), into: &out)
        }
    }

    private static let pow10u: [UInt64] = [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000,
        10_000_000_000, 100_000_000_000, 1_000_000_000_000, 10_000_000_000_000,
        100_000_000_000_000, 1_000_000_000_000_000, 10_000_000_000_000_000,
        100_000_000_000_000_000, 1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
    ]

    @inline(__always)
    private static func digitCount(_ v: UInt64) -> Int {
        var n = 1
        while n < 20 && v >= pow10u[n] { n += 1 }
        return n
    }

    /// Appends digits `from..<to` (0 = most significant) of the `count`-digit number `v`.
    @inline(__always)
    private static func writeDigits(_ v: UInt64, count: Int, from: Int, to: Int,
                                    into out: inout [UInt8]) {
        var i = from
        while i < to {
            out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: (v / pow10u[count - 1 - i]) % 10))
            i += 1
        }
    }
}

// MARK: - Decimal text to Double

extension ES6Number {
    /// The correctly rounded (ties to even) Double of D * 10^`exponent`, where D is the integer
    /// whose decimal digits are the ASCII digits of `digits` (one '.' among them is skipped).
    /// Returns nil when the value rounds to infinity; values below half the smallest subnormal
    /// give zero, as IEEE 754 rounding does.
    static func parseDecimal(_ digits: UnsafeBufferPointer<UInt8>, exponent: Int,
                             negative: Bool) -> Double? {
        // Pass 1: the first 19 significant digits and how many significant digits there are.
        var w: UInt64 = 0
        var significant = 0
        var taken = 0
        for c in digits where c != UInt8(ascii: ".") {
            if significant == 0 && c == UInt8(ascii: "0") { continue }
            significant += 1
            if taken < 19 {
                w = w &* 10 &+ UInt64(c &- UInt8(ascii: "0"))
                taken += 1
            }
        }
        if significant == 0 { return negative ? -0.0 : 0.0 }

        // Exact fast path: w and 10^|e| are exact doubles, so one IEEE operation rounds correctly.
        if significant == taken && w <= 1 << 53 {
            if exponent >= -22 && exponent <= 22 {
                let x = Double(w)
                let r = exponent >= 0 ? x * pow10d[exponent] : x / pow10d[-exponent]
                return negative ? -r : r
            }
            if exponent > 22 && exponent <= 22 + 15 {
                let (scaled, overflow) = w.multipliedReportingOverflow(by: pow10u[exponent - 22])
                if !overflow && scaled <= 1 << 53 {
                    let r = Double(scaled) * 1e22
                    return negative ? -r : r
                }
            }
        }

        // The value lies in [10^(e10-1), 10^e10).
        let e10 = exponent + significant
        if e10 > 310 { return nil }
        if e10 < -324 { return negative ? -0.0 : 0.0 }

        // A first guess within a few units in the last place.
        let ea = exponent + significant - taken
        var guess = Double(w)
        var m = ea.magnitude
        if m > 308 {
            guess = ea > 0 ? guess * 1e308 : guess / 1e308
            m -= 308
        }
        // 10^m as 10^(22q) * 10^r, two correctly rounded doubles (m <= 308: no overflow).
        let scale = pow10d22[Int(m / 22)] * pow10d[Int(m % 22)]
        guess = ea >= 0 ? guess * scale : guess / scale
        if guess.isInfinite { guess = .greatestFiniteMagnitude }

        let r = refine(guess, digits: digits, exponent: exponent, significant: significant)
        guard let r else { return nil }
        return negative ? -r : r
    }

    /// Walks from `guess` to the correctly rounded double by comparing the exact decimal value with
    /// the midpoints to the neighbouring doubles, in big integers. Nil on overflow.
    private static func refine(_ guess: Double, digits: UnsafeBufferPointer<UInt8>, exponent: Int,
                               significant: Int) -> Double? {
        // D: at most 800 significant digits. A binary64 midpoint has at most 767 significant
        // digits, so dropped digits only matter as "a little more": append a 1 in their place.
        let keep = 800
        var big = BigUInt()
        var count = 0
        var chunk: UInt32 = 0
        var chunkLength = 0
        var sticky = false
        for c in digits where c != UInt8(ascii: ".") {
            if count == 0 && c == UInt8(ascii: "0") { continue }
            let d = UInt32(c &- UInt8(ascii: "0"))
            if count < keep {
                chunk = chunk &* 10 &+ d
                chunkLength += 1
                count += 1
                if chunkLength == 9 {
                    big.multiply(by: 1_000_000_000, adding: chunk)
                    chunk = 0
                    chunkLength = 0
                }
            } else if d != 0 {
                sticky = true
                break
            }
        }
        if chunkLength > 0 { big.multiply(by: UInt32(pow10u[chunkLength]), adding: chunk) }
        var de = exponent + (significant - count)
        if sticky {
            big.multiply(by: 10, adding: 1)
            de -= 1
        }

        // value = big * 5^de * 2^de. Compare with m * 2^k as lhs * 2^lhsTwos vs m * rhsFive * 2^(k + rhsTwos).
        var lhs = big
        var lhsTwos = 0
        var rhsFive = BigUInt(one: ())
        var rhsTwos = 0
        if de >= 0 {
            lhs.multiply(byPowerOfFive: de)
            lhsTwos = de
        } else {
            rhsFive.multiply(byPowerOfFive: -de)
            rhsTwos = -de
        }
        // Sign of value - m * 2^k.
        func compare(_ m: UInt64, _ k: Int) -> Int {
            let rhs = rhsFive.multiplied(by: m)
            let shift = (k + rhsTwos) - lhsTwos
            if shift >= 0 {
                return BigUInt.compare(lhs, rhs.shiftedLeft(by: shift))
            } else {
                return BigUInt.compare(lhs.shiftedLeft(by: -shift), rhs)
            }
        }

        var b = guess
        while true {
            let bits = b.bitPattern
            let biased = Int((bits >> 52) & 0x7FF)
            let fraction = bits & ((1 << 52) - 1)
            let mantissa = biased == 0 ? fraction : fraction | (1 << 52)
            let q = biased == 0 ? -1074 : biased - 1075
            let odd = mantissa & 1 == 1
            // Above the midpoint to the next double up (or on it, and b is odd): go up.
            let up = compare(2 &* mantissa &+ 1, q - 1)
            if up > 0 || (up == 0 && odd) {
                b = b.nextUp
                if b.isInfinite { return nil }
                continue
            }
            if b == 0 { return b }
            // Below the midpoint to the next double down (or on it, and b is odd): go down.
            let down = fraction == 0 && biased > 1
                ? compare(4 &* mantissa &- 1, q - 2)  // the binade below is twice as dense
                : compare(2 &* mantissa &- 1, q - 1)
            if down < 0 || (down == 0 && odd) {
                b = b.nextDown
                continue
            }
            return b
        }
    }

    /// 10^0 ... 10^22, exact doubles (compile-time literals).
    private static let pow10d: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// 10^(22q) for q = 0 ... 14 (up to 10^308), each the correctly rounded double: with pow10d,
    /// any power of ten up to 10^308 within two units in the last place, for the first guess
    /// (a table of all 309 powers took 2.5 KB of the Embedded library).
    private static let pow10d22: [Double] = [
        1e0, 1e22, 1e44, 1e66, 1e88, 1e110, 1e132, 1e154, 1e176, 1e198, 1e220, 1e242, 1e264, 1e286, 1e308,
    ]
}

/// A natural number in little-endian base 2^32 limbs: only what the exact comparison needs.
struct BigUInt {
    private(set) var limbs: [UInt32] = []

    init() {}
    init(one: ()) { limbs = [1] }

    /// self = self * m + a.
    mutating func multiply(by m: UInt32, adding a: UInt32) {
        var carry = UInt64(a)
        for i in limbs.indices {
            let p = UInt64(limbs[i]) &* UInt64(m) &+ carry
            limbs[i] = UInt32(truncatingIfNeeded: p)
            carry = p >> 32
        }
        if carry != 0 { limbs.append(UInt32(truncatingIfNeeded: carry)) }
        if limbs.last == 0 { limbs.removeLast() }
    }

    mutating func multiply(byPowerOfFive n: Int) {
        var n = n
        while n >= 13 {
            multiply(by: 1_220_703_125, adding: 0)  // 5^13, the largest power of 5 below 2^32
            n -= 13
        }
        var p: UInt32 = 1
        while n > 0 {
            p &*= 5
            n -= 1
        }
        if p != 1 { multiply(by: p, adding: 0) }
    }

    func multiplied(by m: UInt64) -> BigUInt {
        let lo = UInt64(UInt32(truncatingIfNeeded: m))
        let hi = m >> 32
        var r = [UInt32](repeating: 0, count: limbs.count + 2)
        for i in limbs.indices {
            let x = UInt64(limbs[i])
            let p0 = x &* lo &+ UInt64(r[i])
            r[i] = UInt32(truncatingIfNeeded: p0)
            let p1 = x &* hi &+ UInt64(r[i + 1]) &+ (p0 >> 32)
            r[i + 1] = UInt32(truncatingIfNeeded: p1)
            var carry = p1 >> 32
            var j = i + 2
            while carry != 0 {
                let s = UInt64(r[j]) &+ carry
                r[j] = UInt32(truncatingIfNeeded: s)
                carry = s >> 32
                j += 1
            }
        }
        while r.last == 0 { r.removeLast() }
        var out = BigUInt()
        out.limbs = r
        return out
    }

    func shiftedLeft(by bits: Int) -> BigUInt {
        if limbs.isEmpty || bits == 0 { return self }
        let words = bits / 32
        let b = UInt32(bits % 32)
        var r = [UInt32](repeating: 0, count: words + limbs.count + 1)
        for i in limbs.indices {
            let v = UInt64(limbs[i]) << UInt64(b)
            r[words + i] |= UInt32(truncatingIfNeeded: v)
            r[words + i + 1] |= UInt32(truncatingIfNeeded: v >> 32)
        }
        if r.last == 0 { r.removeLast() }
        var out = BigUInt()
        out.limbs = r
        return out
    }

    /// -1, 0 or 1 as a <, ==, > b.
    static func compare(_ a: BigUInt, _ b: BigUInt) -> Int {
        if a.limbs.count != b.limbs.count { return a.limbs.count < b.limbs.count ? -1 : 1 }
        var i = a.limbs.count - 1
        while i >= 0 {
            if a.limbs[i] != b.limbs[i] { return a.limbs[i] < b.limbs[i] ? -1 : 1 }
            i -= 1
        }
        return 0
    }
}
