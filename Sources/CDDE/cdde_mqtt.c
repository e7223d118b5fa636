// MQTT client under MQTTTransport (Sources/DDE/Network/MQTTTransport.swift), on libmosquitto.
//
// libmosquitto is loaded at run time (dlopen "libmosquitto.so.1"), never linked: libdde.so's
// NEEDED list stays libc, libm, libsodium, libsqlite3, and a program that never opens an MQTT
// transport does not need libmosquitto installed at all.
//
// Threading: a network thread reads the socket, answers keepalives and reconnects. Its callbacks
// only copy each arriving message into a queue guarded by `lock`; cdde_mqtt_receive takes from
// that queue in the caller's thread, waiting at most the given time. Publishing is safe from any
// thread.
//   Plain TCP: the network thread is the shim's own (network_thread): it polls the socket and runs
// libmosquitto's read, write and keepalive steps under `io` (loop_turn). A publishing thread
// writes its packet to the socket itself, under `io` too (libmosquitto writes at once when no
// thread of its own runs the loop). A thread in cdde_mqtt_receive that finds the queue empty runs
// the turns itself while the network thread waits (receive_turns), so the message it returns was
// read in its own thread. Waking another thread to write each publish, and to hand over each
// message, cost about 25 us a hop and 23 us a message (BENCHMARKS.md, Network). `io` keeps the
// socket from being closed or replaced (a lost connection, a reconnect) while another thread
// writes to it; whoever holds both takes `io` first.
//   TLS: libmosquitto's own thread (mosquitto_loop_start) reads and writes, since one OpenSSL
// connection must not be read and written from two threads at once; receivers wait on `arrived`.
// The queue is bounded in messages and bytes: what does not fit, and any
// message over max_message_bytes, is dropped and a notice saying why is queued for the caller to log.
//
// Sessions: clean_session is false with the caller's stable client id, so the broker keeps the
// subscriptions and queues QoS-1 messages while the client is away (or the broker restarts with
// persistence on). On every CONNACK the client subscribes again to every filter it holds anyway,
// so a broker that lost the session (no persistence) still delivers from then on.
//
// Connecting: mosquitto_connect resolves the host name and opens the TCP connection in the
// caller's thread, unbounded by any timeout. Here a short-lived thread makes that call
// (mosquitto_connect_async) while cdde_mqtt_open waits at most connect_timeout_ms; when the time
// is up first, the thread is left to finish on its own and frees the handle itself.
//
// TLS (mqtts://) and credentials: the server certificate is verified (CA file or folder, else the
// system store) including the host name; a client certificate, or a pre-shared key, and a user
// name and password are optional. Secrets (the password, the PSK) are read from their file or
// environment variable here, handed to libmosquitto and wiped; they never appear in a message.
// libmosquitto reports TLS failures only through its log callback (and leaves its network thread
// after them): on_log keeps the lines that say why, and open turns them into one sentence.
#include "cdde.h"
#include "../../include/dde.h"
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

// unistd.h declares it only under _GNU_SOURCE.
extern int pipe2(int fds[2], int flags);

#if defined(__aarch64__) && defined(__GLIBC__)
// glibc 2.34 moved dlopen into libc under the new version GLIBC_2.34; binding the GLIBC_2.17
// aliases keeps libdde.so loadable where libc's newest version is older (Raspberry Pi OS
// bullseye, glibc 2.31). There dlopen lives in libdl.so.2, which libdde.so does not list: the
// references are weak, so the library still loads, and cdde_mqtt_open says what to do if
// nothing in the process provides dlopen.
__asm__(".symver dlopen, dlopen@GLIBC_2.17");
__asm__(".symver dlsym, dlsym@GLIBC_2.17");
__asm__(".symver dlerror, dlerror@GLIBC_2.17");
#pragma weak dlopen
#pragma weak dlsym
#pragma weak dlerror
#endif

// The parts of mosquitto.h (libmosquitto.so.1, ABI of 1.6 and 2.0) used here. Building dde needs
// no libmosquitto headers: where mosquitto.h is installed it is included to check these against
// it, else they are declared here.
enum {
    CDDE_MOSQ_ERR_SUCCESS = 0,
    CDDE_MOSQ_ERR_NOMEM = 1,
    CDDE_MOSQ_ERR_PROTOCOL = 2,
    CDDE_MOSQ_ERR_INVAL = 3,
    CDDE_MOSQ_ERR_NO_CONN = 4,
    CDDE_MOSQ_ERR_NOT_FOUND = 6,
    CDDE_MOSQ_ERR_TLS = 8,
    CDDE_MOSQ_ERR_PAYLOAD_SIZE = 9,
    CDDE_MOSQ_ERR_NOT_SUPPORTED = 10,
    CDDE_MOSQ_ERR_AUTH = 11,
    CDDE_MOSQ_ERR_ACL_DENIED = 12,
    CDDE_MOSQ_ERR_UNKNOWN = 13,
    CDDE_MOSQ_ERR_ERRNO = 14,
    CDDE_MOSQ_ERR_EAI = 15,
    CDDE_MOSQ_ERR_PROXY = 16,
    CDDE_MOSQ_OPT_TCP_NODELAY = 11,
    CDDE_MOSQ_LOG_ERR = 8,
};
#if __has_include(<mosquitto.h>)
#include <mosquitto.h>
_Static_assert((int)MOSQ_OPT_TCP_NODELAY == (int)CDDE_MOSQ_OPT_TCP_NODELAY, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_NOMEM == (int)CDDE_MOSQ_ERR_NOMEM, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_PROTOCOL == (int)CDDE_MOSQ_ERR_PROTOCOL, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_INVAL == (int)CDDE_MOSQ_ERR_INVAL, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_NO_CONN == (int)CDDE_MOSQ_ERR_NO_CONN, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_NOT_FOUND == (int)CDDE_MOSQ_ERR_NOT_FOUND, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_TLS == (int)CDDE_MOSQ_ERR_TLS, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_PAYLOAD_SIZE == (int)CDDE_MOSQ_ERR_PAYLOAD_SIZE, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_NOT_SUPPORTED == (int)CDDE_MOSQ_ERR_NOT_SUPPORTED, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_AUTH == (int)CDDE_MOSQ_ERR_AUTH, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_ACL_DENIED == (int)CDDE_MOSQ_ERR_ACL_DENIED, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_UNKNOWN == (int)CDDE_MOSQ_ERR_UNKNOWN, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_ERRNO == (int)CDDE_MOSQ_ERR_ERRNO, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_EAI == (int)CDDE_MOSQ_ERR_EAI, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_PROXY == (int)CDDE_MOSQ_ERR_PROXY, "mosquitto.h disagrees");
_Static_assert(MOSQ_LOG_ERR == CDDE_MOSQ_LOG_ERR, "mosquitto.h disagrees");
#else
struct mosquitto;
struct mosquitto_message {
    int mid;
    char *topic;
    void *payload;
    int payloadlen;
    int qos;
    bool retain;
};
#endif

