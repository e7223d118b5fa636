/*
 * capi_misuse.c: calls every exported function of dde.h with hostile arguments (NULL pointers,
 * zero and huge lengths, bad kinds and reasons, non-UTF-8 and unterminated-looking strings) and
 * checks that each returns the documented non-zero code, sets dde_errcode()/dde_errmsg(), leaves
 * outputs alone where documented, and never crashes. Run by scripts/test-capi-misuse.sh on
 * x86-64 and under qemu-aarch64. Prints "N passed, M failed"; exits non-zero on any failure.
 * The store and evidence functions run on a temporary store (/tmp/dde-capi-misuse-PID.db, removed
 * at the end) with evidence documents signed here (dde_sign); the client functions up to their
 * argument checks (no broker) and over a transport of callbacks that never delivers a message.
 * Handles: double frees and closes, use after free or close, a handle of another type and
 * pointers that are no handle are each refused with their code (DDE_ERR_CLOSED,
 * DDE_ERR_ARGUMENT), never a crash or a read of freed memory.
 */
#include <dde.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* A transport of callbacks (dde_transport_methods) that accepts every publish and subscription
 * and never delivers a message, or, with receive_old_style, answers receive as the unversioned
 * ABI did ("1: a message"), which is DDE_ERR_ARGUMENT now. */
static int subscribe_result = DDE_OK, receive_old_style = 0, subscriptions = 0;
static int t_publish(void *context, const char *topic, const uint8_t *payload, size_t length, int retain) {
    (void)context; (void)topic; (void)payload; (void)length; (void)retain;
    return DDE_OK;
}
static int t_subscribe(void *context, const char *filter) {
    (void)context; (void)filter;
    subscriptions++;
    return subscribe_result;
}
static int t_receive(void *context, int timeout_ms, const char **topic, const uint8_t **payload, size_t *length,
                     int *received) {
    (void)context; (void)timeout_ms; (void)topic; (void)payload; (void)length;
    if (receive_old_style) return 1;
    *received = 0;
    return DDE_OK;
}

