#!/usr/bin/env bash
# A Mosquitto broker on 127.0.0.1 for one test, owned by this script in the foreground. The one
# way every suite starts a broker: the shell suites through start_broker (scripts/lib.sh), the
# Swift tests through TestBroker (Tests/DDEMQTTTests/MQTTTestSupport.swift), the Python tests
# through Network (bindings/python/tests/test_client.py), the network benchmark.
#
#   scripts/broker.sh DIR [--persistence] [--port N] [--listeners FILE]
#
# DIR gets mosquitto.conf and broker.log (appended to, so a restart keeps the earlier lines), and
# the persistence file with --persistence (saved every second and on SIGTERM).
# --listeners FILE: more listeners after the plain one (TLS, passwords, ACLs: scripts/test-tls.sh),
# as Mosquitto configuration in which `listener +K` means port N+K on 127.0.0.1 (N: the plain
# listener's port). Settings are then per listener (per_listener_settings true); the plain
# listener stays anonymous and unrestricted.
# Port: a random one outside the range the kernel hands to outgoing connections; when a listener
# already holds it, Mosquitto fails with "Address already in use" and this tries again on a fresh
# port (at most 5 times), so two brokers never share a port and no test races another for one.
# --port N: that port only (a restart on the port the clients know).
# Ready: Mosquitto logs "running" once its listener is open. Then, and only then, this prints one
# line on stdout, "port N pid P" (P: Mosquitto's process id): callers wait for that line.
# Gives up (exit 1, one line on stderr naming what it waited for and how long, then the log's
# tail) when Mosquitto neither runs nor fails within 10 s.
# SIGTERM, SIGINT or SIGHUP: stops Mosquitto with SIGTERM (it saves its persistence file), waits
# for it, exits 0. If Mosquitto stops by itself, this exits with its status. Spawn this with no
# signal blocked: a child inherits the signal mask, and a Mosquitto with SIGTERM blocked never
# stops on it (TestBroker.start says how the Swift tests make sure).
set -uo pipefail
usage() { echo "usage: scripts/broker.sh DIR [--persistence] [--port N] [--listeners FILE]" >&2; exit 2; }
[ $# -ge 1 ] || usage
DIR=$1; shift
persistence=0
fixed_port=
listeners=
while [ $# -gt 0 ]; do
    case $1 in
        --persistence) persistence=1; shift ;;
        --port) [ $# -ge 2 ] || usage; fixed_port=$2; shift 2 ;;
        --listeners) [ $# -ge 2 ] && [ -r "$2" ] || usage; listeners=$2; shift 2 ;;
        *) usage ;;
    esac
done
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
[ -x "$MOSQUITTO" ] || { echo "broker.sh: FAIL: $MOSQUITTO missing: scripts/install-deps.sh (apt install mosquitto)" >&2; exit 1; }
mkdir -p "$DIR" || exit 1
DIR=$(cd "$DIR" && pwd)
LOG=$DIR/broker.log
READY_SECONDS=10

mpid=
stop() {
    trap - TERM INT HUP
    if [ -n "$mpid" ]; then
        kill -TERM "$mpid" 2>/dev/null
        wait "$mpid" 2>/dev/null
    fi
    exit 0
}
trap stop TERM INT HUP

# A random port below the kernel's range for outgoing connections (ip_local_port_range), so no
# client socket can take it between the pick and Mosquitto's bind; a listener that already holds
# it makes Mosquitto fail, and the loop below picks again.
free_port() {
    local low=32768 high=60999 lo=10000 hi
    read -r low high < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    hi=$((low - 17))  # room for --listeners' ports N+1 ... N+16 below the range too
    [ "$hi" -gt $((lo + 1000)) ] || { lo=1024; hi=65535; }  # an unusual range: anywhere, retried on collision
    echo $((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
}

# Writes the config for PORT. Run as root, Mosquitto drops to the user named here (without
# `user` it would become "mosquitto", which cannot write into DIR); as another user it is ignored.
configure() {
    {
        # Before any other security setting, as Mosquitto requires.
        [ -z "$listeners" ] || echo "per_listener_settings true"
        echo "user $(id -un 2>/dev/null || echo root)"
        echo "listener $1 127.0.0.1"
        echo "allow_anonymous true"
        echo "set_tcp_nodelay true"
        echo "log_dest file $LOG"
        echo "log_type error"
        echo "log_type warning"
        echo "log_type notice"
        echo "log_type information"
        if [ "$persistence" = 1 ]; then
            echo "persistence true"
            echo "persistence_location $DIR/"
            echo "autosave_interval 1"
        fi
        if [ -n "$listeners" ]; then
            local line k
            while IFS= read -r line || [ -n "$line" ]; do
                if [[ $line =~ ^listener\ \+([0-9]+)(.*)$ ]]; then
                    k=${BASH_REMATCH[1]}
                    line="listener $(($1 + k)) 127.0.0.1"
                fi
                echo "$line"
            done < "$listeners"
        fi
    } > "$DIR/mosquitto.conf"
}

# This attempt's lines of the log: a restart or a retry appends to the earlier ones.
since() { tail -c +"$((offset + 1))" "$LOG"; }

attempts=5
[ -n "$fixed_port" ] && attempts=1
for attempt in $(seq "$attempts"); do
    port=${fixed_port:-$(free_port)}
    configure "$port"
    touch "$LOG"
    offset=$(stat -c %s "$LOG")
    # stdout and stderr too: what Mosquitto says before it opens the log file (the warning about
    # running as root, a config error).
    "$MOSQUITTO" -c "$DIR/mosquitto.conf" >> "$LOG" 2>&1 &
    mpid=$!
    state=waiting
    deadline=$((SECONDS + READY_SECONDS))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if since | grep -q 'mosquitto version .* running'; then state=ready; break; fi
        if ! kill -0 "$mpid" 2>/dev/null; then state=exited; break; fi
        sleep 0.01
    done
    # It may have logged "running" and died just after: it has to be alive now.
    if [ "$state" = ready ] && kill -0 "$mpid" 2>/dev/null; then
        echo "port $port pid $mpid"
        wait "$mpid"
        exit $?
    fi
    if [ "$state" = waiting ]; then
        echo "broker.sh: FAIL: gave up after $READY_SECONDS s waiting for Mosquitto to log 'running' on 127.0.0.1:$port ($LOG):" >&2
        kill -KILL "$mpid" 2>/dev/null; wait "$mpid" 2>/dev/null
        since | tail -n 20 >&2
        exit 1
    fi
    wait "$mpid" 2>/dev/null
    mpid=
    if since | grep -q 'Address already in use' && [ "$attempt" -lt "$attempts" ]; then
        echo "broker.sh: port $port was taken before Mosquitto could bind it; trying a fresh port" >&2
        continue
    fi
    echo "broker.sh: FAIL: Mosquitto exited before listening on 127.0.0.1:$port (attempt $attempt of $attempts; $LOG):" >&2
    since | tail -n 20 >&2
    exit 1
done
