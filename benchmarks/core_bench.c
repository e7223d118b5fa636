/*
 * core_bench.c: the delegator core's cost through the C API, against raw libsodium on the same
 * machine (run by `scripts/bench.sh core`; figures in BENCHMARKS.md).
 *
 *   verify   dde_verify of a realistic compute_result (a proof, a small result document, three
 *            state writes; a task with a three-key state) with a prepared dde_task handle,
 *            against crypto_sign_verify_detached of a 200-byte message. Target: <= 1.3x.
 *   create   dde_task_create of a realistic spec (then dde_task_free), against
 *            crypto_sign_detached of a 200-byte message.
 *   sizes    of the stripped host and aarch64 libdde.so.
 *   memory   the maximum resident set of examples/c/verify_task verifying that result
 *            (fork, exec, wait4: the kernel's ru_maxrss of the child).
 *
 * Each pair is measured in alternating rounds (raw, dde, raw, dde, ...) after a warm-up, so both
 * see the same machine load; each round lasts DDE_BENCH_ROUND_MS (default 600) and the median
 * of DDE_BENCH_ROUNDS (default 5) rounds is printed. Every dde call's result is checked.
 *
 * Usage: core_bench [--host-lib PATH] [--aarch64-lib PATH] [--example PATH] [--workdir DIR]
 *        core_bench --fixture DIR   writes DIR/task.json and DIR/result.json (the verified pair)
 *                                   and exits: the size suite's input (benchmarks/size.sh)
 *        core_bench --profile verify|create N   only N calls of one dde operation, nothing
 *                                                 printed: for valgrind --tool=callgrind or perf
 *        core_bench --profile raw-verify N       N crypto_sign_verify_detached calls over 256
 *                                                 prepared random 200-byte messages (prepared
 *                                                 whatever N is, so N=0 measures the set-up)
 *
 * benchmarks/core.sh runs the profile modes under callgrind (when valgrind is installed) for
 * the instruction counts per call: (count at N - count at 0) / N, which does not depend on the
 * machine's load. Ed25519 verification is variable-time, hence many different messages.
 */
#define _GNU_SOURCE
#include <dde.h>
#include <sodium.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../Tests/CAPI/proof_builder.h"

#define MAX_ROUNDS 21

/* DDE_BENCH_CLOCK=cpu times with the process's CPU time instead of the wall clock: on a shared
 * machine under load it leaves out the time the benchmark was not running (it is one thread). */
