/*
 * sdk_tour: every helper of guest/c/dde_guest.h in one action, checked byte for byte by
 * scripts/test-guest.sh. Not a twin of anything: a tour for authors.
 *
 * action "tour" (capabilities crypto.hash, crypto.verify, log, state.read, state.write)
 *   input : any payload; it is stored under "seen" as its canonical bytes
 *   state : "big" (a value longer than 256 bytes: dde_get asks twice, the retry rule),
 *           "pk" (32 bytes) and "sig" (64 bytes): an Ed25519 signature of the empty message,
 *           "old" (deleted)
 *   result: {"big":<length>,"had":<old existed>,"input":<input length>,"sha":"<hex SHA-256 of big>",
 *            "tampered":<the signature with one bit flipped verifies>,"valid":<it verifies>}
 *   host calls, in order (13 trace steps when "big" is over 256 bytes, else 12): input_size, input_read,
 *   state_get big (x2), sha256, state_get pk, state_get sig, ed25519_verify (x2), state_delete old,
 *   state_set seen, log, output_write (once: the result is built in memory first)
 */
#include "dde_guest.h"

static char *out;
static uint32_t out_len;

static void put_str(const char *s) { uint32_t n = dde_strlen(s); dde_memcpy(out + out_len, s, n); out_len += n; }
static void put_u64(uint64_t v) { out_len += dde_fmt_u64(out + out_len, v); }
static void put_bool(bool b) { put_str(b ? "true" : "false"); }
static void put_hex(const uint8_t *p, uint32_t n) {
    static const char digits[] = "0123456789abcdef";
    for (uint32_t i = 0; i < n; i++) {
        out[out_len++] = digits[p[i] >> 4];
        out[out_len++] = digits[p[i] & 15];
    }
}

DDE_ACTION(tour) {
    uint32_t input_len;
    uint8_t *input = dde_input(&input_len);
    uint32_t big_len, pk_len, sig_len;
    uint8_t *big = dde_get_str("big", &big_len);
    if (!input || !big) return DDE_FAIL;
    uint8_t digest[32];
    dde_hash(big, big_len, digest);
    uint8_t *pk = dde_get_str("pk", &pk_len);
    uint8_t *sig = dde_get_str("sig", &sig_len);
    if (!pk || !sig || pk_len != 32 || sig_len != 64) return DDE_FAIL;
    bool valid = dde_verify(sig, "", 0, pk);
    sig[10] ^= 1;
    bool tampered = dde_verify(sig, "", 0, pk);
    bool had = dde_delete_str("old");
    dde_set_str("seen", input, input_len);
    dde_log_str("tour: done");

    out = (char *)dde_alloc(256);
    if (!out) return DDE_FAIL;
    put_str("{\"big\":"); put_u64(big_len);
    put_str(",\"had\":"); put_bool(had);
    put_str(",\"input\":"); put_u64(input_len);
    put_str(",\"sha\":\""); put_hex(digest, 32);
    put_str("\",\"tampered\":"); put_bool(tampered);
    put_str(",\"valid\":"); put_bool(valid);
    put_str("}");
    dde_write(out, out_len);
    return DDE_OK;
}
