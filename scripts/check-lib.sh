#!/usr/bin/env bash
# check-lib.sh LIB NM READELF [SONAME]: fails unless LIB's dynamic symbol table defines only dde_*
# symbols and names no trace or benchmark symbol, LIB holds no latency probe recorder, its NEEDED
# entries are a subset of libc, libm, libsodium, libsqlite3 and the dynamic loader, and (when
# given) its SONAME is SONAME.
# Used by build-lib.sh (host tools) and build-embedded.sh (the cross tools: aarch64-linux-gnu-*,
# arm-linux-gnueabihf-*).
set -euo pipefail
LIB=$1 NM=${2:-nm} READELF=${3:-readelf} WANT_SONAME=${4:-}
fail=0

soname=$("$READELF" -d "$LIB" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ -n "$WANT_SONAME" ] && [ "$soname" != "$WANT_SONAME" ]; then
    echo "check-lib: FAIL: $LIB has SONAME '${soname:-none}', expected $WANT_SONAME (DDE_SONAME)" >&2
    fail=1
fi

# Every defined symbol in .dynsym, local or global: a stray local data symbol there means the
# version script or the linker leaked something, which we want to see.
bad=$("$NM" -D --defined-only "$LIB" | awk '{ print $NF }' | grep -v '^dde_' | grep -v '^DDE_1$' || true)
if [ -n "$bad" ]; then
    echo "check-lib: FAIL: $LIB exports symbols other than dde_*:" >&2
    echo "$bad" | head -n 20 >&2
    fail=1
fi
# Latency probes and benchmark code belong to profiling and benchmark builds only (issue 14):
# no name in .dynsym, defined or not, may mention them.
probes=$("$NM" -D "$LIB" | awk '{ print $NF }' | grep -iE 'trace|bench' || true)
if [ -n "$probes" ]; then
    echo "check-lib: FAIL: $LIB names trace or benchmark symbols (a profiling build shipped?):" >&2
    echo "$probes" | head -n 20 >&2
    fail=1
fi
# The recorder (cdde_trace.c) reads the DDE_TRACE variable: its name in the file means the probes
# were compiled in (a -DDDE_TRACE build), even with every symbol stripped.
if grep -aq 'DDE_TRACE' "$LIB"; then
    echo "check-lib: FAIL: $LIB holds the latency probe recorder (built with -DDDE_TRACE): profiling builds are not shipped" >&2
    fail=1
fi
count=$("$NM" -D --defined-only "$LIB" | awk '{ print $NF }' | grep -c '^dde_' || true)
if [ "$count" -lt 10 ]; then
    echo "check-lib: FAIL: only $count dde_* symbols exported (expected the whole C API)" >&2
    fail=1
fi

needed=$("$READELF" -d "$LIB" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p')
for lib in $needed; do
    case $lib in
        libc.so.*|libm.so.*|libsodium.so.*|libsqlite3.so.*|ld-linux*.so.*) ;;
        *) echo "check-lib: FAIL: $LIB needs $lib (allowed: libc, libm, libsodium, libsqlite3, ld-linux)" >&2; fail=1 ;;
    esac
done
[ "$fail" -eq 0 ] || exit 1
echo "check-lib: OK: SONAME $soname, $count dde_* symbols, nothing else defined in .dynsym, no trace or bench symbol; NEEDED:" $needed
