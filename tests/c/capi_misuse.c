/*
 * capi_misuse.c: calls every exported function of dde.h with hostile arguments (NULL pointers,
 * zero and huge lengths, bad kinds and reasons, non-UTF-8 and unterminated-looking strings) and
 * checks that each returns the documented non-zero code, sets dde_errcode()/dde_errmsg(), leaves
 * outputs alone where documented, and never crashes. Run by scripts/test-capi-misuse.sh on
 * x86-64 and under qemu-aarch64. Prints "N passed, M failed"; exits non-zero on any failure.
 */
#include <dde.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;

static void expect(const char *what, int rc, int want) {
    int ok = rc == want;
    /* A failure must leave its code and a message for the thread; a success clears them. */
    if (ok && want != DDE_OK) ok = dde_errcode() == want && dde_errmsg()[0] != '\0';
    if (ok && want == DDE_OK) ok = dde_errcode() == DDE_OK && dde_errmsg()[0] == '\0';
    if (ok) passed++;
    else {
        failed++;
        printf("FAIL %s: got %s (%d), errcode %d, errmsg \"%s\"; want %s\n", what, dde_status_name(rc), rc,
               dde_errcode(), dde_errmsg(), dde_status_name(want));
    }
}

static void check(const char *what, int cond) {
    if (cond) passed++;
    else { failed++; printf("FAIL %s\n", what); }
}

