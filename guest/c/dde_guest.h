/*
 * dde_guest.h: write dde dApps in C. One header, no library, no libc.
 *
 * A dApp is a WebAssembly module that imports the host functions of module "dde"
 * (docs/EXECUTION.md section 3) and exports one function `int32_t NAME(void)` per action:
 * it returns 0 when the action succeeded (its output is the result) and anything else when it
 * failed (no proof is made). The guide for authors is docs/DAPPS.md.
 *
 * Build (the flags are in guest/c/dde_guest.mk and guest/c/dde_guest.cmake):
 *   clang --target=wasm32 -mcpu=mvp -mbulk-memory -msign-ext -Os -nostdlib -ffreestanding \
 *         -Wl,--no-entry -Wl,--export-memory -Wl,--global-base=4096 -I guest/c app.c -o app.wasm
 *   dde code check app.wasm --action NAME --cap ...     (what the executor would refuse, and why)
 *
 * Everything here is integer-only and deterministic. Every host call below is one step of the
 * execution trace, and the trace hashes the call's arguments, pointers included (EXECUTION.md
 * section 4): the same source built the same way gives the same trace; move a buffer and the
 * trace hash changes, though results and state writes do not.
 */
#ifndef DDE_GUEST_H
#define DDE_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(__wasm32__)
#error "dde_guest.h is for WebAssembly dApps: compile with --target=wasm32 (see guest/c/dde_guest.mk)"
#endif

/* The executor runs WebAssembly 1.0 integer code plus sign extension and bulk memory
 * (EXECUTION.md section 2). clang's default wasm32 CPU also turns on reference types (it then
 * encodes every call_indirect in a way the executor refuses) and multivalue: refuse to build
 * with it here rather than be refused at load time. */
#if !defined(DDE_GUEST_ANY_CPU)
#if defined(__wasm_reference_types__) || defined(__wasm_multivalue__)
#error "built for clang's default wasm32 CPU (reference types, multivalue), which the dde executor refuses: add -mcpu=mvp -mbulk-memory -msign-ext (DDE_GUEST_CFLAGS in guest/c/dde_guest.mk)"
#endif
#if defined(__wasm_simd128__)
#error "SIMD is nondeterministic across executors and refused: drop -msimd128"
#endif
#if defined(__wasm_atomics__)
#error "threads and atomics are refused by the dde executor: drop -matomics / -pthread"
#endif
#if defined(__wasm_tail_call__) || defined(__wasm_exception_handling__)
#error "tail calls and wasm exceptions are refused by the dde executor: drop -mtail-call / -fwasm-exceptions"
#endif
#endif

/* Floating point is refused at load (DDE_ERR_CODE_NONDETERMINISTIC: NaN bits differ between
 * machines). Make every use of float or double a compile error that names the cause; define
 * DDE_GUEST_ALLOW_FLOAT_TOKENS to turn this off (the module will still be refused). */
#if !defined(DDE_GUEST_ALLOW_FLOAT_TOKENS)
#pragma GCC poison float double
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The host ABI, module "dde" (EXECUTION.md section 3) --------------------------------------
 * Every argument and result is an i32; pointers are offsets into the exported memory. A pointer
 * range outside the memory stops the run (DDE_ERR_GUEST_BOUNDS). The capability in brackets must
 * be in the task's requiredCapabilities (`--cap` of `dde task create`), or the module is refused
 * before it runs (DDE_ERR_CAPABILITY_DENIED) - only the functions the module uses are imported. */
#define DDE_IMPORT(name) __attribute__((import_module("dde"), import_name(name)))

/* [io] Byte length of the input: the JCS (RFC 8785) bytes of the task's intent.payload. */
DDE_IMPORT("input_size") int32_t dde_input_size(void);
/* [io] Copies the first min(len, input size) input bytes to ptr; returns how many. */
DDE_IMPORT("input_read") int32_t dde_input_read(void *ptr, uint32_t len);
/* [io] Appends [ptr, ptr+len) to the result; all writes together must be one JSON document. */
DDE_IMPORT("output_write") int32_t dde_output_write(const void *ptr, uint32_t len);
/* [state.read] The value's length (copied to val only when it fits in val_cap: call again with a
 * bigger buffer when the length exceeds val_cap), or -1 when the key is absent. */
