#include "cdde.h"
#include <stdatomic.h>

#define DDE_ERRMSG_MAX 512

static _Thread_local int last_code;
static _Thread_local char last_message[DDE_ERRMSG_MAX];

void cdde_set_error(int code, const char *message, size_t length) {
    last_code = code;
    if (message == NULL) length = 0;
    if (length > DDE_ERRMSG_MAX - 1) length = DDE_ERRMSG_MAX - 1;
    if (length > 0) memcpy(last_message, message, length);
    last_message[length] = '\0';
}

void cdde_clear_error(void) {
    last_code = 0;
    last_message[0] = '\0';
}

static atomic_int sodium_ready;

int cdde_init(void) {
    // The flag keeps the hot path (every verify) off sodium_init's mutex.
    if (atomic_load_explicit(&sodium_ready, memory_order_acquire)) return 0;
    // sodium_init returns 0 on first success, 1 when already initialised: both are fine.
    if (sodium_init() < 0) return -1;
    atomic_store_explicit(&sodium_ready, 1, memory_order_release);
    return 0;
}

int dde_errcode(void) { return last_code; }

const char *dde_errmsg(void) { return last_message; }
