/*
 * hashchain: examples/dapps/hashchain.wat written again in C with guest/c/dde_guest.h.
 *
 * action "run" (no capabilities): SHA-256 applied N times to 32 zero bytes, in guest integer
 * code (the crypto.hash host function is deliberately not used: the point is guest work).
 *   input : an integer N of 1 to 9 digits; any other payload means N = 4000
 *   result: {"hash":"<64 hex>","n":N}
 *
 * A twin of the WAT: the same host calls with the same arguments (input at 0, the result text
 * at the WAT's addresses 2048, 2128, 2200 and 2144), so the same result and trace hash; only
 * fuel differs.
 */
#include "dde_guest.h"

enum { INPUT = 0, OUT_HASH = 2048, OUT_N = 2128, OUT_CLOSE = 2144, OUT_DIGITS = 2200 };

static uint8_t *mem(uint32_t addr) { return (uint8_t *)dde_at(addr); }

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
static const uint32_t IV[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static uint32_t rotr(uint32_t x, uint32_t n) { return (x >> n) | (x << (32 - n)); }

/* One compression of the block w[0..16) into h. */
static void compress(uint32_t h[8], uint32_t w[64]) {
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

/* N from the input: 1 to 9 digits, else the default 4000. */
static uint32_t count(void) {
    int32_t n = dde_input_size();
    if (n == 0 || n > 9) return 4000;
    dde_input_read(mem(INPUT), (uint32_t)n);
    uint32_t v = 0;
    for (int32_t i = 0; i < n; i++) {
        uint8_t c = mem(INPUT)[i];
        if (c < '0' || c > '9') return 4000;
        v = v * 10 + (uint32_t)(c - '0');
    }
    return v;
}

DDE_ACTION(run) {
    uint32_t n = count();
    /* The digest starts as 32 zero bytes. Each step hashes a 32-byte digest: one padded block
     * whose first eight words are the previous digest's state words. */
    uint32_t h[8] = {0};
    uint32_t w[64];
    for (uint32_t step = 0; step < n; step++) {
        for (int i = 0; i < 8; i++) w[i] = h[i];
        w[8] = 0x80000000;
        for (int i = 9; i < 15; i++) w[i] = 0;
        w[15] = 256;
        for (int i = 0; i < 8; i++) h[i] = IV[i];
        compress(h, w);
    }
    static const char hex[] = "0123456789abcdef";
    dde_memcpy(mem(OUT_HASH), "{\"hash\":\"", 9);
    for (int k = 0; k < 8; k++) {
        for (int i = 0; i < 8; i++) mem(OUT_HASH + 9 + 8 * k)[i] = (uint8_t)hex[(h[k] >> (28 - 4 * i)) & 15];
    }
    dde_output_write(mem(OUT_HASH), 73);
    dde_memcpy(mem(OUT_N), "\",\"n\":", 6);
    dde_output_write(mem(OUT_N), 6);
    dde_output_write(mem(OUT_DIGITS), dde_fmt_u64((char *)mem(OUT_DIGITS), n));
    *mem(OUT_CLOSE) = '}';
    dde_output_write(mem(OUT_CLOSE), 1);
    return DDE_OK;
}
