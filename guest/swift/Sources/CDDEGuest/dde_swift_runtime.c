/*
 * What Embedded Swift needs from its platform, for dApps (linked with every Swift dApp; built
 * with the C guest flags, guest/swift/dde_guest_swift.mk).
 *   posix_memalign, free  arrays and classes allocate through them: the header's bump allocator
 *                         (memory.grow, counted against maxMemoryUsage); free does nothing, a run
 *                         is short and its memory goes with it
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
