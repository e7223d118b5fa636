/*
 * dde.h: the C API of dde, verifiable delegated compute for low-power devices.
 *
 * A requester builds a compute task that names WebAssembly code and its input by SHA-256, sends
 * it to executors, and verifies the execution proofs they sign (hashes and one Ed25519 check,
 * never re-execution) before anything touches local state. The protocol is in docs/PROTOCOL.md.
 *
 * Conventions (in the manner of sqlite3.h and sodium.h):
 *  - Every name starts with dde_ / DDE_. Link with -ldde (pkg-config: dde; CMake: dde::dde).
 *  - Every fallible function returns an int status: DDE_OK (0) or one DDE_ERR_* code. The code
 *    alone says what went wrong; dde_errmsg() adds a human message for the calling thread's last
 *    failure (which field, which byte, what to do). dde_status_name()/dde_status_message() name
 *    any code.
 *  - Argument order, the same in every function: the handle first, then the inputs, then the
 *    outputs. Outputs are always the last parameters, each length output right after its buffer
 *    (char **json, size_t *length). Outputs marked "may be NULL" are optional.
 *  - Arguments are checked: a NULL pointer, an oversized length (over DDE_MAX_INPUT_BYTES) or
 *    malformed text gives DDE_ERR_ARGUMENT (or a more precise code), never a crash.
 *  - Memory the library returns (char ** outputs) is NUL-terminated and released with dde_free().
 *    Fixed-size outputs go into caller buffers of the sizes named below (DDE_*BYTES); every size
 *    and limit is also readable at run time (dde_publickeybytes(), dde_max_executors(), ...).
 *  - Handles (dde_task, dde_policy, dde_store, dde_client) are opaque; each has a function that
 *    creates it and one that frees or closes it. The library checks every handle it is given
 *    against a table of live handles and never reads memory through a handle pointer: NULL or
 *    a pointer that is no handle of that type gives DDE_ERR_ARGUMENT; a handle already freed
 *    or closed gives DDE_ERR_CLOSED, so a double free/close or a use after close is a reported
 *    error, not a crash (the handle table keeps a freed handle's number out of use).
 *  - Thread safety: every function may be called from any thread. What may share a handle is
 *    stated per handle type: a dde_task, a dde_policy (except dde_policy_deny) and a dde_store
 *    may be used by many threads at once; a dde_client by one thread at a time. A call in flight
 *    on another thread when a task, policy or store is freed completes (it holds its own
 *    reference); dde_client_free must not overlap another call on the same client.
 *    dde_errcode()/dde_errmsg() are per thread.
 *  - DDE_NODISCARD (warn_unused_result) marks every function whose ignored result is a bug:
 *    each verification (a dropped verdict accepts what was refused), each change of trust or
 *    state (commit, evidence import, reputation records, dde_policy_deny, dde_client_delegate),
 *    and those whose outputs are unusable after a failure a caller could mistake for success
 *    (key pairs, key files, signatures, policies: a NULL policy accepts every executor). Define
 *    DDE_NODISCARD before including dde.h to override it. dde_store_close and dde_client_free
 *    are not marked, so cleanup paths may ignore them (GCC cannot silence warn_unused_result with
 *    a cast to void); check them where it matters that the last writes and publishes went out.
 *  - Secrets are wiped from library memory after use; key files are written with mode 0600.
 *
 * Linking and versions: the library's soname is DDE_SONAME ("libdde.so.0", with libdde.so linked
 * to it for the linker), the number being DDE_ABI_VERSION_MAJOR. It changes when a published
 * function changes meaning or goes away; DDE_ABI_VERSION_MINOR counts compatible additions and
 * behaviour changes within one major, so a binding can tell them apart at run time
 * (dde_abi_version_major()/dde_abi_version_minor()). DDE_VERSION_* is the release.
 *
 * ABI history:
 *  - unversioned (soname "libdde.so", release 0.1.0): no ABI version functions. Its builds
 *    differ in dde_store_export: early ones end every line with two '\n', later ones with one.
 *  - 0.0 (soname "libdde.so.0", release 0.2.0):
 *     - dde_client_new takes a const dde_transport_methods * (a struct with a version field, so
 *       the callbacks can grow) instead of four function pointers, and receive returns DDE_OK
 *       with *received = 1 for a message, 0 for none (it returned 1, which is DDE_ERR_ARGUMENT);
 *     - dde_store_close and dde_client_free return an int: a failed close or flush is reported;
 *     - handles are checked: freed or closed gives DDE_ERR_CLOSED, not a handle DDE_ERR_ARGUMENT;
 *     - dde_keypair_from_seed(pk, sk, seed) is now dde_seed_keypair(seed, pk, sk): outputs last,
 *       and a new name so that old calls fail to compile instead of swapping buffers;
 *     - DDE_NODISCARD on verifications and trust changes (above);
 *     - new: dde_abi_version_major/minor, DDE_SONAME, DDE_HASHHEXBYTES/dde_hashhexbytes,
 *       DDE_ERRMSGBYTES and the DDE_MAX_*, DDE_JSON_MAX_* limits with their run-time functions,
 *       dde_transport_methods_version;
 *     - dde_store_export ends every line with exactly one '\n';
 *     - DDE_KIND_PRESENCE and DDE_KIND_ERROR: executors sign presence and compute_error, and a
 *       client ignores unsigned ones (a wire change: 0.1.0 executors are not heard).
 *  - 0.1 (release 0.2.0): dde_client_new_mqtt_v2 (TLS with mqtts://, client certificates,
 *    TLS-PSK, user names and passwords, in a JSON options document that can grow);
 *    DDE_MAX_CLIENT_ID_BYTES, DDE_MAX_USERNAME_BYTES, DDE_MAX_CREDENTIAL_FILE_BYTES. Both MQTT
 *    constructors now bound the broker's name lookup by the connect timeout too.
 *  - 0.2 (release 0.2.0): protocol version 2. dde_client_delegate sends taskVersion 2 tasks
 *    (partial state with a proof against the dApp's root; spec member "stateKeys") and retries
 *    once on DDE_ERR_STATE_KEY_OUTSIDE (96); dde_task_create/parse/verify/commit take both task
 *    versions; receipts of version 3; new codes DDE_ERR_STATE_KEY_OUTSIDE and 120-124 (state
 *    proofs); stores move to schema 3 when opened (the state tree, built once from the rows).
 */
#ifndef DDE_H
#define DDE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Warns when a caller ignores the result (see the conventions above). */
#ifndef DDE_NODISCARD
#if defined(__cplusplus) && __cplusplus >= 201703L
#define DDE_NODISCARD [[nodiscard]]
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 202311L
#define DDE_NODISCARD [[nodiscard]]
#elif defined(__GNUC__) || defined(__clang__)
#define DDE_NODISCARD __attribute__((warn_unused_result))
#else
#define DDE_NODISCARD
#endif
#endif

