#include "cdde.h"
// The public header: its constants (DDE_ERRMSGBYTES) and dde_transport_methods, and a check that
// the definitions below match its prototypes.
#include "../../include/dde.h"
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Thread_local int last_code;
static _Thread_local char last_message[DDE_ERRMSGBYTES];

void cdde_set_error(int code, const char *message, size_t length) {
    last_code = code;
    if (message == NULL) length = 0;
    if (length > DDE_ERRMSGBYTES - 1) length = DDE_ERRMSGBYTES - 1;
    if (length > 0) memcpy(last_message, message, length);
    last_message[length] = '\0';
}

void cdde_clear_error(void) {
    last_code = 0;
    last_message[0] = '\0';
}

static atomic_int sodium_ready;

int cdde_init(void) {
    // The flag keeps the hot path (every verify) off sodium_init's mutex.
    if (atomic_load_explicit(&sodium_ready, memory_order_acquire)) return 0;
    // sodium_init returns 0 on first success, 1 when already initialised: both are fine.
    if (sodium_init() < 0) return -1;
    atomic_store_explicit(&sodium_ready, 1, memory_order_release);
    return 0;
}

int dde_errcode(void) { return last_code; }

// cdde_transport_methods repeats dde_transport_methods version 1 for Swift: the same members at
// the same places.
#define SAME_MEMBER(member)                                                                        \
    _Static_assert(offsetof(dde_transport_methods, member) == offsetof(cdde_transport_methods, member), \
                   "cdde_transport_methods." #member " is not where dde.h has it")
SAME_MEMBER(version);
SAME_MEMBER(publish);
SAME_MEMBER(subscribe);
SAME_MEMBER(unsubscribe);
SAME_MEMBER(receive);
_Static_assert(sizeof(dde_transport_methods) == sizeof(cdde_transport_methods),
               "cdde_transport_methods and dde_transport_methods differ in size");

int cdde_transport_read(const void *methods, cdde_transport_methods *out) {
    memset(out, 0, sizeof *out);
    if (methods == NULL) return -1;
    const dde_transport_methods *m = methods;
    out->version = m->version; // the first member in every version
    if (m->version < 1) return -2;
    if (m->version > DDE_TRANSPORT_METHODS_VERSION) return -3;
    // Version 1 members (a later version adds members after these and reads them only when
    // m->version says they are there).
    out->publish = m->publish;
    out->subscribe = m->subscribe;
    out->unsubscribe = m->unsubscribe;
    out->receive = m->receive;
    if (out->publish == NULL || out->subscribe == NULL || out->receive == NULL) return -4;
    return 0;
}

const char *dde_errmsg(void) { return last_message; }

uint64_t cdde_now_ms(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0) return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int cdde_write_private_file(const char *path, const uint8_t *bytes, size_t length) {
    if (path == NULL || (bytes == NULL && length > 0)) return EINVAL;
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (tmp == NULL) return ENOMEM;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp-XXXXXX", 12);
    int fd = mkstemp(tmp); // mkstemp creates the file with mode 0600
    if (fd < 0) { int e = errno; free(tmp); return e; }
    int err = 0;
    if (fchmod(fd, S_IRUSR | S_IWUSR) != 0) err = errno;
    size_t done = 0;
    while (err == 0 && done < length) {
        ssize_t w = write(fd, bytes + done, length - done);
        if (w < 0) { if (errno == EINTR) continue; err = errno; break; }
        done += (size_t)w;
    }
    if (err == 0 && fsync(fd) != 0) err = errno;
    if (close(fd) != 0 && err == 0) err = errno;
    if (err == 0 && rename(tmp, path) != 0) err = errno;
    if (err != 0) unlink(tmp);
    free(tmp);
    return err;
}

int cdde_read_fd(int fd, uint8_t *buffer, size_t capacity, size_t *length) {
    if (fd < 0 || length == NULL || (buffer == NULL && capacity > 0)) return EINVAL;
    *length = 0;
    // Read up to one byte past the buffer, whatever the input is (a file, a pipe, /dev/zero, a
    // process substitution): no fstat, whose versioned symbol would raise the glibc the
    // Embedded builds need (GLIBC_2.33 on aarch64).
    size_t done = 0;
    for (;;) {
        if (done == capacity) {
            char extra;
            ssize_t r;
            do { r = read(fd, &extra, 1); } while (r < 0 && errno == EINTR);
            *length = done;
            return r > 0 ? EFBIG : r < 0 ? errno : 0;
        }
        ssize_t r = read(fd, buffer + done, capacity - done);
        if (r < 0) { if (errno == EINTR) continue; *length = done; return errno; }
        if (r == 0) break;
        done += (size_t)r;
    }
    *length = done;
    return 0;
}

int cdde_read_file(const char *path, uint8_t *buffer, size_t capacity, size_t *length) {
    if (path == NULL || length == NULL || (buffer == NULL && capacity > 0)) return EINVAL;
    *length = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    int err = cdde_read_fd(fd, buffer, capacity, length);
    close(fd);
    return err;
}