static struct {
    int (*lib_init)(void);
    int (*lib_version)(int *, int *, int *);
    struct mosquitto *(*create)(const char *, bool, void *);
    void (*destroy)(struct mosquitto *);
    int (*int_option)(struct mosquitto *, int, int);
    int (*reconnect_delay_set)(struct mosquitto *, unsigned int, unsigned int, bool);
    int (*connect)(struct mosquitto *, const char *, int, int);
    int (*disconnect)(struct mosquitto *);
    int (*loop_start)(struct mosquitto *);
    int (*loop_stop)(struct mosquitto *, bool);
    int (*loop_read)(struct mosquitto *, int);
    int (*loop_write)(struct mosquitto *, int);
    int (*loop_misc)(struct mosquitto *);
    bool (*want_write)(struct mosquitto *);
    int (*reconnect_async)(struct mosquitto *);
    int (*publish)(struct mosquitto *, int *, const char *, int, const void *, int, bool);
    int (*subscribe)(struct mosquitto *, int *, const char *, int);
    int (*unsubscribe)(struct mosquitto *, int *, const char *);
    void (*connect_with_flags_callback_set)(struct mosquitto *, void (*)(struct mosquitto *, void *, int, int));
    void (*disconnect_callback_set)(struct mosquitto *, void (*)(struct mosquitto *, void *, int));
    void (*message_callback_set)(struct mosquitto *, void (*)(struct mosquitto *, void *, const struct mosquitto_message *));
    void (*publish_callback_set)(struct mosquitto *, void (*)(struct mosquitto *, void *, int));
    const char *(*strerror)(int);
    const char *(*connack_string)(int);
    int (*connect_async)(struct mosquitto *, const char *, int, int);
    void (*log_callback_set)(struct mosquitto *, void (*)(struct mosquitto *, void *, int, const char *));
    int (*tls_set)(struct mosquitto *, const char *, const char *, const char *, const char *,
                   int (*)(char *, int, int, void *));
    int (*tls_opts_set)(struct mosquitto *, int, const char *, const char *);
    int (*tls_psk_set)(struct mosquitto *, const char *, const char *, const char *);
    int (*username_pw_set)(struct mosquitto *, const char *, const char *);
    int (*socket)(struct mosquitto *);
    // The connecting thread: the functions libmosquitto itself links (glibc before 2.34 keeps
    // them in libpthread, which libdde.so does not list), looked up through its handle.
    int (*thread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    int (*thread_detach)(pthread_t);
    int (*thread_join)(pthread_t, void **);
} mosq;

// Optional (NULL when absent): they only make messages more precise. mosquitto_ssl_get is in
// libmosquitto 2.0; the OpenSSL functions come from the libssl/libcrypto libmosquitto links.
static struct {
    void *(*ssl_get)(struct mosquitto *);
    long (*ssl_get_verify_result)(const void *ssl);
    const char *(*verify_cert_error_string)(long);
    void *(*pem_read_x509)(FILE *, void **, void *, void *);
    void (*x509_free)(void *);
    const void *(*x509_get0_not_before)(const void *);
    const void *(*x509_get0_not_after)(const void *);
    int (*x509_cmp_current_time)(const void *);
} ossl;

// Loaded once per process. A mutex and a flag rather than pthread_once, which glibc before 2.34
// keeps in libpthread (libdde.so links libc only).
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static int load_done;
static char load_error[384]; // empty when libmosquitto loaded

static void load_library(void) {
#if defined(__aarch64__) && defined(__GLIBC__)
    if (dlopen == NULL || dlsym == NULL) {
        snprintf(load_error, sizeof load_error,
                 "dlopen is not available in this process (glibc older than 2.34 keeps it in "
                 "libdl): link the program with -ldl to use the MQTT transport");
        return;
    }
#endif
    // DDE_LIBMOSQUITTO names another file (a private build, or a test of this very message).
    const char *name = getenv("DDE_LIBMOSQUITTO");
    if (name == NULL || name[0] == '\0') name = "libmosquitto.so.1";
    void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error,
                 "%.100s could not be loaded (%.160s): install libmosquitto1 "
                 "(Debian / Raspberry Pi OS: apt install libmosquitto1)", name, why ? why : "not found");
        return;
    }
    struct { const char *name; void **slot; } table[] = {
#define SYM(field, name) { name, (void **)&mosq.field }
        SYM(lib_init, "mosquitto_lib_init"),
        SYM(lib_version, "mosquitto_lib_version"),
        SYM(create, "mosquitto_new"),
        SYM(destroy, "mosquitto_destroy"),
        SYM(int_option, "mosquitto_int_option"),
        SYM(reconnect_delay_set, "mosquitto_reconnect_delay_set"),
        SYM(connect, "mosquitto_connect"),
        SYM(disconnect, "mosquitto_disconnect"),
        SYM(loop_start, "mosquitto_loop_start"),
        SYM(loop_stop, "mosquitto_loop_stop"),
        SYM(loop_read, "mosquitto_loop_read"),
        SYM(loop_write, "mosquitto_loop_write"),
        SYM(loop_misc, "mosquitto_loop_misc"),
        SYM(want_write, "mosquitto_want_write"),
        SYM(reconnect_async, "mosquitto_reconnect_async"),
        SYM(publish, "mosquitto_publish"),
        SYM(subscribe, "mosquitto_subscribe"),
        SYM(unsubscribe, "mosquitto_unsubscribe"),
        SYM(connect_with_flags_callback_set, "mosquitto_connect_with_flags_callback_set"),
        SYM(disconnect_callback_set, "mosquitto_disconnect_callback_set"),
        SYM(message_callback_set, "mosquitto_message_callback_set"),
        SYM(publish_callback_set, "mosquitto_publish_callback_set"),
        SYM(strerror, "mosquitto_strerror"),
        SYM(connack_string, "mosquitto_connack_string"),
        SYM(connect_async, "mosquitto_connect_async"),
        SYM(log_callback_set, "mosquitto_log_callback_set"),
        SYM(tls_set, "mosquitto_tls_set"),
        SYM(tls_opts_set, "mosquitto_tls_opts_set"),
        SYM(tls_psk_set, "mosquitto_tls_psk_set"),
        SYM(username_pw_set, "mosquitto_username_pw_set"),
        SYM(socket, "mosquitto_socket"),
        SYM(thread_create, "pthread_create"),
        SYM(thread_detach, "pthread_detach"),
        SYM(thread_join, "pthread_join"),
#undef SYM
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        *table[i].slot = dlsym(lib, table[i].name);
        if (*table[i].slot == NULL) {
            snprintf(load_error, sizeof load_error,
                     "libmosquitto.so.1 has no %s: install libmosquitto1 version 1.6 or newer",
                     table[i].name);
            return;
        }
    }
    if (mosq.lib_init() != CDDE_MOSQ_ERR_SUCCESS) {
        snprintf(load_error, sizeof load_error, "mosquitto_lib_init failed");
        return;
    }
    *(void **)&ossl.ssl_get = dlsym(lib, "mosquitto_ssl_get");
    *(void **)&ossl.ssl_get_verify_result = dlsym(lib, "SSL_get_verify_result");
    *(void **)&ossl.verify_cert_error_string = dlsym(lib, "X509_verify_cert_error_string");
    *(void **)&ossl.pem_read_x509 = dlsym(lib, "PEM_read_X509");
    *(void **)&ossl.x509_free = dlsym(lib, "X509_free");
    *(void **)&ossl.x509_get0_not_before = dlsym(lib, "X509_get0_notBefore");
    *(void **)&ossl.x509_get0_not_after = dlsym(lib, "X509_get0_notAfter");
    *(void **)&ossl.x509_cmp_current_time = dlsym(lib, "X509_cmp_current_time");
}

// ---- the handle

#define NOTICE_SLOTS 64
#define NOTICE_BYTES 256

struct cdde_mqtt {
    struct mosquitto *client;
    pthread_mutex_t lock;
    pthread_cond_t arrived;   // signalled on: message queued (receivers wait on this)
    pthread_cond_t changed;   // broadcast on: CONNACK, disconnect, PUBACK (open and flush wait on
                              // this; kept apart so that acknowledgements wake no receiver)
    cdde_mqtt_message *head, *tail;
    size_t queued_messages, queued_bytes;
    size_t max_message_bytes, max_queued_messages, max_queued_bytes;
    char **filters;           // subscribed filters, to subscribe again on every CONNACK
    size_t filter_count;
    char **dropped_filters;   // unsubscribed while disconnected: the broker may keep them in the
    size_t dropped_count;     // session, so they are unsubscribed at the next CONNACK
    int connected;            // CONNACK accepted and no disconnect since
    int connack_seen, connack_rc;
    int connects;             // CONNACKs accepted so far
    long unacked;             // QoS-1 publishes not yet acknowledged by the broker
    uint64_t dropped;
    char notices[NOTICE_SLOTS][NOTICE_BYTES]; // ring of log lines for the caller
    size_t notice_first, notice_count;
    uint64_t notices_lost;
    int loop_running;         // a network thread runs (libmosquitto's, or network_thread)
    // Plain TCP: the shim's own network thread (see the top of this file).
    int own_loop;             // network_thread runs the loop, not libmosquitto's thread
    pthread_t loop_thread;
    pthread_mutex_t io;       // held by whoever calls into libmosquitto on the socket; before `lock`
    int wake[2];              // a pipe: a byte wakes network_thread from its poll
    int tell[2];              // a pipe: a byte wakes the receiver running the turns from its poll
    int stopping;             // close: network_thread ends (under `lock`)
    int receiver_polls;       // a receiving thread runs the loop's turns itself (under `lock`)
    int receiver_turn;        // ... and is inside one now (under `io`)
    int network_turn;         // network_thread is in (or entering) a loop_turn (under `lock`)
    pthread_cond_t loop_free; // network_thread waits on it while a receiver runs the turns
    unsigned int reconnect_max; // seconds between reconnects at most
    // Connecting (cdde_mqtt_open and the connecting thread, under `lock`).
    char *host;
    int port, keepalive;
    int connect_done, connect_rc, connect_errno; // mosquitto_connect_async has returned, and what
    int abandoned;            // open gave up waiting: the connecting thread frees the handle
    int lost_before_connack, lost_rc, lost_errno; // the connection ended before any CONNACK
    int refused;              // TLS: the TCP connection failed (see tcp_failed)
    // What the messages depend on (set once by open).
    int tls, has_cert, has_psk;
    char *username;
    char *cert_file, *key_file;
    // What libmosquitto logged about TLS, under `log_lock` alone: on_log may run in a thread that
    // holds `lock` (libmosquitto logs from inside publish and subscribe), so it never takes `lock`.
    pthread_mutex_t log_lock;
    int tls_failed;           // an OpenSSL error was logged: libmosquitto's thread has stopped
    int host_mismatch;        // "host name verification failed"
    long verify_result;       // the X509 verification result at the failure; -1 unknown
    char tls_error[160];      // the first OpenSSL error's reason
    char setup_error[240];    // "Error: ..." while loading the TLS files
    int tls_notice_due;       // a TLS failure after a connection: cdde_mqtt_take_notice tells it
};

