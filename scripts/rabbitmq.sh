#!/usr/bin/env bash
# A RabbitMQ cluster of two nodes (or one) on 127.0.0.1 with the MQTT plugin, for one test, owned
# by this script in the foreground: the clustered broker of docs/NETWORK.md ("Brokers"), as
# scripts/broker.sh is the Mosquitto one. Debian's rabbitmq-server (3.10, MQTT 3.1.1), run as the
# calling user from /usr/lib/rabbitmq/bin (not the /usr/sbin wrappers, which switch to the
# rabbitmq user); the system service is not used (scripts/install-deps.sh keeps it stopped).
#
#   scripts/rabbitmq.sh DIR [--nodes 1|2]
#
# Everything lives in DIR: home/.erlang.cookie (a fresh cookie shared by the nodes and the CLI
# tools), nN/rabbitmq.conf, nN/enabled_plugins (rabbitmq-plugins --offline enable rabbitmq_mqtt),
# nN/mnesia, nN/log/rabbitN@localhost.log, nN/console.log, epmd.log. Node N is rabbitN@localhost.
# Ports: a block of 24 below the kernel's range for outgoing connections, picked at random and
# tried again (at most 5 times) when one of them is taken: epmd (our own, on that port, loopback
# only: other Erlang nodes on the machine and other runs of this script do not see these nodes),
# the CLI tools' distribution ports, and per node AMQP, Erlang distribution and MQTT, all bound
# to 127.0.0.1. MQTT clients may connect anonymously (the default user guest, loopback only).
# Node 2 joins node 1 with `rabbitmqctl stop_app; join_cluster rabbit1@localhost; start_app`.
# Ready: both nodes logged "Server startup complete", node 2 joined, `rabbitmqctl cluster_status`
# on node 1 lists both as running and both MQTT ports accept connections. Then, and only then,
# this prints one line on stdout, "ports P1 P2" (the MQTT ports of node 1 and node 2; "ports P1"
# with --nodes 1): callers wait for that line. Both nodes boot at once and node 2 joins:
# measured 19 s on the 2-core machine, 25-26 s while it also compiled Swift.
# Gives up (exit 1, one line on stderr naming what it waited for and how long, then the log's
# tail) when a node neither starts nor fails within 150 s, or the join fails.
# SIGTERM, SIGINT or SIGHUP: stops the nodes (rabbitmq-server stops the Erlang VM gracefully),
# waits for them (at most 30 s, then SIGKILL), stops epmd, exits 0. If a node stops by itself,
# this stops the rest and exits 1.
set -uo pipefail
usage() { echo "usage: scripts/rabbitmq.sh DIR [--nodes 1|2]" >&2; exit 2; }
[ $# -ge 1 ] || usage
DIR=$1; shift
NODES=2
while [ $# -gt 0 ]; do
    case $1 in
        --nodes) [ $# -ge 2 ] || usage; NODES=$2; shift 2 ;;
        *) usage ;;
    esac
done
[ "$NODES" = 1 ] || [ "$NODES" = 2 ] || usage
RMQ=${RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}
EPMD=${EPMD:-$(command -v epmd || echo /usr/bin/epmd)}
for tool in "$RMQ/rabbitmq-server" "$RMQ/rabbitmqctl" "$RMQ/rabbitmq-plugins" "$EPMD"; do
    [ -x "$tool" ] || { echo "rabbitmq.sh: FAIL: $tool missing: scripts/install-deps.sh (apt install rabbitmq-server)" >&2; exit 1; }
done
mkdir -p "$DIR" || exit 1
DIR=$(cd "$DIR" && pwd)
READY_SECONDS=150

# The environment every RabbitMQ command here shares: the cookie in DIR/home, no
# /etc/rabbitmq/rabbitmq-env.conf, our own epmd, distribution on loopback only.
mkdir -p "$DIR/home"
cookie=$DIR/home/.erlang.cookie
if [ ! -s "$cookie" ]; then
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$cookie"
    chmod 400 "$cookie"
fi
: > "$DIR/rabbitmq-env.conf"
export HOME=$DIR/home
export RABBITMQ_CONF_ENV_FILE=$DIR/rabbitmq-env.conf
export ERL_EPMD_ADDRESS=127.0.0.1
export LC_ALL=C.UTF-8 LANG=C.UTF-8
LOOPBACK_ONLY="-kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=$LOOPBACK_ONLY
export RABBITMQ_CTL_ERL_ARGS=$LOOPBACK_ONLY

# Ports of node N (1 or 2) in the block at $base.
amqp_port() { echo $((base + 10 * $1 + 1)); }
dist_port() { echo $((base + 10 * $1 + 2)); }
mqtt_port() { echo $((base + 10 * $1 + 3)); }

# Sets node N's variables in the calling (sub)shell: rabbitmq-server and rabbitmqctl read them.
node_env() {
    local n=$1
    export RABBITMQ_NODENAME=rabbit$n@localhost
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT=$(amqp_port "$n")
    export RABBITMQ_DIST_PORT=$(dist_port "$n")
    export RABBITMQ_CONFIG_FILE=$DIR/n$n/rabbitmq.conf
    export RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/n$n/enabled_plugins
    export RABBITMQ_MNESIA_BASE=$DIR/n$n/mnesia
    export RABBITMQ_LOG_BASE=$DIR/n$n/log
    export RABBITMQ_PID_FILE=$DIR/n$n/beam.pid
}

ctl() { local n=$1; shift; (node_env "$n"; timeout 60 "$RMQ/rabbitmqctl" -n "rabbit$n@localhost" "$@"); }

# Whether something accepts TCP connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A base port: the block [base, base+23] lies below ip_local_port_range, so no client socket can
# take one of its ports between the pick and the bind.
pick_base() {
    local low=32768 high=60999 lo=10000 hi
    read -r low high < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    hi=$((low - 24))
    [ "$hi" -gt $((lo + 1000)) ] || { lo=1024; hi=$((65535 - 24)); }
    echo $((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
}

pids=()      # the rabbitmq-server scripts, node 1 first
epmd_pid=
stop() {
    trap - TERM INT HUP
    local pid n deadline
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    deadline=$((SECONDS + 30))
    for n in "${!pids[@]}"; do
        pid=${pids[$n]}
        while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "rabbitmq.sh: node $((n + 1)) did not stop within 30 s of SIGTERM: SIGKILL" >&2
            kill -KILL "$(cat "$DIR/n$((n + 1))/beam.pid" 2>/dev/null)" "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
    done
    if [ -n "$epmd_pid" ]; then kill -TERM "$epmd_pid" 2>/dev/null; wait "$epmd_pid" 2>/dev/null; fi
    exit "${1:-0}"
}
trap 'stop 0' TERM INT HUP

fail() {
    echo "rabbitmq.sh: FAIL: $1" >&2
    [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 20 "$2" >&2
    stop 1
}

# Our own epmd on a free block.
for attempt in 1 2 3 4 5; do
    base=$(pick_base)
    taken=
    for port in "$base" $(amqp_port 1) $(dist_port 1) $(mqtt_port 1) $(amqp_port 2) $(dist_port 2) $(mqtt_port 2); do
        listening "$port" && { taken=$port; break; }
    done
    if [ -n "$taken" ]; then
        echo "rabbitmq.sh: port $taken is in use; trying another block" >&2
        continue
    fi
    "$EPMD" -port "$base" -address 127.0.0.1 >> "$DIR/epmd.log" 2>&1 &
    epmd_pid=$!
    deadline=$((SECONDS + 10))
    while ! listening "$base" && kill -0 "$epmd_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
    listening "$base" && kill -0 "$epmd_pid" 2>/dev/null && break
    kill -KILL "$epmd_pid" 2>/dev/null; wait "$epmd_pid" 2>/dev/null
    epmd_pid=
    echo "rabbitmq.sh: epmd could not listen on 127.0.0.1:$base; trying another block" >&2
done
[ -n "$epmd_pid" ] || fail "no free block of ports for epmd and the nodes after 5 attempts" "$DIR/epmd.log"
export ERL_EPMD_PORT=$base
export RABBITMQ_CTL_DIST_PORT_MIN=$((base + 1)) RABBITMQ_CTL_DIST_PORT_MAX=$((base + 9))

for n in $(seq "$NODES"); do
    mkdir -p "$DIR/n$n"
    {
        echo "listeners.tcp.1 = 127.0.0.1:$(amqp_port "$n")"
        echo "mqtt.listeners.tcp.1 = 127.0.0.1:$(mqtt_port "$n")"
        echo "mqtt.allow_anonymous = true"
        echo "mqtt.vhost = /"
        echo "mqtt.exchange = amq.topic"
        echo "log.console = false"
        echo "log.file.level = info"
    } > "$DIR/n$n/rabbitmq.conf"
done
# The plugin, enabled offline (no node running yet) in node 1's file, which node 2 shares.
(node_env 1; timeout 60 "$RMQ/rabbitmq-plugins" --offline enable rabbitmq_mqtt) > "$DIR/n1/plugins.log" 2>&1 ||
    fail "rabbitmq-plugins --offline enable rabbitmq_mqtt failed ($DIR/n1/plugins.log):" "$DIR/n1/plugins.log"
for n in $(seq 2 "$NODES"); do cp "$DIR/n1/enabled_plugins" "$DIR/n$n/enabled_plugins"; done

# Both nodes boot at once; each is a standalone node until node 2 joins.
for n in $(seq "$NODES"); do
    (node_env "$n"; exec "$RMQ/rabbitmq-server") >> "$DIR/n$n/console.log" 2>&1 &
    pids+=($!)
done

# Waits until node N has logged "Server startup complete" and its MQTT port accepts.
await_node() {
    local n=$1 log=$DIR/n$1/log/rabbit$1@localhost.log deadline=$((SECONDS + READY_SECONDS))
    while ! { grep -q "Server startup complete" "$log" 2>/dev/null && listening "$(mqtt_port "$n")"; }; do
        kill -0 "${pids[$((n - 1))]}" 2>/dev/null ||
            fail "node $n (rabbit$n@localhost) exited before it was ready ($DIR/n$n/console.log, $log):" "$DIR/n$n/console.log"
        [ "$SECONDS" -lt "$deadline" ] ||
            fail "gave up after $READY_SECONDS s waiting for node $n to log 'Server startup complete' and listen for MQTT on 127.0.0.1:$(mqtt_port "$n") ($log):" "$log"
        sleep 0.1
    done
}
for n in $(seq "$NODES"); do await_node "$n"; done

if [ "$NODES" = 2 ]; then
    join_log=$DIR/n2/join.log
    { ctl 2 stop_app && ctl 2 join_cluster rabbit1@localhost && ctl 2 start_app; } >> "$join_log" 2>&1 ||
        fail "node 2 could not join node 1 (rabbitmqctl stop_app, join_cluster rabbit1@localhost, start_app; $join_log):" "$join_log"
    await_node 2
    status=$(ctl 1 cluster_status --formatter json 2>> "$join_log")
    running=$(printf '%s' "$status" | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["running_nodes"])))' 2>> "$join_log")
    [ "$running" = "rabbit1@localhost rabbit2@localhost" ] ||
        fail "after the join, node 1 reports running nodes '$running', not rabbit1@localhost and rabbit2@localhost ($join_log):" "$join_log"
    echo "ports $(mqtt_port 1) $(mqtt_port 2)"
else
    echo "ports $(mqtt_port 1)"
fi

# Until a signal (stop 0) or a node stops by itself.
while true; do
    wait -n "${pids[@]}"
    for n in "${!pids[@]}"; do
        if ! kill -0 "${pids[$n]}" 2>/dev/null; then
            echo "rabbitmq.sh: node $((n + 1)) stopped by itself ($DIR/n$((n + 1))/console.log)" >&2
            stop 1
        fi
    done
done
