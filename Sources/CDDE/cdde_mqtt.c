// MQTT client under MQTTTransport (Sources/DDE/Network/MQTTTransport.swift), on libmosquitto.
//
// libmosquitto is loaded at run time (dlopen "libmosquitto.so.1"), never linked: libdde.so's
// NEEDED list stays libc, libm, libsodium, libsqlite3, and a program that never opens an MQTT
// transport does not need libmosquitto installed at all.
//
// Threading: libmosquitto's own network thread (mosquitto_loop_start) reads and writes the
// socket, answers keepalives and reconnects. Its callbacks only copy each arriving message into a
// queue guarded by `lock`; cdde_mqtt_receive takes from that queue in the caller's thread, waiting
// on `arrived` at most the given time. Publishing is safe from any thread (libmosquitto locks its
// own outgoing queue). The queue is bounded in messages and bytes: what does not fit, and any
// message over max_message_bytes, is dropped and a notice saying why is queued for the caller to log.
//
// Sessions: clean_session is false with the caller's stable client id, so the broker keeps the
// subscriptions and queues QoS-1 messages while the client is away (or the broker restarts with
// persistence on). On every CONNACK the client subscribes again to every filter it holds anyway,
// so a broker that lost the session (no persistence) still delivers from then on.
#include "cdde.h"
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

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
    CDDE_MOSQ_ERR_NO_CONN = 4,
    CDDE_MOSQ_ERR_ERRNO = 14,
    CDDE_MOSQ_OPT_TCP_NODELAY = 11,
};
#if __has_include(<mosquitto.h>)
#include <mosquitto.h>
_Static_assert((int)MOSQ_OPT_TCP_NODELAY == (int)CDDE_MOSQ_OPT_TCP_NODELAY, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_NO_CONN == (int)CDDE_MOSQ_ERR_NO_CONN, "mosquitto.h disagrees");
_Static_assert((int)MOSQ_ERR_ERRNO == (int)CDDE_MOSQ_ERR_ERRNO, "mosquitto.h disagrees");
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
    int (*publish)(struct mosquitto *, int *, const char *, int, const void *, int, bool);
    int (*subscribe)(struct mosquitto *, int *, const char *, int);
    int (*unsubscribe)(struct mosquitto *, int *, const char *);
    void (*connect_with_flags_callback_set)(struct mosquitto *, void (*)(struct mosquitto *, void *, int, int));
    void (*disconnect_callback_set)(struct mosquitto *, void (*)(struct mosquitto *, void *, int));
    void (*message_callback_set)(struct mosquitto *, void (*)(struct mosquitto *, void *, const struct mosquitto_message *));
    void (*publish_callback_set)(struct mosquitto *, void (*)(struct mosquitto *, void *, int));
    const char *(*strerror)(int);
    const char *(*connack_string)(int);
} mosq;

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
        SYM(publish, "mosquitto_publish"),
        SYM(subscribe, "mosquitto_subscribe"),
        SYM(unsubscribe, "mosquitto_unsubscribe"),
        SYM(connect_with_flags_callback_set, "mosquitto_connect_with_flags_callback_set"),
        SYM(disconnect_callback_set, "mosquitto_disconnect_callback_set"),
        SYM(message_callback_set, "mosquitto_message_callback_set"),
        SYM(publish_callback_set, "mosquitto_publish_callback_set"),
        SYM(strerror, "mosquitto_strerror"),
        SYM(connack_string, "mosquitto_connack_string"),
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
    int loop_running;
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

