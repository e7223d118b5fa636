"""Misuse raises a clear exception and never crashes the interpreter: wrong types and None
(TypeError before any C call), wrong sizes, closed handles, huge inputs, bad paths, threads racing
a close, and a missing library."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import rfc8785

import dde

from protocol import make_result, make_task

SPEC = {"dappId": "counter", "dappCodeHash": "00" * 32, "action": "increment", "timestamp": 1764000000000}
NOT_BYTES = [None, "00" * 32, 7, 1.5, [0] * 32, object()]


@pytest.fixture
def key():
    with dde.KeyPair.from_seed(bytes([4]) * 32) as k:
        yield k


@pytest.fixture
def task(key):
    with dde.Task.create(SPEC, key) as t:
        yield t


# ---- Types and sizes ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", NOT_BYTES)
def test_bytes_arguments_refuse_other_types(value, key):
    digest = dde.sha256(b"x")
    calls = [
        lambda: dde.sha256(value),
        lambda: dde.KeyPair.from_seed(value),
        lambda: key.sign("task", value),
        lambda: dde.verify_signature("task", value, key.public_key, bytes(64)),
        lambda: dde.verify_signature("task", digest, value, bytes(64)),
        lambda: dde.verify_signature("task", digest, key.public_key, value),
        lambda: dde.ed25519_verify(bytes(64), value, key.public_key),
        lambda: dde.Policy().deny(value, "banned"),
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()


@pytest.mark.parametrize("size", [0, 1, 31, 33, 64])
def test_fixed_sizes_are_checked_before_c(size, key):
    data = bytes(size)
    digest = dde.sha256(b"x")
    for call in (lambda: dde.KeyPair.from_seed(data), lambda: key.sign("proof", data),
                 lambda: dde.verify_signature("task", data, key.public_key, bytes(64)),
                 lambda: dde.verify_signature("task", digest, data, bytes(64)),
                 lambda: dde.Policy().deny(data, "banned")):
        with pytest.raises(dde.ArgumentError) as e:
            call()
        assert isinstance(e.value, ValueError) and "bytes" in e.value.message
    for bad_sig in (bytes(63), bytes(65)):
        with pytest.raises(dde.ArgumentError):
            dde.verify_signature("task", digest, key.public_key, bad_sig)


def test_signature_kinds(key):
    digest = dde.sha256(b"x")
    for kind in (dde.SignatureKind.TASK, 1, "task", "TASK", "Proof", 3, "presence", 5):
        assert len(key.sign(kind, digest)) == 64
    for kind in (0, 6, -1, "tasks", ""):
        with pytest.raises(dde.ArgumentError):
            key.sign(kind, digest)
    for kind in (None, True, 1.0, b"task"):
        with pytest.raises(TypeError):
            key.sign(kind, digest)


@pytest.mark.parametrize("value", [None, object(), {1, 2}, 3j])
def test_json_arguments_refuse_other_types(value, key, task):
    for call in (lambda: dde.canonicalize(value), lambda: dde.Task.parse(value),
                 lambda: dde.Task.create(value, key), lambda: dde.verify(task, value)):
        with pytest.raises(TypeError):
            call()


def test_json_objects_that_json_would_silently_change():
    with pytest.raises(TypeError, match="keys must be str"):
        dde.canonicalize({1: "a"})           # json.dumps would write "1"
    with pytest.raises(TypeError):
        dde.canonicalize({"a": [{None: 1}]})
    with pytest.raises(dde.ArgumentError):
        dde.canonicalize({"a": float("nan")})
    with pytest.raises(dde.ArgumentError):
        dde.canonicalize([float("inf")])
    loop = []
    loop.append(loop)
    with pytest.raises(dde.ArgumentError):
        dde.canonicalize(loop)
    with pytest.raises(TypeError):
        dde.canonicalize({"a": b"bytes"})
    shared = [1]
    assert dde.canonicalize([shared, shared]) == b"[[1],[1]]"


def test_wrong_objects_where_handles_belong(key, task):
    for bad in (None, "task", task.json, 0, key):
        with pytest.raises(TypeError):
            dde.verify(bad, b"{}")
    for bad in ("policy", 0, task, key):
        with pytest.raises(TypeError):
            dde.verify(task, b"{}", bad)
    for bad in (None, b"\x00" * 64, "key", task):
        with pytest.raises(TypeError):
            dde.Task.create(SPEC, bad)
    with pytest.raises(TypeError):
        dde.Task()
    with pytest.raises(TypeError):
        dde.KeyPair()
    with dde.Policy() as policy:
        for bad in (53, None, 1.0):
            with pytest.raises(TypeError):
                policy.deny(bytes(32), bad)
        for bad in ("", "ban", "verified"):
            with pytest.raises(dde.ArgumentError):
                policy.deny(bytes(32), bad)
    for bad in (None, "0", 1.5, True):
        with pytest.raises(TypeError):
            dde.status_name(bad)


# ---- Closed handles ----------------------------------------------------------------------------

def test_closed_task_raises_and_never_reaches_c(key):
    task = dde.Task.create(SPEC, key)
    document = task.json
    task.close()
    task.close()  # idempotent
    assert task.closed and repr(task) == "Task(closed)"
    for call in (lambda: task.id, lambda: task.json, task.to_dict, lambda: dde.verify(task, document)):
        with pytest.raises(dde.ClosedError) as e:
            call()
        assert e.value.code == 5 and e.value.name == "DDE_ERR_CLOSED" and "closed" in e.value.message
    with dde.Task.parse(document) as again:
        pass
    assert again.closed


def test_closed_policy_and_key(key, task):
    policy = dde.Policy()
    policy.close()
    with pytest.raises(dde.ClosedError):
        policy.deny(bytes(32), "banned")
    with pytest.raises(dde.ClosedError):
        dde.verify(task, b"{}", policy)
    k = dde.KeyPair.generate()
    public = k.public_key
    with k:
        pass
    assert k.closed and k.public_key == public  # the public half stays readable
    for call in (lambda: k.sign("task", bytes(32)), lambda: k.secret_key, lambda: k.save("/tmp/never"),
                 lambda: dde.Task.create(SPEC, k)):
        with pytest.raises(dde.ClosedError):
            call()


def test_finalizers_release_handles():
    key = dde.KeyPair.generate()
    task = dde.Task.create(SPEC, key)
    policy = dde.Policy()
    finalizers = [task._guard._finalizer, policy._guard._finalizer, key._guard._finalizer]
    secret = key._guard._resource
    assert all(f.alive for f in finalizers)
    del task, policy, key
    gc.collect()
    assert not any(f.alive for f in finalizers)
    assert secret.raw == bytes(64)  # the key's buffer was wiped


def test_threads_racing_a_close(requester, executor):
    r_key, _ = requester
    e_key, _ = executor
    document = make_task(r_key)
    result = rfc8785.dumps(make_result(document, e_key))
    for _ in range(5):
        task = dde.Task.parse(document)
        outcomes = []
        start = threading.Barrier(9)

        def worker():
            start.wait()
            for _ in range(200):
                try:
                    dde.verify(task, result)
                    outcomes.append("ok")
                except dde.ClosedError:
                    outcomes.append("closed")
                    return

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        start.wait()
        task.close()
        for t in threads:
            t.join()
        assert set(outcomes) <= {"ok", "closed"} and "closed" in outcomes


def test_policy_deny_while_verifying(requester, executor):
    r_key, _ = requester
    e_key, e_pub = executor
    document = make_task(r_key)
    result = rfc8785.dumps(make_result(document, e_key))
    with dde.Task.parse(document) as task, dde.Policy() as policy:
        errors = []

        def verifier():
            for _ in range(300):
                try:
                    dde.verify(task, result, policy)
                except dde.ExecutorBannedError:
                    errors.append(1)

        threads = [threading.Thread(target=verifier) for _ in range(4)]
        for t in threads:
            t.start()
        for i in range(200):
            policy.deny(bytes([i]) * 32, "banned")
        policy.deny(e_pub, "banned")
        for t in threads:
            t.join()
        with pytest.raises(dde.ExecutorBannedError):
            dde.verify(task, result, policy)


def test_deny_and_close_do_not_starve_under_constant_use(requester, executor):
    # Readers that never pause: a writer-starving lock would hang deny() and close() here.
    r_key, _ = requester
    e_key, _ = executor
    document = make_task(r_key)
    result = rfc8785.dumps(make_result(document, e_key))
    task, policy = dde.Task.parse(document), dde.Policy()
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                dde.verify(task, result, policy)
            except dde.ClosedError:
                return

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(6)]
    for t in threads:
        t.start()
    finished = threading.Event()

    def writer():
        for i in range(50):
            policy.deny(bytes([i]) * 32, "blacklisted")
        task.close()
        finished.set()

    threading.Thread(target=writer, daemon=True).start()
    ok = finished.wait(timeout=30)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    policy.close()
    assert ok, "deny()/close() starved behind verify() calls"
    assert task.closed and not any(t.is_alive() for t in threads)


# ---- Huge inputs -------------------------------------------------------------------------------

def test_huge_inputs_are_refused(key, task):
    big = b"[" + b"1," * (600 * 1024) + b"1]"  # 1.2 MiB: over the parser's 1 MiB
    deep = b"[" * 65 + b"]" * 65                # depth 65: over 64
    for doc in (big, deep, {"a": "x" * (1 << 20)}):
        for call in (lambda: dde.canonicalize(doc), lambda: dde.Task.parse(doc),
                     lambda: dde.Task.create(doc, key), lambda: dde.verify(task, doc)):
            with pytest.raises(dde.LimitError) as e:
                call()
            assert "limit" in e.value.message
    assert dde.canonicalize(b"[" * 64 + b"]" * 64) == b"[" * 64 + b"]" * 64
    enormous = bytes(65 << 20)  # past the C boundary's 64 MiB: refused before parsing
    for call in (lambda: dde.sha256(enormous), lambda: dde.canonicalize(enormous),
                 lambda: dde.verify(task, enormous)):
        with pytest.raises(dde.ArgumentError):
            call()


# ---- Paths -------------------------------------------------------------------------------------

def test_key_files(tmp_path, key):
    for path in (tmp_path / "a.key", str(tmp_path / "b.key"), os.fsencode(tmp_path / "c.key")):
        key.save(path)
        assert (Path(os.fsdecode(path)).stat().st_mode & 0o777) == 0o600
        with dde.KeyPair.load(path) as loaded:
            assert loaded.public_key == key.public_key
            assert loaded.secret_key == key.secret_key
    (tmp_path / "\u00e9\U0001f600.key").write_bytes((tmp_path / "a.key").read_bytes())
    assert dde.KeyPair.load(tmp_path / "\u00e9\U0001f600.key").public_key == key.public_key


def test_bad_paths(tmp_path, key):
    invalid = [
        ("", dde.ArgumentError),
        ("a\0b", dde.ArgumentError),
        (b"a\0b", dde.ArgumentError),
        (str(tmp_path / ("x" * 5000)), dde.ArgumentError),          # longer than the C limit
        # Linux paths are bytes; the library takes only UTF-8 ones and says so.
        (os.fsencode(tmp_path) + b"/\xff\xfe.key", dde.EncodingError),
        (str(tmp_path) + "/\udcff.key", dde.EncodingError),         # the same, as os.listdir gives it
    ]
    unreadable = [tmp_path / "missing.key", tmp_path, tmp_path / "no" / "such" / "dir.key"]
    unwritable = [tmp_path, tmp_path / "no" / "such" / "dir.key"]
    for path, cls in invalid:
        with pytest.raises(cls):
            dde.KeyPair.load(path)
        with pytest.raises(cls):
            key.save(path)
    for path in unreadable:
        with pytest.raises(dde.FileError) as e:
            dde.KeyPair.load(path)
        assert str(path) in e.value.message
    for path in unwritable:
        with pytest.raises(dde.FileError):
            key.save(path)
    assert sorted(os.listdir(tmp_path)) == []  # nothing written, not even a temporary file
    for bad in (None, 7, ["a"]):
        with pytest.raises(TypeError):
            dde.KeyPair.load(bad)
        with pytest.raises(TypeError):
            key.save(bad)


def test_damaged_key_files(tmp_path, key):
    path = tmp_path / "k.key"
    key.save(path)
    text = path.read_text()
    other = dde.KeyPair.from_seed(bytes([5]) * 32).public_key.hex()
    damaged = {
        "": dde.BadKeyError, "not json": dde.BadKeyError, text[:-5]: dde.BadKeyError,
        text.replace(key.public_key.hex(), other): dde.BadKeyError,   # the header's own example
        text.replace("dde-ed25519-key", "x"): dde.BadKeyError,
        # dde.h promises DDE_ERR_KEY for any damaged file; today these two come out as the
        # document's own SCHEMA / ENCODING codes. Either is a clean, typed refusal.
        "{}": (dde.BadKeyError, dde.SchemaError),
        text.replace('"seed":"', '"seed":"Z'): (dde.BadKeyError, dde.EncodingError),
    }
    for content, cls in damaged.items():
        path.write_text(content)
        with pytest.raises(cls) as e:
            dde.KeyPair.load(path)
        assert e.value.message


# ---- The interpreter survives, and a missing library is explained --------------------------------

def run_python(code: str, env_changes: dict, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_interpreter_survives_everything_in_a_fresh_process():
    # All of the above in one child process: a crash would show as a signal exit code.
    code = """
        import dde, gc
        k = dde.KeyPair.generate()
        t = dde.Task.create({"dappId": "d", "dappCodeHash": "00" * 32, "action": "a"}, k)
        bad = [lambda: dde.sha256(None), lambda: dde.verify(None, None), lambda: dde.verify(t, b"\\xff" * 100),
               lambda: dde.Task.parse(b"{" * 100000), lambda: dde.KeyPair.load(b"\\xff"),
               lambda: k.sign(99, bytes(32)), lambda: dde.canonicalize(bytes(70 << 20))]
        t.close(); k.close()
        bad += [lambda: t.id, lambda: dde.verify(t, b"{}"), lambda: k.sign("task", bytes(32))]
        n = 0
        for call in bad:
            try:
                call()
            except (TypeError, dde.DDEError):
                n += 1
        del t, k; gc.collect()
        print("survived", n, len(bad))
    """
    done = run_python(code, {})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["survived", "10", "10"]


def test_library_search_order(tmp_path):
    package = Path(dde.__file__).resolve().parent
    library = Path(dde.library_path()).resolve()
    assert library.is_file()
    # 1. DDE_LIBRARY pointing nowhere is an error that names the variable, never a fallback.
    done = run_python("""
        import dde
        try:
            dde.sha256(b"")
        except dde.LibraryNotFoundError as e:
            print(type(e).__name__, "|", e.message)
    """, {"DDE_LIBRARY": str(tmp_path / "nope.so")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("LibraryNotFoundError |") and "DDE_LIBRARY" in done.stdout
    # A file that is not a shared library at all.
    (tmp_path / "text.so").write_text("hello")
    done = run_python("import dde\ntry: dde.sha256(b'')\nexcept dde.LibraryNotFoundError: print('refused')",
                      {"DDE_LIBRARY": str(tmp_path / "text.so")})
    assert done.stdout.strip() == "refused", done.stderr
    # 2. A copy of the package with libdde.so beside it: found without DDE_LIBRARY.
    import shutil
    copy = tmp_path / "site" / "dde"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "libdde.so*"))
    # A wheel's library finds its bundled libsodium and libsqlite3 in dde.libs beside the package
    # (RUNPATH $ORIGIN/../dde.libs, written by auditwheel): the copy takes them along.
    if (package.parent / "dde.libs").is_dir():
        shutil.copytree(package.parent / "dde.libs", copy.parent / "dde.libs")
    shutil.copy(library, copy / "libdde.so")
    done = run_python("import dde; print(dde.library_path()); print(dde.sha256(b'').hex())",
                      {"DDE_LIBRARY": None, "PYTHONPATH": str(tmp_path / "site")}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(copy / "libdde.so"),
                                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
    # ... and the soname (libdde.so.0, what a run-time install has) before it.
    shutil.copy(library, copy / dde._abi.SONAME)
    done = run_python("import dde; print(dde.library_path())",
                      {"DDE_LIBRARY": None, "PYTHONPATH": str(tmp_path / "site")}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(copy / dde._abi.SONAME)]
    (copy / dde._abi.SONAME).unlink()
    # 3./4. Nothing found anywhere (the system search replaced by a path that does not exist):
    # the message lists what was tried and says what to do.
    (copy / "libdde.so").unlink()
    done = run_python("""
        import dde, dde._library as L
        L._candidates = lambda: [("the dynamic loader's search path", "/nonexistent/libdde.so")]
        try:
            dde.sha256(b"")
        except dde.LibraryNotFoundError as e:
            print(e.code, e.name, "|", e.message)
    """, {"DDE_LIBRARY": None, "PYTHONPATH": str(tmp_path / "site")}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("-1 DDE_LIBRARY_NOT_FOUND |")
    for words in ("DDE_LIBRARY: not set", "/nonexistent/libdde.so", "scripts/build-lib.sh"):
        assert words in done.stdout
    # The search order after DDE_LIBRARY.
    from dde import _library
    hows = [how for how, _ in _library._candidates()]
    assert hows == [f"{dde._abi.SONAME} bundled with the package", "libdde.so bundled with the package",
                    "ctypes.util.find_library('dde')",
                    "the dynamic loader's search path", "the dynamic loader's search path"]
    assert [what for _, what in _library._candidates()][-2:] == [dde._abi.SONAME, "libdde.so"]


def test_another_library_is_incompatible(tmp_path):
    import ctypes.util
    sodium = ctypes.util.find_library("sodium")
    assert sodium, "libsodium is a dependency of libdde, so it is installed"
    done = run_python("import dde\ntry: dde.sha256(b'')\nexcept dde.IncompatibleLibraryError as e: print('incompatible', e.message)",
                      {"DDE_LIBRARY": sodium})
    assert done.stdout.startswith("incompatible") and "dde_" in done.stdout, done.stdout + done.stderr