static void put_error(char *err, size_t cap, const char *format, ...) {
    if (err == NULL || cap == 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(err, cap, format, args);
    va_end(args);
}

// Caller holds m->lock.
static void notice_locked(cdde_mqtt *m, const char *format, ...) {
    if (m->notice_count == NOTICE_SLOTS) {
        // Keep the newest: the oldest line goes, and the next line read says how many went.
        m->notice_first = (m->notice_first + 1) % NOTICE_SLOTS;
        m->notice_count--;
        m->notices_lost++;
    }
    char *slot = m->notices[(m->notice_first + m->notice_count) % NOTICE_SLOTS];
    va_list args;
    va_start(args, format);
    vsnprintf(slot, NOTICE_BYTES, format, args);
    va_end(args);
    m->notice_count++;
}

static const char *mosq_error(int rc) {
    if (rc == CDDE_MOSQ_ERR_ERRNO) return strerror(errno);
    return mosq.strerror(rc);
}

// A byte down the pipe: the thread polling the socket (network_thread or a receiver) looks again.
static void wake_network_thread(cdde_mqtt *m) {
    char byte = 0;
    if (m->wake[1] >= 0 && write(m->wake[1], &byte, 1) < 0) { /* full: a wake is pending anyway */ }
}

// The same for a receiver running the turns (cdde_mqtt_receive), through its own pipe.
static void wake_receiver(cdde_mqtt *m) {
    char byte = 0;
    if (m->tell[1] >= 0 && write(m->tell[1], &byte, 1) < 0) { /* full: a wake is pending anyway */ }
}

// Whichever thread polls the socket: it writes what the socket did not take at once.
static void wake_poller(cdde_mqtt *m) {
    wake_network_thread(m);
    wake_receiver(m);
}

// After a packet was written under m->io by this thread: releases m->io, and what the socket did
// not take at once (a full send buffer) whichever thread polls the socket writes.
static void io_unlock_and_wake(cdde_mqtt *m) {
    int pending = m->own_loop && mosq.want_write(m->client);
    pthread_mutex_unlock(&m->io);
    if (pending) wake_poller(m);
}

static void on_connect(struct mosquitto *client, void *context, int rc, int flags) {
    cdde_mqtt *m = context;
    pthread_mutex_lock(&m->lock);
    m->connack_seen = 1;
    m->connack_rc = rc;
    if (rc == 0) {
        m->connected = 1;
        m->connects++;
        pthread_mutex_lock(&m->log_lock);  // a failure after this one is a new story
        m->tls_failed = m->host_mismatch = m->tls_notice_due = 0;
        m->verify_result = -1;
        m->tls_error[0] = m->setup_error[0] = '\0';
        pthread_mutex_unlock(&m->log_lock);
        if (m->connects > 1)
            notice_locked(m, "mqtt: reconnected to the broker (%s session)",
                          (flags & 1) ? "kept its" : "new");
        for (size_t i = 0; i < m->dropped_count; i++) {
            mosq.unsubscribe(client, NULL, m->dropped_filters[i]);
            free(m->dropped_filters[i]);
        }
        m->dropped_count = 0;
        for (size_t i = 0; i < m->filter_count; i++) {
            int src = mosq.subscribe(client, NULL, m->filters[i], 1);
            if (src != CDDE_MOSQ_ERR_SUCCESS)
                notice_locked(m, "mqtt: subscribing again to %s failed: %s", m->filters[i],
                              mosq_error(src));
        }
    } else {
        notice_locked(m, "mqtt: the broker refused the connection: %s", mosq.connack_string(rc));
    }
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
}

static void on_disconnect(struct mosquitto *client, void *context, int rc) {
    (void)client;
    cdde_mqtt *m = context;
    pthread_mutex_lock(&m->lock);
    int was = m->connected;
    m->connected = 0;
    if (m->connects == 0 && !m->lost_before_connack) {
        m->lost_before_connack = 1;
        m->lost_rc = rc;
        m->lost_errno = errno;  // this thread's, from the call that failed
    }
    if (rc != 0 && was)
        notice_locked(m, "mqtt: connection to the broker lost (%s); reconnecting", mosq_error(rc));
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
}

static void on_publish(struct mosquitto *client, void *context, int mid) {
    (void)client; (void)mid;
    cdde_mqtt *m = context;
    pthread_mutex_lock(&m->lock);
    if (m->unacked > 0) m->unacked--;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
}

static void on_message(struct mosquitto *client, void *context, const struct mosquitto_message *msg) {
    (void)client;
    cdde_trace(CDDE_TRACE_MQTT_ARRIVED);
    cdde_mqtt *m = context;
    size_t length = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
    const char *topic = msg->topic ? msg->topic : "";
    if (length > m->max_message_bytes) {
        pthread_mutex_lock(&m->lock);
        m->dropped++;
        notice_locked(m, "mqtt: dropped a message on %.120s: %zu bytes, over the %zu-byte limit",
                      topic, length, m->max_message_bytes);
        pthread_mutex_unlock(&m->lock);
        return;
    }
    size_t topic_length = strlen(topic);
    cdde_mqtt_message *item = malloc(sizeof *item + topic_length + 1 + length);
    if (item == NULL) {
        pthread_mutex_lock(&m->lock);
        m->dropped++;
        notice_locked(m, "mqtt: dropped a message on %.120s: out of memory", topic);
        pthread_mutex_unlock(&m->lock);
        return;
    }
    item->next = NULL;
    item->topic = (char *)(item + 1);
    memcpy(item->topic, topic, topic_length + 1);
    item->payload = (uint8_t *)item->topic + topic_length + 1;
    if (length > 0) memcpy(item->payload, msg->payload, length);
    item->length = length;

    pthread_mutex_lock(&m->lock);
    if (m->queued_messages >= m->max_queued_messages || m->queued_bytes + length > m->max_queued_bytes) {
        m->dropped++;
        notice_locked(m, "mqtt: dropped a message on %.120s: the receive queue is full "
                      "(%zu messages, %zu bytes); the receiver is not keeping up",
                      topic, m->queued_messages, m->queued_bytes);
        pthread_mutex_unlock(&m->lock);
        free(item);
        return;
    }
    if (m->tail) m->tail->next = item; else m->head = item;
    m->tail = item;
    m->queued_messages++;
    m->queued_bytes += length;
    pthread_cond_signal(&m->arrived);
    // Read by the network thread while a receiver polls: that receiver is told through `tell`.
    int tell = m->receiver_polls && !m->receiver_turn;
    pthread_mutex_unlock(&m->lock);
    if (tell) wake_receiver(m);
}

// Milliseconds on CLOCK_MONOTONIC (the receive deadlines: a wall-clock step must not end a wait).
static int64_t monotonic_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

// Absolute CLOCK_REALTIME deadline `ms` from now (pthread_cond_timedwait's clock; a monotonic
// condition clock would need pthread_condattr_setclock, which old glibc keeps in libpthread).
static struct timespec deadline_after(int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    return ts;
}

static void free_handle(cdde_mqtt *m) {
    cdde_mqtt_message *item = m->head;
    while (item) { cdde_mqtt_message *next = item->next; free(item); item = next; }
    for (size_t i = 0; i < m->filter_count; i++) free(m->filters[i]);
    free(m->filters);
    for (size_t i = 0; i < m->dropped_count; i++) free(m->dropped_filters[i]);
    free(m->dropped_filters);
    free(m->host);
    free(m->username);
    free(m->cert_file);
    free(m->key_file);
    pthread_cond_destroy(&m->arrived);
    pthread_cond_destroy(&m->changed);
    pthread_mutex_destroy(&m->lock);
    pthread_mutex_destroy(&m->log_lock);
    pthread_mutex_destroy(&m->io);
    pthread_cond_destroy(&m->loop_free);
    for (int i = 0; i < 2; i++) {
        if (m->wake[i] >= 0) close(m->wake[i]);
        if (m->tell[i] >= 0) close(m->tell[i]);
    }
    free(m);
}

// ---- TLS failures: what libmosquitto logged, as one sentence

// The reason of an OpenSSL error line ("OpenSSL Error[0]: error:0A000086:SSL routines::certificate
// verify failed" gives "certificate verify failed"): what follows the code's four colons.
static const char *openssl_reason(const char *line) {
    const char *p = strstr(line, "error:");
    if (p == NULL) return line;
    const char *q = p;
    for (int colons = 0; colons < 4; colons++) {
        q = strchr(q, ':');
        if (q == NULL) return p;
        q++;
    }
    return q;
}

static void on_log(struct mosquitto *client, void *context, int level, const char *line) {
    if (level != CDDE_MOSQ_LOG_ERR || line == NULL) return;
    cdde_mqtt *m = context;
    pthread_mutex_lock(&m->log_lock);
    if (strstr(line, "host name verification failed") != NULL) {
        m->host_mismatch = 1;
    } else if (strncmp(line, "OpenSSL Error", 13) == 0) {
        if (!m->tls_failed) {
            m->tls_failed = 1;
            m->tls_notice_due = 1;
            snprintf(m->tls_error, sizeof m->tls_error, "%s", openssl_reason(line));
        }
        // Why the certificate failed is in the SSL object, still alive while this is logged.
        if (strstr(line, "certificate verify failed") != NULL && ossl.ssl_get && ossl.ssl_get_verify_result) {
            void *ssl = ossl.ssl_get(client);
            if (ssl != NULL) m->verify_result = ossl.ssl_get_verify_result(ssl);
        }
    } else if (strncmp(line, "Error: ", 7) == 0 && m->setup_error[0] == '\0') {
        snprintf(m->setup_error, sizeof m->setup_error, "%s", line + 7);
    }
    pthread_mutex_unlock(&m->log_lock);
}

// X509_V_ERR_* values (stable across OpenSSL 1.1 and 3).
enum {
    X509_UNABLE_TO_GET_ISSUER_CERT = 2, X509_CERT_NOT_YET_VALID = 9, X509_CERT_HAS_EXPIRED = 10,
    X509_DEPTH_ZERO_SELF_SIGNED = 18, X509_SELF_SIGNED_IN_CHAIN = 19,
    X509_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20, X509_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21,
};

// One sentence for what libmosquitto logged about TLS into out; 0 when it logged nothing.
static int tls_reason(cdde_mqtt *m, char *out, size_t cap) {
    pthread_mutex_lock(&m->log_lock);
    int failed = m->tls_failed, mismatch = m->host_mismatch;
    long verify = m->verify_result;
    char tls[sizeof m->tls_error], setup[sizeof m->setup_error];
    memcpy(tls, m->tls_error, sizeof tls);
    memcpy(setup, m->setup_error, sizeof setup);
    pthread_mutex_unlock(&m->log_lock);
    const char *verify_text = verify > 0 && ossl.verify_cert_error_string ? ossl.verify_cert_error_string(verify) : NULL;

    if (setup[0] != '\0' && strstr(setup, "Unable to load client key") != NULL) {
        if (strstr(tls, "key values mismatch") != NULL)
            snprintf(out, cap, "the client key %s does not belong to the client certificate %s (key values "
                     "mismatch): give the key the certificate was made for", m->key_file, m->cert_file);
        else
            snprintf(out, cap, "the client key %s could not be loaded (%s): it must be an unencrypted PEM "
                     "private key (keep it private with file mode 0600 instead of a passphrase)", m->key_file,
                     tls[0] ? tls : "no key found");
    } else if (setup[0] != '\0') {
        snprintf(out, cap, "setting up TLS failed: %s%s%s%s", setup, tls[0] ? " (" : "", tls, tls[0] ? ")" : "");
    } else if (!failed && !mismatch) {
        return 0;
    } else if (mismatch) {
        snprintf(out, cap, "the broker's certificate is not valid for the host name '%s' (host name mismatch): "
                 "connect with a name or address its certificate lists, or give the broker a certificate "
                 "for '%s'", m->host, m->host);
    } else if (strstr(tls, "certificate verify failed") != NULL) {
        switch (verify) {
        case X509_CERT_HAS_EXPIRED:
            snprintf(out, cap, "the broker's certificate has expired (certificate verify failed: %s): the "
                     "broker needs a new certificate", verify_text ? verify_text : "certificate has expired");
            break;
        case X509_CERT_NOT_YET_VALID:
            snprintf(out, cap, "the broker's certificate is not valid yet (certificate verify failed: %s): "
                     "check this device's clock", verify_text ? verify_text : "certificate is not yet valid");
            break;
        case X509_UNABLE_TO_GET_ISSUER_CERT: case X509_DEPTH_ZERO_SELF_SIGNED: case X509_SELF_SIGNED_IN_CHAIN:
        case X509_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: case X509_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            snprintf(out, cap, "the broker's certificate is not signed by a CA this client trusts (unknown CA; "
                     "certificate verify failed: %s): give the CA that signed it as the CA file",
                     verify_text ? verify_text : "unknown issuer");
            break;
        default:
            if (verify_text)
                snprintf(out, cap, "the broker's certificate failed verification (certificate verify failed: %s)", verify_text);
            else
                snprintf(out, cap, "the broker's certificate failed verification (certificate verify failed): "
                         "check the CA file, the host name and the certificate's dates");
        }
    } else if (strstr(tls, "alert certificate required") != NULL) {
        snprintf(out, cap, "the broker requires a client certificate (TLS alert: certificate required): give a "
                 "certificate and its key");
    } else if (strstr(tls, "alert unknown ca") != NULL) {
        snprintf(out, cap, "the broker does not trust the CA that signed this client's certificate (TLS alert: "
                 "unknown ca)");
    } else if (strstr(tls, "alert certificate expired") != NULL) {
        snprintf(out, cap, "the broker refused this client's certificate as expired (TLS alert: certificate "
                 "expired): make a new one");
    } else if (m->has_psk && (strstr(tls, "alert handshake failure") || strstr(tls, "alert illegal parameter")
                              || strstr(tls, "decrypt error") || strstr(tls, "bad record mac")
                              || strstr(tls, "unknown psk identity"))) {
        snprintf(out, cap, "the broker refused the pre-shared key (%s): the identity or the key in the PSK file "
                 "does not match the broker's psk_file", tls);
    } else if (strstr(tls, "alert bad certificate") || strstr(tls, "alert certificate unknown")
               || strstr(tls, "alert unsupported certificate")) {
        snprintf(out, cap, "the broker refused this client's certificate (%s)", tls);
    } else if (strstr(tls, "wrong version number") || strstr(tls, "packet length too long")
               || strstr(tls, "record layer failure")) {
        snprintf(out, cap, "the broker did not answer in TLS (%s): is port %d a TLS listener? a plain one "
                 "needs mqtt://", tls, m->port);
    } else {
        snprintf(out, cap, "the TLS handshake failed: %s", tls[0] ? tls : "no reason logged");
    }
    return 1;
}

// ---- TLS and credentials: files checked and secrets read before anything is sent

// Refuses a passphrase: without this callback OpenSSL would ask for one on the terminal.
static int no_passphrase(char *buf, int size, int rwflag, void *userdata) {
    (void)buf; (void)size; (void)rwflag; (void)userdata;
    return 0;
}

static int check_readable(const char *path, const char *what, int *status, char *err, size_t err_cap) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        *status = DDE_ERR_IO;
        put_error(err, err_cap, "cannot read the %s %.300s: %s", what, path, strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

// The client certificate's validity dates, checked here: a broker that refuses an expired client
// certificate does so after the handshake, and what the client then reads depends on timing.
static int check_client_certificate(const char *path, int *status, char *err, size_t err_cap) {
    if (!ossl.pem_read_x509 || !ossl.x509_free || !ossl.x509_cmp_current_time
        || !ossl.x509_get0_not_before || !ossl.x509_get0_not_after) return 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0; // checked readable just before; libmosquitto will say
    void *cert = ossl.pem_read_x509(f, NULL, NULL, NULL);
    fclose(f);
    if (cert == NULL) {
        *status = DDE_ERR_IO;
        put_error(err, err_cap, "the client certificate %.300s holds no PEM certificate", path);
        return -1;
    }
    int expired = ossl.x509_cmp_current_time(ossl.x509_get0_not_after(cert)) < 0;
    int early = ossl.x509_cmp_current_time(ossl.x509_get0_not_before(cert)) > 0;
    ossl.x509_free(cert);
    if (expired || early) {
        *status = DDE_ERR_TRANSPORT;
        put_error(err, err_cap, expired ? "the client certificate %.300s has expired: make a new one"
                                        : "the client certificate %.300s is not valid yet: check this device's clock", path);
        return -1;
    }
    return 0;
}

// Reads a one-line secret (a password, a PSK line) of at most cap - 1 bytes into out, NUL
// terminated, one final newline dropped. Never says what it read.
static int read_secret_file(const char *path, const char *what, char *out, size_t cap,
                            int *status, char *err, size_t err_cap) {
    size_t length = 0;
    int rc = cdde_read_file(path, (uint8_t *)out, cap - 1, &length);
    if (rc == EFBIG) {
        *status = DDE_ERR_IO;
        put_error(err, err_cap, "the %s %.300s is larger than %zu bytes", what, path, cap - 1);
        return -1;
    }
    if (rc != 0) {
        *status = DDE_ERR_IO;
        put_error(err, err_cap, "cannot read the %s %.300s: %s", what, path, strerror(rc));
        return -1;
    }
    if (length > 0 && out[length - 1] == '\n') length--;
    if (length > 0 && out[length - 1] == '\r') length--;
    out[length] = '\0';
    if (length == 0 || memchr(out, '\n', length) != NULL || memchr(out, '\0', length) != NULL) {
        *status = DDE_ERR_IO;
        put_error(err, err_cap, "the %s %.300s must hold one non-empty line", what, path);
        return -1;
    }
    return 0;
}

static int configure_security(cdde_mqtt *m, const cdde_mqtt_security *s, int *status, char *err, size_t err_cap) {
    const char *system_store = "/etc/ssl/certs";
    char secret[DDE_MAX_CREDENTIAL_FILE_BYTES + 1];
    int rc = CDDE_MOSQ_ERR_SUCCESS;
    if (s->tls && s->psk_file != NULL) {
        if (read_secret_file(s->psk_file, "PSK file", secret, sizeof secret, status, err, err_cap) != 0) return -1;
        // "identity:hexkey", as in Mosquitto's psk_file.
        char *colon = strchr(secret, ':');
        char *key = colon ? colon + 1 : NULL;
        size_t key_length = key ? strlen(key) : 0;
        int ok = colon != NULL && colon != secret && key_length > 0 && key_length % 2 == 0
                 && strspn(key, "0123456789abcdefABCDEF") == key_length;
        if (ok) {
            *colon = '\0';
            rc = mosq.tls_psk_set(m->client, key, secret, NULL);
        }
        sodium_memzero(secret, sizeof secret);
        if (!ok) {
            *status = DDE_ERR_IO;
            put_error(err, err_cap, "the PSK file %.300s must hold one line IDENTITY:HEXKEY (as Mosquitto's psk_file)", s->psk_file);
            return -1;
        }
        if (rc == CDDE_MOSQ_ERR_NOT_SUPPORTED) {
            put_error(err, err_cap, "this libmosquitto was built without TLS-PSK support: use certificates");
            return -1;
        }
    } else if (s->tls) {
        if (s->ca_file && check_readable(s->ca_file, "CA file", status, err, err_cap) != 0) return -1;
        const char *ca_path = s->ca_path;
        if (s->ca_file == NULL && ca_path == NULL) ca_path = system_store;
        if (ca_path != NULL) {
            DIR *dir = opendir(ca_path);
            if (dir == NULL) {
                *status = DDE_ERR_IO;
                if (ca_path == system_store)
                    put_error(err, err_cap, "no CA file given and the system store %s cannot be read (%s): give "
                              "the CA that signed the broker's certificate as the CA file", system_store, strerror(errno));
                else
                    put_error(err, err_cap, "cannot read the CA folder %.300s: %s", ca_path, strerror(errno));
                return -1;
            }
            closedir(dir);
        }
        if (s->cert_file && check_readable(s->cert_file, "client certificate", status, err, err_cap) != 0) return -1;
        if (s->key_file && check_readable(s->key_file, "client key file", status, err, err_cap) != 0) return -1;
        if (s->cert_file && check_client_certificate(s->cert_file, status, err, err_cap) != 0) return -1;
        rc = mosq.tls_set(m->client, s->ca_file, ca_path, s->cert_file, s->key_file, no_passphrase);
        // Verify the peer (libmosquitto's default, said here so that nothing depends on it).
        if (rc == CDDE_MOSQ_ERR_SUCCESS) rc = mosq.tls_opts_set(m->client, 1, NULL, NULL);
        if (rc == CDDE_MOSQ_ERR_NOT_SUPPORTED) {
            put_error(err, err_cap, "this libmosquitto was built without TLS support");
            return -1;
        }
    }
    if (rc != CDDE_MOSQ_ERR_SUCCESS) {
        put_error(err, err_cap, "setting up TLS failed: %s", mosq_error(rc));
        return -1;
    }
    if (s->username != NULL) {
        const char *password = NULL;
        if (s->password_file != NULL) {
            if (read_secret_file(s->password_file, "password file", secret, sizeof secret, status, err, err_cap) != 0) return -1;
            password = secret;
        } else if (s->password_env != NULL) {
            password = getenv(s->password_env);
            if (password == NULL || password[0] == '\0' || strlen(password) > DDE_MAX_CREDENTIAL_FILE_BYTES) {
                *status = DDE_ERR_ARGUMENT;
                put_error(err, err_cap, "the environment variable %.100s (the password) is %s", s->password_env,
                          password == NULL ? "not set" : password[0] == '\0' ? "empty" : "too long");
                return -1;
            }
        }
        // libmosquitto keeps its own copy for every reconnect; ours is wiped at once.
        rc = mosq.username_pw_set(m->client, s->username, password);
        sodium_memzero(secret, sizeof secret);
        if (rc != CDDE_MOSQ_ERR_SUCCESS) {
            *status = DDE_ERR_ARGUMENT;
            put_error(err, err_cap, "the user name was refused: %s", mosq_error(rc));
            return -1;
        }
    }
    return 0;
}

// ---- connecting

static char *copy_or_null(const char *text) { return text ? strdup(text) : NULL; }

// What ends mosquitto_loop_forever (libmosquitto 1.6 and 2.0) rather than a reconnect.
static int loop_error_is_final(int rc) {
    switch (rc) {
    case CDDE_MOSQ_ERR_NOMEM: case CDDE_MOSQ_ERR_PROTOCOL: case CDDE_MOSQ_ERR_INVAL: case CDDE_MOSQ_ERR_NOT_FOUND:
    case CDDE_MOSQ_ERR_TLS: case CDDE_MOSQ_ERR_PAYLOAD_SIZE: case CDDE_MOSQ_ERR_NOT_SUPPORTED: case CDDE_MOSQ_ERR_AUTH:
    case CDDE_MOSQ_ERR_ACL_DENIED: case CDDE_MOSQ_ERR_UNKNOWN: case CDDE_MOSQ_ERR_EAI: case CDDE_MOSQ_ERR_PROXY:
        return 1;
    default:
        return 0;
    }
}

// One turn of the network loop of a plain-TCP connection: polls the socket (and `wake`) at most
// timeout_ms, then runs libmosquitto's read, write and keepalive steps under `io`. Returns
// libmosquitto's code (NO_CONN without a socket); sets *stop when the handle is closing.
static int loop_turn(cdde_mqtt *m, int timeout_ms, int receiving, int *stop) {
    *stop = 0;
    int fd = mosq.socket(m->client);  // closed or replaced only under `io`: a stale number only wakes the poll
    if (fd < 0) return CDDE_MOSQ_ERR_NO_CONN;
    int pipe_in = receiving ? m->tell[0] : m->wake[0];
    struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = pipe_in, .events = POLLIN } };
    if (mosq.want_write(m->client)) p[0].events |= POLLOUT;
    int n = poll(p, 2, timeout_ms);
    if (n > 0 && (p[1].revents & POLLIN)) {
        char drain[64];
        while (read(pipe_in, drain, sizeof drain) > 0) {}
    }
    pthread_mutex_lock(&m->io);
    pthread_mutex_lock(&m->lock);
    *stop = m->stopping;
    pthread_mutex_unlock(&m->lock);
    if (*stop) { pthread_mutex_unlock(&m->io); return CDDE_MOSQ_ERR_SUCCESS; }
    m->receiver_turn = receiving;
    int rc = CDDE_MOSQ_ERR_SUCCESS;
    if (n > 0 && (p[0].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL))) rc = mosq.loop_read(m->client, 1);
    if (rc == CDDE_MOSQ_ERR_SUCCESS && mosq.want_write(m->client)) rc = mosq.loop_write(m->client, 1);
    if (rc == CDDE_MOSQ_ERR_SUCCESS) rc = mosq.loop_misc(m->client);
    m->receiver_turn = 0;
    pthread_mutex_unlock(&m->io);
    return rc;
}

