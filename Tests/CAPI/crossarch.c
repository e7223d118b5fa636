/*
 * crossarch.c: prints what libdde.so computes for a fixed list of inputs, one result per line, so
 * that the x86-64 build (full Swift runtime) and the aarch64 and armv7 builds (Embedded Swift, run
 * under qemu) can be diffed line by line by scripts/test-crossarch.sh. Uses only dde.h.
 *
 * Every line is "label: value". Nothing printed may depend on the machine, the time or the
 * random number generator: the same library semantics must give the same bytes.
 *
 * Usage: crossarch [--wycheproof FILE] [--conformance DIR]
 *   FILE holds lines "tcId pkhex msghex sighex" (hex may be "-" for empty); each gets a line with
 *   the dde_ed25519_verify verdict. The script derives FILE from the Wycheproof vectors.
 *   DIR is Tests/Conformance (in the repository, with the licences): the RFC 8785 vectors
 *   (jcs/), the ECMAScript number forms (es6numbers/) and JSONTestSuite (jsontestsuite/) are run
 *   through dde_canonicalize.
 *
 * Where the program itself knows the right answer (a published vector), a wrong result prints a
 * line containing "UNEXPECTED"; the script counts those as failures on top of the diff.
 */
#include <dde.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proof_builder.h" /* hex, unhex, jhash, field, make_result */

static unsigned long lines;

#define OUT(...) do { printf(__VA_ARGS__); putchar('\n'); lines++; } while (0)

/* Hex of a buffer in a rotating static slot (enough for one OUT line). */
static const char *hx(const uint8_t *src, size_t n) {
    static char slots[4][2 * 256 + 1];
    static int next;
    char *s = slots[next++ & 3];
    if (n > 256) n = 256;
    hex(s, src, n);
    return s;
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
    OUT("abi: %d.%d header %d.%d", dde_abi_version_major(), dde_abi_version_minor(), DDE_ABI_VERSION_MAJOR,
        DDE_ABI_VERSION_MINOR);
    OUT("limits: hashhex=%zu errmsg=%zu input=%zu path=%zu url=%zu json=%zu/%zu/%zu/%zu/%zu executors=%zu "
        "module=%zu state=%zu/%zu topic=%zu methods=%d", dde_hashhexbytes(), dde_errmsgbytes(), dde_max_input_bytes(),
        dde_max_path_bytes(), dde_max_url_bytes(), dde_json_max_bytes(), dde_json_max_depth(),
        dde_json_max_string_bytes(), dde_json_max_object_keys(), dde_json_max_array_elements(), dde_max_executors(),
        dde_max_module_bytes(), dde_max_state_key_bytes(), dde_max_state_value_bytes(), dde_max_topic_bytes(),
        dde_transport_methods_version());
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
        int rc = dde_seed_keypair(seeds[k], pk, sk);
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

/* ---- Canonical JSON ------------------------------------------------------------------------ */

static char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) { cap *= 2; char *b = realloc(buf, cap + 1); if (!b) { free(buf); buf = NULL; } else buf = b; }
    }
    fclose(f);
    if (buf) { buf[len] = '\0'; *n = len; }
    return buf;
}

/* Canonicalises a document and prints the verdict and the canonical bytes in hex. */
static void canon_line(const char *label, const char *json, size_t n) {
    char *out = NULL;
    size_t len = 0;
    int rc = dde_canonicalize(json, n, &out, &len);
    if (rc != DDE_OK) { OUT("%s: %s", label, verdict(rc)); return; }
    char *h = malloc(2 * len + 1);
    hex(h, (const uint8_t *)out, len);
    OUT("%s: DDE_OK %zu %s", label, len, h);
    free(h);
    dde_free(out);
}