/* ---- Versions ------------------------------------------------------------------------------ */
/* Thread safety: any thread. */

/* @generated begin versions: scripts/gen-abi.py from abi/dde.abi; edit the table, not these lines */
#define DDE_VERSION_STRING "0.2.0"
#define DDE_VERSION_NUMBER 2000 /* major * 1000000 + minor * 1000 + patch */
#define DDE_PROTOCOL_VERSION 2
#define DDE_ABI_VERSION_MAJOR 0 /* the soname's number: libdde.so.0 */
#define DDE_ABI_VERSION_MINOR 2
#define DDE_SONAME "libdde.so.0"
/* @generated end versions */

/* The run-time library version; compare with DDE_VERSION_NUMBER to detect a header/library skew. */
const char *dde_version(void);
int dde_version_number(void);

/* The run-time ABI version: a library whose major differs from DDE_ABI_VERSION_MAJOR is not the
 * one this header describes; a minor below DDE_ABI_VERSION_MINOR lacks something it adds. */
int dde_abi_version_major(void);
int dde_abi_version_minor(void);

/* Initialises the library (libsodium). Optional: every function initialises on first use.
 * May be called any number of times from any thread. Returns DDE_OK or DDE_ERR_INTERNAL. */
int dde_init(void);

/* ---- Status codes -------------------------------------------------------------------------- */
/* Thread safety: any thread; dde_errcode() and dde_errmsg() report the calling thread's call. */

/* @generated begin status: scripts/gen-abi.py from abi/dde.abi; edit the table, not these lines */
#define DDE_OK                                0
#define DDE_ERR_ARGUMENT                      1  /* a NULL pointer, a bad length, an out-of-range value, not a handle */
#define DDE_ERR_NOMEM                         2
#define DDE_ERR_INTERNAL                      3
#define DDE_ERR_IO                            4  /* reading or writing a file failed */
#define DDE_ERR_CLOSED                        5  /* the handle was already closed or freed */
#define DDE_ERR_JSON                         20  /* not RFC 8259 JSON */
#define DDE_ERR_LIMIT                        21  /* a parser limit: size, depth, string length, key count */
#define DDE_ERR_DUPLICATE_KEY                22  /* an object names the same key twice */
#define DDE_ERR_SCHEMA                       23  /* a field is missing, unknown, or of the wrong type */
#define DDE_ERR_ENCODING                     24  /* hex, base64 or UTF-8 of a field is invalid */
#define DDE_ERR_VERSION                      25  /* an unknown taskVersion / proofVersion / receiptVersion; a methods version */
#define DDE_ERR_NUMBER                       26  /* a number that is not an integer in [0, 2^53-1] where one is needed */
#define DDE_ERR_TASK_ID                      40  /* taskId is not H(task without taskId and signature) */
#define DDE_ERR_TASK_SIGNATURE               41  /* the requester's signature over the task does not verify */
#define DDE_ERR_TASK_MISMATCH                42  /* check 2: proof.taskId differs from the task's id */
#define DDE_ERR_CODE_HASH_MISMATCH           43  /* check 3: dappCodeHash differs */
#define DDE_ERR_INPUT_HASH_MISMATCH          44  /* check 4: inputHash differs */
#define DDE_ERR_CAPABILITIES                 45  /* check 5: declared != required, or used is not a subset;
                                                    check 8: state writes without "state.write" used */
#define DDE_ERR_STEPS_EXCEEDED               46  /* check 6: traceLength > maxExecutionSteps */
#define DDE_ERR_FUEL_EXCEEDED                47  /* check 6: fuelUsed > maxFuel */
#define DDE_ERR_RESULT_HASH                  48  /* check 7: resultHash != H(result) */
#define DDE_ERR_WRITES_HASH                  49  /* check 7: stateWritesHash != H(stateWrites) */
#define DDE_ERR_PREVIOUS_STATE_ROOT          50  /* check 8: previousStateRoot differs from the task's */
#define DDE_ERR_NEXT_STATE_ROOT              51  /* check 8: nextStateRoot is not the root after the writes */
#define DDE_ERR_PROOF_SIGNATURE              52  /* check 9: the executor's signature does not verify */
#define DDE_ERR_EXECUTOR_BANNED              53  /* check 10: policy: the executor is temporarily banned */
#define DDE_ERR_EXECUTOR_BLACKLISTED         54  /* check 10: policy: the executor is blacklisted */
#define DDE_ERR_RESULT_MISMATCH              55  /* compute_result fields disagree with its proof (taskId, key, hash) */
#define DDE_ERR_KEY                          56  /* a key is malformed or does not match its pair */
#define DDE_ERR_SIGNATURE                    57  /* a signature does not verify (outside proof verification) */
#define DDE_ERR_STORE                        60  /* SQLite failed (message says how) */
#define DDE_ERR_STALE                        61  /* the task's previousStateRoot is not the dApp's current root */
#define DDE_ERR_DUPLICATE                    62  /* the task is already committed */
#define DDE_ERR_CHAIN_BROKEN                 63  /* verifyChain found a bad link, hash, signature or root */
#define DDE_ERR_SCHEMA_VERSION               64  /* the store was written by a newer dde */
#define DDE_ERR_NOT_FOUND                    65
#define DDE_ERR_CODE_NOT_FOUND               80  /* no module with that dappCodeHash in the code store */
#define DDE_ERR_CODE_HASH                    81  /* module bytes do not hash to the name they came under */
#define DDE_ERR_CODE_INVALID                 82  /* the module does not parse or validate */
#define DDE_ERR_CODE_NONDETERMINISTIC        83  /* float, SIMD, threads or atomics instructions */
#define DDE_ERR_CAPABILITY_DENIED            84  /* the module imports a capability the task did not declare */
#define DDE_ERR_UNKNOWN_IMPORT               85
#define DDE_ERR_NO_SUCH_ACTION               86  /* no export named intent.action of type () -> i32 */
#define DDE_ERR_OUT_OF_FUEL                  87
#define DDE_ERR_TOO_MANY_STEPS               88
#define DDE_ERR_MEMORY_LIMIT                 89
#define DDE_ERR_TIMEOUT                      90
#define DDE_ERR_GUEST_TRAP                   91
#define DDE_ERR_GUEST_BOUNDS                 92  /* a guest pointer/length outside its memory */
#define DDE_ERR_RESULT_NOT_JSON              93  /* output_write bytes are not one JSON document */
#define DDE_ERR_ACTION_FAILED                94  /* the action returned a non-zero status */
#define DDE_ERR_AUDIT_FAILED                 95  /* re-execution disagrees with a proof (the proof is evidence) */
#define DDE_ERR_STATE_KEY_OUTSIDE            96  /* a v2 task's run read or wrote a key outside its state; the detail (a compute_error's message) is the key */
#define DDE_ERR_TRANSPORT                   100
#define DDE_ERR_NO_RESULT                   101  /* no valid result before the deadline */
#define DDE_ERR_QUORUM_NOT_REACHED          102
#define DDE_ERR_BUSY                        103  /* the executor refused: too many concurrent tasks for this peer */
#define DDE_ERR_MESSAGE_TYPE                104  /* an envelope of an unknown message type */
#define DDE_ERR_NO_EXECUTOR                 105  /* no known executor fits the task (capabilities, reputation, critical) */
#define DDE_ERR_UNRESOLVED                  106  /* audited: proofs disagreed and no validated majority decided */
#define DDE_ERR_EVIDENCE_AGREES             110  /* the evidence's proofs agree: it proves nothing */
#define DDE_ERR_EVIDENCE_UNJUDGED           111  /* naming the liar needs a re-execution not possible here */
#define DDE_ERR_STATE_PROOF_MALFORMED       120  /* an unknown item, a node below depth 255, bytes after the tree, a non-canonical spelling */
#define DDE_ERR_STATE_PROOF_INCOMPLETE      121  /* the bytes end before the tree is whole, or a key's path runs into a summarised subtree */
#define DDE_ERR_STATE_PROOF_VALUE           122  /* another value, or present where claimed absent, or the reverse */
#define DDE_ERR_STATE_PROOF_HASH            123  /* a sibling or leaf hash in the proof was altered */
#define DDE_ERR_STATE_PROOF_ROOT            124  /* the root the proof names is not the one it is checked against */
/* @generated end status */

