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

// Public in include/dde.h, defined in cdde.c.
int dde_errcode(void);
const char *dde_errmsg(void);

#endif
