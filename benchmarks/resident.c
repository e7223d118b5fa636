/* Preloaded (LD_PRELOAD) into a program by benchmarks/size.sh: at exit, copies /proc/self/maps
 * and /proc/self/smaps to $DDE_RESIDENT_OUT.maps and .smaps, for benchmarks/resident.py. Under
 * qemu-user the first is the guest's view and the second the emulator's (see resident.py). */
#include <stdio.h>
#include <stdlib.h>

static void copy(const char *from, const char *prefix, const char *suffix) {
    char to[4096];
    snprintf(to, sizeof to, "%s%s", prefix, suffix);
    FILE *in = fopen(from, "r"), *out = fopen(to, "w");
    char buf[8192];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    if (in) fclose(in);
    if (out) fclose(out);
}

__attribute__((destructor)) static void dump(void) {
    const char *prefix = getenv("DDE_RESIDENT_OUT");
    if (prefix == NULL) return;
    copy("/proc/self/maps", prefix, ".maps");
    copy("/proc/self/smaps", prefix, ".smaps");
}
