/*
 * What Embedded Swift needs from its platform, for dApps (linked with every Swift dApp; built
 * with the C guest flags, guest/swift/dde_guest_swift.mk).
 *   posix_memalign, free  arrays and classes allocate through them: the header's bump allocator
 *                         (memory.grow, counted against maxMemoryUsage); free does nothing, a run
 *                         is short and its memory goes with it
 *   __multi3              checked 64-bit multiplication (below)
 *   arc4random_buf        Hasher seeds (Dictionary, Set) ask for random bytes: zeros, so hashing
 *                         and iteration order are the same on every executor
 * Nothing else: print() needs putchar, which a dApp does not have (use DDE.log).
 */
#include "dde_guest.h"

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment > 16) return 22; /* EINVAL: the bump allocator aligns to 16 */
    void *p = dde_alloc((uint32_t)size);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void free(void *p) { (void)p; }

void arc4random_buf(void *buf, size_t n) { dde_memset(buf, 0, (uint32_t)n); }

/* Swift checks 64-bit multiplications for overflow (UInt64 * UInt64); on wasm32 LLVM does that with
 * a 128-bit multiply, a call to compiler-rt's __multi3, which a dApp has no library for: here it
 * is, from 32-bit halves (the low 128 bits of a * b, as compiler-rt's). */
typedef unsigned __int128 dde_u128;
static dde_u128 dde_mul64(uint64_t a, uint64_t b) {
    uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t middle = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    uint64_t low = (middle << 32) | (uint32_t)p00;
    uint64_t high = p11 + (p01 >> 32) + (p10 >> 32) + (middle >> 32);
    return ((dde_u128)high << 64) | low;
}
__int128 __multi3(__int128 a, __int128 b) {
    uint64_t a_lo = (uint64_t)a, a_hi = (uint64_t)((dde_u128)a >> 64);
    uint64_t b_lo = (uint64_t)b, b_hi = (uint64_t)((dde_u128)b >> 64);
    dde_u128 r = dde_mul64(a_lo, b_lo);
    uint64_t high = (uint64_t)(r >> 64) + a_hi * b_lo + a_lo * b_hi;
    return (__int128)(((dde_u128)high << 64) | (uint64_t)r);
}