// The network loop of a plain-TCP connection (see the top of this file): what
// mosquitto_loop_forever does, in turns of loop_turn. While a receiver runs the turns itself
// (cdde_mqtt_receive) this thread waits. A lost connection is reconnected after 1 s, then
// (n + 1)^2 s, at most reconnect_max_seconds, as libmosquitto's own loop does with exponential
// backoff.
static void *network_thread(void *arg) {
    cdde_mqtt *m = arg;
    unsigned int reconnects = 0;
    int seen_connects = 0;
    for (;;) {
        pthread_mutex_lock(&m->lock);
        // Not woken when the receiver is done (waking this thread then would delay the receiver
        // returning its message): it looks again every 100 ms, or when flush or close wakes it.
        // Meanwhile what arrives waits in the socket for the next receiver or for this thread.
        while (m->receiver_polls && !m->stopping) {
            struct timespec slice = deadline_after(100);
            pthread_cond_timedwait(&m->loop_free, &m->lock, &slice);
        }
        int stop = m->stopping;
        if (m->connects != seen_connects) { seen_connects = m->connects; reconnects = 0; }
        m->network_turn = !stop;
        pthread_mutex_unlock(&m->lock);
        if (stop) break;
        // At most a second: the keepalive step runs at least that often.
        int rc = loop_turn(m, 1000, 0, &stop);
        pthread_mutex_lock(&m->lock);
        m->network_turn = 0;
        pthread_mutex_unlock(&m->lock);
        if (stop) break;
        if (rc == CDDE_MOSQ_ERR_SUCCESS) continue;
        if (loop_error_is_final(rc)) break;
        unsigned int delay = (reconnects + 1) * (reconnects + 1);
        if (delay >= m->reconnect_max) delay = m->reconnect_max; else reconnects++;
        struct timespec until = deadline_after((int)delay * 1000);
        pthread_mutex_lock(&m->lock);
        while (!m->stopping) {
            if (pthread_cond_timedwait(&m->changed, &m->lock, &until) == ETIMEDOUT) break;
        }
        stop = m->stopping;
        pthread_mutex_unlock(&m->lock);
        if (stop) break;
        pthread_mutex_lock(&m->io);
        mosq.reconnect_async(m->client);  // a failure shows as no socket, and the next try waits longer
        pthread_mutex_unlock(&m->io);
    }
    return NULL;
}