static clockid_t bench_clock(void) {
    static int cpu = -1;
    if (cpu < 0) {
        const char *v = getenv("DDE_BENCH_CLOCK");
        cpu = v != NULL && strcmp(v, "cpu") == 0;
    }
    return cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(bench_clock(), &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int env_int(const char *name, int fallback, int lo, int hi) {
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') return fallback;
    int n = atoi(v);
    return n < lo ? lo : n > hi ? hi : n;
}

static void die(const char *what, int rc) {
    fprintf(stderr, "core_bench: %s: %s: %s\n", what, dde_status_name(rc), dde_errmsg());
    exit(1);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One operation under test; returns non-zero on failure (which aborts the benchmark). */
typedef int (*op_fn)(void *ctx);

/* Operations per second of `op` over `iterations` calls. */
static double rate(op_fn op, void *ctx, long iterations, const char *name) {
    double t0 = now_s();
    for (long i = 0; i < iterations; i++) {
        int rc = op(ctx);
        if (rc != 0) die(name, rc);
    }
    return (double)iterations / (now_s() - t0);
}

/* Iterations that take about `ms` milliseconds, from a short timed probe. */
static long calibrate(op_fn op, void *ctx, double ms, const char *name) {
    long n = 16;
    for (;;) {
        double t0 = now_s();
        for (long i = 0; i < n; i++) {
            int rc = op(ctx);
            if (rc != 0) die(name, rc);
        }
        double dt = now_s() - t0;
        if (dt > 0.05) return (long)((double)n * (ms / 1000.0) / dt) + 1;
        n *= 2;
    }
}

/* Medians of each; `ratio` is the median of the per-round ratios raw/dde (a round pair shares
 * the machine's load of the moment, so it moves less than the ratio of the medians). */
struct pair_result { double raw, dde, ratio; };

/* Alternating rounds of the raw operation and dde's; medians of each. */
static struct pair_result measure_pair(const char *raw_name, op_fn raw, void *raw_ctx,
                                       const char *dde_name, op_fn dde, void *dde_ctx) {
    int rounds = env_int("DDE_BENCH_ROUNDS", 5, 1, MAX_ROUNDS);
    double ms = env_int("DDE_BENCH_ROUND_MS", 600, 50, 60000);
    /* Warm-up: caches, page faults, lazy initialisation (also part of calibration). */
    long n_raw = calibrate(raw, raw_ctx, ms, raw_name);
    long n_dde = calibrate(dde, dde_ctx, ms, dde_name);
    double r[MAX_ROUNDS], d[MAX_ROUNDS], q[MAX_ROUNDS];
    for (int i = 0; i < rounds; i++) {
        r[i] = rate(raw, raw_ctx, n_raw, raw_name);
        d[i] = rate(dde, dde_ctx, n_dde, dde_name);
        q[i] = r[i] / d[i];
    }
    struct pair_result out = { median(r, rounds), median(d, rounds), median(q, rounds) };
    return out;
}

/* ---- The operations ------------------------------------------------------------------------ */

struct raw_ctx {
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    uint8_t msg[200], sig[crypto_sign_BYTES];
};

static int op_raw_verify(void *c) {
    struct raw_ctx *x = c;
    return crypto_sign_verify_detached(x->sig, x->msg, sizeof x->msg, x->pk) == 0 ? 0 : DDE_ERR_SIGNATURE;
}

static int op_raw_sign(void *c) {
    struct raw_ctx *x = c;
    /* A different message each time, as a requester signing fresh tasks would. */
    x->msg[0]++;
    return crypto_sign_detached(x->sig, NULL, x->msg, sizeof x->msg, x->sk) == 0 ? 0 : DDE_ERR_INTERNAL;
}

struct verify_ctx { const dde_task *task; const char *result; size_t length; };

static int op_dde_verify(void *c) {
    struct verify_ctx *x = c;
    return dde_verify(x->task, x->result, x->length, NULL);
}

struct create_ctx { char spec[2048]; size_t length; const uint8_t *sk; size_t stamp_at; unsigned long n; };

static int op_dde_create(void *c) {
    struct create_ctx *x = c;
    /* A fresh timestamp each time (same length), so every task is a new one. */
    char stamp[8];
    snprintf(stamp, sizeof stamp, "%07lu", x->n++ % 10000000);
    memcpy(x->spec + x->stamp_at, stamp, 7);
    dde_task *t = NULL;
    int rc = dde_task_create(x->spec, x->length, x->sk, &t);
    dde_task_free(t);
    return rc;
}

/* ---- The realistic task and result --------------------------------------------------------- */

/* A wallet transfer: the task carries three keys of state; the result moves 5 from alice to bob
 * and bumps alice's nonce. */
#define SPEC_FORMAT                                                                                  \
    "{\"dappId\":\"wallet\",\"dappCodeHash\":\"%s\",\"action\":\"transfer\","                        \
    "\"payload\":{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,\"nonce\":7,\"memo\":\"rent\"},"   \
    "\"raw\":\"send 5 frame to Bob\",\"requiredCapabilities\":[\"state.read\",\"state.write\",\"log\"]," \
    "\"state\":%s,\"maxExecutionSteps\":500,\"maxFuel\":1000000,\"maxExecutionTime\":2000,"          \
    "\"maxMemoryUsage\":1048576,\"timestamp\":176400%07d}"
/* Values: "100", "42", "7" before; "95", "47", "8" after (base64). */
#define STATE_BEFORE "{\"balance/alice\":\"MTAw\",\"balance/bob\":\"NDI=\",\"nonce/alice\":\"Nw==\"}"
#define STATE_AFTER "{\"balance/alice\":\"OTU=\",\"balance/bob\":\"NDc=\",\"nonce/alice\":\"OA==\"}"
#define WRITES "{\"balance/alice\":\"OTU=\",\"balance/bob\":\"NDc=\",\"nonce/alice\":\"OA==\"}"
#define RESULT_DOC                                                                                   \
    "{\"ok\":true,\"from\":\"alice\",\"to\":\"bob\",\"amount\":5,"                                   \
    "\"balances\":{\"alice\":95,\"bob\":47},\"nonce\":8,\"log\":[\"transfer alice->bob 5\"]}"

static dde_task *make_task(const char *code_hex, const char *state, int stamp, const uint8_t *sk,
                           char **json_out) {
    char spec[2048];
    snprintf(spec, sizeof spec, SPEC_FORMAT, code_hex, state, stamp);
    dde_task *t = NULL;
    int rc = dde_task_create(spec, strlen(spec), sk, &t);
    if (rc != DDE_OK) die("dde_task_create (setup)", rc);
    if (json_out) {
        size_t len;
        rc = dde_task_json(t, json_out, &len);
        if (rc != DDE_OK) die("dde_task_json", rc);
    }
    return t;
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) return -1;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static long file_size(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Runs `example verify TASK RESULT`; returns its max RSS in KiB, or -1 (message printed). */
static long example_maxrss(const char *example, const char *task_path, const char *result_path) {
    int out[2];
    if (pipe(out) != 0) { perror("pipe"); return -1; }
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return -1; }
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(example, example, "verify", task_path, result_path, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char buf[512] = "";
    size_t got = 0;
    ssize_t r;
    while ((r = read(out[0], buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)r;
    buf[got] = '\0';
    close(out[0]);
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) { perror("wait4"); return -1; }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strncmp(buf, "VALID", 5) != 0) {
        fprintf(stderr, "core_bench: %s verify did not accept the result (status %d): %s\n", example, status, buf);
        return -1;
    }
    return ru.ru_maxrss; /* KiB on Linux */
}

int main(int argc, char **argv) {
    const char *host_lib = NULL, *aarch64_lib = NULL, *example = NULL, *workdir = "/tmp", *profile = NULL;
    const char *fixture = NULL;
    long profile_n = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--host-lib") == 0) host_lib = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--aarch64-lib") == 0) aarch64_lib = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--example") == 0) example = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--workdir") == 0) workdir = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--fixture") == 0) fixture = argv[++i];
        else if (i + 2 < argc && strcmp(argv[i], "--profile") == 0) { profile = argv[++i]; profile_n = atol(argv[++i]); }
        else {
            fprintf(stderr, "usage: core_bench [--host-lib PATH] [--aarch64-lib PATH] [--example PATH] [--workdir DIR]\n"
                            "       core_bench --profile verify|create|raw-verify N\n"
                            "       core_bench --fixture DIR\n");
            return 2;
        }
    }
    if (sodium_init() < 0 || dde_init() != DDE_OK) { fprintf(stderr, "core_bench: init failed\n"); return 1; }
    if (dde_version_number() != DDE_VERSION_NUMBER) { fprintf(stderr, "core_bench: header/library skew\n"); return 1; }

    /* Keys from fixed seeds: the requester and the executor. */
    uint8_t seed[32], pk[32], sk[64], epk[32], esk[64];
    memset(seed, 1, sizeof seed);
    if (dde_seed_keypair(seed, pk, sk) != DDE_OK) die("dde_seed_keypair", 1);
    memset(seed, 2, sizeof seed);
    if (dde_seed_keypair(seed, epk, esk) != DDE_OK) die("dde_seed_keypair", 1);
    uint8_t code[32];
    char code_hex[65];
    dde_sha256("(module wallet)", 15, code);
    hex(code_hex, code, 32);

    /* The task, and a twin whose state is the state after the writes: its previousStateRoot is
     * the nextStateRoot the proof must name (computed by the library, not by this program). */
    char *task_json = NULL, *after_json = NULL;
    dde_task *task = make_task(code_hex, STATE_BEFORE, 0, sk, &task_json);
    dde_task *after = make_task(code_hex, STATE_AFTER, 0, sk, &after_json);
    char id[65], input_hash[65], prev_root[65], next_root[65];
    field(task_json, "taskId", id, sizeof id);
    field(task_json, "inputHash", input_hash, sizeof input_hash);
    field(task_json, "previousStateRoot", prev_root, sizeof prev_root);
    field(after_json, "previousStateRoot", next_root, sizeof next_root);
    struct proof_params p = {
        id, "wallet", code_hex, "transfer", input_hash, "[\"log\",\"state.read\",\"state.write\"]",
        "[\"log\",\"state.read\",\"state.write\"]", 12, 48213, RESULT_DOC, WRITES, prev_root, next_root,
        NULL, NULL, esk, 0,
    };
    char *result = make_result(&p);
    size_t result_len = strlen(result);
    int rc = dde_verify(task, result, result_len, NULL);
    if (rc != DDE_OK) die("dde_verify (setup: the built result must be valid)", rc);
    /* A corrupted copy must be refused: the loop measures real verification. */
    p.corrupt_signature = 1;
    char *bad = make_result(&p);
    if (dde_verify(task, bad, strlen(bad), NULL) != DDE_ERR_PROOF_SIGNATURE) die("dde_verify accepted a bad signature", 1);
    free(bad);

    if (fixture) {
        char task_path[4096], result_path[4096];
        snprintf(task_path, sizeof task_path, "%s/task.json", fixture);
        snprintf(result_path, sizeof result_path, "%s/result.json", fixture);
        if (write_file(task_path, task_json) != 0 || write_file(result_path, result) != 0) {
            fprintf(stderr, "core_bench: cannot write %s: %s\n", fixture, strerror(errno));
            return 1;
        }
        return 0;
    }

    struct verify_ctx vc = { task, result, result_len };
    struct create_ctx cc;
    snprintf(cc.spec, sizeof cc.spec, SPEC_FORMAT, code_hex, STATE_BEFORE, 0);
    cc.length = strlen(cc.spec);
    cc.stamp_at = cc.length - 8; /* the seven timestamp digits before the closing brace */
    cc.sk = sk;
    cc.n = 1;
    if (profile && strcmp(profile, "raw-verify") == 0) {
        enum { M = 256 };
        uint8_t(*msgs)[200] = malloc(M * 200), (*sigs)[crypto_sign_BYTES] = malloc(M * crypto_sign_BYTES);
        if (msgs == NULL || sigs == NULL) return 1;
        randombytes_buf(msgs, M * 200);
        for (int i = 0; i < M; i++) crypto_sign_detached(sigs[i], NULL, msgs[i], 200, esk);
        for (long i = 0; i < profile_n; i++)
            if (crypto_sign_verify_detached(sigs[i % M], msgs[i % M], 200, epk) != 0) die("raw verify", DDE_ERR_SIGNATURE);
        free(msgs);
        free(sigs);
        return 0;
    }
    if (profile) {
        int create = strcmp(profile, "create") == 0;
        if (!create && strcmp(profile, "verify") != 0) { fprintf(stderr, "core_bench: --profile verify|create|raw-verify\n"); return 2; }
        rate(create ? op_dde_create : op_dde_verify, create ? (void *)&cc : (void *)&vc, profile_n, profile);
        return 0;
    }

    printf("core benchmark: dde %s, libsodium %s\n", dde_version(), sodium_version_string());
    printf("compute_result: %zu bytes; task: %zu bytes\n", result_len, strlen(task_json));
    fflush(stdout);

    struct raw_ctx raw;
    memcpy(raw.pk, epk, 32);
    memcpy(raw.sk, esk, 64);
    randombytes_buf(raw.msg, sizeof raw.msg);
    crypto_sign_detached(raw.sig, NULL, raw.msg, sizeof raw.msg, raw.sk);

    struct pair_result v = measure_pair("crypto_sign_verify_detached", op_raw_verify, &raw,
                                        "dde_verify", op_dde_verify, &vc);

    struct pair_result c = measure_pair("crypto_sign_detached", op_raw_sign, &raw,
                                        "dde_task_create", op_dde_create, &cc);

    long host_size = file_size(host_lib), arm_size = file_size(aarch64_lib);
    long rss = -1;
    if (example) {
        char task_path[4096], result_path[4096];
        snprintf(task_path, sizeof task_path, "%s/task.json", workdir);
        snprintf(result_path, sizeof result_path, "%s/result.json", workdir);
        if (write_file(task_path, task_json) != 0 || write_file(result_path, result) != 0) {
            fprintf(stderr, "core_bench: cannot write %s: %s\n", workdir, strerror(errno));
            return 1;
        }
        rss = example_maxrss(example, task_path, result_path);
    }

    printf("\ntiming: %s, %d rounds of %d ms, medians\n", bench_clock() == CLOCK_MONOTONIC ? "wall clock" : "process CPU time",
           env_int("DDE_BENCH_ROUNDS", 5, 1, MAX_ROUNDS), env_int("DDE_BENCH_ROUND_MS", 600, 50, 60000));
    printf("\n| measurement | per second | us per op | ratio |\n|---|---:|---:|---:|\n");
    printf("| raw crypto_sign_verify_detached (200-byte message) | %.0f | %.1f | 1.00 |\n", v.raw, 1e6 / v.raw);
    printf("| dde_verify (%zu-byte compute_result, prepared task) | %.0f | %.1f | %.2fx |\n", result_len, v.dde,
           1e6 / v.dde, v.raw / v.dde);
    printf("| raw crypto_sign_detached (200-byte message) | %.0f | %.1f | 1.00 |\n", c.raw, 1e6 / c.raw);
    printf("| dde_task_create (%zu-byte spec, incl. dde_task_free) | %.0f | %.1f | %.2fx |\n", cc.length, c.dde,
           1e6 / c.dde, c.raw / c.dde);
    printf("\n| artefact | size |\n|---|---:|\n");
    if (host_size >= 0) printf("| libdde.so x86-64, stripped | %ld bytes (%.1f MiB) |\n", host_size, host_size / 1048576.0);
    if (arm_size >= 0) printf("| libdde.so aarch64 (Embedded Swift), stripped | %ld bytes (%.0f KiB) |\n", arm_size, arm_size / 1024.0);
    if (rss >= 0) printf("| max RSS of examples/c/verify_task verify (x86-64) | %ld KiB |\n", rss);

    double ratio = v.raw / v.dde;
    printf("\nverify ratio %.2fx (median of per-round ratios %.2fx) against the 1.3x target: %s\n", ratio, v.ratio,
           ratio <= 1.3 ? "MET" : "NOT MET");

    free(result);
    dde_free(task_json);
    dde_free(after_json);
    dde_task_free(task);
    dde_task_free(after);
    return (example && rss < 0) ? 1 : 0;
}