/* The constant's name for a code ("DDE_ERR_TASK_ID"), or "DDE_ERR_UNKNOWN". Static storage. */
const char *dde_status_name(int code);
/* A one-line English description of a code. Static storage. */
const char *dde_status_message(int code);
/* The code of the calling thread's last failure (DDE_OK after a success). */
int dde_errcode(void);
/* The message of the calling thread's last failure ("" after a success), at most
 * DDE_ERRMSGBYTES long with its NUL. Valid until the next dde_* call on the same thread; copy it
 * to keep it. */
const char *dde_errmsg(void);

/* ---- Memory -------------------------------------------------------------------------------- */
/* Thread safety: any thread. */

/* Releases memory returned by the library (char ** outputs). NULL is a no-op. */
void dde_free(void *pointer);

/* ---- Sizes and limits ---------------------------------------------------------------------- */
/* Each DDE_X has a run-time function dde_x() (the name in lower case) returning the library's
 * value, for bindings and for a program that wants to check the library it loaded.
 * Thread safety: any thread. */

/* @generated begin constants: scripts/gen-abi.py from abi/dde.abi; edit the table, not these lines */
#define DDE_PUBLICKEYBYTES            32U        /* an Ed25519 public key */
#define DDE_SECRETKEYBYTES            64U        /* libsodium form: seed || public key */
#define DDE_SEEDBYTES                 32U        /* the seed a key pair is derived from */
#define DDE_SIGNATUREBYTES            64U        /* an Ed25519 signature */
#define DDE_HASHBYTES                 32U        /* a SHA-256 digest */
#define DDE_HASHHEXBYTES              65U        /* 64 lowercase hex characters and a NUL */
#define DDE_ERRMSGBYTES               512U       /* dde_errmsg() is at most this long, its NUL included */
#define DDE_MAX_INPUT_BYTES           67108864U  /* 64 MiB: any (pointer, length) argument */
#define DDE_MAX_PATH_BYTES            4096U      /* a file path (store_path, key file), NUL excluded */
#define DDE_MAX_URL_BYTES             300U       /* broker_url of dde_client_new_mqtt, NUL excluded */
#define DDE_JSON_MAX_BYTES            1048576U   /* 1 MiB: a JSON document (spec, task, result, options; evidence: 64 KiB more) */
#define DDE_JSON_MAX_DEPTH            64U        /* nesting of arrays and objects in a document */
#define DDE_JSON_MAX_STRING_BYTES     1048576U   /* 1 MiB: one string of a document, UTF-8 after unescaping */
#define DDE_JSON_MAX_OBJECT_KEYS      4096U      /* members of one object */
#define DDE_JSON_MAX_ARRAY_ELEMENTS   65536U     /* elements of one array */
#define DDE_MAX_EXECUTORS             64U        /* executors one task is offered to: the options' fanout, quorum and pinned */
#define DDE_MAX_MODULE_BYTES          16777216U  /* 16 MiB: a WebAssembly module (dde_client_publish_code) */
#define DDE_MAX_STATE_KEY_BYTES       1024U      /* a key of a dApp's state (a spec's "state") */
#define DDE_MAX_STATE_VALUE_BYTES     262144U    /* 256 KiB: a value of a dApp's state */
#define DDE_MAX_TOPIC_BYTES           65535U     /* a topic a transport's receive hands over (longer ones are dropped) */
#define DDE_TRANSPORT_METHODS_VERSION 1          /* the newest dde_transport_methods.version this library reads */
#define DDE_MAX_CLIENT_ID_BYTES       64U        /* an MQTT client id (the options' clientId) */
#define DDE_MAX_USERNAME_BYTES        1024U      /* an MQTT user name (the options' username) */
#define DDE_MAX_CREDENTIAL_FILE_BYTES 4096U      /* a password or pre-shared key file, or the password's environment variable */

size_t dde_publickeybytes(void);
size_t dde_secretkeybytes(void);
size_t dde_seedbytes(void);
size_t dde_signaturebytes(void);
size_t dde_hashbytes(void);
size_t dde_hashhexbytes(void);
size_t dde_errmsgbytes(void);
size_t dde_max_input_bytes(void);
size_t dde_max_path_bytes(void);
size_t dde_max_url_bytes(void);
size_t dde_json_max_bytes(void);
size_t dde_json_max_depth(void);
size_t dde_json_max_string_bytes(void);
size_t dde_json_max_object_keys(void);
size_t dde_json_max_array_elements(void);
size_t dde_max_executors(void);
size_t dde_max_module_bytes(void);
size_t dde_max_state_key_bytes(void);
size_t dde_max_state_value_bytes(void);
size_t dde_max_topic_bytes(void);
int dde_transport_methods_version(void);
size_t dde_max_client_id_bytes(void);
size_t dde_max_username_bytes(void);
size_t dde_max_credential_file_bytes(void);
/* @generated end constants */

/* ---- Hashes, keys and signatures ----------------------------------------------------------- */
/* Thread safety: any thread; these functions share no state. */

/* Signature kinds. Signing is domain-separated: the signed message is
 * "dde/v1/" KIND "\0" followed by the 32 hash bytes, so a signature of one kind can never pass
 * as another. PRESENCE and ERROR sign an executor's presence and compute_error
 * messages (docs/PROTOCOL.md section 10). */