static void to_hex(const uint8_t *bytes, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

/* A validly signed proof (docs/PROTOCOL.md section 5) of the task made from `spec` in main (no
 * state, no capabilities, empty payload) by the key (epk, esk), claiming the result `value`;
 * *hash = H(proof) with its signature, the order of proofs in an evidence document. */
static void make_proof(const char *task_id, const uint8_t epk[32], const uint8_t esk[64], int value,
                       char proof[2048], uint8_t hash[32]) {
    char pk_hex[65], result_hash[65], empty_object[65], empty_root[65], sig_hex[129], text[16];
    uint8_t h[32], sig[64];
    char *canonical = NULL;
    size_t length = 0;
    to_hex(epk, 32, pk_hex);
    snprintf(text, sizeof text, "%d", value);
    dde_sha256(text, strlen(text), h);
    to_hex(h, 32, result_hash);
    dde_sha256("{}", 2, h);
    to_hex(h, 32, empty_object); /* inputHash of {} and stateWritesHash of no writes */
    dde_sha256(NULL, 0, h);
    to_hex(h, 32, empty_root);   /* the state root before and after: no state, no writes */
    int n = snprintf(proof, 2048,
        "{\"proofVersion\":1,\"taskId\":\"%s\",\"dappId\":\"d\",\"dappCodeHash\":\"%064d\",\"action\":\"a\","
        "\"inputHash\":\"%s\",\"capabilitiesDeclared\":[],\"capabilitiesUsed\":[],\"executionTraceHash\":\"%s\","
        "\"traceLength\":1,\"fuelUsed\":1,\"resultHash\":\"%s\",\"previousStateRoot\":\"%s\","
        "\"nextStateRoot\":\"%s\",\"stateWritesHash\":\"%s\",\"executorPublicKey\":\"%s\",\"timestamp\":2}",
        task_id, 0, empty_object, empty_root, result_hash, empty_root, empty_root, empty_object, pk_hex);
    /* Signed: kind proof over H(proof without signature). */
    dde_canonicalize(proof, (size_t)n, &canonical, &length);
    dde_sha256(canonical, length, h);
    dde_free(canonical);
    if (dde_sign(DDE_KIND_PROOF, h, esk, sig) != DDE_OK) check("make_proof: dde_sign", 0);
    to_hex(sig, 64, sig_hex);
    snprintf(proof + n - 1, (size_t)(2048 - n + 1), ",\"signature\":\"%s\"}", sig_hex);
    dde_canonicalize(proof, strlen(proof), &canonical, &length);
    dde_sha256(canonical, length, hash);
    dde_free(canonical);
}

/* {"evidenceVersion":1,"proofs":[a, b] sorted by proofHash,"task":task}. */
static void make_evidence(char *out, size_t size, const char *task_json, const char *a, const uint8_t ha[32],
                          const char *b, const uint8_t hb[32]) {
    int a_first = memcmp(ha, hb, 32) < 0;
    snprintf(out, size, "{\"evidenceVersion\":1,\"proofs\":[%s,%s],\"task\":%s}", a_first ? a : b,
             a_first ? b : a, task_json);
}

int main(void) {
    /* big: far beyond any limit; on 32-bit (armv7) just past INT32_MAX, where a size_t read as a
       signed Int turns negative. */
#if SIZE_MAX > 0xFFFFFFFFu
    const size_t huge = SIZE_MAX, big = (size_t)1 << 40;
#else
    const size_t huge = SIZE_MAX, big = (size_t)0x80000001u;
#endif
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
    check("abi version", dde_abi_version_major() == DDE_ABI_VERSION_MAJOR && dde_abi_version_minor() >= DDE_ABI_VERSION_MINOR);
    check("sizes and limits at run time", dde_hashhexbytes() == DDE_HASHHEXBYTES && dde_errmsgbytes() == DDE_ERRMSGBYTES &&
          dde_max_input_bytes() == DDE_MAX_INPUT_BYTES && dde_max_path_bytes() == DDE_MAX_PATH_BYTES &&
          dde_max_url_bytes() == DDE_MAX_URL_BYTES && dde_json_max_bytes() == DDE_JSON_MAX_BYTES &&
          dde_json_max_depth() == DDE_JSON_MAX_DEPTH && dde_json_max_string_bytes() == DDE_JSON_MAX_STRING_BYTES &&
          dde_json_max_object_keys() == DDE_JSON_MAX_OBJECT_KEYS &&
          dde_json_max_array_elements() == DDE_JSON_MAX_ARRAY_ELEMENTS && dde_max_executors() == DDE_MAX_EXECUTORS &&
          dde_max_module_bytes() == DDE_MAX_MODULE_BYTES && dde_max_state_key_bytes() == DDE_MAX_STATE_KEY_BYTES &&
          dde_max_state_value_bytes() == DDE_MAX_STATE_VALUE_BYTES && dde_max_topic_bytes() == DDE_MAX_TOPIC_BYTES &&
          dde_transport_methods_version() == DDE_TRANSPORT_METHODS_VERSION);

    /* Hashes */
    expect("sha256 NULL out", dde_sha256("a", 1, NULL), DDE_ERR_ARGUMENT);
    expect("sha256 NULL input, length 1", dde_sha256(NULL, 1, hash), DDE_ERR_ARGUMENT);
    expect("sha256 huge length", dde_sha256("a", huge, hash), DDE_ERR_ARGUMENT);
    expect("sha256 big length", dde_sha256("a", big, hash), DDE_ERR_ARGUMENT);
    expect("sha256 NULL input, length 0", dde_sha256(NULL, 0, hash), DDE_OK);

    /* Keys and signatures */
    expect("keypair NULL pk", dde_keypair(NULL, sk), DDE_ERR_ARGUMENT);
    expect("keypair NULL sk", dde_keypair(pk, NULL), DDE_ERR_ARGUMENT);
    expect("keypair from seed NULL seed", dde_seed_keypair(NULL, pk, sk), DDE_ERR_ARGUMENT);
    expect("keypair from seed NULL pk", dde_seed_keypair(seed, NULL, sk), DDE_ERR_ARGUMENT);
    expect("keypair from seed NULL sk", dde_seed_keypair(seed, pk, NULL), DDE_ERR_ARGUMENT);
    expect("keypair from seed", dde_seed_keypair(seed, pk, sk), DDE_OK);
    for (int kind = -1; kind <= 7; kind += 1) {
        if (kind >= DDE_KIND_TASK && kind <= DDE_KIND_ERROR) continue;
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
    expect("canonicalize big length", dde_canonicalize("{}", big, &out, &len), DDE_ERR_ARGUMENT);
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

    /* Fraud evidence: documents made of two signed proofs of the task above. */
    uint8_t pk2[32], sk2[64], seed2[32] = {8}, h1[32], h2[32], h3[32], h4[32];
    static char p1[2048], p2[2048], p3[2048], p4[2048], equivocation[8192], unjudged[8192], agrees[8192],
        forged[8192];
    char *task_json = NULL;
    expect("keypair from seed 2", dde_seed_keypair(seed2, pk2, sk2), DDE_OK);
    expect("task_json", dde_task_json(task, &task_json, NULL), DDE_OK);
    make_proof(idhex, pk, sk, 1, p1, h1);
    make_proof(idhex, pk, sk, 2, p2, h2);   /* the same key, another answer: equivocation */
    make_proof(idhex, pk2, sk2, 2, p3, h3); /* another key, another answer: unjudged */
    make_proof(idhex, pk2, sk2, 1, p4, h4); /* another key, the same answer: agrees */
    make_evidence(equivocation, sizeof equivocation, task_json, p1, h1, p2, h2);
    make_evidence(unjudged, sizeof unjudged, task_json, p1, h1, p3, h3);
    make_evidence(agrees, sizeof agrees, task_json, p1, h1, p4, h4);
    make_evidence(forged, sizeof forged, task_json, p1, h1, p3, h3);
    char *sig_field = strstr(strstr(forged, "\"signature\":\"") + 1, "\"signature\":\"");
    if (sig_field) sig_field[13] = sig_field[13] == '0' ? '1' : '0'; /* a proof's signature, flipped */
    const size_t eq_len = strlen(equivocation);

    out = (char *)0x1;
    len = 99;
    expect("evidence_check NULL document", dde_evidence_check(NULL, 5, &out, &len), DDE_ERR_ARGUMENT);
    check("evidence_check failure sets *verdict = NULL, *length = 0", out == NULL && len == 0);
    expect("evidence_check NULL document, huge length", dde_evidence_check(NULL, huge, &out, &len), DDE_ERR_ARGUMENT);
    expect("evidence_check huge length", dde_evidence_check(equivocation, huge, &out, &len), DDE_ERR_ARGUMENT);
    expect("evidence_check big length", dde_evidence_check(equivocation, big, &out, &len), DDE_ERR_ARGUMENT);
    expect("evidence_check NULL document, length 0", dde_evidence_check(NULL, 0, &out, &len), DDE_ERR_JSON);
    expect("evidence_check not JSON", dde_evidence_check("not json", 8, &out, &len), DDE_ERR_JSON);
    expect("evidence_check non-UTF-8", dde_evidence_check("{\"\xff\":1}", 6, &out, &len), DDE_ERR_JSON);
    expect("evidence_check truncated", dde_evidence_check(equivocation, eq_len - 1, &out, &len), DDE_ERR_JSON);
    expect("evidence_check embedded NUL", dde_evidence_check("{}\0{}", 5, &out, &len), DDE_ERR_JSON);
    expect("evidence_check array", dde_evidence_check("[]", 2, &out, &len), DDE_ERR_SCHEMA);
    expect("evidence_check empty object", dde_evidence_check("{}", 2, &out, &len), DDE_ERR_SCHEMA);
    expect("evidence_check not JSON, NULL outputs", dde_evidence_check("garbage", 7, NULL, NULL), DDE_ERR_JSON);
    expect("evidence_check a task, not evidence", dde_evidence_check(task_json, strlen(task_json), &out, &len), DDE_ERR_SCHEMA);
    check("evidence_check failures leave no verdict", out == NULL);
    expect("evidence_check forged signature", dde_evidence_check(forged, strlen(forged), &out, &len), DDE_ERR_PROOF_SIGNATURE);
    expect("evidence_check agreeing proofs", dde_evidence_check(agrees, strlen(agrees), &out, &len), DDE_ERR_EVIDENCE_AGREES);
    check("evidence_check refused documents give no verdict", out == NULL && len == 0);
    expect("evidence_check equivocation, NULL outputs", dde_evidence_check(equivocation, eq_len, NULL, NULL), DDE_OK);
    expect("evidence_check equivocation, NULL length", dde_evidence_check(equivocation, eq_len, &out, NULL), DDE_OK);
    check("evidence_check names the equivocation", out != NULL && strstr(out, "\"how\":\"equivocation\"") != NULL);
    dde_free(out);
    expect("evidence_check equivocation", dde_evidence_check(equivocation, eq_len, &out, &len), DDE_OK);
    check("evidence_check verdict length", out != NULL && len == strlen(out));
    dde_free(out);
    expect("evidence_check unjudged", dde_evidence_check(unjudged, strlen(unjudged), &out, &len), DDE_ERR_EVIDENCE_UNJUDGED);
    check("evidence_check unjudged still gives the verdict", out != NULL && len == strlen(out) &&
          strstr(out, "\"how\":null") != NULL && strstr(out, "\"liars\":[]") != NULL);
    dde_free(out);
    expect("evidence_check unjudged, NULL outputs", dde_evidence_check(unjudged, strlen(unjudged), NULL, NULL),
           DDE_ERR_EVIDENCE_UNJUDGED);

    char db[96];
    snprintf(db, sizeof db, "/tmp/dde-capi-misuse-%ld.db", (long)getpid());
    dde_free(task_json);
    dde_store *store = NULL;
    expect("store_open", dde_store_open(db, NULL, 0, &store), DDE_OK);
    expect("evidence_import NULL store", dde_store_evidence_import(NULL, equivocation, eq_len, 0), DDE_ERR_ARGUMENT);
    expect("evidence_import NULL document", dde_store_evidence_import(store, NULL, 5, 0), DDE_ERR_ARGUMENT);
    expect("evidence_import NULL document, huge length", dde_store_evidence_import(store, NULL, huge, 0), DDE_ERR_ARGUMENT);
    expect("evidence_import huge length", dde_store_evidence_import(store, equivocation, huge, 0), DDE_ERR_ARGUMENT);
    expect("evidence_import big length", dde_store_evidence_import(store, equivocation, big, 0), DDE_ERR_ARGUMENT);
    expect("evidence_import NULL document, length 0", dde_store_evidence_import(store, NULL, 0, 0), DDE_ERR_JSON);
    expect("evidence_import not JSON", dde_store_evidence_import(store, "not json", 8, 0), DDE_ERR_JSON);
    expect("evidence_import non-UTF-8", dde_store_evidence_import(store, "\"\xc0\xaf\"", 4, 0), DDE_ERR_JSON);
    expect("evidence_import forged signature", dde_store_evidence_import(store, forged, strlen(forged), 0), DDE_ERR_PROOF_SIGNATURE);
    expect("evidence_import agreeing proofs", dde_store_evidence_import(store, agrees, strlen(agrees), 0), DDE_ERR_EVIDENCE_AGREES);
    expect("evidence_export NULL store", dde_store_evidence_export(NULL, &out, &len), DDE_ERR_ARGUMENT);
    expect("evidence_export NULL lines", dde_store_evidence_export(store, NULL, &len), DDE_ERR_ARGUMENT);
    expect("evidence_export NULL lines and length", dde_store_evidence_export(store, NULL, NULL), DDE_ERR_ARGUMENT);
    len = 99;
    expect("evidence_export empty", dde_store_evidence_export(store, &out, &len), DDE_OK);
    check("evidence_export empty is \"\"", out != NULL && out[0] == '\0' && len == 0);
    dde_free(out);
    int banned = -1, blacklisted = -1;
    expect("evidence_import unjudged", dde_store_evidence_import(store, unjudged, strlen(unjudged), 0), DDE_ERR_EVIDENCE_UNJUDGED);
    expect("evidence_import unjudged again", dde_store_evidence_import(store, unjudged, strlen(unjudged), 0), DDE_ERR_EVIDENCE_UNJUDGED);
    expect("reputation_status", dde_reputation_status(store, pk2, 0, &banned, &blacklisted), DDE_OK);
    check("unjudged evidence blacklists nobody", banned == 0 && blacklisted == 0);
    expect("evidence_import equivocation, now_ms UINT64_MAX", dde_store_evidence_import(store, equivocation, eq_len, UINT64_MAX), DDE_OK);
    expect("evidence_import equivocation again", dde_store_evidence_import(store, equivocation, eq_len, 1), DDE_OK);
    expect("reputation_status", dde_reputation_status(store, pk, 0, NULL, &blacklisted), DDE_OK);
    check("equivocation blacklists its key", blacklisted == 1);
    expect("reputation_status later", dde_reputation_status(store, pk, UINT64_MAX, NULL, &blacklisted), DDE_OK);
    check("for good", blacklisted == 1);
    /* The rest of the store's functions: NULL handles and outputs. */
    uint64_t count = 0;
    dde_policy *store_policy = NULL;
    out = (char *)0x1;
    dde_store *no_store = (dde_store *)0x1;
    expect("store_open NULL path", dde_store_open(NULL, NULL, 0, &no_store), DDE_ERR_ARGUMENT);
    expect("store_open NULL out", dde_store_open(db, NULL, 0, NULL), DDE_ERR_ARGUMENT);
    expect("store_open options huge length", dde_store_open(db, "{}", huge, &no_store), DDE_ERR_ARGUMENT);
    expect("store_open options not JSON", dde_store_open(db, "garbage", 7, &no_store), DDE_ERR_JSON);
    check("store_open failure sets *store = NULL", no_store == NULL);
    expect("store_commit NULL store", dde_store_commit(NULL, task, "{}", 2, sk, 0, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("store_commit NULL task", dde_store_commit(store, NULL, "{}", 2, sk, 0, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("store_commit NULL result", dde_store_commit(store, task, NULL, 2, sk, 0, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("store_commit huge length", dde_store_commit(store, task, "{}", huge, sk, 0, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("store_commit NULL identity", dde_store_commit(store, task, "{}", 2, NULL, 0, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("store_commit not JSON", dde_store_commit(store, task, "garbage", 7, sk, 0, &out, &len), DDE_ERR_JSON);
    expect("store_head NULL store", dde_store_head(NULL, &count, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("store_head NULL count", dde_store_head(store, NULL, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("store_head", dde_store_head(store, &count, NULL, NULL), DDE_OK);
    check("store_head: nothing committed", count == 0);
    expect("store_verify_chain NULL store", dde_store_verify_chain(NULL, &count), DDE_ERR_ARGUMENT);
    expect("store_verify_chain NULL checked", dde_store_verify_chain(store, NULL), DDE_OK);
    expect("store_export NULL store", dde_store_export(NULL, &out, &len), DDE_ERR_ARGUMENT);
    expect("store_export NULL out", dde_store_export(store, NULL, &len), DDE_ERR_ARGUMENT);
    expect("store_policy NULL store", dde_store_policy(NULL, 0, &store_policy), DDE_ERR_ARGUMENT);
    expect("store_policy NULL out", dde_store_policy(store, 0, NULL), DDE_ERR_ARGUMENT);
    expect("reputation_record_success NULL store", dde_reputation_record_success(NULL, pk, 1, 0), DDE_ERR_ARGUMENT);
    expect("reputation_record_success NULL key", dde_reputation_record_success(store, NULL, 1, 0), DDE_ERR_ARGUMENT);
    expect("reputation_record_success huge latency, time", dde_reputation_record_success(store, pk2, UINT64_MAX, UINT64_MAX), DDE_OK);
    expect("reputation_record_failure NULL store", dde_reputation_record_failure(NULL, pk, 0), DDE_ERR_ARGUMENT);
    expect("reputation_record_failure NULL key", dde_reputation_record_failure(store, NULL, 0), DDE_ERR_ARGUMENT);
    expect("reputation_record_timeout NULL store", dde_reputation_record_timeout(NULL, pk, 0), DDE_ERR_ARGUMENT);
    expect("reputation_record_timeout NULL key", dde_reputation_record_timeout(store, NULL, 0), DDE_ERR_ARGUMENT);
    expect("reputation_get NULL store", dde_reputation_get(NULL, pk, 0, &out, &len), DDE_ERR_ARGUMENT);
    expect("reputation_get NULL key", dde_reputation_get(store, NULL, 0, &out, &len), DDE_ERR_ARGUMENT);
    expect("reputation_get NULL out", dde_reputation_get(store, pk, 0, NULL, &len), DDE_ERR_ARGUMENT);
    expect("reputation_get never seen", dde_reputation_get(store, zero_pk, 0, &out, &len), DDE_ERR_NOT_FOUND);
    expect("reputation_status NULL store", dde_reputation_status(NULL, pk, 0, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("reputation_status NULL key", dde_reputation_status(store, NULL, 0, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("reputation_all NULL store", dde_reputation_all(NULL, 0, &out, &len), DDE_ERR_ARGUMENT);
    expect("reputation_all NULL out", dde_reputation_all(store, 0, NULL, &len), DDE_ERR_ARGUMENT);
    expect("reputation_clear NULL store", dde_reputation_clear(NULL, pk), DDE_ERR_ARGUMENT);
    expect("reputation_clear NULL key", dde_reputation_clear(store, NULL), DDE_ERR_ARGUMENT);
    expect("reputation_clear never seen", dde_reputation_clear(store, zero_pk), DDE_ERR_NOT_FOUND);
    expect("reputation_clear_all NULL store", dde_reputation_clear_all(NULL), DDE_ERR_ARGUMENT);
    check("store failures leave *out alone or NULL", out == (char *)0x1 || out == NULL);

    expect("evidence_export, NULL length", dde_store_evidence_export(store, &out, NULL), DDE_OK);
    dde_free(out);
    expect("evidence_export", dde_store_evidence_export(store, &out, &len), DDE_OK);
    int lines = 0;
    for (size_t i = 0; out != NULL && i < len; i++) lines += out[i] == '\n';
    check("evidence_export: two documents, one line each", out != NULL && len == strlen(out) && lines == 2 &&
          out[len - 1] == '\n');
    dde_free(out);

    /* Handles of the wrong type and pointers that are no handle at all. */
    int local = 0;
    expect("store_head with a task handle", dde_store_head((dde_store *)task, &count, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("store_head with a stack address", dde_store_head((dde_store *)&local, &count, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("store_head with 0x1", dde_store_head((dde_store *)0x1, &count, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("task_id with a store handle", dde_task_id((dde_task *)store, idhex), DDE_ERR_ARGUMENT);
    expect("task_id with a stack address", dde_task_id((dde_task *)&local, idhex), DDE_ERR_ARGUMENT);
    expect("verify with a store as policy", dde_verify(task, "{}", 2, (dde_policy *)store), DDE_ERR_ARGUMENT);
    expect("store_close with a task handle", dde_store_close((dde_store *)task), DDE_ERR_ARGUMENT);
    expect("store_close with a stack address", dde_store_close((dde_store *)&local), DDE_ERR_ARGUMENT);
    dde_task_free((dde_task *)store);  /* another type: ignored, the store stays open */
    dde_policy_free((dde_policy *)&local);
    expect("the store survives frees of the wrong type", dde_store_head(store, &count, NULL, NULL), DDE_OK);

    /* Close, then every use of the closed store: DDE_ERR_CLOSED, nothing read through it. */
    expect("store_close", dde_store_close(store), DDE_OK);
    expect("store_close twice", dde_store_close(store), DDE_ERR_CLOSED);
    expect("store_close NULL", dde_store_close(NULL), DDE_OK);
    expect("store_head after close", dde_store_head(store, &count, NULL, NULL), DDE_ERR_CLOSED);
    expect("store_verify_chain after close", dde_store_verify_chain(store, NULL), DDE_ERR_CLOSED);
    expect("store_export after close", dde_store_export(store, &out, &len), DDE_ERR_CLOSED);
    expect("store_commit after close", dde_store_commit(store, task, "{}", 2, sk, 0, NULL, NULL), DDE_ERR_CLOSED);
    expect("store_policy after close", dde_store_policy(store, 0, &store_policy), DDE_ERR_CLOSED);
    expect("reputation_status after close", dde_reputation_status(store, pk, 0, &banned, &blacklisted), DDE_ERR_CLOSED);
    expect("reputation_record_failure after close", dde_reputation_record_failure(store, pk, 0), DDE_ERR_CLOSED);
    expect("evidence_import after close", dde_store_evidence_import(store, equivocation, eq_len, 0), DDE_ERR_CLOSED);
    expect("evidence_export after close", dde_store_evidence_export(store, &out, &len), DDE_ERR_CLOSED);
    /* A new store gets a new handle: the old one stays closed. */
    dde_store *again = NULL;
    expect("store_open again", dde_store_open(db, NULL, 0, &again), DDE_OK);
    check("a new store is a new handle", again != NULL && again != store);
    expect("the old handle stays closed", dde_store_head(store, &count, NULL, NULL), DDE_ERR_CLOSED);
    expect("the new handle works", dde_store_head(again, &count, NULL, NULL), DDE_OK);
    expect("store_close the new one", dde_store_close(again), DDE_OK);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char file[128];
        snprintf(file, sizeof file, "%s%s", db, suffixes[i]);
        unlink(file);
    }

    /* The client (no network: everything here is refused before connecting). */
    dde_client *client = (dde_client *)0x1;
    expect("client_new_mqtt NULL url", dde_client_new_mqtt(NULL, db, sk, &client), DDE_ERR_ARGUMENT);
    check("client_new_mqtt failure sets *client = NULL", client == NULL);
    expect("client_new_mqtt malformed url", dde_client_new_mqtt("http://127.0.0.1:1883", db, sk, &client), DDE_ERR_ARGUMENT);
    expect("client_new_mqtt garbage url", dde_client_new_mqtt("mqtt://\xff\xfe", db, sk, &client), DDE_ERR_ENCODING);
    expect("client_new_mqtt port 99999", dde_client_new_mqtt("mqtt://127.0.0.1:99999", db, sk, &client), DDE_ERR_ARGUMENT);
    expect("client_new_mqtt NULL path", dde_client_new_mqtt("mqtt://127.0.0.1", NULL, sk, &client), DDE_ERR_ARGUMENT);
    expect("client_new_mqtt NULL key", dde_client_new_mqtt("mqtt://127.0.0.1", db, NULL, &client), DDE_ERR_ARGUMENT);
    expect("client_new_mqtt NULL out", dde_client_new_mqtt("mqtt://127.0.0.1", db, sk, NULL), DDE_ERR_ARGUMENT);
    /* _v2: every option checked before a store or a connection is made. */
    const char *unknown = "{\"cafile\":\"ca.crt\"}", *tls_plain = "{\"caFile\":\"ca.crt\"}";
    const char *no_user = "{\"passwordFile\":\"pw\"}", *half_pair = "{\"certFile\":\"c.crt\"}";
    const char *pw_plain = "{\"username\":\"u\",\"passwordEnv\":\"PW\"}", *both_pw = "{\"username\":\"u\",\"passwordEnv\":\"PW\",\"passwordFile\":\"pw\"}";
    const char *psk_and_cert = "{\"pskFile\":\"k\",\"certFile\":\"c\",\"keyFile\":\"k\"}", *not_string = "{\"caFile\":1}";
    const char *long_id = "{\"clientId\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}";
    const char *timeout0 = "{\"connectTimeoutMs\":0}";
    client = (dde_client *)0x1;
    expect("client_new_mqtt_v2 NULL url", dde_client_new_mqtt_v2(NULL, db, sk, NULL, 0, &client), DDE_ERR_ARGUMENT);
    check("client_new_mqtt_v2 failure sets *client = NULL", client == NULL);
    expect("client_new_mqtt_v2 NULL out", dde_client_new_mqtt_v2("mqtts://127.0.0.1", db, sk, NULL, 0, NULL), DDE_ERR_ARGUMENT);
    expect("client_new_mqtt_v2 options not JSON", dde_client_new_mqtt_v2("mqtts://127.0.0.1", db, sk, "{", 1, &client), DDE_ERR_JSON);
    expect("client_new_mqtt_v2 options length over the input limit", dde_client_new_mqtt_v2("mqtts://127.0.0.1", db, sk, "{}", (size_t)-1, &client), DDE_ERR_ARGUMENT);
    expect("client_new_mqtt_v2 unknown option (misspelt caFile)", dde_client_new_mqtt_v2("mqtts://127.0.0.1", db, sk, unknown, strlen(unknown), &client), DDE_ERR_SCHEMA);
    expect("client_new_mqtt_v2 option of the wrong type", dde_client_new_mqtt_v2("mqtts://127.0.0.1", db, sk, not_string, strlen(not_string), &client), DDE_ERR_SCHEMA);
    expect("client_new_mqtt_v2 caFile with mqtt://", dde_client_new_mqtt_v2("mqtt://127.0.0.1", db, sk, tls_plain, strlen(tls_plain), &client), DDE_ERR_ARGUMENT);
    expect("client_new_mqtt_v2 password with mqtt://", dde_client_new_mqtt_v2("mqtt://127.0.0.1", db, sk, pw_plain, strlen(pw_plain), &client), DDE_ERR_ARGUMENT);
    expect("client_new_mqtt_v2 password without user", dde_client_new_mqtt_v2("mqtts://127.0.0.1", db, sk, no_user, strlen(no_user), &client), DDE_ERR_ARGUMENT);
    expect("client_new_mqtt_v2 password file and variable", dde_client_new_mqtt_v2("mqtts://127.0.0.1", db, sk, both_pw, strlen(both_pw), &client), DDE_ERR_ARGUMENT);
    expect("client_new_mqtt_v2 certificate without key", dde_client_new_mqtt_v2("mqtts://127.0.0.1", db, sk, half_pair, strlen(half_pair), &client), DDE_ERR_ARGUMENT);
    expect("client_new_mqtt_v2 PSK and certificate", dde_client_new_mqtt_v2("mqtts://127.0.0.1", db, sk, psk_and_cert, strlen(psk_and_cert), &client), DDE_ERR_ARGUMENT);
    expect("client_new_mqtt_v2 client id too long", dde_client_new_mqtt_v2("mqtts://127.0.0.1", db, sk, long_id, strlen(long_id), &client), DDE_ERR_ARGUMENT);
    expect("client_new_mqtt_v2 connect timeout 0", dde_client_new_mqtt_v2("mqtts://127.0.0.1", db, sk, timeout0, strlen(timeout0), &client), DDE_ERR_ARGUMENT);
    check("client_new_mqtt_v2: refused options create no store", access(db, F_OK) != 0);
    expect("client_new NULL callbacks", dde_client_new(db, sk, NULL, NULL, &client), DDE_ERR_ARGUMENT);
    expect("client_new NULL out", dde_client_new(db, sk, NULL, NULL, NULL), DDE_ERR_ARGUMENT);
    dde_transport_methods methods = {DDE_TRANSPORT_METHODS_VERSION, t_publish, t_subscribe, NULL, t_receive};
    dde_transport_methods no_receive = methods, version0 = methods, future = methods;
    no_receive.receive = NULL;
    version0.version = 0;
    future.version = DDE_TRANSPORT_METHODS_VERSION + 1;
    expect("client_new NULL receive", dde_client_new(db, sk, &no_receive, NULL, &client), DDE_ERR_ARGUMENT);
    expect("client_new methods version 0", dde_client_new(db, sk, &version0, NULL, &client), DDE_ERR_ARGUMENT);
    expect("client_new methods version newer than the library", dde_client_new(db, sk, &future, NULL, &client), DDE_ERR_VERSION);
    expect("client_new NULL path", dde_client_new(NULL, sk, &methods, NULL, &client), DDE_ERR_ARGUMENT);
    expect("client_new NULL key", dde_client_new(db, NULL, &methods, NULL, &client), DDE_ERR_ARGUMENT);
    check("client_new failures set *client = NULL", client == NULL);
    subscribe_result = DDE_ERR_TRANSPORT;
    expect("client_new: what subscribe returned", dde_client_new(db, sk, &methods, NULL, &client), DDE_ERR_TRANSPORT);
    subscribe_result = DDE_OK;
    expect("client_free NULL", dde_client_free(NULL), DDE_OK);
    expect("client_free 0x1", dde_client_free((dde_client *)0x1), DDE_ERR_ARGUMENT);

    /* A client over the callbacks: it subscribes, never hears anything; then freed twice and used. */
    {
        dde_transport_methods copy = methods; /* the library copies the table: this one goes away */
        subscriptions = 0;
        expect("client_new over callbacks", dde_client_new(db, sk, &copy, NULL, &client), DDE_OK);
        memset(&copy, 0, sizeof copy);
    }
    check("client_new subscribed through the callbacks", client != NULL && subscriptions >= 2);
    size_t executors = 99;
    expect("client_discover over callbacks", dde_client_discover(client, 10, &executors), DDE_OK);
    check("client_discover: nobody there", executors == 0);
    expect("client_delegate: nobody to ask", dde_client_delegate(client, spec, strlen(spec), NULL, 0, NULL, NULL),
           DDE_ERR_NO_EXECUTOR);
    receive_old_style = 1;
    expect("a receive returning 1 (the unversioned ABI's 'a message') is DDE_ERR_ARGUMENT",
           dde_client_discover(client, 10, &executors), DDE_ERR_ARGUMENT);
    receive_old_style = 0;
    expect("client_discover with a store handle", dde_client_discover((dde_client *)again, 10, &executors), DDE_ERR_ARGUMENT);
    expect("client_free", dde_client_free(client), DDE_OK);
    expect("client_free twice", dde_client_free(client), DDE_ERR_CLOSED);
    expect("client_discover after free", dde_client_discover(client, 10, &executors), DDE_ERR_CLOSED);
    expect("client_publish_code after free", dde_client_publish_code(client, "\0asm", 4, hash), DDE_ERR_CLOSED);
    out = (char *)0x1;
    expect("client_delegate after free", dde_client_delegate(client, spec, strlen(spec), NULL, 0, &out, &len), DDE_ERR_CLOSED);
    check("client_delegate after free sets *report = NULL", out == NULL);
    expect("client_check_evidence after free", dde_client_check_evidence(client, equivocation, eq_len, NULL, 0, NULL, NULL),
           DDE_ERR_CLOSED);
    executors = 99;
    expect("client_discover NULL client", dde_client_discover(NULL, 0, &executors), DDE_ERR_ARGUMENT);
    expect("client_publish_code NULL client", dde_client_publish_code(NULL, "\0asm", 4, hash), DDE_ERR_ARGUMENT);
    out = (char *)0x1;
    expect("client_delegate NULL client", dde_client_delegate(NULL, spec, strlen(spec), NULL, 0, &out, &len), DDE_ERR_ARGUMENT);
    check("client_delegate failure sets *report = NULL", out == NULL);
    expect("client_delegate NULL client, NULL outputs", dde_client_delegate(NULL, NULL, huge, NULL, huge, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("client_check_evidence NULL client", dde_client_check_evidence(NULL, equivocation, eq_len, NULL, 0, NULL, NULL), DDE_ERR_ARGUMENT);
    expect("client_check_evidence NULL client, NULL document, huge lengths",
           dde_client_check_evidence(NULL, NULL, huge, NULL, huge, NULL, NULL), DDE_ERR_ARGUMENT);
    for (int i = 0; i < 3; i++) {
        char file[128];
        snprintf(file, sizeof file, "%s%s", db, suffixes[i]);
        unlink(file);
    }

    /* Tasks and policies: use after free is DDE_ERR_CLOSED, a second free is harmless. A freed
     * policy is never taken for NULL (which would accept every executor). */
    dde_policy *freed_policy = NULL;
    expect("policy_new to free", dde_policy_new(&freed_policy), DDE_OK);
    dde_policy_free(freed_policy);
    dde_policy_free(freed_policy);
    expect("verify with a freed policy", dde_verify(task, "{}", 2, freed_policy), DDE_ERR_CLOSED);
    expect("policy_deny on a freed policy", dde_policy_deny(freed_policy, pk, DDE_ERR_EXECUTOR_BANNED), DDE_ERR_CLOSED);
    dde_task_free(task);
    dde_task_free(task);
    expect("task_id after free", dde_task_id(task, idhex), DDE_ERR_CLOSED);
    expect("task_json after free", dde_task_json(task, &out, &len), DDE_ERR_CLOSED);
    expect("verify after free", dde_verify(task, "{}", 2, NULL), DDE_ERR_CLOSED);

    printf("capi_misuse: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
