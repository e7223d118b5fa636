// C shim under the Swift core: the C libraries dde stands on (libsodium, SQLite, libc) and the
// small pieces that are better written in C (the thread-local error slot behind dde_errmsg).
// Nothing here is public API: the public header is include/dde.h at the project root.
#ifndef CDDE_H
#define CDDE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sqlite3.h>

// Records the status and message of the last failure on the calling thread (copied, truncated
// to DDE_ERRMSGBYTES-1 bytes). Read back through dde_errcode()/dde_errmsg().
void cdde_set_error(int code, const char *message, size_t length);
void cdde_clear_error(void);

// Initialises libsodium once; safe from any thread. Returns 0 on success.
int cdde_init(void);

// Wall-clock Unix time in milliseconds (CLOCK_REALTIME); 0 if the clock is unavailable.
uint64_t cdde_now_ms(void);

// Writes `length` bytes to `path` readable by the owner only (mode 0600): written to a temporary
// file in the same folder, fsynced, then renamed over `path`. Returns 0, or an errno value.
int cdde_write_private_file(const char *path, const uint8_t *bytes, size_t length);

// Reads at most `capacity` bytes of `path` into `buffer`; sets *length. Returns 0, an errno value,
// or EFBIG when the file holds more than `capacity` bytes.
int cdde_read_file(const char *path, uint8_t *buffer, size_t capacity, size_t *length);
// The same from an open descriptor (standard input, a pipe), which it leaves open.
int cdde_read_fd(int fd, uint8_t *buffer, size_t capacity, size_t *length);

// ---- Handles (cdde_handles.c): the table of live dde_task/dde_policy/dde_store/dde_client
// handles. A handle is a number naming a slot and its generation, never an address, so a freed,
// closed or foreign handle is recognised without reading memory through it.
// Kinds 1...15. The object pointer is the caller's (a retained Swift object); the table only
// keeps it.

// Registers object under kind; returns its handle, or 0 when out of memory (or kind is bad).
uintptr_t cdde_handle_add(void *object, int kind);
// The table's lock: held around cdde_handle_find_locked and the caller's retain of what it
// returns, so that no cdde_handle_remove can release the object in between.
void cdde_handles_lock(void);
void cdde_handles_unlock(void);
// The object of a live handle of `kind`; NULL with *status 1 (freed or closed) or 2 (not a
// handle of that kind). *status 0 on success.
void *cdde_handle_find_locked(uintptr_t handle, int kind, int *status);
// Takes a live handle out of the table and returns its object (the caller now owns the table's
// reference); NULL with *status 1 or 2 as above. A removed handle is never valid again.
void *cdde_handle_remove(uintptr_t handle, int kind, int *status);

// ---- The caller's transport callbacks: dde_transport_methods of include/dde.h, whose layout
// this struct repeats for Swift (the core does not see dde.h; cdde.c checks at compile time that
// the two agree member by member). Only cdde_transport_read reads the caller's struct, so only
// it knows which members each version has.
typedef struct cdde_transport_methods {
    int version;
    int (*publish)(void *context, const char *topic, const uint8_t *payload, size_t length, int retain);
    int (*subscribe)(void *context, const char *filter);
    int (*unsubscribe)(void *context, const char *filter); // may be NULL
    int (*receive)(void *context, int timeout_ms, const char **topic, const uint8_t **payload, size_t *length,
                   int *received);
} cdde_transport_methods;

// Copies the members of *methods (a const dde_transport_methods *) that its version has into
// *out (the others NULL); out->version = methods->version. Returns 0, or -1 methods is NULL,
// -2 version < 1, -3 version newer than this library reads (DDE_TRANSPORT_METHODS_VERSION),
// -4 publish, subscribe or receive is NULL.
int cdde_transport_read(const void *methods, cdde_transport_methods *out);

// ---- MQTT client on libmosquitto loaded at run time (cdde_mqtt.c; used by MQTTTransport).
// Every function that can fail writes a one-line reason into `err` (capacity `err_cap`).

typedef struct cdde_mqtt cdde_mqtt;

// One received message: topic (NUL-terminated) and payload live in the same allocation.
typedef struct cdde_mqtt_message {
    struct cdde_mqtt_message *next;
    char *topic;
    uint8_t *payload;
    size_t length;
} cdde_mqtt_message;

// TLS and credentials. Paths and a variable's name only: the secrets (password, pre-shared key)
// are read by cdde_mqtt_open, handed to libmosquitto and wiped. NULL: not given.
typedef struct cdde_mqtt_security {
    int tls;                    // 1: TLS, the server certificate verified with its host name
    const char *ca_file;        // PEM CAs the broker's certificate must chain to
    const char *ca_path;        // a folder of hashed CA certificates; neither: /etc/ssl/certs
    const char *cert_file;      // client certificate (PEM) and its unencrypted key, for mutual TLS
    const char *key_file;
    const char *psk_file;       // instead of certificates: one line IDENTITY:HEXKEY
    const char *username;
    const char *password_file;  // one line
    const char *password_env;   // or the name of an environment variable holding it
} cdde_mqtt_security;

typedef struct cdde_mqtt_options {
    size_t max_message_bytes;   // larger arriving payloads are dropped (with a notice)
    size_t max_queued_messages; // receive queue bounds: what does not fit is dropped (notice)
    size_t max_queued_bytes;
    int keepalive_seconds;      // at least 5
    int connect_timeout_ms;     // wait for CONNACK in cdde_mqtt_open
    int reconnect_max_seconds;  // reconnect back-off: 1 s, growing up to this
    int clean_session;          // 1: no session kept on the broker (one-shot publishers)
    cdde_mqtt_security security;
} cdde_mqtt_options;

