#!/usr/bin/env bash
# The Mosquitto ACL of a dde fleet (examples/broker/README.md), from a fleet file:
#
#   examples/broker/make-acl.sh FLEET > acl
#
# FLEET holds one device per line ('#' starts a comment):
#   requester PUBLIC_KEY_HEX
#   executor  PUBLIC_KEY_HEX [REQUESTER_KEY_HEX ...]   the requesters it serves (default: every
#                                                      requester of the file)
# A device's MQTT user name is its dde public key in hex: the CN of its certificate (with
# use_identity_as_username) or its user name in the password file. The ACL then lets
#   - every device read only its own results topic and announce presence only under its own key
#     (the two %u patterns);
#   - a requester publish tasks, code and evidence, and read presence and evidence;
#   - an executor read tasks and code, ask for and serve code, and write results only on the
#     results topics of the requesters it serves.
# Anything else is refused by the broker: a publish it refuses is acknowledged (MQTT 3.1.1 has no
# way to say no) and delivered to nobody; a subscription it refuses gets nothing.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: make-acl.sh FLEET > acl" >&2; exit 2; }
FLEET=$1
[ -r "$FLEET" ] || { echo "make-acl: cannot read $FLEET" >&2; exit 1; }

requesters=()
executors=()
n=0
while read -r role key rest || [ -n "${role:-}" ]; do
    n=$((n + 1))
    case ${role:-} in ''|'#'*) continue ;; esac
    [[ $key =~ ^[0-9a-f]{64}$ ]] || { echo "make-acl: $FLEET line $n: '$key' is not a public key (64 lowercase hex)" >&2; exit 1; }
    case $role in
        requester) requesters+=("$key") ;;
        executor) executors+=("$key ${rest%%#*}") ;;
        *) echo "make-acl: $FLEET line $n: role must be requester or executor, not '$role'" >&2; exit 1 ;;
    esac
done < "$FLEET"

cat <<EOF
# Mosquitto ACL for a dde fleet, made by examples/broker/make-acl.sh from $FLEET.
# %u is the device's user name: its dde public key in hex (the CN of its certificate).

# Every device: its own results, its own presence (docs/PROTOCOL.md section 10).
pattern read dde/v1/results/%u
pattern readwrite dde/v1/executors/%u
EOF
for r in "${requesters[@]}"; do
    cat <<EOF

# requester $r
user $r
topic write dde/v1/tasks
topic write dde/v1/code/+
topic read dde/v1/executors/+
topic readwrite dde/v1/evidence
EOF
done
for line in "${executors[@]}"; do
    read -r e served <<< "$line"
    [ -n "$served" ] || served="${requesters[*]}"
    cat <<EOF

# executor $e
user $e
topic read dde/v1/tasks
topic readwrite dde/v1/code/+
topic readwrite dde/v1/code-requests
EOF
    for r in $served; do
        [[ $r =~ ^[0-9a-f]{64}$ ]] || { echo "make-acl: executor $e: '$r' is not a requester key" >&2; exit 1; }
        echo "topic write dde/v1/results/$r"
    done
done