static void section_canonical(const char *dir) {
    /* Documents written here: numbers, escapes, key order by UTF-16 units, nesting. */
    static const char *docs[] = {
        "{}", "[]", "null", "true", "0", "-0", "1.0", "1e21", "1e-7", "123456789012345678901234567890",
        "0.1", "-1.5e-300", "9007199254740993", "5e-324", "1.7976931348623157e308", "\"\"",
        "\"\\u0000\\u001f\\u007f\\ud83d\\ude00\\u00e9\"", "{\"b\":1,\"a\":2,\"\\u00e9\":3,\"\\ud83d\\ude00\":4,\"\\uff61\":5}",
        "[1,[2,[3,[4,[5]]]],{\"x\":{\"y\":{}}}]", " \t\n{ \"a\" : [ 1 , 2 ] } \n",
        /* refused: */
        "", " ", "{", "[1,]", "{\"a\":1,\"a\":2}", "01", "1.", "NaN", "\"\\ud800\"", "[1] x", "\"\t\"",
        "1e400", "{\"a\":1 \"b\":2}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        char label[64];
        snprintf(label, sizeof label, "canon doc %zu", i);
        canon_line(label, docs[i], strlen(docs[i]));
    }
    /* Depth: 64 levels are allowed, 65 are not (dde.h). */
    for (int depth = 63; depth <= 66; depth++) {
        char buf[200], label[64];
        int k = 0;
        for (int i = 0; i < depth; i++) buf[k++] = '[';
        for (int i = 0; i < depth; i++) buf[k++] = ']';
        buf[k] = '\0';
        snprintf(label, sizeof label, "canon depth %d", depth);
        canon_line(label, buf, (size_t)k);
    }
    if (dir == NULL) return;

    static const char *jcs[] = {"arrays", "french", "structures", "unicode", "values", "weird"};
    for (size_t i = 0; i < sizeof jcs / sizeof *jcs; i++) {
        char in_path[4096], out_path[4096], label[64];
        snprintf(in_path, sizeof in_path, "%s/jcs/input/%s.json", dir, jcs[i]);
        snprintf(out_path, sizeof out_path, "%s/jcs/output/%s.json", dir, jcs[i]);
        size_t n_in, n_out;
        char *in = read_file(in_path, &n_in), *want = read_file(out_path, &n_out);
        if (in == NULL || want == NULL) { OUT("jcs %s: UNEXPECTED cannot read the vector", jcs[i]); free(in); free(want); continue; }
        snprintf(label, sizeof label, "jcs %s", jcs[i]);
        canon_line(label, in, n_in);
        char *out = NULL;
        size_t len = 0;
        int rc = dde_canonicalize(in, n_in, &out, &len);
        int ok = rc == DDE_OK && len == n_out && memcmp(out, want, len) == 0;
        OUT("jcs %s expected: %s", jcs[i], ok ? "same" : "UNEXPECTED");
        dde_free(out);
        free(in);
        free(want);
    }

    /* ECMAScript number forms: each double, written with 17 significant digits (glibc rounds
     * correctly on both machines), must canonicalise to Node's Number.prototype.toString. */
    char path[4096];
    snprintf(path, sizeof path, "%s/es6numbers/numbers-100k.txt", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) { OUT("es6: UNEXPECTED cannot read %s", path); }
    else {
        char line[256], want[128];
        unsigned long total = 0, wrong = 0, skipped = 0;
        while (fgets(line, sizeof line, f)) {
            unsigned long long bits;
            if (sscanf(line, "%16llx,%127s", &bits, want) != 2) continue;
            double d;
            memcpy(&d, &bits, sizeof d);
            if (!isfinite(d)) { skipped++; continue; } /* not JSON */
            char doc[64];
            snprintf(doc, sizeof doc, "%.17g", d);
            int rc;
            char *c = canon(doc, &rc);
            total++;
            if (c == NULL) { OUT("es6 %016llx: %s UNEXPECTED want %s", bits, verdict(rc), want); wrong++; continue; }
            if (strcmp(c, want) != 0) { OUT("es6 %016llx: %s UNEXPECTED want %s", bits, c, want); wrong++; }
            else OUT("es6 %016llx: %s", bits, c);
            dde_free(c);
        }
        fclose(f);
        OUT("es6 total %lu, non-finite skipped %lu, wrong %lu%s", total, skipped, wrong, wrong ? " UNEXPECTED" : "");
    }

    /* JSONTestSuite: y_ accepted, n_ refused, i_ either way; never a crash. */
    snprintf(path, sizeof path, "%s/jsontestsuite/test_parsing", dir);
    struct dirent **names = NULL;
    int count = scandir(path, &names, NULL, alphasort);
    if (count < 0) { OUT("jsontestsuite: UNEXPECTED cannot read %s", path); return; }
    for (int i = 0; i < count; i++) {
        const char *name = names[i]->d_name;
        if (name[0] == '.') { free(names[i]); continue; }
        char file[4096 + 512], label[600];
        snprintf(file, sizeof file, "%s/%s", path, name);
        size_t n;
        char *doc = read_file(file, &n);
        if (doc == NULL) { OUT("jsontestsuite %s: UNEXPECTED unreadable", name); free(names[i]); continue; }
        char *out = NULL;
        size_t len = 0;
        int rc = dde_canonicalize(doc, n, &out, &len);
        /* dde refuses repeated keys on purpose (PROTOCOL.md: one meaning per document), so the
         * two y_ files that repeat a key must give DDE_ERR_DUPLICATE_KEY instead. */
        int dup = strstr(name, "duplicated_key") != NULL;
        int want_ok = name[0] == 'y' && !dup;
        const char *bad = (want_ok && rc != DDE_OK) || (name[0] == 'n' && rc == DDE_OK) ||
                          (name[0] == 'y' && dup && rc != DDE_ERR_DUPLICATE_KEY) ? " UNEXPECTED" : "";
        snprintf(label, sizeof label, "jsontestsuite %s%s", name, bad);
        canon_line(label, doc, n);
        dde_free(out);
        free(doc);
        free(names[i]);
    }
    free(names);
}

