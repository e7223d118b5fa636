// Latency probes (see cdde.h and benchmarks/trace.py), compiled only into a profiling build
// (-DDDE_TRACE); elsewhere this file is empty and cdde.h makes every probe a no-op. Off unless
// the environment variable DDE_TRACE is set when the first probe runs; then each probe appends
// (CLOCK_MONOTONIC ns, point) to a buffer written to "$DDE_TRACE.<pid>" at exit, one "ns point"
// line each. CLOCK_MONOTONIC is one clock for every process on the machine, so the files of a
// requester and its executors merge into one timeline.
#include "cdde.h"

#ifdef DDE_TRACE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define TRACE_CAPACITY (1 << 18)

typedef struct { _Atomic uint64_t ns; int32_t point; } trace_event;

static atomic_int state;          // 0 unknown, 1 off, 2 on
static trace_event *events;
static atomic_uint next_event;
static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;

static void write_trace(void) {
    const char *prefix = getenv("DDE_TRACE");
    if (prefix == NULL || events == NULL) return;
    char path[512];
    snprintf(path, sizeof path, "%s.%ld", prefix, (long)getpid());
    FILE *f = fopen(path, "w");
    if (f == NULL) return;
    unsigned n = atomic_load(&next_event);
    if (n > TRACE_CAPACITY) n = TRACE_CAPACITY;
    // An event is published by its time: a slot still zero was claimed but not yet written.
    for (unsigned i = 0; i < n; i++)
    {
        uint64_t ns = atomic_load_explicit(&events[i].ns, memory_order_acquire);
        if (ns != 0) fprintf(f, "%llu %d\n", (unsigned long long)ns, (int)events[i].point);
    }
    fclose(f);
}

static int setup(void) {
    pthread_mutex_lock(&setup_lock);
    int s = atomic_load(&state);
    if (s == 0) {
        const char *prefix = getenv("DDE_TRACE");
        s = 1;
        if (prefix != NULL && prefix[0] != '\0') {
            events = calloc(TRACE_CAPACITY, sizeof *events);
            if (events != NULL && atexit(write_trace) == 0) s = 2;
        }
        atomic_store(&state, s);
    }
    pthread_mutex_unlock(&setup_lock);
    return s;
}

void cdde_trace(int32_t point) {
    int s = atomic_load_explicit(&state, memory_order_acquire);
    if (s == 1) return;
    if (s == 0 && setup() != 2) return;
    unsigned i = atomic_fetch_add_explicit(&next_event, 1, memory_order_relaxed);
    if (i >= TRACE_CAPACITY) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    events[i].point = point;
    atomic_store_explicit(&events[i].ns, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, memory_order_release);
}

#else
// ISO C wants at least one declaration in a translation unit.
typedef int cdde_trace_compiled_out;
#endif