#define DDE_KIND_TASK 1
#define DDE_KIND_PROOF 2
#define DDE_KIND_RECEIPT 3
#define DDE_KIND_PRESENCE 4
#define DDE_KIND_ERROR 5

/* out = SHA-256(input[0..length)). input may be NULL when length is 0. */
int dde_sha256(const void *input, size_t length, uint8_t out[DDE_HASHBYTES]);

/* A fresh Ed25519 key pair from the system CSPRNG. Wipe secret_key when done (or keep it in a
 * key file, see dde_key_save). */
DDE_NODISCARD int dde_keypair(uint8_t public_key[DDE_PUBLICKEYBYTES], uint8_t secret_key[DDE_SECRETKEYBYTES]);

/* The key pair determined by a 32-byte seed (deterministic; PyNaCl's SigningKey(seed)).
 * (ABI 0.0 renamed dde_keypair_from_seed(public_key, secret_key, seed) to this: outputs last.) */
DDE_NODISCARD int dde_seed_keypair(const uint8_t seed[DDE_SEEDBYTES], uint8_t public_key[DDE_PUBLICKEYBYTES],
                                   uint8_t secret_key[DDE_SECRETKEYBYTES]);

/* A domain-separated signature of `kind` over a 32-byte hash. DDE_ERR_KEY when secret_key's
 * public half does not match its seed. */
DDE_NODISCARD int dde_sign(int kind, const uint8_t hash[DDE_HASHBYTES], const uint8_t secret_key[DDE_SECRETKEYBYTES],
                           uint8_t signature[DDE_SIGNATUREBYTES]);

/* DDE_OK when `signature` is a valid domain-separated signature of `kind` over `hash` by
 * `public_key`; DDE_ERR_SIGNATURE when it is not. */
DDE_NODISCARD int dde_verify_signature(int kind, const uint8_t hash[DDE_HASHBYTES],
                                       const uint8_t public_key[DDE_PUBLICKEYBYTES],
                                       const uint8_t signature[DDE_SIGNATUREBYTES]);

/* Plain Ed25519 (RFC 8032) verification of `message`, without domain separation; for checking
 * other protocols' signatures. DDE_OK or DDE_ERR_SIGNATURE. */
DDE_NODISCARD int dde_ed25519_verify(const uint8_t signature[DDE_SIGNATUREBYTES], const void *message, size_t length,
                                     const uint8_t public_key[DDE_PUBLICKEYBYTES]);

/* ---- Key files ----------------------------------------------------------------------------- */
/* Thread safety: any thread (two saves to one path: the last rename wins, the file is whole). */

/* Writes the key pair of `secret_key` to `path` (a small JSON document holding the seed and the
 * public key), mode 0600, atomically (temporary file, fsync, rename). DDE_ERR_IO on failure. */
DDE_NODISCARD int dde_key_save(const char *path, const uint8_t secret_key[DDE_SECRETKEYBYTES]);

/* Reads a key file written by dde_key_save or `dde keygen`. DDE_ERR_IO when it cannot be read,
 * DDE_ERR_KEY when it is damaged (the stored public key must match the seed). */
DDE_NODISCARD int dde_key_load(const char *path, uint8_t public_key[DDE_PUBLICKEYBYTES],
                               uint8_t secret_key[DDE_SECRETKEYBYTES]);

/* ---- Canonical JSON ------------------------------------------------------------------------ */
/* Thread safety: any thread. */

/* The RFC 8785 canonical form of the JSON document json[0..length). On success *out holds a
 * NUL-terminated copy (release with dde_free) and *out_length (if not NULL) its length.
 * Parser limits DDE_JSON_MAX_* (1 MiB, depth 64, ...); DDE_ERR_JSON, DDE_ERR_LIMIT or
 * DDE_ERR_DUPLICATE_KEY. */
int dde_canonicalize(const char *json, size_t length, char **out, size_t *out_length);

/* ---- Tasks --------------------------------------------------------------------------------- */

/* A parsed and fully checked compute task.
 * Thread safety: immutable; any number of threads may use one task at once. A call in flight
 * when another thread frees the task completes; later calls get DDE_ERR_CLOSED. */
typedef struct dde_task dde_task;

/* Builds and signs a task from a spec document:
 *   {"dappId": "wallet", "dappCodeHash": "<64 hex>", "action": "transfer",
 *    "payload": {...}, "raw": "send 5 frame to Alice",
 *    "requiredCapabilities": ["state.read", "state.write"], "state": {"key": "<base64>"},
 *    "stateKeys": ["key"], "maxExecutionSteps": 500, "maxFuel": 1000000000,
 *    "maxExecutionTime": 2000, "maxMemoryUsage": 1048576, "timestamp": 1764000000000}
 * Only dappId, dappCodeHash and action are required; timestamp defaults to the wall clock (give
 * one for reproducible task ids). The library computes inputHash, previousStateRoot, taskId and
 * the requester's signature with secret_key. On success *task is a new handle (dde_task_free).
 * "state" is the dApp's whole state. With "stateKeys" the task is a taskVersion 2 task: it
 * carries only those keys' entries (absent ones as null) and their proof against the root of
 * the whole state (docs/PROTOCOL.md sections 3 and 6.2); without, taskVersion 1, carrying it all.
 * The state must be the dApp's state as the requester's store holds it, or dde_store_commit
 * refuses the result as DDE_ERR_STALE (a fresh store starts every dApp empty);
 * dde_client_delegate builds the task from the store itself.
 * Errors: DDE_ERR_JSON/LIMIT/SCHEMA/ENCODING/NUMBER for a bad spec, DDE_ERR_KEY. */
int dde_task_create(const char *spec_json, size_t length, const uint8_t secret_key[DDE_SECRETKEYBYTES],
                    dde_task **task);

/* Parses a task document and checks everything an executor checks: schema, encodings,
 * inputHash, previousStateRoot, taskId (DDE_ERR_TASK_ID) and the requester's signature
 * (DDE_ERR_TASK_SIGNATURE). On success *task is a new handle; on failure *task is NULL. */
DDE_NODISCARD int dde_task_parse(const char *task_json, size_t length, dde_task **task);

/* Releases a task handle. NULL, a task already freed or a pointer that is no task: nothing. */
void dde_task_free(dde_task *task);

/* The task's canonical JSON (what to send to executors). *json: release with dde_free. */
int dde_task_json(const dde_task *task, char **json, size_t *length);

/* The task id as 64 lowercase hex characters and a NUL. */
int dde_task_id(const dde_task *task, char id_hex[DDE_HASHHEXBYTES]);

/* ---- Verification -------------------------------------------------------------------------- */

