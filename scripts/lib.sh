# Shared helpers for the test scripts: pass/fail counting with a closing 'N passed, N failed' line.
# Source it; call `check NAME CMD...` / `check_fails NAME CODE CMD...`, then `finish`.
PASSED=0
FAILED=0

check() {
    local name=$1; shift
    if "$@" >/tmp/dde-check.$$ 2>&1; then
        PASSED=$((PASSED + 1)); echo "ok   $name"
    else
        FAILED=$((FAILED + 1)); echo "FAIL $name"; sed 's/^/     /' /tmp/dde-check.$$ | tail -20
    fi
}

# Passes when CMD exits with exactly CODE (a DDE status).
check_exit() {
    local name=$1 want=$2; shift 2
    local got=0
    "$@" >/tmp/dde-check.$$ 2>&1 || got=$?
    if [ "$got" -eq "$want" ]; then
        PASSED=$((PASSED + 1)); echo "ok   $name (exit $got)"
    else
        FAILED=$((FAILED + 1)); echo "FAIL $name: exit $got, wanted $want"; sed 's/^/     /' /tmp/dde-check.$$ | tail -20
    fi
}

finish() {
    rm -f /tmp/dde-check.$$
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# The debug `dde` command, brought up to date (incremental) unless DDE_NO_BUILD=1, when it
# must already exist.
dde_bin() {
    local bin
    bin="$(cd "$ROOT" && swift build --show-bin-path)/dde"
    if [ "${DDE_NO_BUILD:-0}" = 1 ]; then
        [ -x "$bin" ] || { echo "no $bin and DDE_NO_BUILD=1" >&2; return 1; }
    else
        (cd "$ROOT" && swift build --product dde >/dev/null 2>&1 || swift build --product dde >&2)
    fi
    echo "$bin"
}

# Brings build/host/lib/libdde.so up to date (an incremental build: quick when nothing changed),
# unless DDE_NO_BUILD=1, when it must already exist. A stale library would test old code.
ensure_lib() {
    if [ "${DDE_NO_BUILD:-0}" = 1 ]; then
        [ -f "$ROOT/build/host/lib/libdde.so" ] || { echo "no build/host/lib/libdde.so and DDE_NO_BUILD=1" >&2; return 1; }
    else
        "$ROOT/scripts/build-lib.sh" >/dev/null
    fi
}
