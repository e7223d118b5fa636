/*
 * delegate: what a requester's firmware does to have work done by executors on the network.
 *
 *   delegate [--ca-file F] [--tls-cert F --tls-key F] [--username U --password-file F]
 *            BROKER_URL STORE KEYFILE COUNTER.wasm [COUNT]
 *
 * Opens (or creates) the store and the key (created if absent), connects to the MQTT broker
 * (mqtts:// with the options: the broker's CA, this device's certificate and key, a user name
 * and the file holding its password; examples/broker/README.md),
 * publishes the counter module by hash, and delegates COUNT (default 1) "increment" tasks in
 * first_valid mode. For each: every executor's verdict and latency, the committed receipt; at
 * the end the chain head (dde_store_head) and the verified chain.
 *
 * Build against an installed libdde:  cc delegate.c $(pkg-config --cflags --libs dde)
 * It needs libmosquitto1 at run time (loaded by libdde when the client connects).
 * Exit status: 0 when every task was committed; otherwise the DDE_ERR_* code of the failure.
 */
#include <dde.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, int code) {
    fprintf(stderr, "delegate: %s: %s: %s\n", what, dde_status_name(code), dde_errmsg());
    return code;
}

/* Reads a whole file (at most 16 MiB) into a malloc'd buffer. */
static unsigned char *read_file(const char *path, size_t *length) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap >= (16u << 20)) break;
        unsigned char *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) { free(buf); buf = NULL; break; }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    *length = n;
    return buf;
}

/* The key in path, or a new one saved there. */
static int load_or_create_key(const char *path, uint8_t sk[DDE_SECRETKEYBYTES]) {
    uint8_t pk[DDE_PUBLICKEYBYTES];
    FILE *f = fopen(path, "rb");
    if (f != NULL) {
        fclose(f);
        return dde_key_load(path, pk, sk);
    }
    int rc = dde_keypair(pk, sk);
    if (rc == DDE_OK) rc = dde_key_save(path, sk);
    if (rc == DDE_OK) printf("created key %s\n", path);
    return rc;
}

/* Prints the "answers" of a report, one line each: a tiny scan of the canonical JSON the
 * library returns (keys sorted: detail, executor, latencyMs, status, verdict), enough for a demo
 * without a JSON library. */
static void print_answers(const char *report) {
    const char *p = strstr(report, "\"answers\":[");
    while (p != NULL && (p = strstr(p, "{\"detail\":")) != NULL) {
        const char *end = strchr(p, '}');
        const char *ex = strstr(p, "\"executor\":");
        const char *lat = strstr(p, "\"latencyMs\":");
        const char *st = strstr(p, "\"status\":\"");
        const char *ve = strstr(p, "\"verdict\":\"");
        if (end == NULL || ex == NULL || lat == NULL || st == NULL || ve == NULL || ve > end) break;
        ex += strlen("\"executor\":");
        st += strlen("\"status\":\"");
        ve += strlen("\"verdict\":\"");
        printf("  executor %.8s  %-12.*s %5ld ms  %.*s\n", ex[0] == '"' ? ex + 1 : "unknown ",
               (int)strcspn(ve, "\""), ve, strtol(lat + strlen("\"latencyMs\":"), NULL, 10), (int)strcspn(st, "\""), st);
        p = end;
    }
}

/* Appends ,"name":"value" to the JSON object being built in out (value escaped); 0, or -1 when it
 * does not fit. */
static int add_option(char *out, size_t cap, const char *name, const char *value) {
    size_t n = strlen(out);
    int w = snprintf(out + n, cap - n, "%s\"%s\":\"", n > 1 ? "," : "", name);
    if (w < 0 || (size_t)w >= cap - n) return -1;
    n += (size_t)w;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') snprintf(esc, sizeof esc, "\\%c", *p);
        else if (*p < 0x20) snprintf(esc, sizeof esc, "\\u%04x", *p);
        else { esc[0] = (char)*p; esc[1] = '\0'; }
        size_t e = strlen(esc);
        if (n + e + 2 >= cap) return -1;
        memcpy(out + n, esc, e);
        n += e;
    }
    out[n++] = '"';
    out[n] = '\0';
    return 0;
}

