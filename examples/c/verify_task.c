/*
 * verify_task: what a requester's firmware does with dde, in three steps.
 *
 *   verify_task keygen KEYFILE              create the requester's key (mode 0600)
 *   verify_task create KEYFILE SPEC.json    create and sign a task; print it (send this)
 *   verify_task verify TASK.json RESULT.json
 *                                           verify an executor's compute_result; print the verdict
 *
 * Build against an installed libdde:  cc verify_task.c $(pkg-config --cflags --libs dde)
 * Exit status: 0 on success or a valid result; otherwise the DDE_ERR_* code.
 */
#include <dde.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a whole file into a malloc'd buffer (at most 16 MiB). */
static char *read_file(const char *path, size_t *length) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap >= (16u << 20)) break;
        char *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) { free(buf); buf = NULL; break; }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    *length = n;
    return buf;
}

static int fail(const char *what, int code) {
    fprintf(stderr, "verify_task: %s: %s: %s\n", what, dde_status_name(code), dde_errmsg());
    return code;
}

static int keygen(const char *path) {
    uint8_t pk[DDE_PUBLICKEYBYTES], sk[DDE_SECRETKEYBYTES];
    int rc = dde_keypair(pk, sk);
    if (rc == DDE_OK) rc = dde_key_save(path, sk);
    memset(sk, 0, sizeof sk); /* the key file holds it now */
    if (rc != DDE_OK) return fail("keygen", rc);
    for (size_t i = 0; i < sizeof pk; i++) printf("%02x", pk[i]);
    printf("\n");
    return 0;
}

static int create(const char *key_path, const char *spec_path) {
    uint8_t pk[DDE_PUBLICKEYBYTES], sk[DDE_SECRETKEYBYTES];
    int rc = dde_key_load(key_path, pk, sk);
    if (rc != DDE_OK) return fail("loading the key", rc);
    size_t spec_len = 0;
    char *spec = read_file(spec_path, &spec_len);
    if (spec == NULL) { memset(sk, 0, sizeof sk); fprintf(stderr, "verify_task: cannot read %s\n", spec_path); return DDE_ERR_IO; }

    dde_task *task = NULL;
    rc = dde_task_create(spec, spec_len, sk, &task);
    memset(sk, 0, sizeof sk);
    free(spec);
    if (rc != DDE_OK) return fail("creating the task", rc);

    char *json = NULL;
    size_t json_len = 0;
    rc = dde_task_json(task, &json, &json_len);
    if (rc == DDE_OK) {
        fwrite(json, 1, json_len, stdout);
        printf("\n");
        dde_free(json);
    }
    dde_task_free(task);
    return rc == DDE_OK ? 0 : fail("serialising the task", rc);
}

static int verify(const char *task_path, const char *result_path) {
    size_t task_len = 0, result_len = 0;
    char *task_json = read_file(task_path, &task_len);
    char *result_json = read_file(result_path, &result_len);
    if (task_json == NULL || result_json == NULL) {
        free(task_json);
        free(result_json);
        fprintf(stderr, "verify_task: cannot read %s or %s\n", task_path, result_path);
        return DDE_ERR_IO;
    }
    dde_task *task = NULL;
    int rc = dde_task_parse(task_json, task_len, &task);
    free(task_json);
    if (rc != DDE_OK) { free(result_json); return fail("parsing the task", rc); }

    char id[DDE_HASHHEXBYTES];
    dde_task_id(task, id);
    rc = dde_verify(task, result_json, result_len, NULL);
    if (rc == DDE_OK) {
        printf("VALID task %s\n", id);
    } else {
        printf("INVALID task %s: %s (%s)\n", id, dde_status_name(rc), dde_errmsg());
    }
    free(result_json);
    dde_task_free(task);
    return rc;
}

int main(int argc, char **argv) {
    if (dde_init() != DDE_OK) return fail("init", dde_errcode());
    if (dde_version_number() != DDE_VERSION_NUMBER) {
        fprintf(stderr, "verify_task: header %s but library %s\n", DDE_VERSION_STRING, dde_version());
        return 1;
    }
    if (argc == 3 && strcmp(argv[1], "keygen") == 0) return keygen(argv[2]);
    if (argc == 4 && strcmp(argv[1], "create") == 0) return create(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "verify") == 0) return verify(argv[2], argv[3]);
    fprintf(stderr,
            "usage: verify_task keygen KEYFILE\n"
            "       verify_task create KEYFILE SPEC.json\n"
            "       verify_task verify TASK.json RESULT.json\n");
    return 2;
}