static void *connect_thread(void *arg) {
    cdde_mqtt *m = arg;
    errno = 0;
    int rc = mosq.connect_async(m->client, m->host, m->port, m->keepalive);
    int saved = errno;
    pthread_mutex_lock(&m->lock);
    int abandoned = m->abandoned;
    if (!abandoned && rc == CDDE_MOSQ_ERR_SUCCESS && m->own_loop) {
        int started = mosq.thread_create(&m->loop_thread, NULL, network_thread, m);
        if (started != 0) { rc = CDDE_MOSQ_ERR_ERRNO; saved = started; }
        m->loop_running = started == 0;
    } else if (!abandoned && rc == CDDE_MOSQ_ERR_SUCCESS) {
        rc = mosq.loop_start(m->client);
        saved = errno;
        m->loop_running = rc == CDDE_MOSQ_ERR_SUCCESS;
    }
    m->connect_rc = rc;
    m->connect_errno = saved;
    m->connect_done = 1;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    if (abandoned) {
        // cdde_mqtt_open returned long ago: the handle is this thread's to free.
        mosq.destroy(m->client);
        free_handle(m);
    }
    return NULL;
}

// `force`: cancel libmosquitto's thread instead of waiting for it (what mosquitto_destroy itself
// does to a thread still running). TLS only: over plain TCP network_thread is always joined (it
// ends within one turn).
static void close_now(cdde_mqtt *m, bool force) {
    // A clean DISCONNECT: the broker keeps the session (clean_session false) for the next run.
    if (m->own_loop) {
        pthread_mutex_lock(&m->lock);
        m->stopping = 1;
        pthread_cond_broadcast(&m->changed);
        pthread_cond_broadcast(&m->loop_free);
        pthread_mutex_unlock(&m->lock);
        pthread_mutex_lock(&m->io);
        mosq.disconnect(m->client);  // written here and the socket closed: network_thread is outside
        pthread_mutex_unlock(&m->io);
        wake_poller(m);
        if (m->loop_running) mosq.thread_join(m->loop_thread, NULL);
    } else {
        mosq.disconnect(m->client);
        if (m->loop_running) mosq.loop_stop(m->client, force);
    }
    mosq.destroy(m->client);
    free_handle(m);
}

