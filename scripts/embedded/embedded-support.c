// Run-time hooks the Embedded Swift stdlib expects from its platform, for the Embedded Swift builds
// of libdde.so (scripts/build-embedded.sh). Everything else it needs (posix_memalign, free, memcpy,
// memset) comes from glibc. These symbols stay local to libdde.so (cmake/libdde.map), so they
// never interpose the host program's own.
#include <stddef.h>
#include <sodium.h>

// Seeds Swift's Hasher. glibc has arc4random_buf only since 2.36 (Debian 12 / Raspberry Pi OS
// bookworm); taking it from libsodium (getrandom(2) underneath) keeps the library loadable on
// older systems such as bullseye (glibc 2.31).
void arc4random_buf(void *buffer, size_t length) {
    randombytes_buf(buffer, length);
}