/* ---- Tasks and verification ---------------------------------------------------------------- */

/* Replaces the first occurrence of `from` in `doc` by `to` (new malloc'd string). */
static char *replace(const char *doc, const char *from, const char *to) {
    const char *p = strstr(doc, from);
    if (p == NULL) return strdup(doc);
    size_t a = (size_t)(p - doc), lf = strlen(from), lt = strlen(to), n = strlen(doc);
    char *r = malloc(n - lf + lt + 1);
    memcpy(r, doc, a);
    memcpy(r + a, to, lt);
    memcpy(r + a + lt, p + lf, n - a - lf + 1);
    return r;
}

static void section_store(dde_task *task, const char *result, const uint8_t executor_pk[32],
                          const uint8_t other_pk[32]);

static void section_tasks(void) {
    uint8_t seed[32], pk[32], sk[64], esk[64], epk[32], other_sk[64], other_pk[32];
    pattern(seed, 32, 1001);
    OUT("tasks: requester key: %s", verdict(dde_seed_keypair(seed, pk, sk)));
    pattern(seed, 32, 2002);
    OUT("tasks: executor key: %s", verdict(dde_seed_keypair(seed, epk, esk)));
    pattern(seed, 32, 3003);
    OUT("tasks: other executor key: %s", verdict(dde_seed_keypair(seed, other_pk, other_sk)));

    uint8_t code[32];
    char code_hex[65];
    dde_sha256("(module)", 8, code);
    hex(code_hex, code, 32);

    static const char *specs[] = {
        /* 0: the full spec of dde.h; state with one key */
        "{\"dappId\":\"wallet\",\"dappCodeHash\":\"%s\",\"action\":\"transfer\","
        "\"payload\":{\"to\":\"Alice\",\"amount\":5,\"memo\":\"caf\\u00e9 \\ud83d\\ude00\",\"z\":[1e3,0.5,-0]},"
        "\"raw\":\"send 5 frame to Alice\",\"requiredCapabilities\":[\"state.write\",\"state.read\",\"state.read\"],"
        "\"state\":{\"balance/alice\":\"MTA=\",\"balance/bob\":\"NDI=\"},\"maxExecutionSteps\":500,"
        "\"maxFuel\":1000000,\"maxExecutionTime\":2000,\"maxMemoryUsage\":1048576,\"timestamp\":1764000000000}",
        /* 1: the minimum; no state */
        "{\"dappId\":\"counter\",\"dappCodeHash\":\"%s\",\"action\":\"inc\",\"timestamp\":1764000000001}",
        /* 2: keys out of order, intent timestamp apart */
        "{\"timestamp\":1,\"action\":\"a\",\"dappCodeHash\":\"%s\",\"dappId\":\"d\",\"intentTimestamp\":9007199254740991,"
        "\"payload\":[null,true,{\"b\":1,\"a\":{}}],\"requiredCapabilities\":[\"log\",\"crypto.hash\"]}",
        /* 3: taskVersion 2 (partial state): two keys of a three-key state, one absent, with the
         * v2 state tree root and proof (docs/PROTOCOL.md sections 3 and 6.2) */
        "{\"dappId\":\"wallet\",\"dappCodeHash\":\"%s\",\"action\":\"send\","
        "\"payload\":{\"amount\":3,\"from\":\"alice\",\"to\":\"carol\"},\"requiredCapabilities\":[\"state.read\",\"state.write\"],"
        "\"state\":{\"balance/alice\":\"AAAAAAAAAAU=\",\"balance/bob\":\"AAAAAAAAAF8=\",\"count\":\"NDE=\"},"
        "\"stateKeys\":[\"balance/alice\",\"balance/carol\"],\"timestamp\":1767225600000}",
        /* refused */
        "{\"dappId\":\"x\",\"dappCodeHash\":\"%s\",\"action\":\"a\",\"timestamp\":9007199254740992}",
        "{\"dappId\":\"x\",\"dappCodeHash\":\"%s\",\"action\":\"a\",\"timestamp\":1,\"requiredCapabilities\":[\"net\"]}",
        "{\"dappId\":\"\",\"dappCodeHash\":\"%s\",\"action\":\"a\",\"timestamp\":1}",
        "{\"dappId\":\"x\",\"dappCodeHash\":\"%s\",\"action\":\"a\",\"timestamp\":1,\"extra\":1}",
        "{\"dappId\":\"x\",\"dappCodeHash\":\"%.63s\",\"action\":\"a\",\"timestamp\":1}",
        "{\"dappId\":\"x\",\"dappCodeHash\":\"%s\",\"action\":\"a\",\"timestamp\":1,\"state\":{\"k\":\"not base64!\"}}",
        "{\"dappId\":\"x\",\"dappCodeHash\":\"%s\",\"action\":\"a\",\"timestamp\":1.5}",
    };
    char *task_json[4] = {0};
    dde_task *tasks[4] = {0};
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        char spec[2048];
        snprintf(spec, sizeof spec, specs[i], code_hex);
        dde_task *t = NULL;
        int rc = dde_task_create(spec, strlen(spec), sk, &t);
        OUT("task %zu create: %s%s", i, verdict(rc), (rc == DDE_OK) != (i < 4) ? " UNEXPECTED" : "");
        if (rc != DDE_OK) continue;
        char id[DDE_HASHHEXBYTES] = "";
        rc = dde_task_id(t, id);
        OUT("task %zu id: %s %s", i, verdict(rc), id);
        char *json = NULL;
        size_t len = 0;
        rc = dde_task_json(t, &json, &len);
        OUT("task %zu json: %s %zu %s", i, verdict(rc), len, json ? json : "(null)");
        /* What the executor receives parses back to the same id. */
        dde_task *back = NULL;
        rc = dde_task_parse(json, len, &back);
        char id2[DDE_HASHHEXBYTES] = "";
        if (rc == DDE_OK) dde_task_id(back, id2);
        OUT("task %zu reparse: %s %s", i, verdict(rc), strcmp(id, id2) == 0 ? "same id" : "UNEXPECTED other id");
        dde_task_free(back);
        if (i < 4) { tasks[i] = t; task_json[i] = json; }
        else { dde_task_free(t); dde_free(json); }
    }
    if (tasks[0] == NULL || tasks[1] == NULL) { OUT("tasks: UNEXPECTED the valid specs were refused"); return; }

    /* The v2 task with a wrong value for a carried key, a flipped proof byte, a key the proof
     * does not reach: each refused with its state-proof status. */
    if (task_json[3] != NULL) {
        const char *v2tamper[][2] = {
            {"\"balance/alice\":\"AAAAAAAAAAU=\"", "\"balance/alice\":\"AAAAAAAAAAY=\""},
            {"\"balance/carol\":null", "\"balance/bob\":null,\"balance/carol\":null"},
            {"\"stateProof\":\"", "\"stateProof\":\"AAAA"},
        };
        for (size_t i = 0; i < sizeof v2tamper / sizeof *v2tamper; i++) {
            char *doc = malloc(strlen(task_json[3]) + 64);
            const char *at = strstr(task_json[3], v2tamper[i][0]);
            if (doc == NULL || at == NULL) { OUT("task 3 tamper %zu: UNEXPECTED pattern missing", i); free(doc); continue; }
            size_t head = (size_t)(at - task_json[3]);
            memcpy(doc, task_json[3], head);
            strcpy(doc + head, v2tamper[i][1]);
            strcat(doc, at + strlen(v2tamper[i][0]));
            dde_task *bad = NULL;
            int rc = dde_task_parse(doc, strlen(doc), &bad);
            OUT("task 3 tamper %zu: %s%s", i, verdict(rc), rc == DDE_OK ? " UNEXPECTED" : "");
            dde_task_free(bad);
            free(doc);
        }
    }

    /* Tampered task documents an executor must refuse. */
    char sig0[129], id0[65], in0[65];
    field(task_json[0], "signature", sig0, sizeof sig0);
    field(task_json[0], "taskId", id0, sizeof id0);
    field(task_json[0], "inputHash", in0, sizeof in0);
    char flipped_sig[129], flipped_id[65], flipped_in[65];
    strcpy(flipped_sig, sig0); flipped_sig[5] = flipped_sig[5] == '0' ? '1' : '0';
    strcpy(flipped_id, id0); flipped_id[0] = flipped_id[0] == '0' ? '1' : '0';
    strcpy(flipped_in, in0); flipped_in[63] = flipped_in[63] == '0' ? '1' : '0';
    const char *tamper[][2] = {
        {sig0, flipped_sig}, {id0, flipped_id}, {in0, flipped_in},
        {"\"amount\":5", "\"amount\":6"}, {"\"maxFuel\":1000000", "\"maxFuel\":1000001"},
        {"\"taskVersion\":1", "\"taskVersion\":2"}, {"\"MTA=\"", "\"MTE=\""},
        {"\"dappId\":\"wallet\"", "\"dappId\":\"wallet\",\"dappId\":\"wallet\""},
        {"\"action\":\"transfer\"", "\"action\":7"},
    };
    for (size_t i = 0; i < sizeof tamper / sizeof *tamper; i++) {
        char *doc = replace(task_json[0], tamper[i][0], tamper[i][1]);
        dde_task *t = NULL;
        int rc = dde_task_parse(doc, strlen(doc), &t);
        OUT("task tamper %zu: %s%s", i, verdict(rc), rc == DDE_OK ? " UNEXPECTED accepted" : "");
        dde_task_free(t);
        free(doc);
    }

    /* Verification: results written here for task 0 (state) and task 1 (no state). */
    char prev0[65], prev1[65], in1[65], id1[65];
    field(task_json[0], "previousStateRoot", prev0, sizeof prev0);
    field(task_json[1], "previousStateRoot", prev1, sizeof prev1);
    field(task_json[1], "inputHash", in1, sizeof in1);
    field(task_json[1], "taskId", id1, sizeof id1);
    const char *caps0 = "[\"state.read\",\"state.write\"]";
    struct proof_params base0 = {
        id0, "wallet", code_hex, "transfer", in0, caps0, caps0, 500, 1000000,
        "{\"ok\":true,\"balance\":5}", "{\"balance/alice\":\"MTA=\"}", prev0, prev0, NULL, NULL, esk, 0,
    };
    /* Writing the value already there leaves the root as it was: a valid result. */
    struct proof_params base1 = {
        id1, "counter", code_hex, "inc", in1, "[]", "[]", 0, 0, "7", "{}", prev1, prev1, NULL, NULL, esk, 0,
    };
    /* Deleting both keys of task 0 leaves the empty map, whose root task 1 names. */
    struct proof_params del0 = base0;
    del0.writes = "{\"balance/bob\":null,\"balance/alice\":null}";
    del0.next_root = prev1;

    struct { const char *name; struct proof_params p; int task, want; } cases[32];
    size_t nc = 0;
