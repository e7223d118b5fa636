/*
 * wallet: examples/dapps/wallet.wat written again in C with guest/c/dde_guest.h.
 *
 * Same actions, payloads, state, results and failures as the WAT (its header is the reference):
 *   send {"amount":A,"from":"F","to":"T"}   mint {"amount":A,"to":"T"}
 *   state "balance/<name>" = decimal ASCII; result {"from":..,"ok":true,"to":..} or
 *   {"error":"insufficient funds","ok":false}; a malformed payload returns 1.
 *
 * It is a twin: for every task it makes the same host calls with the same arguments as the WAT,
 * so results, state writes and the execution trace hash are the same (the trace hashes pointer
 * arguments too, so the buffers sit at the WAT's addresses, through dde_at). Only fuel differs.
 * Memory below 4096 (the WAT's layout; the linker puts C data above it, DDE_GUEST_LDFLAGS):
 *   [0, 1024) input; 1024.. literals; 2048 key of F; 2304 key of T; 2560 value buffer (32 bytes);
 *   2600 formatted number.
 */
#include "dde_guest.h"

enum {
    INPUT = 0, INPUT_CAP = 1024,
    LIT_AMOUNT = 1024, LIT_FROM = 1040, LIT_TO = 1056, LIT_END = 1072, LIT_BALANCE = 1088,
    LIT_RFROM = 1104, LIT_ROK = 1120, LIT_RCLOSE = 1140, LIT_NOFUNDS = 1152,
    KEY_FROM = 2048, KEY_TO = 2304, VALUE = 2560, VALUE_CAP = 32, NUMBER = 2600,
};
#define MAX_BALANCE 1000000000000000000ull /* 10^18: balances stay below */

static uint8_t *mem(uint32_t addr) { return (uint8_t *)dde_at(addr); }

/* The WAT's data segments. */
static void put(uint32_t addr, const char *text) { dde_memcpy(mem(addr), text, dde_strlen(text)); }
static void layout(void) {
    put(LIT_AMOUNT, "{\"amount\":");
    put(LIT_FROM, ",\"from\":\"");
    put(LIT_TO, "\",\"to\":\"");
    put(LIT_END, "\"}");
    put(LIT_BALANCE, "balance/");
    put(LIT_RFROM, "{\"from\":");
    put(LIT_ROK, ",\"ok\":true,\"to\":");
    put(LIT_RCLOSE, "}");
    put(LIT_NOFUNDS, "{\"error\":\"insufficient funds\",\"ok\":false}");
}

/* A cursor over the input [pos, end). */
static uint32_t pos, end;

/* Consumes the literal of n bytes at lit; true when it matched. */
static bool expect(uint32_t lit, uint32_t n) {
    if (pos + n > end) return false;
    if (dde_memcmp(mem(pos), mem(lit), n) != 0) return false;
    pos += n;
    return true;
}

/* Consumes a name up to the next '"': its length, or -1 at the end or at a '\'. */
static int32_t name(void) {
    uint32_t start = pos;
    for (;;) {
        if (pos >= end) return -1;
        uint8_t c = *mem(pos);
        if (c == '"') break;
        if (c == '\\') return -1;
        pos++;
    }
    return (int32_t)(pos - start);
}

/* Consumes a run of digits: its value (1 to 18 digits), or -1. */
static int64_t number(void) {
    uint32_t start = pos;
    while (pos < end && *mem(pos) >= '0' && *mem(pos) <= '9') pos++;
    uint64_t v;
    return dde_parse_u64(mem(start), pos - start, &v) ? (int64_t)v : -1;
}

/* "balance/" + the name at [name, name+n) at out; returns the key length. */
static uint32_t key(uint32_t name_at, uint32_t n, uint32_t out) {
    dde_memcpy(mem(out), mem(LIT_BALANCE), 8);
    dde_memcpy(mem(out + 8), mem(name_at), n);
    return n + 8;
}

/* The balance under a key: 0 when absent, -1 when malformed. */
static int64_t balance(uint32_t key_at, uint32_t n) {
    int32_t len = dde_state_get(mem(key_at), n, mem(VALUE), VALUE_CAP);
    if (len == DDE_ABSENT) return 0;
    uint64_t v;
    if ((uint32_t)len > 18 || !dde_parse_u64(mem(VALUE), (uint32_t)len, &v)) return -1;
    return (int64_t)v;
}