static void *close_thread(void *arg) { close_now(arg, false); return NULL; }

// libmosquitto before 2.0.15 starts TLS on a socket whose TCP connect has not completed, and when
// that connect fails (refused, unreachable) it retries SSL_connect on the dead socket in a busy
// loop until its keepalive runs out, logging nothing. That case is a socket hung up before the
// broker sent a single byte (a broker that closed after the handshake had sent its certificate).
// Caller holds m->lock.
static int tcp_failed(cdde_mqtt *m) {
    int fd = mosq.socket(m->client);
    if (fd < 0) return 0;
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    if (poll(&p, 1, 0) != 1 || (p.revents & (POLLHUP | POLLERR)) == 0) return 0;
    struct tcp_info info;
    socklen_t length = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return 1;
    if (length < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received) return 1;
    return info.tcpi_bytes_received == 0;
}

// After a connect timeout libmosquitto's thread may sit in a TCP connect or a TLS handshake until
// its keepalive runs out: it is stopped on a thread of its own, so that open returns in time.
static void close_in_background(cdde_mqtt *m) {
    pthread_t thread;
    if (mosq.thread_create(&thread, NULL, close_thread, m) == 0) mosq.thread_detach(thread);
    else close_now(m, false);
}

// Why the connection did not come up, in one line. Caller holds m->lock.
static void connect_failure(cdde_mqtt *m, int timeout, char *err, size_t err_cap) {
    const char *host = m->host;
    int port = m->port;
    char why[400];
    if (m->connack_seen) {
        int rc = m->connack_rc;
        if ((rc == 4 || rc == 5) && m->username)
            put_error(err, err_cap, "the MQTT broker at %.200s:%d refused user '%.100s' (CONNACK %d, %s): check the "
                      "user name and the password", host, port, m->username, rc, mosq.connack_string(rc));
        else if (rc == 4 || rc == 5)
            put_error(err, err_cap, "the MQTT broker at %.200s:%d refused the connection (CONNACK %d, %s): %s", host,
                      port, rc, mosq.connack_string(rc), m->has_cert ? "this client's certificate is not allowed there"
                      : "it needs credentials (a user name and password, or a client certificate)");
        else
            put_error(err, err_cap, "the MQTT broker at %.200s:%d refused the connection: %s", host, port,
                      mosq.connack_string(rc));
    } else if (tls_reason(m, why, sizeof why)) {
        put_error(err, err_cap, "TLS with the MQTT broker at %.200s:%d failed: %s", host, port, why);
    } else if (m->connect_done && m->connect_rc == CDDE_MOSQ_ERR_EAI) {
        put_error(err, err_cap, "cannot resolve the MQTT broker's host name '%.200s': check the name and the DNS", host);
    } else if (m->refused || (m->connect_done && m->connect_rc != CDDE_MOSQ_ERR_SUCCESS) || m->lost_before_connack) {
        // The TCP connection failed, or ended before the CONNACK (mosquitto_connect_async itself
        // may have run the whole TLS handshake and sent CONNECT when the broker is quick).
        int from_connect = m->connect_done && m->connect_rc != CDDE_MOSQ_ERR_SUCCESS;
        int rc = from_connect ? m->connect_rc : m->lost_rc;
        int e = from_connect || m->refused ? m->connect_errno : m->lost_errno;
        int unreachable = (rc == CDDE_MOSQ_ERR_ERRNO || m->refused)
            && (e == ECONNREFUSED || e == ENETUNREACH || e == EHOSTUNREACH || e == ETIMEDOUT);
        const char *detail = rc == CDDE_MOSQ_ERR_ERRNO || m->refused ? strerror(e) : mosq.strerror(rc);
        if (unreachable || (m->refused && !m->tls))
            put_error(err, err_cap, "cannot connect to the MQTT broker at %.200s:%d: %s (is the broker running and "
                      "listening there?)", host, port, detail);
        else if (m->refused)
            put_error(err, err_cap, "cannot connect to the MQTT broker at %.200s:%d: the connection was refused or "
                      "lost (is the broker running and listening there?)", host, port);
        else if (m->tls)
            put_error(err, err_cap, "the MQTT broker at %.200s:%d closed the connection after the TLS handshake, "
                      "before answering CONNECT (%s): %s", host, port, detail,
                      m->has_psk ? "it did not accept the pre-shared key"
                      : m->has_cert ? "it did not accept this client's certificate (is it signed by a CA the broker trusts?)"
                      : "it probably requires a client certificate, and none was given");
        else if (from_connect)
            put_error(err, err_cap, "cannot connect to the MQTT broker at %.200s:%d: %s (is the broker running and "
                      "listening there?)", host, port, detail);
        else
            put_error(err, err_cap, "the connection to the MQTT broker at %.200s:%d ended before the broker answered "
                      "CONNECT (%s): is the broker running there? (a TLS listener needs mqtts://)", host, port, detail);
    } else if (!m->connect_done) {
        put_error(err, err_cap, "looking up the MQTT broker's host name '%.200s' did not finish within %d ms "
                  "(is a DNS server reachable?)", host, timeout);
    } else {
        put_error(err, err_cap, "the MQTT broker at %.200s:%d did not answer CONNECT within %d ms%s", host, port,
                  timeout, m->tls ? " (TLS handshake included)" : "");
    }
}