DDE_IMPORT("state_get") int32_t dde_state_get(const void *key, uint32_t key_len, void *val, uint32_t val_cap);
/* [state.write] Sets key (1 to 1024 bytes of UTF-8) to [val, val+val_len) (at most 256 KiB). */
DDE_IMPORT("state_set") int32_t dde_state_set(const void *key, uint32_t key_len, const void *val, uint32_t val_len);
/* [state.write] Deletes key; 1 if it had a value, else 0. */
DDE_IMPORT("state_delete") int32_t dde_state_delete(const void *key, uint32_t key_len);
/* [crypto.hash] Writes the 32-byte SHA-256 of [ptr, ptr+len) to out. */
DDE_IMPORT("sha256") int32_t dde_sha256(const void *ptr, uint32_t len, void *out);
/* [crypto.verify] 1 when the 64-byte signature sig over [msg, msg+msg_len) verifies with the
 * 32-byte Ed25519 public key pk, else 0. */
DDE_IMPORT("ed25519_verify") int32_t dde_ed25519_verify(const void *sig, const void *msg, uint32_t msg_len, const void *pk);
/* [log] Records [ptr, ptr+len) for the executor's operator (in no hash but the trace). */
DDE_IMPORT("log") int32_t dde_log(const void *ptr, uint32_t len);

/* ---- Actions ----------------------------------------------------------------------------------
 *   DDE_ACTION(send) { ...; return DDE_OK; }
 * exports `send` of type () -> i32. Return DDE_OK (0) for a result, anything else to fail the
 * task (DDE_ERR_ACTION_FAILED, no proof). A refusal that is a normal answer ("insufficient
 * funds") is better written as a result: it is signed and verifiable. */
#define DDE_OK 0
#define DDE_FAIL 1
#define DDE_ABSENT (-1)
#define DDE_ACTION(name) __attribute__((export_name(#name))) int32_t dde_action_##name(void)

/* ---- Memory -----------------------------------------------------------------------------------
 * dde_at(addr): a pointer to a fixed address of linear memory, address 0 included (C calls that
 * the null pointer; here it is the first byte of memory, which the host may write). The empty
 * asm hides the value from the optimizer, so reads and writes through it are kept. Link with
 * -Wl,--global-base=4096 (DDE_GUEST_LDFLAGS) to keep [0, 4096) free for such fixed buffers. */
static inline void *dde_at(uint32_t addr) {
    uintptr_t p = addr;
    __asm__("" : "+r"(p));
    return (void *)p;
}

/* Bytes by address, for languages whose pointers cannot name address 0 (Swift's cannot). */
static inline uint8_t dde_load8(uint32_t addr) { return *(const uint8_t *)dde_at(addr); }
static inline void dde_store8(uint32_t addr, uint8_t value) { *(uint8_t *)dde_at(addr) = value; }
static inline void dde_copy(uint32_t dst, uint32_t src, uint32_t n) { __builtin_memmove(dde_at(dst), dde_at(src), n); }
static inline void dde_copy_in(uint32_t dst, const void *src, uint32_t n) { __builtin_memcpy(dde_at(dst), src, n); }
static inline int dde_compare(uint32_t a, uint32_t b, uint32_t n);

static inline void *dde_memcpy(void *dst, const void *src, uint32_t n) { return __builtin_memcpy(dst, src, n); }
static inline void *dde_memset(void *dst, int c, uint32_t n) { return __builtin_memset(dst, c, n); }
static inline int dde_memcmp(const void *a, const void *b, uint32_t n) {
    const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
    for (uint32_t i = 0; i < n; i++) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}
static inline int dde_compare(uint32_t a, uint32_t b, uint32_t n) { return dde_memcmp(dde_at(a), dde_at(b), n); }
static inline uint32_t dde_strlen(const char *s) {
    uint32_t n = 0;
    while (s[n]) n++;
    return n;
}

/* A bump allocator above the linker's __heap_base, growing the memory (memory.grow) as needed;
 * dde_free does nothing (a run is short: its memory goes with it). The growth counts against the
 * task's maxMemoryUsage (DDE_ERR_MEMORY_LIMIT when past it). */
extern unsigned char __heap_base;
__attribute__((weak)) uintptr_t dde_heap_top;
static inline void *dde_alloc(uint32_t n) {
    if (dde_heap_top == 0) dde_heap_top = (uintptr_t)&__heap_base;
    uintptr_t start = (dde_heap_top + 15u) & ~(uintptr_t)15u;
    if (n > 0xFFFFFFFFu - start) return NULL;
    uintptr_t end = start + n;
    uintptr_t have = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        uintptr_t pages = (end - have + 65535u) / 65536u;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return NULL;
    }
    dde_heap_top = end;
    return (void *)start;
}
static inline void dde_free(void *p) { (void)p; }

