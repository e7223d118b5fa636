/*
 * proof_builder.h: builds and signs compute_results from the protocol's rules (PROTOCOL.md
 * section 5) with nothing but dde.h, so that C programs have a second, independent writer of
 * proofs. Shared by Tests/CAPI/crossarch.c (verdicts on valid and mutated results, both
 * architectures) and benchmarks/core_bench.c (a realistic result to verify in a loop).
 *
 * Header-only (static inline functions): include it once per program, after dde.h.
 */
#ifndef DDE_TESTS_PROOF_BUILDER_H
#define DDE_TESTS_PROOF_BUILDER_H

#include <dde.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lowercase hex of n bytes into dst (2n characters and a NUL). */
static inline void hex(char *dst, const uint8_t *src, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = digits[src[i] >> 4];
        dst[2 * i + 1] = digits[src[i] & 15];
    }
    dst[2 * n] = '\0';
}

/* Decodes hex ("-" for empty) into out; -1 on a bad length or character. */
static inline int unhex(const char *s, uint8_t *out, size_t cap, size_t *n) {
    size_t len = strlen(s);
    if (strcmp(s, "-") == 0) { *n = 0; return 0; }
    if (len % 2 != 0 || len / 2 > cap) return -1;
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    *n = len / 2;
    return 0;
}

/* Canonical form of a NUL-terminated document, library-owned (dde_free), or NULL with *rc set. */
static inline char *canon(const char *json, int *rc) {
    char *out = NULL;
    size_t len = 0;
    *rc = dde_canonicalize(json, strlen(json), &out, &len);
    return *rc == DDE_OK ? out : NULL;
}

/* H(x) = SHA-256 of the canonical form, as hex (protocol section 3). */
static inline int jhash(const char *json, char hexout[65]) {
    int rc;
    char *c = canon(json, &rc);
    if (c == NULL) { strcpy(hexout, "(none)"); return rc; }
    uint8_t d[32];
    rc = dde_sha256(c, strlen(c), d);
    hex(hexout, d, 32);
    dde_free(c);
    return rc;
}

/* The value of "name":"..." in a canonical document (no escapes in the fields used here). */
static inline void field(const char *json, const char *name, char *out, size_t cap) {
    char key[128];
    snprintf(key, sizeof key, "\"%s\":\"", name);
    const char *p = strstr(json, key);
    out[0] = '\0';
    if (p == NULL) return;
    p += strlen(key);
    size_t i = 0;
    while (p[i] && p[i] != '"' && i + 1 < cap) { out[i] = p[i]; i++; }
    out[i] = '\0';
}

struct proof_params {
    const char *task_id, *dapp_id, *code_hash, *action, *input_hash, *declared, *used;
    unsigned long long trace_length, fuel_used;
    const char *result, *writes, *prev_root, *next_root;
    const char *result_hash;   /* NULL: H(result) */
    const char *writes_hash;   /* NULL: H(writes) */
    const uint8_t *executor_sk;
    int corrupt_signature;
};

/* An executor's compute_result for a task, built and signed here from the protocol's rules
 * (PROTOCOL.md section 5) with nothing but dde.h: a second, independent writer of proofs. */
static inline char *make_result(const struct proof_params *p) {
    char rh[65], wh[65], pk_hex[65], sig_hex[129];
    if (p->result_hash) snprintf(rh, sizeof rh, "%s", p->result_hash); else jhash(p->result, rh);
    if (p->writes_hash) snprintf(wh, sizeof wh, "%s", p->writes_hash); else jhash(p->writes, wh);
    hex(pk_hex, p->executor_sk + 32, 32);
    static char unsigned_proof[1 << 14];
    snprintf(unsigned_proof, sizeof unsigned_proof,
             "{\"proofVersion\":1,\"taskId\":\"%s\",\"dappId\":\"%s\",\"dappCodeHash\":\"%s\",\"action\":\"%s\","
             "\"inputHash\":\"%s\",\"capabilitiesDeclared\":%s,\"capabilitiesUsed\":%s,"
             "\"executionTraceHash\":\"%064d\",\"traceLength\":%llu,\"fuelUsed\":%llu,\"resultHash\":\"%s\","
             "\"previousStateRoot\":\"%s\",\"nextStateRoot\":\"%s\",\"stateWritesHash\":\"%s\","
             "\"executorPublicKey\":\"%s\",\"timestamp\":1764000000500",
             p->task_id, p->dapp_id, p->code_hash, p->action, p->input_hash, p->declared, p->used, 7,
             p->trace_length, p->fuel_used, rh, p->prev_root, p->next_root, wh, pk_hex);
    char signed_hash_hex[65];
    char closed[sizeof unsigned_proof + 2];
    snprintf(closed, sizeof closed, "%s}", unsigned_proof);
    jhash(closed, signed_hash_hex);
    uint8_t h[32], sig[64];
    size_t n;
    unhex(signed_hash_hex, h, 32, &n);
    if (dde_sign(DDE_KIND_PROOF, h, p->executor_sk, sig) != DDE_OK) memset(sig, 0, sizeof sig); /* never verifies */
    if (p->corrupt_signature) sig[10] ^= 0x04;
    hex(sig_hex, sig, 64);
    size_t cap = strlen(unsigned_proof) + strlen(p->result) + strlen(p->writes) + 1024;
    char *doc = malloc(cap);
    snprintf(doc, cap,
             "{\"taskId\":\"%s\",\"proof\":%s,\"signature\":\"%s\"},\"result\":%s,\"stateWrites\":%s,"
             "\"resultHash\":\"%s\",\"executorPublicKey\":\"%s\",\"executionLatency\":12}",
             p->task_id, unsigned_proof, sig_hex, p->result, p->writes, rh, pk_hex);
    return doc;
}

#endif /* DDE_TESTS_PROOF_BUILDER_H */