cdde_mqtt *cdde_mqtt_open(const char *host, int port, const char *client_id,
                          const cdde_mqtt_options *options, int *status, char *err, size_t err_cap) {
    int ignored;
    if (status == NULL) status = &ignored;
    *status = DDE_ERR_TRANSPORT;
    if (host == NULL || client_id == NULL || options == NULL || port <= 0 || port > 65535) {
        *status = DDE_ERR_ARGUMENT;
        put_error(err, err_cap, "invalid arguments to cdde_mqtt_open");
        return NULL;
    }
    pthread_mutex_lock(&load_lock);
    if (!load_done) { load_library(); load_done = 1; }
    int loaded = load_error[0] == '\0';
    pthread_mutex_unlock(&load_lock);
    if (!loaded) {
        put_error(err, err_cap, "%s", load_error);
        return NULL;
    }
    const cdde_mqtt_security *security = &options->security;
    cdde_mqtt *m = calloc(1, sizeof *m);
    if (m == NULL) { *status = DDE_ERR_NOMEM; put_error(err, err_cap, "out of memory"); return NULL; }
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->log_lock, NULL);
    pthread_cond_init(&m->arrived, NULL);
    pthread_cond_init(&m->changed, NULL);
    pthread_mutex_init(&m->io, NULL);
    pthread_cond_init(&m->loop_free, NULL);
    m->wake[0] = m->wake[1] = m->tell[0] = m->tell[1] = -1;
    m->max_message_bytes = options->max_message_bytes;
    m->max_queued_messages = options->max_queued_messages;
    m->max_queued_bytes = options->max_queued_bytes;
    m->verify_result = -1;
    m->port = port;
    m->keepalive = options->keepalive_seconds >= 5 ? options->keepalive_seconds : 5;
    m->tls = security->tls != 0;
    m->has_psk = m->tls && security->psk_file != NULL;
    m->has_cert = m->tls && !m->has_psk && security->cert_file != NULL;
    m->host = strdup(host);
    m->username = copy_or_null(security->username);
    m->cert_file = copy_or_null(security->cert_file);
    m->key_file = copy_or_null(security->key_file);
    if (m->host == NULL || (security->username && !m->username) || (security->cert_file && !m->cert_file)
        || (security->key_file && !m->key_file)) {
        *status = DDE_ERR_NOMEM;
        put_error(err, err_cap, "out of memory");
        free_handle(m);
        return NULL;
    }

    m->client = mosq.create(client_id, options->clean_session != 0, m);
    if (m->client == NULL) {
        put_error(err, err_cap, "mosquitto_new failed for client id '%.64s' (%s)", client_id, strerror(errno));
        free_handle(m);
        return NULL;
    }
    // Without TCP_NODELAY every request/reply round trip stalls ~88 ms (Nagle + delayed ACK).
    int rc = mosq.int_option(m->client, CDDE_MOSQ_OPT_TCP_NODELAY, 1);
    if (rc != CDDE_MOSQ_ERR_SUCCESS) {
        int major = 0, minor = 0, revision = 0;
        mosq.lib_version(&major, &minor, &revision);
        put_error(err, err_cap, "libmosquitto %d.%d.%d cannot set TCP_NODELAY (%s): install "
                  "libmosquitto1 version 2.0 or newer", major, minor, revision, mosq_error(rc));
        mosq.destroy(m->client);
        free_handle(m);
        return NULL;
    }
    mosq.log_callback_set(m->client, on_log);
    if (configure_security(m, security, status, err, err_cap) != 0) {
        mosq.destroy(m->client);
        free_handle(m);
        return NULL;
    }
    unsigned int delay_max = options->reconnect_max_seconds > 0 ? (unsigned int)options->reconnect_max_seconds : 1u;
    mosq.reconnect_delay_set(m->client, 1, delay_max, true);
    m->reconnect_max = delay_max;
    // Plain TCP: the shim runs the network loop (see the top of this file).
    if (!m->tls) {
        // pipe2 (GLIBC_2.9), not fcntl: fcntl binds fcntl64@GLIBC_2.28 where off_t is 64-bit on
        // 32-bit ARM, and the Embedded libraries need nothing newer than they do today.
        if (pipe2(m->wake, O_NONBLOCK | O_CLOEXEC) != 0 || pipe2(m->tell, O_NONBLOCK | O_CLOEXEC) != 0) {
            put_error(err, err_cap, "cannot make a pipe for the MQTT network thread: %s", strerror(errno));
            mosq.destroy(m->client);
            free_handle(m);
            return NULL;
        }
        m->own_loop = 1;
    }
    mosq.connect_with_flags_callback_set(m->client, on_connect);
    mosq.disconnect_callback_set(m->client, on_disconnect);
    mosq.message_callback_set(m->client, on_message);
    mosq.publish_callback_set(m->client, on_publish);

    // The name lookup and the connect run on their own thread (see the top of this file); the
    // wait for the CONNACK makes a refused connection an error here, not a silent retry loop.
    int timeout = options->connect_timeout_ms > 0 ? options->connect_timeout_ms : 5000;
    struct timespec deadline = deadline_after(timeout);
    pthread_t thread;
    rc = mosq.thread_create(&thread, NULL, connect_thread, m);
    if (rc != 0) {
        put_error(err, err_cap, "cannot start a thread to connect to the MQTT broker: %s", strerror(rc));
        mosq.destroy(m->client);
        free_handle(m);
        return NULL;
    }
    mosq.thread_detach(thread);
    pthread_mutex_lock(&m->lock);
    int hung_up = 0;
    for (;;) {
        if (m->connack_seen || (m->connect_done && m->connect_rc != CDDE_MOSQ_ERR_SUCCESS) || m->lost_before_connack)
            break;
        pthread_mutex_lock(&m->log_lock);
        int tls_failed = m->tls_failed;
        pthread_mutex_unlock(&m->log_lock);
        if (tls_failed) break;
        // Hung up for three looks in a row (100 ms or more), so that a handshake error or a
        // disconnect on its way is told rather than this.
        hung_up = m->tls && m->connect_done && tcp_failed(m) ? hung_up + 1 : 0;
        if (hung_up == 3) { m->refused = 1; break; }
        // on_log cannot signal `changed` (it never takes `lock`): wake every 50 ms to look.
        struct timespec slice = deadline_after(50);
        int last = slice.tv_sec > deadline.tv_sec || (slice.tv_sec == deadline.tv_sec && slice.tv_nsec >= deadline.tv_nsec);
        if (pthread_cond_timedwait(&m->changed, &m->lock, last ? &deadline : &slice) == ETIMEDOUT && last) break;
    }
    if (m->connack_seen && m->connack_rc == 0) {
        pthread_mutex_unlock(&m->lock);
        return m;
    }
    connect_failure(m, timeout, err, err_cap);
    if (!m->connect_done) {
        // Still inside mosquitto_connect_async (the name lookup): the thread frees the handle.
        m->abandoned = 1;
        pthread_mutex_unlock(&m->lock);
        return NULL;
    }
    int refused = m->refused;
    int waiting = !m->connack_seen && !m->lost_before_connack && m->loop_running;
    pthread_mutex_unlock(&m->lock);
    if (refused) close_now(m, true);  // its thread spins on the dead socket (see tcp_failed)
    else if (waiting) close_in_background(m);
    else close_now(m, false);
    return NULL;
}

int cdde_mqtt_publish(cdde_mqtt *m, const char *topic, const uint8_t *payload, size_t length,
                      int retain, char *err, size_t err_cap) {
    if (m == NULL || topic == NULL || (payload == NULL && length > 0)) {
        put_error(err, err_cap, "invalid arguments to cdde_mqtt_publish");
        return -1;
    }
    if (length > 268435455u) { // MQTT's largest remaining length
        put_error(err, err_cap, "payload of %zu bytes is over MQTT's 256 MiB limit", length);
        return -1;
    }
    // Under `io`: the packet is written to the socket in this thread (plain TCP). Under `lock`,
    // which on_publish takes too: the PUBACK of this publish is counted after it.
    pthread_mutex_lock(&m->io);
    pthread_mutex_lock(&m->lock);
    if (m->unacked >= (long)m->max_queued_messages) {
        long waiting = m->unacked;
        pthread_mutex_unlock(&m->lock);
        pthread_mutex_unlock(&m->io);
        put_error(err, err_cap, "publishing to %.200s failed: %ld publishes are already waiting for "
                  "the broker's acknowledgement (is the broker reachable?)", topic, waiting);
        return -1;
    }
    int rc = mosq.publish(m->client, NULL, topic, (int)length, payload, 1, retain != 0);
    // While disconnected libmosquitto answers a QoS-1 publish with NO_CONN but keeps the message
    // and sends it itself after the reconnect (1.6 and 2.0 alike): it is on its way like any other.
    if (rc == CDDE_MOSQ_ERR_NO_CONN) rc = CDDE_MOSQ_ERR_SUCCESS;
    if (rc == CDDE_MOSQ_ERR_SUCCESS) m->unacked++;
    pthread_mutex_unlock(&m->lock);
    io_unlock_and_wake(m);
    if (rc != CDDE_MOSQ_ERR_SUCCESS) {
        put_error(err, err_cap, "publishing to %.200s failed: %s", topic, mosq_error(rc));
        return -1;
    }
    return 0;
}