int main(int argc, char **argv) {
    /* Connection options, as the JSON document dde_client_new_mqtt_v2 takes. */
    static const char *const flags[][2] = {{"--ca-file", "caFile"}, {"--tls-cert", "certFile"}, {"--tls-key", "keyFile"},
                                           {"--username", "username"}, {"--password-file", "passwordFile"}};
    char options_json[4 * 4096 + 256] = "{";
    int first = 1;
    while (first + 1 < argc && strncmp(argv[first], "--", 2) == 0) {
        size_t f = 0;
        while (f < sizeof flags / sizeof flags[0] && strcmp(argv[first], flags[f][0]) != 0) f++;
        if (f == sizeof flags / sizeof flags[0] || add_option(options_json, sizeof options_json - 1, flags[f][1], argv[first + 1]) != 0) {
            fprintf(stderr, "delegate: unknown or overlong option %s\n", argv[first]);
            return DDE_ERR_ARGUMENT;
        }
        first += 2;
    }
    strcat(options_json, "}");
    argc -= first - 1;
    argv += first - 1;
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: delegate [--ca-file F] [--tls-cert F --tls-key F] [--username U --password-file F]\n"
                        "                BROKER_URL STORE KEYFILE COUNTER.wasm [COUNT]\n");
        return DDE_ERR_ARGUMENT;
    }
    const char *broker = argv[1], *store_path = argv[2], *key_path = argv[3], *module_path = argv[4];
    long count = argc == 6 ? strtol(argv[5], NULL, 10) : 1;
    if (count < 1 || count > 1000) { fprintf(stderr, "delegate: COUNT must be 1 to 1000\n"); return DDE_ERR_ARGUMENT; }

    uint8_t sk[DDE_SECRETKEYBYTES];
    int rc = load_or_create_key(key_path, sk);
    if (rc != DDE_OK) return fail("key", rc);

    /* 1. A client: the store, the key, the broker (and how to connect to it). */
    dde_client *client = NULL;
    rc = dde_client_new_mqtt_v2(broker, store_path, sk, options_json, strlen(options_json), &client);
    memset(sk, 0, sizeof sk); /* the client holds its own copy */
    if (rc != DDE_OK) return fail("connecting", rc);

    /* 2. The code, by hash: executors fetch it from the broker. */
    size_t module_len = 0;
    unsigned char *module = read_file(module_path, &module_len);
    if (module == NULL) { dde_client_free(client); fprintf(stderr, "delegate: cannot read %s\n", module_path); return DDE_ERR_IO; }
    uint8_t hash[DDE_HASHBYTES];
    rc = dde_client_publish_code(client, module, module_len, hash);
    free(module);
    if (rc != DDE_OK) { dde_client_free(client); return fail("publishing the code", rc); }
    char hash_hex[DDE_HASHHEXBYTES];
    for (size_t i = 0; i < DDE_HASHBYTES; i++) snprintf(hash_hex + 2 * i, 3, "%02x", hash[i]);

    /* 3. Who is there. */
    size_t known = 0;
    rc = dde_client_discover(client, 1000, &known);
    if (rc != DDE_OK) { dde_client_free(client); return fail("discovering executors", rc); }
    printf("%zu executor(s) on %s\n", known, broker);

    /* 4. Delegate: first valid proof wins; the result is verified and committed before this returns. */
    char spec[256];
    snprintf(spec, sizeof spec,
             "{\"dappId\":\"counter\",\"dappCodeHash\":\"%s\",\"action\":\"increment\","
             "\"requiredCapabilities\":[\"state.read\",\"state.write\"]}", hash_hex);
    const char *options = "{\"mode\":\"first_valid\",\"fanout\":2,\"deadlineMs\":10000}";
    for (long i = 0; i < count && rc == DDE_OK; i++) {
        char *report = NULL;
        rc = dde_client_delegate(client, spec, strlen(spec), options, strlen(options), &report, NULL);
        printf("task %ld: %s\n", i + 1, dde_status_name(rc));
        if (report != NULL) {
            print_answers(report);
            const char *receipt = strstr(report, "\"receipt\":{");
            const char *result = strstr(report, "\"result\":{");
            if (rc == DDE_OK && receipt != NULL && result != NULL) {
                /* The receipt object runs up to ",\"result\":" (members are sorted). */
                printf("  receipt %.*s\n", (int)(result - receipt - strlen("\"receipt\":") - 1), receipt + strlen("\"receipt\":"));
                printf("  result %.*s\n", (int)strcspn(result + strlen("\"result\":"), "}") + 1, result + strlen("\"result\":"));
            }
            dde_free(report);
        }
        if (rc != DDE_OK) fail("delegating", rc);
    }
    /* Freeing waits for the broker to acknowledge the last publishes and says whether it did. */
    int frc = dde_client_free(client);
    if (rc != DDE_OK) return rc;
    if (frc != DDE_OK) return fail("closing the client", frc);

    /* 5. The chain head, and the whole chain re-verified. */
    dde_store *store = NULL;
    int src = dde_store_open(store_path, NULL, 0, &store);
    if (src != DDE_OK) return fail("opening the store", src);
    uint64_t receipts = 0, checked = 0;
    char head[DDE_HASHHEXBYTES], root[DDE_HASHHEXBYTES];
    src = dde_store_head(store, &receipts, head, root);
    if (src == DDE_OK) printf("chain head: %llu receipts, last %s, state root %s\n", (unsigned long long)receipts, head, root);
    if (src == DDE_OK) src = dde_store_verify_chain(store, &checked);
    if (src == DDE_OK) printf("chain verified: %llu receipts\n", (unsigned long long)checked);
    int crc = dde_store_close(store);
    if (src != DDE_OK) return fail("chain", src);
    return crc == DDE_OK ? 0 : fail("closing the store", crc);
}