/* Executors whose proofs are refused whatever they prove (check 10).
 * Thread safety: dde_verify may use one policy from many threads at once; dde_policy_deny needs
 * the policy to itself (no other call on it meanwhile). */
typedef struct dde_policy dde_policy;

/* An empty policy (it refuses nobody). *policy: release with dde_policy_free. */
DDE_NODISCARD int dde_policy_new(dde_policy **policy);
/* Refuses public_key from now on. reason: DDE_ERR_EXECUTOR_BANNED or
 * DDE_ERR_EXECUTOR_BLACKLISTED (the code verify returns). */
DDE_NODISCARD int dde_policy_deny(dde_policy *policy, const uint8_t public_key[DDE_PUBLICKEYBYTES], int reason);
/* Releases a policy. NULL, a policy already freed or a pointer that is no policy: nothing. */
void dde_policy_free(dde_policy *policy);

/* Verifies a compute_result document against the task it answers, without re-execution
 * (docs/PROTOCOL.md section 7). Checks, in order, each with its own code:
 *   1 well-formed (DDE_ERR_JSON, _LIMIT, _DUPLICATE_KEY, _SCHEMA, _ENCODING, _VERSION, _NUMBER,
 *     _RESULT_MISMATCH)     2 DDE_ERR_TASK_MISMATCH      3 DDE_ERR_CODE_HASH_MISMATCH
 *   4 DDE_ERR_INPUT_HASH_MISMATCH   5 DDE_ERR_CAPABILITIES   6 DDE_ERR_STEPS_EXCEEDED, _FUEL_EXCEEDED
 *   7 DDE_ERR_RESULT_HASH, _WRITES_HASH   8 DDE_ERR_PREVIOUS_STATE_ROOT, _CAPABILITIES (stateWrites
 *     not empty but proof.capabilitiesUsed lacks "state.write"), _NEXT_STATE_ROOT
 *   9 DDE_ERR_PROOF_SIGNATURE   10 DDE_ERR_EXECUTOR_BLACKLISTED, _EXECUTOR_BANNED
 * policy may be NULL (accept every executor; a freed policy is DDE_ERR_CLOSED, never taken for
 * NULL). Pure: changes nothing; thread-safe. */
DDE_NODISCARD int dde_verify(const dde_task *task, const char *result_json, size_t length, const dde_policy *policy);

/* ---- The store: receipt chain, dApp state, reputation (one SQLite file) --------------------- */

/* An open store.
 * Thread safety: one store may be shared by threads; every operation is atomic. A call in flight
 * when another thread closes the store completes or fails with DDE_ERR_CLOSED. Several
 * processes may open the same file (writes serialise on SQLite's lock). */
typedef struct dde_store dde_store;

/* Opens or creates the store at `path` (WAL, synchronous=FULL: a commit that returned survives a
 * crash or power loss). options_json may be NULL, or reputation settings:
 *   {"banAfterConsecutiveInvalid": 3, "banDurationMs": 600000, "blacklistFailureRate": 0.5,
 *    "blacklistMinAttempts": 5, "halfLifeMs": 86400000, "confidenceZ": 1.96}
 * A store written by an older dde is upgraded in place here, each step in one transaction with
 * its version, so a crash leaves a whole version (schema 3: the state trees built from the rows;
 * schema 4: the trees' rows rewritten shorter, about 4 s at a million keys; schema 5: the rows
 * of the chunks now derived in memory dropped, one scan: 0.4 s at a million keys with the file
 * in the page cache, 2.6 s from a cold one); an older dde then
 * refuses the file with DDE_ERR_SCHEMA_VERSION (docs/STORE.md).
 * Errors: DDE_ERR_STORE (SQLite, with its message), DDE_ERR_SCHEMA_VERSION (written by a newer
 * dde; the file is left untouched), DDE_ERR_ARGUMENT/SCHEMA for bad options. */
int dde_store_open(const char *path, const char *options_json, size_t options_length, dde_store **store);

/* Closes the file and releases the handle, in every case. Every commit that returned DDE_OK was
 * already durable; what close can still report is SQLite's last word on the file.
 * Returns DDE_OK (also for NULL); DDE_ERR_STORE when SQLite reports a failure while closing
 * (dde_errmsg() says which; e.g. statements of a call on another thread still running: the
 * file is closed when they end); DDE_ERR_CLOSED for a store already closed (nothing happens);
 * DDE_ERR_ARGUMENT for a pointer that is no store. */
int dde_store_close(dde_store *store);

/* Verifies result_json against task again (with the store's reputation as policy) and commits
 * it: refuses a task already committed (DDE_ERR_DUPLICATE) or made on a state the dApp has left
 * (DDE_ERR_STALE), then appends the receipt signed by identity_secret_key, the proof, the result
 * and the state writes, and applies the writes, in ONE transaction: a crash at any instant leaves
 * all of it or none. Any failure changes nothing. now_ms = 0 means the wall clock. On success,
 * if receipt_json is not NULL, *receipt_json is the receipt (release with dde_free):
 * receiptVersion 2, its "assurance" {"confirmedBy":[],"how":"direct","validated":false}. */
DDE_NODISCARD int dde_store_commit(dde_store *store, const dde_task *task, const char *result_json, size_t length,
                                   const uint8_t identity_secret_key[DDE_SECRETKEYBYTES], uint64_t now_ms,
                                   char **receipt_json, size_t *receipt_length);

/* The chain head: *count receipts (count must not be NULL); the last receipt's hash and the node
 * state root as hex (either buffer may be NULL). An empty chain gives count 0, an empty hash and
 * the empty root. */
int dde_store_head(dde_store *store, uint64_t *count, char receipt_hash_hex[DDE_HASHHEXBYTES],
                   char state_root_hex[DDE_HASHHEXBYTES]);

/* Re-checks every link, hash and both signatures of every receipt, and replays all stored writes
 * from the empty state to reproduce every root. DDE_ERR_CHAIN_BROKEN names the first bad receipt
 * in dde_errmsg(). *checked (may be NULL) is the number of receipts checked. */
DDE_NODISCARD int dde_store_verify_chain(dde_store *store, uint64_t *checked);

/* The whole chain as JSON lines, one {"computeResult", "receipt", "task"} object per receipt in
 * index order, each line ending in one '\n'. *out: release with dde_free. */
int dde_store_export(dde_store *store, char **out, size_t *out_length);

/* A policy that refuses the executors the store's reputation bans or blacklists at now_ms
 * (0: now), for dde_verify. *policy: release with dde_policy_free. */
DDE_NODISCARD int dde_store_policy(dde_store *store, uint64_t now_ms, dde_policy **policy);