#define CASE(label, t, code, ...) do { \
        cases[nc].name = label; \
        cases[nc].want = code; \
        cases[nc].task = t; \
        cases[nc].p = (t) == 1 ? base1 : base0; \
        struct proof_params *q = &cases[nc].p; \
        (void)q; \
        __VA_ARGS__; \
        nc++; \
    } while (0)
    CASE("valid task0", 0, DDE_OK, );
    CASE("valid task1", 1, DDE_OK, );
    cases[nc].name = "valid delete all"; cases[nc].task = 0; cases[nc].want = DDE_OK; cases[nc].p = del0; nc++;
    CASE("other task", 0, DDE_ERR_TASK_MISMATCH, q->task_id = id1);
    CASE("other dapp", 0, DDE_ERR_TASK_MISMATCH, q->dapp_id = "walle");
    CASE("other action", 0, DDE_ERR_TASK_MISMATCH, q->action = "transfeR");
    CASE("other code", 0, DDE_ERR_CODE_HASH_MISMATCH, q->code_hash = in0);
    CASE("other input", 0, DDE_ERR_INPUT_HASH_MISMATCH, q->input_hash = code_hex);
    CASE("declared fewer", 0, DDE_ERR_CAPABILITIES, q->declared = "[\"state.read\"]");
    CASE("used undeclared", 0, DDE_ERR_CAPABILITIES, q->used = "[\"log\"]");
    CASE("steps exceeded", 0, DDE_ERR_STEPS_EXCEEDED, q->trace_length = 501);
    CASE("fuel exceeded", 0, DDE_ERR_FUEL_EXCEEDED, q->fuel_used = 1000001);
    CASE("result hash", 0, DDE_ERR_RESULT_HASH, q->result_hash = "0000000000000000000000000000000000000000000000000000000000000000");
    CASE("writes hash", 0, DDE_ERR_WRITES_HASH, q->writes_hash = "1111111111111111111111111111111111111111111111111111111111111111");
    CASE("previous root", 0, DDE_ERR_PREVIOUS_STATE_ROOT, q->prev_root = prev1);
    CASE("next root", 0, DDE_ERR_NEXT_STATE_ROOT, q->writes = "{\"balance/alice\":\"MTE=\"}");
    CASE("next root delete", 0, DDE_ERR_NEXT_STATE_ROOT, q->writes = "{\"balance/carol\":null}"; q->next_root = prev1);
    CASE("proof signature", 0, DDE_ERR_PROOF_SIGNATURE, q->corrupt_signature = 1);
    CASE("valid other executor", 0, DDE_OK, q->executor_sk = other_sk);
