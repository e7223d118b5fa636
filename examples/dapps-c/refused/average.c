/*
 * Refused on purpose (scripts/test-guest.sh): the mean of the input's digits computed in double.
 * A float anywhere makes the executor refuse the whole module (DDE_ERR_CODE_NONDETERMINISTIC):
 * NaN bits differ between machines. `dde code check` names the instruction, the function and the
 * byte. The header poisons float and double; this file turns that off to show the refusal.
 */
#define DDE_GUEST_ALLOW_FLOAT_TOKENS
#include "dde_guest.h"

static double mean(const uint8_t *p, int32_t n) {
    double sum = 0;
    for (int32_t i = 0; i < n; i++) sum += (double)(p[i] - '0');
    return n ? sum / n : 0;
}

DDE_ACTION(main) {
    uint8_t buf[64];
    int32_t n = dde_read_input(buf, sizeof buf);
    if (n < 0) return DDE_FAIL;
    dde_write_str("{\"mean\":");
    dde_write_u64((uint64_t)(mean(buf, n) * 100));
    dde_write_str("}");
    return DDE_OK;
}