/* Reputation (docs/STORE.md): counts decay with a half-life; 3 invalid proofs in a row ban an
 * executor for a while; more than 50% failures over at least 5 attempts blacklist it; a liar
 * convicted (by evidence, or by a pinned executor in the audited mode) is blacklisted for good.
 * Times are Unix ms, 0 meaning now. Records are JSON objects: {"executorPublicKey",
 * "successfulProofs", "failedProofs", "timeouts", "attempts", "failureRate", "successLowerBound",
 * "latencyAvg", "latencyCount", "lastSeen", "consecutiveInvalid", "bannedUntil", "banned",
 * "blacklisted", "validated", "convictedAt", "convicted"}: "validated" (whole) counts results
 * other executors' proofs confirmed since its last signed failure; "convictedAt" is 0 when never
 * convicted. dde_reputation_clear forgets a conviction too. */
DDE_NODISCARD int dde_reputation_record_success(dde_store *store, const uint8_t public_key[DDE_PUBLICKEYBYTES],
                                                uint64_t latency_ms, uint64_t now_ms);
/* An invalid proof. */
DDE_NODISCARD int dde_reputation_record_failure(dde_store *store, const uint8_t public_key[DDE_PUBLICKEYBYTES],
                                                uint64_t now_ms);
/* No answer in time: a failed attempt, never a ban. */
DDE_NODISCARD int dde_reputation_record_timeout(dde_store *store, const uint8_t public_key[DDE_PUBLICKEYBYTES],
                                                uint64_t now_ms);
/* One record as JSON (*out: dde_free); DDE_ERR_NOT_FOUND for an executor never seen. */
int dde_reputation_get(dde_store *store, const uint8_t public_key[DDE_PUBLICKEYBYTES], uint64_t now_ms,
                       char **out, size_t *out_length);
/* *banned and *blacklisted (either may be NULL) set to 1 or 0. */
DDE_NODISCARD int dde_reputation_status(dde_store *store, const uint8_t public_key[DDE_PUBLICKEYBYTES], uint64_t now_ms,
                                        int *banned, int *blacklisted);
/* Every record, as a JSON array in routing order (usable executors first, then by the lower
 * confidence bound of their success rate, then by lower average latency). */
int dde_reputation_all(dde_store *store, uint64_t now_ms, char **out, size_t *out_length);
/* Forgets one executor (DDE_ERR_NOT_FOUND if unknown) or all of them. */
DDE_NODISCARD int dde_reputation_clear(dde_store *store, const uint8_t public_key[DDE_PUBLICKEYBYTES]);
DDE_NODISCARD int dde_reputation_clear_all(dde_store *store);

/* ---- Delegating client (docs/PROTOCOL.md sections 10 and 11) -------------------------------- */

/* A client delegates tasks to executors on the network and commits their verified results to a
 * store. Over MQTT it takes four calls (error checks left out):
 *
 *   dde_client *c;
 *   dde_client_new_mqtt("mqtt://192.168.1.10:1883", "requester.db", sk, &c);
 *   dde_client_discover(c, 1000, NULL);                   // executors announce themselves
 *   dde_client_delegate(c, spec, strlen(spec), NULL, 0, &report, NULL);   // commit or a code
 *   dde_client_free(c);
 *
 * Thread safety: a client is used by one thread at a time (different clients on different
 * threads are fine); each call blocks the caller until it returns, and dde_client_free must not
 * overlap another call on the same client. See examples/c/delegate.c. */
typedef struct dde_client dde_client;

/* Opens (or creates) the store at store_path and connects to the MQTT broker at broker_url
 * ("mqtt://host[:port]", port 1883 by default; a name, IPv4 or [IPv6]; "mqtts://host[:port]",
 * port 8883, is TLS verified against the system store /etc/ssl/certs: for a CA file, a client
 * certificate or a password use dde_client_new_mqtt_v2) as the requester whose key pair is
 * secret_key; subscribes to this requester's results and to executors' presence. Returns once
 * the broker has accepted the connection (at most 5 s, the name lookup included).
 *  - MQTT 3.1.1, QoS 1, client id "dde-req-" and the first 12 hex of the public key, with a
 *    persistent session: the broker keeps queued results while the client is away. Two clients of
 *    the same key on one broker take the session from each other: use one per key.
 *  - The connection is kept by a background thread of the library: it reconnects by itself
 *    (after 1 s, then at most every 4 s) and subscribes again; offers made while disconnected are
 *    sent on reconnect. Nothing of it is visible to the caller beyond dde_client_* calls.
 *  - libmosquitto (libmosquitto.so.1, or the file named by the DDE_LIBMOSQUITTO environment
 *    variable) is loaded at run time, so only programs that call this need it installed.
 * The secret key is copied (and wiped when the client is freed); the strings are not kept.
 * On success *client is a new handle (dde_client_free); on failure *client is NULL and nothing
 * is left open. Errors: DDE_ERR_ARGUMENT (NULL, a malformed URL), DDE_ERR_KEY,
 * DDE_ERR_STORE / DDE_ERR_SCHEMA_VERSION (the store), DDE_ERR_TRANSPORT (libmosquitto missing,
 * connection refused, no CONNACK in time; dde_errmsg() says which and what to do). */
int dde_client_new_mqtt(const char *broker_url, const char *store_path,
                        const uint8_t secret_key[DDE_SECRETKEYBYTES], dde_client **client);

/* dde_client_new_mqtt with connection options (docs/NETWORK.md section 1, "TLS and
 * credentials"): options_json (options_length bytes; NULL: none, as dde_client_new_mqtt) is a
 * JSON object whose members are all optional; an unknown member is refused (DDE_ERR_SCHEMA), so
 * a misspelt name never leaves a connection less checked than asked:
 *   "caFile":      PEM file of the CAs that signed the broker's certificate (mqtts:// only; with
 *                  neither caFile nor caPath, the system store /etc/ssl/certs)
 *   "caPath":      a folder of hashed CA certificates (openssl rehash)
 *   "certFile", "keyFile": this device's certificate and its unencrypted key (PEM), for brokers
 *                  that require one (mutual TLS); both or neither
 *   "pskFile":     instead of certificates, TLS with a pre-shared key: a file holding one line
 *                  IDENTITY:HEXKEY (as Mosquitto's psk_file)
 *   "username":    the MQTT user name (at most DDE_MAX_USERNAME_BYTES)
 *   "passwordFile": a file holding the password on one line, or
 *   "passwordEnv": the name of an environment variable holding it (mqtts:// only: a password is
 *                  never sent in clear text)
 *   "clientId":    the MQTT client id (default "dde-req-" and 12 hex of the key; at most
 *                  DDE_MAX_CLIENT_ID_BYTES): two requesters of one key on one broker need two
 *   "connectTimeoutMs": how long to wait for the broker, the name lookup and TLS included
 *                  (default 5000, at most 600000)
 * e.g. {"caFile":"/etc/dde/ca.crt","certFile":"/etc/dde/pi.crt","keyFile":"/etc/dde/pi.key"}.
 * Secrets are passed as files or a variable's name, never as text in the document: the library
 * reads the password and the pre-shared key (at most DDE_MAX_CREDENTIAL_FILE_BYTES) when it
 * connects, hands them to libmosquitto (which keeps its copy to reconnect) and wipes its own;
 * no message of the library ever contains them. The server certificate is always verified,
 * its host name included; there is no option to turn that off.
 * Errors: those of dde_client_new_mqtt, and DDE_ERR_JSON / DDE_ERR_SCHEMA / DDE_ERR_ARGUMENT for
 * the options (TLS options with mqtt://, a password without a user name, a certificate without
 * its key, certificates and a PSK together), DDE_ERR_IO for a TLS or credentials file that
 * cannot be read or is malformed, DDE_ERR_TRANSPORT with dde_errmsg() naming the cause in one
 * line: the broker's certificate not signed by a trusted CA, its host name mismatch, an expired
 * certificate (the broker's or this client's), a client certificate required or refused, a
 * key that does not belong to its certificate, the user name or password refused (the CONNACK
 * reason), a name that does not resolve in time, the connection refused. A refused argument
 * or option creates no store; a failed connection closes it again (empty if it was new). */