int main(void) {
    const size_t huge = SIZE_MAX, big = (size_t)1 << 40;
    uint8_t hash[32] = {1}, pk[32], sk[64], seed[32] = {7}, sig[64];
    char idhex[DDE_HASHHEXBYTES];
    char *out = (char *)0x1; /* must be set or left alone, never freed by the library */
    size_t len = 0;

    /* Library-wide */
    check("version", dde_version() != NULL && strcmp(dde_version(), DDE_VERSION_STRING) == 0);
    check("version number", dde_version_number() == DDE_VERSION_NUMBER);
    expect("init", dde_init(), DDE_OK);
    check("status name of garbage", strcmp(dde_status_name(-12345), "DDE_ERR_UNKNOWN") == 0);
    check("status message of garbage", dde_status_message(INT32_MIN) != NULL);
    dde_free(NULL);
    check("sizes", dde_publickeybytes() == 32 && dde_secretkeybytes() == 64 && dde_seedbytes() == 32 &&
                   dde_signaturebytes() == 64 && dde_hashbytes() == 32);

    /* Hashes */
    expect("sha256 NULL out", dde_sha256("a", 1, NULL), DDE_ERR_ARGUMENT);
    expect("sha256 NULL input, length 1", dde_sha256(NULL, 1, hash), DDE_ERR_ARGUMENT);
    expect("sha256 huge length", dde_sha256("a", huge, hash), DDE_ERR_ARGUMENT);
    expect("sha256 2^40 length", dde_sha256("a", big, hash), DDE_ERR_ARGUMENT);
    expect("sha256 NULL input, length 0", dde_sha256(NULL, 0, hash), DDE_OK);

    /* Keys and signatures */
    expect("keypair NULL pk", dde_keypair(NULL, sk), DDE_ERR_ARGUMENT);
    expect("keypair NULL sk", dde_keypair(pk, NULL), DDE_ERR_ARGUMENT);
    expect("keypair from seed NULL seed", dde_keypair_from_seed(pk, sk, NULL), DDE_ERR_ARGUMENT);
    expect("keypair from seed NULL pk", dde_keypair_from_seed(NULL, sk, seed), DDE_ERR_ARGUMENT);
    expect("keypair from seed NULL sk", dde_keypair_from_seed(pk, NULL, seed), DDE_ERR_ARGUMENT);
    expect("keypair from seed", dde_keypair_from_seed(pk, sk, seed), DDE_OK);
    for (int kind = -1; kind <= 5; kind += 1) {
        if (kind >= 1 && kind <= 3) continue;
        expect("sign bad kind", dde_sign(kind, hash, sk, sig), DDE_ERR_ARGUMENT);
        expect("verify_signature bad kind", dde_verify_signature(kind, hash, pk, sig), DDE_ERR_ARGUMENT);
    }
    expect("sign INT32_MIN kind", dde_sign(INT32_MIN, hash, sk, sig), DDE_ERR_ARGUMENT);
    expect("sign NULL hash", dde_sign(DDE_KIND_TASK, NULL, sk, sig), DDE_ERR_ARGUMENT);
    expect("sign NULL sk", dde_sign(DDE_KIND_TASK, hash, NULL, sig), DDE_ERR_ARGUMENT);
    expect("sign NULL sig", dde_sign(DDE_KIND_TASK, hash, sk, NULL), DDE_ERR_ARGUMENT);
    uint8_t zero_sk[64] = {0};
    expect("sign zero secret key", dde_sign(DDE_KIND_TASK, hash, zero_sk, sig), DDE_ERR_KEY);
    expect("sign", dde_sign(DDE_KIND_TASK, hash, sk, sig), DDE_OK);
    expect("verify_signature NULL hash", dde_verify_signature(DDE_KIND_TASK, NULL, pk, sig), DDE_ERR_ARGUMENT);
    expect("verify_signature NULL pk", dde_verify_signature(DDE_KIND_TASK, hash, NULL, sig), DDE_ERR_ARGUMENT);
    expect("verify_signature NULL sig", dde_verify_signature(DDE_KIND_TASK, hash, pk, NULL), DDE_ERR_ARGUMENT);
    uint8_t zero_pk[32] = {0}, ff_sig[64];
    memset(ff_sig, 0xff, sizeof ff_sig);
    expect("verify_signature zero key", dde_verify_signature(DDE_KIND_TASK, hash, zero_pk, sig), DDE_ERR_SIGNATURE);
    expect("verify_signature 0xff signature", dde_verify_signature(DDE_KIND_TASK, hash, pk, ff_sig), DDE_ERR_SIGNATURE);
    expect("ed25519 NULL sig", dde_ed25519_verify(NULL, "m", 1, pk), DDE_ERR_ARGUMENT);
    expect("ed25519 NULL message", dde_ed25519_verify(sig, NULL, 1, pk), DDE_ERR_ARGUMENT);
    expect("ed25519 huge length", dde_ed25519_verify(sig, "m", huge, pk), DDE_ERR_ARGUMENT);
    expect("ed25519 NULL pk", dde_ed25519_verify(sig, "m", 1, NULL), DDE_ERR_ARGUMENT);
    expect("ed25519 empty message, bad sig", dde_ed25519_verify(ff_sig, NULL, 0, pk), DDE_ERR_SIGNATURE);

    /* Key files */
    expect("key_save NULL path", dde_key_save(NULL, sk), DDE_ERR_ARGUMENT);
    expect("key_save NULL sk", dde_key_save("/tmp/x", NULL), DDE_ERR_ARGUMENT);
    expect("key_save non-UTF-8 path", dde_key_save("/tmp/\xff\xfe", sk), DDE_ERR_ENCODING);
    expect("key_save into a missing folder", dde_key_save("/nonexistent-dde/k.json", sk), DDE_ERR_IO);
    expect("key_load NULL path", dde_key_load(NULL, pk, sk), DDE_ERR_ARGUMENT);
    expect("key_load NULL pk", dde_key_load("/tmp/x", NULL, sk), DDE_ERR_ARGUMENT);
    expect("key_load NULL sk", dde_key_load("/tmp/x", pk, NULL), DDE_ERR_ARGUMENT);
    expect("key_load missing file", dde_key_load("/nonexistent-dde/k.json", pk, sk), DDE_ERR_IO);
    expect("key_load a folder", dde_key_load("/", pk, sk), DDE_ERR_IO);

    /* Canonical JSON */
    expect("canonicalize NULL json", dde_canonicalize(NULL, 2, &out, &len), DDE_ERR_ARGUMENT);
    expect("canonicalize NULL out", dde_canonicalize("{}", 2, NULL, &len), DDE_ERR_ARGUMENT);
    expect("canonicalize huge length", dde_canonicalize("{}", huge, &out, &len), DDE_ERR_ARGUMENT);
    expect("canonicalize 2^40 length", dde_canonicalize("{}", big, &out, &len), DDE_ERR_ARGUMENT);
    expect("canonicalize zero length", dde_canonicalize("{}", 0, &out, &len), DDE_ERR_JSON);
    expect("canonicalize non-UTF-8", dde_canonicalize("\"\xff\"", 3, &out, &len), DDE_ERR_JSON);
    expect("canonicalize overlong UTF-8", dde_canonicalize("\"\xc0\xaf\"", 4, &out, &len), DDE_ERR_JSON);
    expect("canonicalize embedded NUL", dde_canonicalize("[1]\0[2]", 7, &out, &len), DDE_ERR_JSON);
    check("canonicalize failures leave *out alone", out == (char *)0x1);
    out = NULL;
    expect("canonicalize NULL out_length", dde_canonicalize("[1, 2]", 6, &out, NULL), DDE_OK);
    check("canonicalize output", out != NULL && strcmp(out, "[1,2]") == 0);
    dde_free(out);

    /* Tasks */
    dde_task *task = (dde_task *)0x1;
    char spec[256];
    snprintf(spec, sizeof spec, "{\"dappId\":\"d\",\"dappCodeHash\":\"%064d\",\"action\":\"a\",\"timestamp\":1}", 0);
    expect("task_create NULL spec", dde_task_create(NULL, 10, sk, &task), DDE_ERR_ARGUMENT);
    expect("task_create huge length", dde_task_create(spec, huge, sk, &task), DDE_ERR_ARGUMENT);
    expect("task_create NULL key", dde_task_create(spec, strlen(spec), NULL, &task), DDE_ERR_ARGUMENT);
    expect("task_create NULL out", dde_task_create(spec, strlen(spec), sk, NULL), DDE_ERR_ARGUMENT);
    expect("task_create zero key", dde_task_create(spec, strlen(spec), zero_sk, &task), DDE_ERR_KEY);
    expect("task_create not an object", dde_task_create("[]", 2, sk, &task), DDE_ERR_SCHEMA);
    expect("task_parse NULL", dde_task_parse(NULL, 5, &task), DDE_ERR_ARGUMENT);
    expect("task_parse NULL out", dde_task_parse("{}", 2, NULL), DDE_ERR_ARGUMENT);
    expect("task_parse huge length", dde_task_parse("{}", huge, &task), DDE_ERR_ARGUMENT);
    expect("task_parse empty object", dde_task_parse("{}", 2, &task), DDE_ERR_SCHEMA);
    check("task_parse failure sets *task = NULL", task == NULL);
    expect("task_json NULL task", dde_task_json(NULL, &out, &len), DDE_ERR_ARGUMENT);
    expect("task_id NULL task", dde_task_id(NULL, idhex), DDE_ERR_ARGUMENT);
    dde_task_free(NULL);
    expect("task_create", dde_task_create(spec, strlen(spec), sk, &task), DDE_OK);
    expect("task_json NULL out", dde_task_json(task, NULL, &len), DDE_ERR_ARGUMENT);
    expect("task_id NULL out", dde_task_id(task, NULL), DDE_ERR_ARGUMENT);
    expect("task_id", dde_task_id(task, idhex), DDE_OK);
    check("task_id is 64 hex", strlen(idhex) == 64);

    /* Policy and verification */
    dde_policy *policy = NULL;
    expect("policy_new NULL", dde_policy_new(NULL), DDE_ERR_ARGUMENT);
    expect("policy_new", dde_policy_new(&policy), DDE_OK);
    expect("policy_deny NULL policy", dde_policy_deny(NULL, pk, DDE_ERR_EXECUTOR_BANNED), DDE_ERR_ARGUMENT);
    expect("policy_deny NULL key", dde_policy_deny(policy, NULL, DDE_ERR_EXECUTOR_BANNED), DDE_ERR_ARGUMENT);
    expect("policy_deny reason 0", dde_policy_deny(policy, pk, DDE_OK), DDE_ERR_ARGUMENT);
    expect("policy_deny reason -1", dde_policy_deny(policy, pk, -1), DDE_ERR_ARGUMENT);
    dde_policy_free(NULL);
    expect("verify NULL task", dde_verify(NULL, "{}", 2, policy), DDE_ERR_ARGUMENT);
    expect("verify NULL result", dde_verify(task, NULL, 2, policy), DDE_ERR_ARGUMENT);
    expect("verify huge length", dde_verify(task, "{}", huge, policy), DDE_ERR_ARGUMENT);
    expect("verify zero length", dde_verify(task, "{}", 0, NULL), DDE_ERR_JSON);
    expect("verify non-UTF-8", dde_verify(task, "{\"\xff\":1}", 6, NULL), DDE_ERR_JSON);
    expect("verify empty object", dde_verify(task, "{}", 2, NULL), DDE_ERR_SCHEMA);
    expect("verify array", dde_verify(task, "[]", 2, policy), DDE_ERR_SCHEMA);
    dde_policy_free(policy);
    dde_task_free(task);

    printf("capi_misuse: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
