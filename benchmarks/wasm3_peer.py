"""Runs examples/dapps/hashchain's action "run" under wasm3 (pywasm3), an independent interpreter,
with the dde host functions it imports (input_size, input_read, output_write) implemented here.
Prints one JSON line: best-of-R wall time of a whole run (parse, load, link, invoke), and the result.

usage: python wasm3_peer.py MODULE.wasm N REPEATS
"""
import json, sys, time
from importlib.metadata import version

import wasm3


def run_once(module_bytes, input_bytes):
    env = wasm3.Environment()
    rt = env.new_runtime(1 << 20)
    mod = env.parse_module(module_bytes)
    rt.load(mod)
    out = bytearray()

    def input_size():
        return len(input_bytes)

    def input_read(ptr, length):
        n = min(length, len(input_bytes))
        rt.get_memory(0)[ptr:ptr + n] = input_bytes[:n]
        return n

    def output_write(ptr, length):
        out.extend(rt.get_memory(0)[ptr:ptr + length])
        return 0

    mod.link_function("dde", "input_size", "i()", input_size)
    mod.link_function("dde", "input_read", "i(ii)", input_read)
    mod.link_function("dde", "output_write", "i(ii)", output_write)
    status = rt.find_function("run")()
    if status != 0:
        raise SystemExit(f"wasm3: run returned {status}")
    return bytes(out)


def main():
    path, n, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    module_bytes = open(path, "rb").read()
    best, result = None, None
    for _ in range(repeats):
        start = time.perf_counter_ns()
        result = run_once(module_bytes, str(n).encode())
        elapsed = time.perf_counter_ns() - start
        best = elapsed if best is None else min(best, elapsed)
    print(json.dumps({"n": n, "repeats": repeats, "ms": round(best / 1e6, 2),
                      "result": json.loads(result), "pywasm3": version("pywasm3")}))


main()
