/*
 * crossarch.c: prints what libdde.so computes for a fixed list of inputs, one result per line, so
 * that the x86-64 build (full Swift runtime) and the aarch64 build (Embedded Swift, run under
 * qemu) can be diffed line by line by scripts/test-crossarch.sh. Uses only dde.h.
 *
 * Every line is "label: value". Nothing printed may depend on the machine, the time or the
 * random number generator: the same library semantics must give the same bytes.
 *
 * Usage: crossarch [--wycheproof FILE]
 *   FILE holds lines "tcId pkhex msghex sighex" (hex may be "-" for empty); each gets a line with
 *   the dde_ed25519_verify verdict. The script derives FILE from the shared Wycheproof vectors.
 */
#include <dde.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long lines;

#define OUT(...) do { printf(__VA_ARGS__); putchar('\n'); lines++; } while (0)

static void hex(char *dst, const uint8_t *src, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = digits[src[i] >> 4];
        dst[2 * i + 1] = digits[src[i] & 15];
    }
    dst[2 * n] = '\0';
}

/* Hex of a buffer in a rotating static slot (enough for one OUT line). */
static const char *hx(const uint8_t *src, size_t n) {
    static char slots[4][2 * 256 + 1];
    static int next;
    char *s = slots[next++ & 3];
    if (n > 256) n = 256;
    hex(s, src, n);
    return s;
}

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *n) {
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

/* A status with the name and the thread's message, so a differing message shows up too. */
static const char *verdict(int rc) {
    static char buf[700];
    if (rc == DDE_OK) return "DDE_OK";
    snprintf(buf, sizeof buf, "%s [%s]", dde_status_name(rc), dde_errmsg());
    return buf;
}

/* Deterministic test bytes: a xorshift stream from a seed (identical on every machine). */
static void pattern(uint8_t *p, size_t n, uint32_t seed) {
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        p[i] = (uint8_t)(x >> 24);
    }
}

static void section_library(void) {
    OUT("version: %s", dde_version());
    OUT("version_number: %d", dde_version_number());
    OUT("header_matches_library: %d", dde_version_number() == DDE_VERSION_NUMBER);
    OUT("init: %s", verdict(dde_init()));
    OUT("sizes: pk=%zu sk=%zu seed=%zu sig=%zu hash=%zu", dde_publickeybytes(), dde_secretkeybytes(),
        dde_seedbytes(), dde_signaturebytes(), dde_hashbytes());
    for (int code = -2; code <= 130; code++)
        OUT("status %d: %s | %s", code, dde_status_name(code), dde_status_message(code));
    OUT("status INT32_MIN: %s", dde_status_name(INT32_MIN));
    OUT("status INT32_MAX: %s", dde_status_name(INT32_MAX));
}

static void section_sha256(void) {
    uint8_t digest[DDE_HASHBYTES];
    static uint8_t big[1 << 20];
    /* The call comes before OUT: C leaves the order of argument evaluation open. */
    int rc = dde_sha256(NULL, 0, digest);
    OUT("sha256 empty NULL: %s %s", verdict(rc), hx(digest, 32));
    rc = dde_sha256("abc", 3, digest);
    OUT("sha256 abc: %s %s", verdict(rc), hx(digest, 32));
    const char *s448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    rc = dde_sha256(s448, strlen(s448), digest);
    OUT("sha256 448-bit: %s %s", verdict(rc), hx(digest, 32));
    /* Every length around the 64-byte block and padding boundaries. */
    for (size_t n = 0; n <= 200; n++) {
        uint8_t buf[200];
        pattern(buf, n, (uint32_t)n);
        rc = dde_sha256(buf, n, digest);
        OUT("sha256 len %zu: %s %s", n, verdict(rc), hx(digest, 32));
    }
    pattern(big, sizeof big, 7);
    rc = dde_sha256(big, sizeof big, digest);
    OUT("sha256 1MiB: %s %s", verdict(rc), hx(digest, 32));
    memset(big, 'a', 1000000);
    rc = dde_sha256(big, 1000000, digest);
    OUT("sha256 million a: %s %s", verdict(rc), hx(digest, 32));
}

