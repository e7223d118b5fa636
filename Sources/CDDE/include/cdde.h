// C shim under the Swift core: the C libraries dde stands on (libsodium, SQLite, libc) and the
// small pieces that are better written in C (the thread-local error slot behind dde_errmsg).
// Nothing here is public API: the public header is include/dde.h at the project root.
#ifndef CDDE_H
#define CDDE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sqlite3.h>

// Records the status and message of the last failure on the calling thread (copied, truncated
// to DDE_ERRMSG_MAX-1 bytes). Read back through dde_errcode()/dde_errmsg().
void cdde_set_error(int code, const char *message, size_t length);
void cdde_clear_error(void);

// Initialises libsodium once; safe from any thread. Returns 0 on success.
int cdde_init(void);

// Wall-clock Unix time in milliseconds (CLOCK_REALTIME); 0 if the clock is unavailable.
uint64_t cdde_now_ms(void);

// Writes `length` bytes to `path` readable by the owner only (mode 0600): written to a temporary
// file in the same folder, fsynced, then renamed over `path`. Returns 0, or an errno value.
int cdde_write_private_file(const char *path, const uint8_t *bytes, size_t length);

// Reads at most `capacity` bytes of `path` into `buffer`; sets *length. Returns 0, an errno value,
// or EFBIG when the file holds more than `capacity` bytes.
int cdde_read_file(const char *path, uint8_t *buffer, size_t capacity, size_t *length);

// Public in include/dde.h, defined in cdde.c.
int dde_errcode(void);
const char *dde_errmsg(void);

#endif