#undef CASE
    dde_policy *banned = NULL, *blacklisted = NULL;
    OUT("policy new: %s", verdict(dde_policy_new(&banned)));
    OUT("policy new: %s", verdict(dde_policy_new(&blacklisted)));
    OUT("policy deny banned: %s", verdict(dde_policy_deny(banned, epk, DDE_ERR_EXECUTOR_BANNED)));
    OUT("policy deny blacklisted: %s", verdict(dde_policy_deny(blacklisted, epk, DDE_ERR_EXECUTOR_BLACKLISTED)));
    OUT("policy deny bad reason: %s", verdict(dde_policy_deny(banned, epk, DDE_ERR_JSON)));
    for (size_t i = 0; i < nc; i++) {
        char *doc = make_result(&cases[i].p);
        int rc = dde_verify(tasks[cases[i].task], doc, strlen(doc), NULL);
        const char *bad = rc != cases[i].want ? " UNEXPECTED" : "";
        OUT("verify %s: %s%s", cases[i].name, verdict(rc), bad);
        if (i == 0) {
            rc = dde_verify(tasks[0], doc, strlen(doc), banned);
            OUT("verify %s policy banned: %s%s", cases[i].name, verdict(rc), rc != DDE_ERR_EXECUTOR_BANNED ? " UNEXPECTED" : "");
            rc = dde_verify(tasks[0], doc, strlen(doc), blacklisted);
            OUT("verify %s policy blacklisted: %s%s", cases[i].name, verdict(rc), rc != DDE_ERR_EXECUTOR_BLACKLISTED ? " UNEXPECTED" : "");
            /* The same result in another key order and spacing is the same result. */
            char *spaced = replace(doc, ",\"executionLatency\":12}", " , \"executionLatency\" : 12 }");
            OUT("verify %s respaced: %s", cases[i].name, verdict(dde_verify(tasks[0], spaced, strlen(spaced), NULL)));
            free(spaced);
            /* The outer copies must agree with the proof. */
            char *latency = replace(doc, "\"executionLatency\":12", "\"executionLatency\":-1");
            OUT("verify %s negative latency: %s", cases[i].name, verdict(dde_verify(tasks[0], latency, strlen(latency), NULL)));
            free(latency);
            char *truncated = strdup(doc);
            truncated[strlen(truncated) / 2] = '\0';
            OUT("verify %s truncated: %s", cases[i].name, verdict(dde_verify(tasks[0], truncated, strlen(truncated), NULL)));
            free(truncated);
            char *extra = replace(doc, "\"executionLatency\":12", "\"executionLatency\":12,\"bonus\":1");
            OUT("verify %s unknown field: %s", cases[i].name, verdict(dde_verify(tasks[0], extra, strlen(extra), NULL)));
            free(extra);
        }
        free(doc);
    }
    dde_policy_free(banned);
    dde_policy_free(blacklisted);
    /* Task 1 names the empty state, which a new store holds: its valid result commits. */
    char *doc1 = make_result(&base1);
    section_store(tasks[1], doc1, epk, other_pk);
    free(doc1);
    for (int i = 0; i < 4; i++) { dde_task_free(tasks[i]); dde_free(task_json[i]); }
}