// Caller holds m->io (the packet may be written in this thread).
static int subscribe_io(cdde_mqtt *m, const char *filter, char *err, size_t err_cap) {
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->filter_count; i++) {
        if (strcmp(m->filters[i], filter) == 0) { pthread_mutex_unlock(&m->lock); return 0; }
    }
    char **grown = realloc(m->filters, (m->filter_count + 1) * sizeof *grown);
    char *copy = grown ? strdup(filter) : NULL;
    if (grown) m->filters = grown;
    if (copy == NULL) { pthread_mutex_unlock(&m->lock); put_error(err, err_cap, "out of memory"); return -1; }
    int rc = CDDE_MOSQ_ERR_SUCCESS;
    // While disconnected, the next CONNACK subscribes it (on_connect): nothing to send now.
    if (m->connected) rc = mosq.subscribe(m->client, NULL, filter, 1);
    if (rc != CDDE_MOSQ_ERR_SUCCESS && rc != CDDE_MOSQ_ERR_NO_CONN) {
        free(copy);
        pthread_mutex_unlock(&m->lock);
        put_error(err, err_cap, "subscribing to %.200s failed: %s", filter, mosq_error(rc));
        return -1;
    }
    m->filters[m->filter_count++] = copy;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

// Caller holds m->io (the packet may be written in this thread).
static int unsubscribe_io(cdde_mqtt *m, const char *filter, char *err, size_t err_cap) {
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->filter_count; i++) {
        if (strcmp(m->filters[i], filter) == 0) {
            free(m->filters[i]);
            m->filters[i] = m->filters[--m->filter_count];
            break;
        }
    }
    int rc = m->connected ? mosq.unsubscribe(m->client, NULL, filter) : CDDE_MOSQ_ERR_NO_CONN;
    if (rc == CDDE_MOSQ_ERR_NO_CONN) {
        // A persistent session keeps the subscription on the broker: undo it at the next CONNACK.
        int known = 0;
        for (size_t i = 0; i < m->dropped_count && !known; i++) known = strcmp(m->dropped_filters[i], filter) == 0;
        if (!known) {
            char **grown = realloc(m->dropped_filters, (m->dropped_count + 1) * sizeof *grown);
            char *copy = grown ? strdup(filter) : NULL;
            if (grown) m->dropped_filters = grown;
            if (copy == NULL) { pthread_mutex_unlock(&m->lock); put_error(err, err_cap, "out of memory"); return -1; }
            m->dropped_filters[m->dropped_count++] = copy;
        }
        rc = CDDE_MOSQ_ERR_SUCCESS;
    }
    pthread_mutex_unlock(&m->lock);
    if (rc != CDDE_MOSQ_ERR_SUCCESS) {
        put_error(err, err_cap, "unsubscribing from %.200s failed: %s", filter, mosq_error(rc));
        return -1;
    }
    return 0;
}

int cdde_mqtt_subscribe(cdde_mqtt *m, const char *filter, char *err, size_t err_cap) {
    if (m == NULL || filter == NULL) { put_error(err, err_cap, "invalid arguments to cdde_mqtt_subscribe"); return -1; }
    pthread_mutex_lock(&m->io);
    int rc = subscribe_io(m, filter, err, err_cap);
    io_unlock_and_wake(m);
    return rc;
}

int cdde_mqtt_unsubscribe(cdde_mqtt *m, const char *filter, char *err, size_t err_cap) {
    if (m == NULL || filter == NULL) { put_error(err, err_cap, "invalid arguments to cdde_mqtt_unsubscribe"); return -1; }
    pthread_mutex_lock(&m->io);
    int rc = unsubscribe_io(m, filter, err, err_cap);
    io_unlock_and_wake(m);
    return rc;
}

// Plain TCP: while the queue is empty, the receiving thread runs the network loop's turns itself
// (one receiver at a time; the network thread waits meanwhile), so that a message read from the
// socket is handled in the thread that wants it, without waking another (about 23 us a message,
// BENCHMARKS.md, Network). Until `deadline_ms` on CLOCK_MONOTONIC, a message queued, the connection lost or
// the handle closing. Caller holds m->lock; held again on return.
static void receive_turns(cdde_mqtt *m, int64_t deadline_ms) {
    m->receiver_polls = 1;
    // Out of its poll, to wait on loop_free; when it is not in a turn it will see receiver_polls
    // before its next one, and the byte would be one more syscall on the receiver's way.
    int poke = m->network_turn;
    pthread_mutex_unlock(&m->lock);
    if (poke) wake_network_thread(m);
    for (;;) {
        int64_t left = deadline_ms - monotonic_ms();
        if (left <= 0) break;
        int stop = 0;
        int rc = loop_turn(m, left > 1000 ? 1000 : (int)left, 1, &stop);
        if (stop || rc != CDDE_MOSQ_ERR_SUCCESS) break;  // a lost connection is the network thread's
        pthread_mutex_lock(&m->lock);
        int got = m->head != NULL;
        pthread_mutex_unlock(&m->lock);
        if (got) break;
    }
    pthread_mutex_lock(&m->lock);
    m->receiver_polls = 0;
    // Another receiver waiting on `arrived`, if any, takes the turns over (else nobody would read
    // the socket until the network thread looks again). Without waiters the signal is no syscall.
    pthread_cond_signal(&m->arrived);
}

cdde_mqtt_message *cdde_mqtt_receive(cdde_mqtt *m, int timeout_ms) {
    if (m == NULL) return NULL;
    pthread_mutex_lock(&m->lock);
    if (m->head == NULL && timeout_ms > 0) {
        struct timespec deadline = deadline_after(timeout_ms);
        int64_t until = monotonic_ms() + timeout_ms;
        int may_turn = 1;  // again only once woken: no spinning when the turns end early
        while (m->head == NULL) {
            if (may_turn && m->own_loop && m->loop_running && m->connected && !m->receiver_polls && !m->stopping) {
                receive_turns(m, until);
                may_turn = 0;
                // Still nothing: the time is up, or the connection was lost (the rest of the time
                // waiting below).
                if (m->head != NULL) break;
            }
            int timed_out = pthread_cond_timedwait(&m->arrived, &m->lock, &deadline) == ETIMEDOUT;
            if (timed_out) break;
            may_turn = 1;
        }
    }
    cdde_mqtt_message *item = m->head;
    if (item) {
        m->head = item->next;
        if (m->head == NULL) m->tail = NULL;
        m->queued_messages--;
        m->queued_bytes -= item->length;
        item->next = NULL;
    }
    pthread_mutex_unlock(&m->lock);
    if (item) cdde_trace(CDDE_TRACE_MQTT_RECEIVED);
    return item;
}

void cdde_mqtt_message_free(cdde_mqtt_message *message) { free(message); }

int cdde_mqtt_take_notice(cdde_mqtt *m, char *buffer, size_t capacity) {
    if (m == NULL || buffer == NULL || capacity == 0) return 0;
    pthread_mutex_lock(&m->lock);
    int got = 0;
    if (m->notices_lost > 0) {
        snprintf(buffer, capacity, "mqtt: %llu older notices were lost (notice buffer full)",
                 (unsigned long long)m->notices_lost);
        m->notices_lost = 0;
        got = 1;
    } else if (m->notice_count > 0) {
        snprintf(buffer, capacity, "%s", m->notices[m->notice_first]);
        m->notice_first = (m->notice_first + 1) % NOTICE_SLOTS;
        m->notice_count--;
        got = 1;
    } else if (m->connects > 0) {
        pthread_mutex_lock(&m->log_lock);
        int due = m->tls_notice_due;
        m->tls_notice_due = 0;
        pthread_mutex_unlock(&m->log_lock);
        char why[400];
        if (due && tls_reason(m, why, sizeof why)) {
            snprintf(buffer, capacity, "mqtt: TLS failed on reconnecting: %s; libmosquitto does not retry "
                     "after a TLS failure: restart the process to connect again", why);
            got = 1;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return got;
}

int cdde_mqtt_flush(cdde_mqtt *m, int timeout_ms) {
    if (m == NULL) return -1;
    struct timespec deadline = deadline_after(timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&m->lock);
    pthread_cond_signal(&m->loop_free);  // the acknowledgements are read by the network thread
    while (m->unacked > 0) {
        if (pthread_cond_timedwait(&m->changed, &m->lock, &deadline) == ETIMEDOUT) break;
    }
    long left = m->unacked;
    pthread_mutex_unlock(&m->lock);
    return left > 0 ? (int)(left > 1000000 ? 1000000 : left) : 0;
}

void cdde_mqtt_stats(cdde_mqtt *m, cdde_mqtt_counters *out) {
    if (m == NULL || out == NULL) return;
    pthread_mutex_lock(&m->lock);
    out->connected = m->connected;
    out->connects = m->connects;
    out->dropped = m->dropped;
    out->queued_messages = m->queued_messages;
    out->unacked = m->unacked > 0 ? (uint64_t)m->unacked : 0;
    pthread_mutex_unlock(&m->lock);
}

void cdde_mqtt_close(cdde_mqtt *m) {
    if (m == NULL) return;
    close_now(m, false);
}