int dde_client_new_mqtt_v2(const char *broker_url, const char *store_path,
                           const uint8_t secret_key[DDE_SECRETKEYBYTES], const char *options_json,
                           size_t options_length, dde_client **client);

/* A transport supplied by the caller, for links other than MQTT (a serial line, a radio): a
 * table of callbacks, as sqlite3_io_methods is. `version` says which members exist: set it to
 * DDE_TRANSPORT_METHODS_VERSION of the header you compile against (1). A later version only adds
 * members at the end, and a library reads no member the version does not have; a library older
 * than the version refuses it (DDE_ERR_VERSION: dde_transport_methods_version() is the newest it
 * reads). Each callback returns DDE_OK, or a DDE_ERR_* code (DDE_ERR_TRANSPORT when nothing more
 * precise applies), which the client call that needed it returns.
 *  publish:   send length bytes on topic (NUL-terminated); retain != 0 keeps it for later
 *             subscribers (MQTT retained).
 *  subscribe / unsubscribe: MQTT topic filters ("+" one level, "#" the rest). unsubscribe may be NULL.
 *  receive:   wait at most timeout_ms for one message of a subscribed topic. A message: return
 *             DDE_OK with *received = 1 and *topic (NUL-terminated, at most DDE_MAX_TOPIC_BYTES;
 *             a longer one is dropped), *payload and *length set, valid until the next receive
 *             call. None in time: DDE_OK with *received = 0. Or an error code. Delivery may repeat
 *             messages (QoS 1).
 * The callbacks are called only from inside dde_client_* calls, on the calling thread. */
typedef struct dde_transport_methods {
    int version; /* 1 */
    /* version 1 */
    int (*publish)(void *context, const char *topic, const uint8_t *payload, size_t length, int retain);
    int (*subscribe)(void *context, const char *filter);
    int (*unsubscribe)(void *context, const char *filter);
    int (*receive)(void *context, int timeout_ms, const char **topic, const uint8_t **payload, size_t *length,
                   int *received);
} dde_transport_methods;

/* Like dde_client_new_mqtt, over the caller's transport: opens (or creates) the store at
 * store_path and subscribes (through methods->subscribe) to this requester's results and to
 * executors' presence. *methods is copied during the call; context is passed to every callback and
 * must stay valid until dde_client_free.
 * Errors: DDE_ERR_ARGUMENT (a NULL pointer, a version below 1, a required callback NULL),
 * DDE_ERR_VERSION (methods->version newer than this library reads), DDE_ERR_KEY, the store's
 * codes, or what subscribe returned. */
int dde_client_new(const char *store_path, const uint8_t secret_key[DDE_SECRETKEYBYTES],
                   const dde_transport_methods *methods, void *context, dde_client **client);

/* Closes the store and frees the client, in every case. Over MQTT it first waits (at most 5 s)
 * for the broker to acknowledge what was published, then disconnects.
 * Returns DDE_OK (also for NULL) when everything published was acknowledged and the store closed
 * cleanly; DDE_ERR_TRANSPORT when the broker did not acknowledge every publish in time (those
 * messages may be lost: a last offer, evidence); DDE_ERR_STORE when closing the store failed
 * (the first failure is returned, dde_errmsg() says which); DDE_ERR_CLOSED for a client already
 * freed (nothing happens); DDE_ERR_ARGUMENT for a pointer that is no client. */
int dde_client_free(dde_client *client);

/* Publishes a WebAssembly module (retained, on dde/v1/code/<sha256>) so executors can fetch it;
 * code_hash (may be NULL) receives its SHA-256. Over MQTT it returns once the broker has
 * acknowledged it (DDE_ERR_TRANSPORT if not within 5 s). DDE_ERR_LIMIT for a module over DDE_MAX_MODULE_BYTES (16 MiB).
 * Afterwards, while the client receives (dde_client_discover, dde_client_delegate), it also
 * answers executors' code requests for the module, at most 32 times per call: on a broker whose
 * retained copy does not reach every executor (a RabbitMQ cluster keeps it on one node). */
int dde_client_publish_code(dde_client *client, const void *module, size_t length, uint8_t code_hash[DDE_HASHBYTES]);

/* Listens timeout_ms for executors' presence messages (retained ones arrive at once; 1000 ms is
 * plenty on a LAN); *count (may be NULL) = executors known. Executors also become known during
 * dde_client_delegate, so calling this once after creating the client is enough. */
int dde_client_discover(dde_client *client, uint32_t timeout_ms, size_t *count);