/* A transport that accepts everything and never delivers: the client calls below are refused
 * before anything would be sent. */
static int quiet_publish(void *c, const char *t, const uint8_t *p, size_t n, int r) { (void)c; (void)t; (void)p; (void)n; (void)r; return 0; }
static int quiet_subscribe(void *c, const char *f) { (void)c; (void)f; return 0; }
static int quiet_receive(void *c, int ms, const char **t, const uint8_t **p, size_t *n, int *received) {
    (void)c; (void)ms; (void)t; (void)p; (void)n;
    *received = 0;
    return 0;
}

/* A JSON document from the library, or its failure, on one line; *doc is freed. */
static void doc_line(const char *label, int rc, char **doc) {
    /* The export's line ends, spelled out: one result per line. */
    for (char *c = *doc; c && *c; c++) if (*c == '\n') *c = '|';
    OUT("%s: %s %s", label, verdict(rc), rc == DDE_OK && *doc ? *doc : "");
    dde_free(*doc);
    *doc = NULL;
}

/* The store and reputation with fixed Unix-ms times, several past 2^32 and up to UINT64_MAX, and
 * reputation settings up to 2^53-1: where a 32-bit build (armv7, Int of 32 bits) would truncate or
 * trap, and decayed counts computed in double, must give the same bytes. A fresh file in a
 * temporary folder (its path is never printed). */
