// The floor under a delegation round trip: one MQTT request and one reply through the same
// broker, QoS 1 both ways, TCP_NODELAY on both clients, nothing else. Two libmosquitto clients
// in one process: the echo client republishes every request on the reply topic from its network
// thread; the pinger publishes a request and waits for its reply, `count` times. The pinger runs
// its own loop in the main thread (no network thread of libmosquitto's): its publish is written
// to the socket by the publishing call and its reply read by the thread that waits for it, the
// fastest a client can do it (dde's shim does the same, Sources/CDDE/cdde_mqtt.c). With
// `threaded` it uses mosquitto_loop_start instead: each publish wakes that thread to write it and
// each reply is handed to the waiting thread (the floor measured until 2026-12-05).
//
// With `paced SERVE IDLE BUSY` (microseconds) the round trips keep a delegation's pace instead of
// following each other at once: the echo client works (spins) SERVE us before it replies, as an
// executor checks and runs the task; the pinger sleeps IDLE us after each reply, as a requester
// waits for its commit's fsync, then works BUSY us before the next request, as it builds and
// signs the next task. A round trip is then timed without the SERVE us. Back to back, the CPUs,
// the broker and both clients stay awake; at a delegation's pace each message finds its receiver
// (and the broker) asleep, and waking them is part of the trip (BENCHMARKS.md, Network).
//
//   mqtt_echo PORT COUNT REQUEST_BYTES REPLY_BYTES [threaded | paced SERVE_US IDLE_US BUSY_US]
//   prints {"p50_us":…,"p99_us":…,"mean_us":…}
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t replied = PTHREAD_COND_INITIALIZER;
static int replies;
static int subscribed;
static size_t reply_bytes;
static unsigned char *reply_buffer;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void on_subscribe(struct mosquitto *m, void *o, int mid, int n, const int *q) {
    (void)m; (void)o; (void)mid; (void)n; (void)q;
    pthread_mutex_lock(&lock);
    subscribed++;
    pthread_cond_broadcast(&replied);
    pthread_mutex_unlock(&lock);
}

static long serve_us;

// Busy for `us` microseconds: work, not sleep, so the CPU stays awake as it would.
static void work(long us) {
    double until = now_us() + (double)us;
    while (now_us() < until) {}
}

static void on_request(struct mosquitto *m, void *o, const struct mosquitto_message *msg) {
    (void)o; (void)msg;
    if (serve_us > 0) work(serve_us);
    mosquitto_publish(m, NULL, "bench/reply", (int)reply_bytes, reply_buffer, 1, false);
}

static void on_reply(struct mosquitto *m, void *o, const struct mosquitto_message *msg) {
    (void)m; (void)o; (void)msg;
    pthread_mutex_lock(&lock);
    replies++;
    pthread_cond_broadcast(&replied);
    pthread_mutex_unlock(&lock);
}

static struct mosquitto *client(const char *id, int port, const char *topic, int threaded,
                                void (*on_message)(struct mosquitto *, void *, const struct mosquitto_message *)) {
    struct mosquitto *m = mosquitto_new(id, true, NULL);
    if (!m) { fprintf(stderr, "mosquitto_new failed\n"); exit(1); }
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_message_callback_set(m, on_message);
    mosquitto_subscribe_callback_set(m, on_subscribe);
    if (mosquitto_connect(m, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) { fprintf(stderr, "connect failed\n"); exit(1); }
    mosquitto_subscribe(m, NULL, topic, 1);
    if (threaded) mosquitto_loop_start(m);
    return m;
}

// Waits at most 5 s until *counter (under `lock`, counted by a callback) reaches `want`: the
// pinger's own loop runs in this thread (its callbacks too), or libmosquitto's thread signals.
static int wait_for(struct mosquitto *ping, int threaded, const int *counter, int want) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    int ok = 1;
    pthread_mutex_lock(&lock);
    while (ok && *counter < want) {
        if (!threaded) {
            pthread_mutex_unlock(&lock);
            if (mosquitto_loop(ping, 100, 1) != MOSQ_ERR_SUCCESS) { fprintf(stderr, "pinger lost\n"); exit(1); }
            pthread_mutex_lock(&lock);
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            ok = now.tv_sec <= deadline.tv_sec;
        } else {
            ok = pthread_cond_timedwait(&replied, &lock, &deadline) == 0;
        }
    }
    ok = *counter >= want;
    pthread_mutex_unlock(&lock);
    return ok;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int threaded = argc == 6 && strcmp(argv[5], "threaded") == 0;
    int paced = argc == 9 && strcmp(argv[5], "paced") == 0;
    if (!(argc == 5 || threaded || paced)) {
        fprintf(stderr, "usage: mqtt_echo PORT COUNT REQUEST_BYTES REPLY_BYTES [threaded | paced SERVE_US IDLE_US BUSY_US]\n");
        return 2;
    }
    long idle_us = 0, busy_us = 0;
    if (paced) {
        serve_us = atol(argv[6]);
        idle_us = atol(argv[7]);
        busy_us = atol(argv[8]);
        if (serve_us < 0 || idle_us < 0 || busy_us < 0 || serve_us > 1000000 || idle_us > 1000000 || busy_us > 1000000) {
            fprintf(stderr, "SERVE_US, IDLE_US and BUSY_US must be 0..1000000\n");
            return 2;
        }
    }
    int port = atoi(argv[1]), count = atoi(argv[2]);
    size_t request_bytes = (size_t)atol(argv[3]);
    reply_bytes = (size_t)atol(argv[4]);
    if (count < 10 || count > 1000000) { fprintf(stderr, "COUNT must be 10..1000000\n"); return 2; }
    mosquitto_lib_init();
    unsigned char *request = calloc(1, request_bytes + 1);
    reply_buffer = calloc(1, reply_bytes + 1);
    double *samples = calloc((size_t)count, sizeof *samples);
    struct mosquitto *echo = client("bench-echo", port, "bench/request", 1, on_request);
    struct mosquitto *ping = client("bench-ping", port, "bench/reply", threaded, on_reply);
    if (!wait_for(ping, threaded, &subscribed, 2)) { fprintf(stderr, "no SUBACK\n"); return 1; }

    int warmup = count / 10;
    for (int i = -warmup; i < count; i++) {
        pthread_mutex_lock(&lock);
        int want = replies + 1;
        pthread_mutex_unlock(&lock);
        if (idle_us > 0) {
            struct timespec pause = { idle_us / 1000000, (idle_us % 1000000) * 1000 };
            nanosleep(&pause, NULL);
        }
        if (busy_us > 0) work(busy_us);
        double t0 = now_us();
        mosquitto_publish(ping, NULL, "bench/request", (int)request_bytes, request, 1, false);
        if (!wait_for(ping, threaded, &replies, want)) { fprintf(stderr, "reply lost\n"); return 1; }
        if (i >= 0) samples[i] = now_us() - t0 - (double)serve_us;
    }
    qsort(samples, (size_t)count, sizeof *samples, compare);
    double sum = 0;
    for (int i = 0; i < count; i++) sum += samples[i];
    printf("{\"count\":%d,\"mean_us\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n", count, sum / count,
           samples[count / 2], samples[(int)(count * 0.99)]);
    mosquitto_disconnect(echo);
    mosquitto_disconnect(ping);
    mosquitto_loop_stop(echo, false);
    if (threaded) mosquitto_loop_stop(ping, false);
    mosquitto_destroy(echo);
    mosquitto_destroy(ping);
    mosquitto_lib_cleanup();
    return 0;
}