static void section_keys(void) {
    uint8_t seeds[8][32];
    memset(seeds[0], 0, 32);
    memset(seeds[1], 0xff, 32);
    for (int i = 0; i < 32; i++) seeds[2][i] = (uint8_t)i;
    size_t n;
    /* RFC 8032 section 7.1, TEST 1 and TEST 2 secret keys. */
    unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seeds[3], 32, &n);
    unhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", seeds[4], 32, &n);
    for (int i = 5; i < 8; i++) pattern(seeds[i], 32, (uint32_t)(100 + i));

    uint8_t hashes[3][32];
    dde_sha256("task", 4, hashes[0]);
    dde_sha256("proof", 5, hashes[1]);
    memset(hashes[2], 0, 32);

    for (int k = 0; k < 8; k++) {
        uint8_t pk[DDE_PUBLICKEYBYTES], sk[DDE_SECRETKEYBYTES];
        int rc = dde_keypair_from_seed(pk, sk, seeds[k]);
        OUT("keypair seed %d: %s pk=%s sk=%s", k, verdict(rc), hx(pk, 32), hx(sk, 64));
        for (int kind = 1; kind <= 3; kind++) {
            for (int h = 0; h < 3; h++) {
                uint8_t sig[DDE_SIGNATUREBYTES];
                rc = dde_sign(kind, hashes[h], sk, sig);
                OUT("sign seed %d kind %d hash %d: %s %s", k, kind, h, verdict(rc), hx(sig, 64));
                OUT("verify seed %d kind %d hash %d: %s", k, kind, h, verdict(dde_verify_signature(kind, hashes[h], pk, sig)));
                /* Every other kind must refuse the signature: domain separation. */
                for (int other = 1; other <= 3; other++) {
                    if (other == kind) continue;
                    OUT("verify seed %d kind %d as kind %d: %s", k, kind, other,
                        verdict(dde_verify_signature(other, hashes[h], pk, sig)));
                }
                uint8_t bad[DDE_SIGNATUREBYTES];
                memcpy(bad, sig, sizeof bad);
                bad[(k * 7 + h) % 64] ^= (uint8_t)(1u << (kind % 8));
                OUT("verify seed %d kind %d hash %d flipped sig: %s", k, kind, h,
                    verdict(dde_verify_signature(kind, hashes[h], pk, bad)));
                uint8_t other_hash[32];
                memcpy(other_hash, hashes[h], 32);
                other_hash[31] ^= 1;
                OUT("verify seed %d kind %d hash %d other hash: %s", k, kind, h,
                    verdict(dde_verify_signature(kind, other_hash, pk, sig)));
            }
        }
        /* A secret key whose public half does not belong to its seed. */
        uint8_t forged[DDE_SECRETKEYBYTES], sig[DDE_SIGNATUREBYTES];
        memcpy(forged, sk, sizeof forged);
        forged[63] ^= 0x80;
        OUT("sign seed %d mismatched secret key: %s", k, verdict(dde_sign(1, hashes[0], forged, sig)));
        OUT("sign seed %d kind 0: %s", k, verdict(dde_sign(0, hashes[0], sk, sig)));
        OUT("sign seed %d kind 4: %s", k, verdict(dde_sign(4, hashes[0], sk, sig)));
    }

    /* RFC 8032 TEST 1 (empty message) and TEST 2 (one byte 0x72), plain Ed25519. */
    uint8_t pk[32], sig[64];
    unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pk, 32, &n);
    unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", sig, 64, &n);
    OUT("ed25519 rfc8032 test1: %s", verdict(dde_ed25519_verify(sig, NULL, 0, pk)));
    sig[0] ^= 1;
    OUT("ed25519 rfc8032 test1 flipped: %s", verdict(dde_ed25519_verify(sig, NULL, 0, pk)));
    unhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", pk, 32, &n);
    unhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00", sig, 64, &n);
    OUT("ed25519 rfc8032 test2: %s", verdict(dde_ed25519_verify(sig, "\x72", 1, pk)));
    OUT("ed25519 rfc8032 test2 other message: %s", verdict(dde_ed25519_verify(sig, "\x73", 1, pk)));
}

static int section_wycheproof(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL) { perror(path); return -1; }
    static char line[1 << 16];
    static char id[32], pkh[1 << 12], msgh[1 << 15], sigh[1 << 12];
    static uint8_t pk[1 << 11], msg[1 << 14], sig[1 << 11];
    int count = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%31s %4095s %32767s %4095s", id, pkh, msgh, sigh) != 4) continue;
        size_t npk, nmsg, nsig;
        if (unhex(pkh, pk, sizeof pk, &npk) || unhex(msgh, msg, sizeof msg, &nmsg) ||
            unhex(sigh, sig, sizeof sig, &nsig)) {
            OUT("wycheproof %s: unparsable vector line", id);
            continue;
        }
        /* The API takes fixed-size keys and signatures: other lengths are invalid by shape. */
        const char *v = (npk != 32 || nsig != 64) ? "bad length"
                      : verdict(dde_ed25519_verify(sig, nmsg ? msg : NULL, nmsg, pk));
        OUT("wycheproof %s: %s", id, v);
        count++;
    }
    fclose(f);
    return count;
}

int main(int argc, char **argv) {
    const char *wycheproof = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--wycheproof") == 0 && i + 1 < argc) wycheproof = argv[++i];
        else { fprintf(stderr, "usage: %s [--wycheproof FILE]\n", argv[0]); return 2; }
    }
    section_library();
    section_sha256();
    section_keys();
    if (wycheproof && section_wycheproof(wycheproof) < 0) return 1;
    OUT("lines: %lu", lines + 1);
    return 0;
}