static void section_store(dde_task *task, const char *result, const uint8_t executor_pk[32],
                          const uint8_t other_pk[32]) {
    char dir[] = "/tmp/dde-crossarch-XXXXXX", path[64];
    if (mkdtemp(dir) == NULL) { OUT("store: UNEXPECTED mkdtemp failed"); return; }
    static const char *options[] = {
        "{}",
        "{\"banAfterConsecutiveInvalid\":3000000000}",
        "{\"blacklistMinAttempts\":9007199254740991,\"banAfterConsecutiveInvalid\":2147483648}",
        "{\"banDurationMs\":9007199254740991,\"halfLifeMs\":9007199254740991}",
        "{\"halfLifeMs\":1,\"banDurationMs\":0}",
        "{\"banAfterConsecutiveInvalid\":0}",
        "{\"blacklistMinAttempts\":9007199254740992}",
        "{\"confidenceZ\":-1}",
    };
    for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
        snprintf(path, sizeof path, "%s/options-%zu.db", dir, i);
        dde_store *s = NULL;
        int rc = dde_store_open(path, options[i], strlen(options[i]), &s);
        OUT("store open %s: %s", options[i], verdict(rc));
        if (rc == DDE_OK) {
            /* Four invalid proofs in a row: banned only where the setting says 3 or fewer. */
            for (int k = 0; k < 4; k++) rc = dde_reputation_record_failure(s, executor_pk, 4294967296000ull + (uint64_t)k);
            int banned = -1, blacklisted = -1;
            int rs = dde_reputation_status(s, executor_pk, 4294967296004ull, &banned, &blacklisted);
            OUT("store open %s: 4 failures %s, status %s banned %d blacklisted %d", options[i], verdict(rc), verdict(rs),
                banned, blacklisted);
            char *doc = NULL;
            size_t n = 0;
            rc = dde_reputation_get(s, executor_pk, 4294967296005ull, &doc, &n);
            doc_line("store reputation after 4 failures", rc, &doc);
            OUT("store close: %s", verdict(dde_store_close(s)));
        }
        unlink(path);
    }

    snprintf(path, sizeof path, "%s/chain.db", dir);
    dde_store *s = NULL;
    OUT("store open: %s", verdict(dde_store_open(path, NULL, 0, &s)));
    if (s == NULL) { rmdir(dir); return; }
    uint8_t seed[32], ipk[32], isk[64];
    pattern(seed, 32, 4004);
    OUT("store identity key: %s", verdict(dde_seed_keypair(seed, ipk, isk)));
    char *doc = NULL;
    size_t n = 0;
    /* 2^40 ms (2004) and more: past what 32 bits hold. */
    int rc = dde_store_commit(s, task, result, strlen(result), isk, 1099511627776ull, &doc, &n);
    OUT("store commit: %s%s", verdict(rc), rc != DDE_OK ? " UNEXPECTED" : "");
    doc_line("store receipt", rc, &doc);
    rc = dde_store_commit(s, task, result, strlen(result), isk, 1099511627777ull, &doc, &n);
    OUT("store commit again: %s%s", verdict(rc), rc == DDE_OK ? " UNEXPECTED" : "");
    dde_free(doc);
    doc = NULL;
    uint64_t count = 0, checked = 0;
    char head[DDE_HASHHEXBYTES] = "", root[DDE_HASHHEXBYTES] = "";
    rc = dde_store_head(s, &count, head, root);
    OUT("store head: %s %llu %s %s", verdict(rc), (unsigned long long)count, head, root);
    rc = dde_store_verify_chain(s, &checked);
    OUT("store verify chain: %s %llu", verdict(rc), (unsigned long long)checked);
    rc = dde_store_export(s, &doc, &n);
    OUT("store export: %s %zu bytes", verdict(rc), rc == DDE_OK ? n : 0);
    doc_line("store export lines", rc, &doc);

    /* Reputation: latencies and times at the edges of 32 and 64 bits, then decay over them. */
    static const uint64_t latencies[] = {0, 12, 4294967295ull, 4294967296ull, 9007199254740993ull, UINT64_MAX};
    uint64_t t = 1764000000000ull;
    for (size_t i = 0; i < sizeof latencies / sizeof *latencies; i++) {
        rc = dde_reputation_record_success(s, executor_pk, latencies[i], t + i);
        OUT("store success latency %llu: %s", (unsigned long long)latencies[i], verdict(rc));
    }
    OUT("store timeout: %s", verdict(dde_reputation_record_timeout(s, other_pk, t + 10)));
    OUT("store failure: %s", verdict(dde_reputation_record_failure(s, other_pk, t + 11)));
    OUT("store success at UINT64_MAX: %s", verdict(dde_reputation_record_success(s, other_pk, 7, UINT64_MAX)));
    static const uint64_t nows[] = {1764000000100ull, 1764086400000ull, 4294967296000ull, 9007199254740991ull,
                                    9007199254740993ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof nows / sizeof *nows; i++) {
        char label[64];
        snprintf(label, sizeof label, "store reputation at %llu", (unsigned long long)nows[i]);
        rc = dde_reputation_get(s, executor_pk, nows[i], &doc, &n);
        doc_line(label, rc, &doc);
        snprintf(label, sizeof label, "store reputation all at %llu", (unsigned long long)nows[i]);
        rc = dde_reputation_all(s, nows[i], &doc, &n);
        doc_line(label, rc, &doc);
        dde_policy *policy = NULL;
        rc = dde_store_policy(s, nows[i], &policy);
        int v = policy ? dde_verify(task, result, strlen(result), policy) : -1;
        OUT("store policy at %llu: %s, verify %s", (unsigned long long)nows[i], verdict(rc), verdict(v));
        dde_policy_free(policy);
    }
    OUT("store close: %s", verdict(dde_store_close(s)));
    unlink(path);
    char side[80];
    snprintf(side, sizeof side, "%s-wal", path); unlink(side);
    snprintf(side, sizeof side, "%s-shm", path); unlink(side);

    /* Delegation options with integers past 32 bits: refused, the same way everywhere. */
    snprintf(path, sizeof path, "%s/client.db", dir);
    static const dde_transport_methods quiet = {1, quiet_publish, quiet_subscribe, NULL, quiet_receive};
    dde_client *client = NULL;
    OUT("client new: %s", verdict(dde_client_new(path, isk, &quiet, NULL, &client)));
    static const char *delegate_options[] = {
        "{\"mode\":\"quorum\",\"quorum\":3000000000}",
        "{\"mode\":\"quorum\",\"quorum\":9007199254740991}",
        "{\"mode\":\"quorum\",\"quorum\":0}",
        "{\"mode\":\"first_valid\",\"quorum\":4294967297,\"fanout\":0}",
        "{\"fanout\":4294967297}",
        "{\"mode\":\"quorum\",\"quorum\":9007199254740992}",
    };
    const char *spec = "{\"dappId\":\"counter\",\"dappCodeHash\":"
                       "\"0000000000000000000000000000000000000000000000000000000000000000\",\"action\":\"inc\"}";
    for (size_t i = 0; client && i < sizeof delegate_options / sizeof *delegate_options; i++) {
        rc = dde_client_delegate(client, spec, strlen(spec), delegate_options[i], strlen(delegate_options[i]), &doc, &n);
        OUT("client delegate %s: %s%s", delegate_options[i], verdict(rc), rc == DDE_OK ? " UNEXPECTED" : "");
        dde_free(doc);
        doc = NULL;
    }
    OUT("client free: %s", verdict(dde_client_free(client)));
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path); unlink(side);
    snprintf(side, sizeof side, "%s-shm", path); unlink(side);
    rmdir(dir);
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
    const char *wycheproof = NULL, *conformance = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--wycheproof") == 0 && i + 1 < argc) wycheproof = argv[++i];
        else if (strcmp(argv[i], "--conformance") == 0 && i + 1 < argc) conformance = argv[++i];
        else { fprintf(stderr, "usage: %s [--wycheproof FILE] [--conformance DIR]\n", argv[0]); return 2; }
    }
    section_library();
    section_sha256();
    section_keys();
    section_canonical(conformance);
    section_tasks();
    if (wycheproof && section_wycheproof(wycheproof) < 0) return 1;
    OUT("lines: %lu", lines + 1);
    return 0;
}
