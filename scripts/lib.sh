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
# must already exist. Built with --build-tests, as the swift suite builds: SwiftPM compiles the
# modules with other settings for `swift build --product dde` than for the tests, so mixing the
# two recompiles WasmKit and the rest at each switch (minutes); one mode everywhere builds each
# module once per change.
dde_bin() {
    local bin
    bin="$(cd "$ROOT" && swift build --show-bin-path)/dde"
    if [ "${DDE_NO_BUILD:-0}" = 1 ]; then
        [ -x "$bin" ] || { echo "no $bin and DDE_NO_BUILD=1" >&2; return 1; }
    else
        (cd "$ROOT" && swift build --build-tests >/dev/null 2>&1 || swift build --build-tests >&2)
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

# Waits until FILE has a line matching PATTERN (grep -E), at most SECONDS (default 30); if it
# gives up, says what it waited for and how long, shows FILE's tail and returns 1.
wait_for_log() {
    local file=$1 pattern=$2 seconds=${3:-30}
    local deadline=$((SECONDS + seconds))
    while ! grep -qE "$pattern" "$file" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "wait_for_log: gave up after $seconds s waiting for '$pattern' in $file:" >&2
            tail -n 20 "$file" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.05
    done
}

# start_broker DIR [scripts/broker.sh options]: a Mosquitto broker on 127.0.0.1 (scripts/broker.sh:
# a free port, retried if taken, config and broker.log in DIR), bounded to $BROKER_LIFETIME
# seconds (default 600). Returns once the broker has said it listens; sets BROKER_PORT,
# BROKER_URL and BROKER_PID. stop_broker stops it (call it from the cleanup, after the processes
# that use it have stopped).
start_broker() {
    local dir=$1 line= fd rc=0
    shift
    exec {fd}< <(exec timeout "${BROKER_LIFETIME:-600}" "$ROOT/scripts/broker.sh" "$dir" "$@")
    BROKER_PID=$!
    # broker.sh answers or gives up (saying why) within 5 attempts of 10 s; 60 s is a backstop.
    read -r -t 60 -u "$fd" line || rc=$?
    exec {fd}<&-
    if [ "$rc" -gt 128 ]; then
        echo "start_broker: gave up after 60 s waiting for scripts/broker.sh to report a port (log $dir/broker.log)" >&2
    elif [[ $line != "port "* ]]; then
        echo "start_broker: no broker: scripts/broker.sh ended without reporting a port (why: above; log $dir/broker.log)" >&2
    fi
    if [ "$rc" -gt 128 ] || [[ $line != "port "* ]]; then
        stop_broker
        return 1
    fi
    line=${line#port }
    BROKER_PORT=${line%% *}
    BROKER_URL=mqtt://127.0.0.1:$BROKER_PORT
}

# Stops the broker of start_broker (SIGTERM; scripts/broker.sh stops Mosquitto and waits for it).
stop_broker() {
    [ -n "${BROKER_PID:-}" ] || return 0
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=
}