/* Delegates one task and commits the accepted result to the store's receipt chain.
 *  spec:    the document dde_task_create takes, its "state" ignored: the task (taskVersion 2)
 *           carries the store's entries of "stateKeys" with their proof against the dApp's
 *           current root (every key of a dApp of at most 64 keys when it names none), so the
 *           result can be committed; when nothing is accepted and executors asked answered a
 *           signed DDE_ERR_STATE_KEY_OUTSIDE (the execution read a key the task does not carry),
 *           it is sent once more with every key they named (the report's "retriedWithKeys").
 *           The entries carried go to every executor asked: partial state limits cost, not who
 *           sees the state.
 *  options: NULL for defaults, or {"mode":"first_valid"|"quorum"|"audited","quorum":k,"fanout":n,
 *           "deadlineMs":ms,"lingerMs":ms,"critical":bool,"allowFallback":bool,
 *           "provenAfterSuccesses":n,"errorTarget":x,"liarShare":x,"auditFloor":x,
 *           "pinned":[pk hex],"shareEvidence":bool}, every field optional (first_valid, fanout 3,
 *           10 s; audited: errorTarget 0.001, liarShare 0.2, auditFloor 0.01; evidence shared).
 *           errorTarget must be in (0, 1), liarShare in [0, 1), auditFloor in [0, 1], else
 *           DDE_ERR_ARGUMENT; fanout and quorum are 1 to DDE_MAX_EXECUTORS (64), and "pinned"
 *           holds at most DDE_MAX_EXECUTORS keys.
 *           What each mode guarantees (docs/PROTOCOL.md section 11): first_valid trusts the
 *           fastest signer, so a consistent liar that answers first is committed; quorum k
 *           commits what k distinct executors agree on (k fresh keys of one attacker can agree);
 *           audited replicates executors on probation, audits trusted ones at random after they
 *           answered, escalates disagreements to validated or pinned executors and blacklists
 *           proven liars for good, keeping forged commits near errorTarget when at most
 *           liarShare of executors lie. "pinned": executors you run; they audit first and their
 *           word decides. Without a pinned or validated executor the report's "caveats" say that
 *           a Sybil majority could not be excluded.
 *  report:  (may be NULL) canonical JSON released with dde_free: {"taskId","mode","asked":[pk],
 *           "answers":[{"executor","verdict","status","latencyMs","detail"}],"receipt":<receipt>|null,
 *           "result":<result>|null,"failure":{"code","message"}|null,"evidenceIds":[...],
 *           "assurance":{"how","confirmedBy":[pk],"validated":bool}|null,"caveats":[string],
 *           "retriedWithKeys":[key]} (keys added for the second try; empty when there was one).
 *           verdict is one of accepted, agreed, unresolved, disagreed, invalid, refused,
 *           unattributed, duplicate, unsolicited, error, timeout (docs/PROTOCOL.md section 11).
 *           It is set whenever the delegation ran, also when it returns NO_RESULT or QUORUM_NOT_REACHED.
 * Blocks until a decision or the deadline. Returns DDE_OK when a receipt was committed;
 * DDE_ERR_NO_RESULT or DDE_ERR_QUORUM_NOT_REACHED when no acceptable result came before the
 * deadline (the report says who answered what); DDE_ERR_UNRESOLVED (audited) when proofs
 * disagreed and no validated majority decided; DDE_ERR_NO_EXECUTOR when no known executor fits
 * (nothing was sent); DDE_ERR_TRANSPORT; a store or commit code otherwise. Evidence other
 * requesters share (docs/PROTOCOL.md section 12) is read during the call: self-evident evidence
 * blacklists its liar; evidence that needs a re-execution is kept unjudged. */
DDE_NODISCARD int dde_client_delegate(dde_client *client, const char *spec, size_t spec_length, const char *options,
                                      size_t options_length, char **report, size_t *report_length);

/* ---- Fraud evidence (docs/PROTOCOL.md section 12) ------------------------------------------- */

/* A document is {"evidenceVersion":1,"proofs":[proof, proof],"task":task}: two validly signed
 * proofs of one task that disagree, sorted by proofHash (H(proof) with its signature; unsorted:
 * DDE_ERR_SCHEMA). Deterministic execution has one right answer, so at least one
 * signer lied. Naming the liar takes a re-execution of the task (`dde evidence check`), except
 * when both proofs carry the same key (it contradicted itself) or a proof fails a check of its
 * own signed fields against the task. libdde.so does not execute WebAssembly. */

/* Checks a document: the task (id, requester signature), both proof signatures, one task, that
 * they disagree. Pure: reads and changes no store. verdict and verdict_length (each may be NULL;
 * release *verdict with dde_free) receive {"evidenceId","taskId","signers":[pk],"liars":[pk],
 * "how":"equivocation"|"signed_fields"|null}: evidenceId is H(document), signers the two
 * proofs' keys in the document's order (one key twice when it equivocated), liars empty and how
 * null when unjudged.
 * Returns DDE_OK when the document names its liar by itself; DDE_ERR_EVIDENCE_UNJUDGED when it is
 * sound but only a re-execution can name the liar (*verdict is still set); else what is wrong
 * with it, *verdict NULL: DDE_ERR_PROOF_SIGNATURE (a signature does not verify),
 * DDE_ERR_TASK_MISMATCH (a proof of another task), DDE_ERR_EVIDENCE_AGREES (the proofs agree),
 * DDE_ERR_SCHEMA, DDE_ERR_VERSION (evidenceVersion), the JSON and task codes (DDE_ERR_TASK_ID,
 * _TASK_SIGNATURE), DDE_ERR_ARGUMENT for a NULL document or a length over DDE_MAX_INPUT_BYTES (64 MiB). */
DDE_NODISCARD int dde_evidence_check(const char *document, size_t length, char **verdict, size_t *verdict_length);

/* Checks a document (as dde_evidence_check) and records it in the store; a liar it names by
 * itself is blacklisted there for good, in the same transaction. now_ms: Unix ms, 0 for now.
 * Returns DDE_OK when the liar is blacklisted (also when the document was known: nothing
 * changes), DDE_ERR_EVIDENCE_UNJUDGED when the document is kept without a verdict (nobody
 * blacklisted; also when it was known unjudged), or dde_evidence_check's codes (nothing
 * recorded), DDE_ERR_STORE. */
DDE_NODISCARD int dde_store_evidence_import(dde_store *store, const char *document, size_t length, uint64_t now_ms);

/* Every portable evidence document kept in the store (made in its delegations or imported), each
 * once, oldest first: one canonical JSON document per line, each line ending in '\n'. *lines
 * (must not be NULL; release with dde_free) is "" when there is none; *length (may be NULL) its
 * length. */
int dde_store_evidence_export(dde_store *store, char **lines, size_t *length);

/* Checks a document and, when it does not name its liar by itself, has executors this client
 * trusts re-run its task (a copy under this client's key, neither signer asked, nothing
 * committed) and convicts the liar in the client's store only when a pinned executor stood behind
 * the outcome (validated keys may be one attacker's: PROTOCOL.md section 11). options: as
 * dde_client_delegate's (the mode is always audited, every answer audited; NULL for the
 * defaults). verdict (may be NULL; release with dde_free):
 * as dde_evidence_check's, "how" "reexecution" when executors named the liar; "liars" is empty
 * and "how" null when the document was known before with its verdict. Blocks up to the options'
 * deadline. Returns DDE_OK when the liar is blacklisted, DDE_ERR_EVIDENCE_UNJUDGED when no trusted
 * executor confirmed an outcome (kept, nobody blacklisted), dde_evidence_check's codes,
 * DDE_ERR_NO_EXECUTOR, DDE_ERR_TRANSPORT. */
DDE_NODISCARD int dde_client_check_evidence(dde_client *client, const char *document, size_t length,
                                            const char *options, size_t options_length, char **verdict,
                                            size_t *verdict_length);

#ifdef __cplusplus
}
#endif

#endif /* DDE_H */