/* ---- Input and result -------------------------------------------------------------------------- */

/* Reads the input into buf when it fits in cap and returns its length; returns -1 (reading
 * nothing) when it is longer than cap. One or two trace steps (input_size, input_read). */
static inline int32_t dde_read_input(void *buf, uint32_t cap) {
    int32_t size = dde_input_size();
    if (size < 0 || (uint32_t)size > cap) return -1;
    dde_input_read(buf, (uint32_t)size);
    return size;
}

/* The whole input in a fresh buffer (dde_alloc); *len gets its length. NULL when out of memory. */
static inline uint8_t *dde_input(uint32_t *len) {
    int32_t size = dde_input_size();
    uint8_t *buf = (uint8_t *)dde_alloc((uint32_t)size);
    if (!buf) return NULL;
    dde_input_read(buf, (uint32_t)size);
    *len = (uint32_t)size;
    return buf;
}

static inline void dde_write(const void *p, uint32_t n) { dde_output_write(p, n); }
static inline void dde_write_str(const char *s) { dde_output_write(s, dde_strlen(s)); }

/* ---- Decimal numbers (balances, counts): what JSON results and text state values need ------------ */

/* Decimal text of v at out (at most 20 bytes, no terminator); returns its length. */
static inline uint32_t dde_fmt_u64(char *out, uint64_t v) {
    char tmp[20];
    uint32_t n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v != 0);
    for (uint32_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

/* [p, p+n) as 1 to 18 decimal digits (so it cannot overflow): true and *out, else false. */
static inline bool dde_parse_u64(const uint8_t *p, uint32_t n, uint64_t *out) {
    if (n == 0 || n > 18) return false;
    uint64_t v = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return true;
}

/* Writes v in decimal to the result (one output_write from a stack buffer). */
static inline void dde_write_u64(uint64_t v) {
    char buf[20];
    dde_output_write(buf, dde_fmt_u64(buf, v));
}

/* ---- State ------------------------------------------------------------------------------------- */

/* The value of key in a buffer of its own (dde_alloc), following the ABI's rule: ask with a
 * 256-byte buffer, and when the value is longer ask again with one of its length (two trace
 * steps then). Returns NULL when the key is absent (*len = 0) or memory runs out. */
static inline uint8_t *dde_get(const void *key, uint32_t key_len, uint32_t *len) {
    uint32_t cap = 256;
    uint8_t *buf = (uint8_t *)dde_alloc(cap);
    *len = 0;
    if (!buf) return NULL;
    int32_t n = dde_state_get(key, key_len, buf, cap);
    if (n < 0) return NULL;
    if ((uint32_t)n > cap) {
        buf = (uint8_t *)dde_alloc((uint32_t)n);
        if (!buf) return NULL;
        n = dde_state_get(key, key_len, buf, (uint32_t)n);
        if (n < 0) return NULL;
    }
    *len = (uint32_t)n;
    return buf;
}
static inline uint8_t *dde_get_str(const char *key, uint32_t *len) { return dde_get(key, dde_strlen(key), len); }
static inline void dde_set(const void *key, uint32_t key_len, const void *val, uint32_t val_len) { dde_state_set(key, key_len, val, val_len); }
static inline void dde_set_str(const char *key, const void *val, uint32_t val_len) { dde_state_set(key, dde_strlen(key), val, val_len); }
/* true when the key had a value. */
static inline bool dde_delete(const void *key, uint32_t key_len) { return dde_state_delete(key, key_len) == 1; }
static inline bool dde_delete_str(const char *key) { return dde_delete(key, dde_strlen(key)); }

/* ---- Crypto and log ---------------------------------------------------------------------------- */

static inline void dde_hash(const void *data, uint32_t len, uint8_t out[32]) { dde_sha256(data, len, out); }
static inline bool dde_verify(const uint8_t sig[64], const void *msg, uint32_t msg_len, const uint8_t pk[32]) {
    return dde_ed25519_verify(sig, msg, msg_len, pk) == 1;
}
static inline void dde_log_str(const char *s) { dde_log(s, dde_strlen(s)); }

#ifdef __cplusplus
}
#endif
#endif /* DDE_GUEST_H */