static void set_balance(uint32_t key_at, uint32_t n, uint64_t v) {
    dde_state_set(mem(key_at), n, mem(NUMBER), dde_fmt_u64((char *)mem(NUMBER), v));
}

static void write_number(uint64_t v) {
    dde_output_write(mem(NUMBER), dde_fmt_u64((char *)mem(NUMBER), v));
}

/* Reads the input to address 0 and starts the cursor; false when it is over 1024 bytes. */
static bool read_input(void) {
    layout();
    int32_t size = dde_read_input(mem(INPUT), INPUT_CAP);
    if (size < 0) return false;
    pos = INPUT;
    end = INPUT + (uint32_t)size;
    return true;
}

/* A name of 1 to 64 bytes at the cursor: its start, or false. */
static bool take_name(uint32_t *at, uint32_t *len) {
    *at = pos;
    int32_t n = name();
    if (n < 1 || n > 64) return false;
    *len = (uint32_t)n;
    return true;
}

DDE_ACTION(send) {
    if (!read_input()) return DDE_FAIL;
    if (!expect(LIT_AMOUNT, 10)) return DDE_FAIL;
    int64_t amount = number();
    if (amount < 0) return DDE_FAIL;
    uint32_t from, from_len, to, to_len;
    if (!expect(LIT_FROM, 9) || !take_name(&from, &from_len)) return DDE_FAIL;
    if (!expect(LIT_TO, 8) || !take_name(&to, &to_len)) return DDE_FAIL;
    if (!expect(LIT_END, 2) || pos != end) return DDE_FAIL;

    uint32_t from_key = key(from, from_len, KEY_FROM);
    uint32_t to_key = key(to, to_len, KEY_TO);
    int64_t from_balance = balance(KEY_FROM, from_key);
    if (from_balance < 0) return DDE_FAIL;
    if ((uint64_t)from_balance < (uint64_t)amount) {
        /* A normal, signed answer with no writes. */
        dde_output_write(mem(LIT_NOFUNDS), 41);
        return DDE_OK;
    }
    set_balance(KEY_FROM, from_key, (uint64_t)(from_balance - amount));
    /* Read T after writing F, so a send to oneself nets out to no change. */
    int64_t to_balance = balance(KEY_TO, to_key);
    if (to_balance < 0) return DDE_FAIL;
    uint64_t to_new = (uint64_t)to_balance + (uint64_t)amount;
    if (to_new >= MAX_BALANCE) return DDE_FAIL;
    set_balance(KEY_TO, to_key, to_new);

    dde_output_write(mem(LIT_RFROM), 8);
    write_number((uint64_t)balance(KEY_FROM, from_key));
    dde_output_write(mem(LIT_ROK), 16);
    write_number(to_new);
    dde_output_write(mem(LIT_RCLOSE), 1);
    return DDE_OK;
}

DDE_ACTION(mint) {
    if (!read_input()) return DDE_FAIL;
    if (!expect(LIT_AMOUNT, 10)) return DDE_FAIL;
    int64_t amount = number();
    if (amount < 0) return DDE_FAIL;
    uint32_t to, to_len;
    /* ,"to":" is the literal at LIT_TO without its leading quote. */
    if (!expect(LIT_TO + 1, 7) || !take_name(&to, &to_len)) return DDE_FAIL;
    if (!expect(LIT_END, 2) || pos != end) return DDE_FAIL;
    uint32_t to_key = key(to, to_len, KEY_TO);
    int64_t to_balance = balance(KEY_TO, to_key);
    if (to_balance < 0) return DDE_FAIL;
    uint64_t to_new = (uint64_t)to_balance + (uint64_t)amount;
    if (to_new >= MAX_BALANCE) return DDE_FAIL;
    set_balance(KEY_TO, to_key, to_new);
    /* {"ok":true,"to":N}: "{" from LIT_RFROM, then LIT_ROK without its comma. */
    dde_output_write(mem(LIT_RFROM), 1);
    dde_output_write(mem(LIT_ROK + 1), 15);
    write_number(to_new);
    dde_output_write(mem(LIT_RCLOSE), 1);
    return DDE_OK;
}