static void on_connect(struct mosquitto *client, void *context, int rc, int flags) {
    cdde_mqtt *m = context;
    pthread_mutex_lock(&m->lock);
    m->connack_seen = 1;
    m->connack_rc = rc;
    if (rc == 0) {
        m->connected = 1;
        m->connects++;
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
    pthread_mutex_unlock(&m->lock);
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
    pthread_cond_destroy(&m->arrived);
    pthread_cond_destroy(&m->changed);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

cdde_mqtt *cdde_mqtt_open(const char *host, int port, const char *client_id,
                          const cdde_mqtt_options *options, char *err, size_t err_cap) {
    if (host == NULL || client_id == NULL || options == NULL || port <= 0 || port > 65535) {
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
    cdde_mqtt *m = calloc(1, sizeof *m);
    if (m == NULL) { put_error(err, err_cap, "out of memory"); return NULL; }
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->arrived, NULL);
    pthread_cond_init(&m->changed, NULL);
    m->max_message_bytes = options->max_message_bytes;
    m->max_queued_messages = options->max_queued_messages;
    m->max_queued_bytes = options->max_queued_bytes;

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
    unsigned int delay_max = options->reconnect_max_seconds > 0 ? (unsigned int)options->reconnect_max_seconds : 1u;
    mosq.reconnect_delay_set(m->client, 1, delay_max, true);
    mosq.connect_with_flags_callback_set(m->client, on_connect);
    mosq.disconnect_callback_set(m->client, on_disconnect);
    mosq.message_callback_set(m->client, on_message);
    mosq.publish_callback_set(m->client, on_publish);

    int keepalive = options->keepalive_seconds >= 5 ? options->keepalive_seconds : 5;
    errno = 0;
    rc = mosq.connect(m->client, host, port, keepalive);
    if (rc != CDDE_MOSQ_ERR_SUCCESS) {
        put_error(err, err_cap, "cannot connect to the MQTT broker at %.200s:%d: %s "
                  "(is the broker running and listening there?)", host, port, mosq_error(rc));
        mosq.destroy(m->client);
        free_handle(m);
        return NULL;
    }
    rc = mosq.loop_start(m->client);
    if (rc != CDDE_MOSQ_ERR_SUCCESS) {
        put_error(err, err_cap, "mosquitto_loop_start failed: %s", mosq_error(rc));
        mosq.disconnect(m->client);
        mosq.destroy(m->client);
        free_handle(m);
        return NULL;
    }
    m->loop_running = 1;

    // Wait for the CONNACK so that a refused connection is an error here, not a silent retry loop.
    int timeout = options->connect_timeout_ms > 0 ? options->connect_timeout_ms : 5000;
    struct timespec deadline = deadline_after(timeout);
    pthread_mutex_lock(&m->lock);
    while (!m->connack_seen) {
        if (pthread_cond_timedwait(&m->changed, &m->lock, &deadline) == ETIMEDOUT) break;
    }
    int seen = m->connack_seen, refused = m->connack_rc;
    pthread_mutex_unlock(&m->lock);
    if (!seen || refused != 0) {
        if (!seen)
            put_error(err, err_cap, "the MQTT broker at %.200s:%d did not answer CONNECT within %d ms",
                      host, port, timeout);
        else
            put_error(err, err_cap, "the MQTT broker at %.200s:%d refused the connection: %s",
                      host, port, mosq.connack_string(refused));
        cdde_mqtt_close(m);
        return NULL;
    }
    return m;
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
    // Under `lock`, which on_publish takes too: the PUBACK of this publish is counted after it.
    pthread_mutex_lock(&m->lock);
    if (m->unacked >= (long)m->max_queued_messages) {
        long waiting = m->unacked;
        pthread_mutex_unlock(&m->lock);
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
    if (rc != CDDE_MOSQ_ERR_SUCCESS) {
        put_error(err, err_cap, "publishing to %.200s failed: %s", topic, mosq_error(rc));
        return -1;
    }
    return 0;
}

int cdde_mqtt_subscribe(cdde_mqtt *m, const char *filter, char *err, size_t err_cap) {
    if (m == NULL || filter == NULL) { put_error(err, err_cap, "invalid arguments to cdde_mqtt_subscribe"); return -1; }
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

int cdde_mqtt_unsubscribe(cdde_mqtt *m, const char *filter, char *err, size_t err_cap) {
    if (m == NULL || filter == NULL) { put_error(err, err_cap, "invalid arguments to cdde_mqtt_unsubscribe"); return -1; }
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

cdde_mqtt_message *cdde_mqtt_receive(cdde_mqtt *m, int timeout_ms) {
    if (m == NULL) return NULL;
    pthread_mutex_lock(&m->lock);
    if (m->head == NULL && timeout_ms > 0) {
        struct timespec deadline = deadline_after(timeout_ms);
        while (m->head == NULL) {
            if (pthread_cond_timedwait(&m->arrived, &m->lock, &deadline) == ETIMEDOUT) break;
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
    }
    pthread_mutex_unlock(&m->lock);
    return got;
}

int cdde_mqtt_flush(cdde_mqtt *m, int timeout_ms) {
    if (m == NULL) return -1;
    struct timespec deadline = deadline_after(timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&m->lock);
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
    // A clean DISCONNECT: the broker keeps the session (clean_session false) for the next run.
    mosq.disconnect(m->client);
    if (m->loop_running) mosq.loop_stop(m->client, false);
    mosq.destroy(m->client);
    free_handle(m);
}