typedef struct cdde_mqtt_counters {
    int connected;
    int connects;               // accepted CONNACKs (more than 1: it reconnected)
    uint64_t dropped;           // messages dropped on receipt (too large, queue full)
    uint64_t queued_messages;
    uint64_t unacked;           // QoS-1 publishes the broker has not acknowledged yet
} cdde_mqtt_counters;

// Loads libmosquitto.so.1 (once), connects (clean_session false unless asked), QoS 1, TCP_NODELAY, starts
// the network thread and waits for the CONNACK, the name lookup included, at most
// connect_timeout_ms. NULL on failure, with *status a DDE status (DDE_ERR_TRANSPORT; DDE_ERR_IO for
// a TLS or credentials file that cannot be read or is malformed) and the reason in err.
cdde_mqtt *cdde_mqtt_open(const char *host, int port, const char *client_id,
                          const cdde_mqtt_options *options, int *status, char *err, size_t err_cap);
// QoS 1; kept and sent after a reconnect if the connection is down. 0 or -1.
int cdde_mqtt_publish(cdde_mqtt *m, const char *topic, const uint8_t *payload, size_t length,
                      int retain, char *err, size_t err_cap);
// QoS 1; remembered and subscribed again after every reconnect. 0 or -1.
int cdde_mqtt_subscribe(cdde_mqtt *m, const char *filter, char *err, size_t err_cap);
// While disconnected, remembered and sent at the next CONNACK (a kept session would keep it).
int cdde_mqtt_unsubscribe(cdde_mqtt *m, const char *filter, char *err, size_t err_cap);
// The next queued message, waiting at most timeout_ms; NULL if none. Free with
// cdde_mqtt_message_free.
cdde_mqtt_message *cdde_mqtt_receive(cdde_mqtt *m, int timeout_ms);
void cdde_mqtt_message_free(cdde_mqtt_message *message);
// Copies the oldest pending log line (reconnects, dropped messages and why) into buffer;
// 1 if there was one, else 0.
int cdde_mqtt_take_notice(cdde_mqtt *m, char *buffer, size_t capacity);
// Waits at most timeout_ms until the broker acknowledged every publish; returns how many are
// still unacknowledged (0: all delivered to the broker).
int cdde_mqtt_flush(cdde_mqtt *m, int timeout_ms);
void cdde_mqtt_stats(cdde_mqtt *m, cdde_mqtt_counters *out);
// Disconnects cleanly (the broker keeps the session), stops the thread, frees everything.
void cdde_mqtt_close(cdde_mqtt *m);

// ---- Latency probes (cdde_trace.c), for benchmarks/trace.py. Compiled in only by a profiling
// build (`-Xcc -DDDE_TRACE`, as benchmarks/network.sh builds it); in every other build, the
// shipped libdde.so and `dde` included, cdde_trace is an empty inline function and each probe
// compiles to nothing. In a profiling build, with DDE_TRACE=PREFIX in the environment each
// probe records the time it ran and the process writes PREFIX.<pid> at exit; without it a probe
// is one load and one branch. Numbers, not names, so that recording stays cheap;
// benchmarks/trace.py reads the names from these lines.
#define CDDE_TRACE_DELEGATE_START 10     // Delegator.delegate entered
#define CDDE_TRACE_TASK_SIGNED 11        // task built from the stored state and signed
#define CDDE_TRACE_OFFER_PUBLISH 12      // offer handed to the transport
#define CDDE_TRACE_ANSWER_TAKEN 13       // requester: an answer taken from the transport
#define CDDE_TRACE_ANSWER_JUDGED 14      // requester: the session has parsed and verified it
#define CDDE_TRACE_SCORES_WRITTEN 15     // requester: scores updated in the commit's transaction
#define CDDE_TRACE_COMMIT_CHECKED 16     // Store.commit: result re-checked, transaction next
#define CDDE_TRACE_COMMIT_HEAD 17        // Store.commit: duplicate, stale, head checks done
#define CDDE_TRACE_COMMIT_STATE 18       // Store.commit: writes applied, roots recomputed
#define CDDE_TRACE_COMMIT_RECEIPT 19     // Store.commit: receipt signed and inserted
#define CDDE_TRACE_COMMIT_DURABLE 20     // requester: the transaction committed (fsync done)
#define CDDE_TRACE_DELEGATE_END 21       // Delegator.delegate returns
#define CDDE_TRACE_NODE_TAKEN 30         // executor node: a message taken from the transport
#define CDDE_TRACE_NODE_TASK_CHECKED 31  // executor node: offer parsed, task id and signature checked
#define CDDE_TRACE_NODE_EXECUTED 32      // executor node: run, proof built and signed
#define CDDE_TRACE_NODE_RESULT_PUBLISH 33 // executor node: result handed to the transport
#define CDDE_TRACE_MQTT_ARRIVED 40       // MQTT network thread: a message arrived
#define CDDE_TRACE_MQTT_RECEIVED 41      // MQTT: the receiving thread took it from the queue
#ifdef DDE_TRACE
void cdde_trace(int32_t point);
#else
static inline void cdde_trace(int32_t point) { (void)point; }
#endif

// Public in include/dde.h, defined in cdde.c.
int dde_errcode(void);
const char *dde_errmsg(void);

#endif
