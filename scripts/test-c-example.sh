#!/usr/bin/env bash
# examples/c/verify_task.c against the built libdde.so: key, task, a real executor's result,
# verification, and a tampered result refused with its code.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib.sh"
ensure_lib
DDE=$(dde_bin)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
export DDE_CODE_DIR=$W/code LD_LIBRARY_PATH=$ROOT/build/host/lib

check "builds with -Wall -Werror" cc -std=c99 -Wall -Wextra -Werror -I"$ROOT/build/host/include" \
    "$ROOT/examples/c/verify_task.c" -L"$ROOT/build/host/lib" -ldde -o verify_task
check "keygen" ./verify_task keygen r.key
hash=$("$DDE" code add "$ROOT/examples/dapps/counter.wat")
printf '{"dappId":"counter","dappCodeHash":"%s","action":"increment","requiredCapabilities":["state.write","state.read"],"state":{"count":"NDE="}}' "$hash" > spec.json
check "create" bash -c "./verify_task create r.key spec.json > task.json"
"$DDE" keygen -o e.key >/dev/null
check "a real executor runs the C-made task" bash -c "'$DDE' exec --key e.key task.json > result.json"
check "verify: VALID" bash -c "./verify_task verify task.json result.json | grep -q '^VALID'"
python3 -c 'import json,sys; r=json.load(open("result.json")); r["result"]={"count":1000}; json.dump(r,open("tampered.json","w"))'
check_exit "verify: tampered result refused (check 7)" 48 ./verify_task verify task.json tampered.json
finish
