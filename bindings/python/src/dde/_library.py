"""Finding and loading libdde, and the C prototype of every function this package calls.

Search order (the first that loads wins):

1. the environment variable ``DDE_LIBRARY``: a path to the library. When it is set, nothing else
   is tried: a path that does not load is an error rather than a silent fallback;
2. ``libdde.so.0`` (the soname, ``_abi.SONAME``), then ``libdde.so``, next to this file (a wheel
   that bundles the library puts it there);
3. ``ctypes.util.find_library("dde")`` (ldconfig's cache, the compiler's search path);
4. ``libdde.so.0``, then ``libdde.so``, through the dynamic loader's own search
   (``LD_LIBRARY_PATH``, ``/etc/ld.so.cache``, ``/lib``, ``/usr/lib``). A run-time install has only
   the soname; ``libdde.so`` is the development link.

The library is loaded on first use, once per process, so importing ``dde`` never fails and its
exceptions can be caught before any library exists. What it must be: ABI major
``_abi.ABI_VERSION_MAJOR`` (the soname's number) and at least ABI minor ``_abi.ABI_VERSION_MINOR``
(``dde_abi_version_major()``/``_minor()``), with every size and limit of ``_abi`` equal to the
library's own; behaviour that differs between ABI minors is told apart by ``abi_version()``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from ctypes import POINTER, c_char_p, c_int, c_size_t, c_uint32, c_uint64, c_void_p
from pathlib import Path
from typing import List, Optional, Tuple

from . import _abi
from .errors import DDEError, IncompatibleLibraryError, LibraryNotFoundError, error_class

ENV_VAR = "DDE_LIBRARY"
LIBRARY_NAME = "libdde.dylib" if sys.platform == "darwin" else "libdde.so"
# What to look for, in order: the soname (what a run-time install has), then the linker's name.
LIBRARY_NAMES = (["libdde.%d.dylib" % _abi.ABI_VERSION_MAJOR, LIBRARY_NAME] if sys.platform == "darwin"
                 else [_abi.SONAME, LIBRARY_NAME])

# The release this package was written with (include/dde.h DDE_VERSION_NUMBER, from abi/dde.abi).
# The loader checks the ABI version, not this: any release of the same ABI major works.
EXPECTED_VERSION = (_abi.VERSION_NUMBER // 1000000, _abi.VERSION_NUMBER // 1000 % 1000)
EXPECTED_ABI = (_abi.ABI_VERSION_MAJOR, _abi.ABI_VERSION_MINOR)

# Sizes from abi/dde.abi (include/dde.h), checked against the library at load time.
PUBLICKEYBYTES = _abi.PUBLICKEYBYTES
SECRETKEYBYTES = _abi.SECRETKEYBYTES
SEEDBYTES = _abi.SEEDBYTES
SIGNATUREBYTES = _abi.SIGNATUREBYTES
HASHBYTES = _abi.HASHBYTES
HASHHEXBYTES = _abi.HASHHEXBYTES


class _TaskStruct(ctypes.Structure):
    """struct dde_task (opaque)."""


class _PolicyStruct(ctypes.Structure):
    """struct dde_policy (opaque)."""


class _StoreStruct(ctypes.Structure):
    """struct dde_store (opaque)."""


class _ClientStruct(ctypes.Structure):
    """struct dde_client (opaque)."""


# Distinct pointer types, so that a task can never be passed where a policy is expected.
TaskPointer = POINTER(_TaskStruct)
PolicyPointer = POINTER(_PolicyStruct)
StorePointer = POINTER(_StoreStruct)
ClientPointer = POINTER(_ClientStruct)

# name: (restype, argtypes). Byte buffers are c_char_p (bytes in, create_string_buffer out; the
# wrappers check every fixed size before the call, because C cannot); char ** outputs are
# POINTER(c_void_p) so the address stays available for dde_free.
_PROTOTYPES = {
    "dde_version": (c_char_p, []),
    "dde_version_number": (c_int, []),
    "dde_abi_version_major": (c_int, []),
    "dde_abi_version_minor": (c_int, []),
    "dde_init": (c_int, []),
    "dde_status_name": (c_char_p, [c_int]),
    "dde_status_message": (c_char_p, [c_int]),
    "dde_errcode": (c_int, []),
    "dde_errmsg": (c_char_p, []),
    "dde_free": (None, [c_void_p]),
    # Every size and limit: dde_publickeybytes() ... dde_transport_methods_version() (_abi.CONSTANTS).
    **{function: (c_size_t if ctype == "size_t" else c_int, []) for function, _, ctype in _abi.CONSTANTS.values()},
    "dde_sha256": (c_int, [c_char_p, c_size_t, c_char_p]),
    "dde_keypair": (c_int, [c_char_p, c_char_p]),
    "dde_seed_keypair": (c_int, [c_char_p, c_char_p, c_char_p]),
    "dde_sign": (c_int, [c_int, c_char_p, c_char_p, c_char_p]),
    "dde_verify_signature": (c_int, [c_int, c_char_p, c_char_p, c_char_p]),
    "dde_ed25519_verify": (c_int, [c_char_p, c_char_p, c_size_t, c_char_p]),
    "dde_key_save": (c_int, [c_char_p, c_char_p]),
    "dde_key_load": (c_int, [c_char_p, c_char_p, c_char_p]),
    "dde_canonicalize": (c_int, [c_char_p, c_size_t, POINTER(c_void_p), POINTER(c_size_t)]),
    "dde_task_create": (c_int, [c_char_p, c_size_t, c_char_p, POINTER(TaskPointer)]),
    "dde_task_parse": (c_int, [c_char_p, c_size_t, POINTER(TaskPointer)]),
    "dde_task_free": (None, [TaskPointer]),
    "dde_task_json": (c_int, [TaskPointer, POINTER(c_void_p), POINTER(c_size_t)]),
    "dde_task_id": (c_int, [TaskPointer, c_char_p]),
    "dde_policy_new": (c_int, [POINTER(PolicyPointer)]),
    "dde_policy_deny": (c_int, [PolicyPointer, c_char_p, c_int]),
    "dde_policy_free": (None, [PolicyPointer]),
    "dde_verify": (c_int, [TaskPointer, c_char_p, c_size_t, PolicyPointer]),
    # The store. Times and latencies are uint64_t: c_uint64 (the wrappers check the range first,
    # because ctypes would silently wrap -1 to 2^64-1).
    "dde_store_open": (c_int, [c_char_p, c_char_p, c_size_t, POINTER(StorePointer)]),
    "dde_store_close": (c_int, [StorePointer]),
    "dde_store_commit": (c_int, [StorePointer, TaskPointer, c_char_p, c_size_t, c_char_p, c_uint64,
                                 POINTER(c_void_p), POINTER(c_size_t)]),
    "dde_store_head": (c_int, [StorePointer, POINTER(c_uint64), c_char_p, c_char_p]),
    "dde_store_verify_chain": (c_int, [StorePointer, POINTER(c_uint64)]),
    "dde_store_export": (c_int, [StorePointer, POINTER(c_void_p), POINTER(c_size_t)]),
    "dde_store_policy": (c_int, [StorePointer, c_uint64, POINTER(PolicyPointer)]),
    "dde_reputation_record_success": (c_int, [StorePointer, c_char_p, c_uint64, c_uint64]),
    "dde_reputation_record_failure": (c_int, [StorePointer, c_char_p, c_uint64]),
    "dde_reputation_record_timeout": (c_int, [StorePointer, c_char_p, c_uint64]),
    "dde_reputation_get": (c_int, [StorePointer, c_char_p, c_uint64, POINTER(c_void_p), POINTER(c_size_t)]),
    "dde_reputation_status": (c_int, [StorePointer, c_char_p, c_uint64, POINTER(c_int), POINTER(c_int)]),
    "dde_reputation_all": (c_int, [StorePointer, c_uint64, POINTER(c_void_p), POINTER(c_size_t)]),
    "dde_reputation_clear": (c_int, [StorePointer, c_char_p]),
    "dde_reputation_clear_all": (c_int, [StorePointer]),
    # The delegating client over MQTT (dde_client_new with a dde_transport_methods table is not
    # wrapped: a Python transport would run Python on the library's calls; MQTT covers the network case).
    "dde_client_new_mqtt": (c_int, [c_char_p, c_char_p, c_char_p, POINTER(ClientPointer)]),
    "dde_client_new_mqtt_v2": (c_int, [c_char_p, c_char_p, c_char_p, c_char_p, c_size_t, POINTER(ClientPointer)]),
    "dde_client_free": (c_int, [ClientPointer]),
    "dde_client_publish_code": (c_int, [ClientPointer, c_char_p, c_size_t, c_char_p]),
    "dde_client_discover": (c_int, [ClientPointer, c_uint32, POINTER(c_size_t)]),
    "dde_client_delegate": (c_int, [ClientPointer, c_char_p, c_size_t, c_char_p, c_size_t,
                                    POINTER(c_void_p), POINTER(c_size_t)]),
    "dde_client_check_evidence": (c_int, [ClientPointer, c_char_p, c_size_t, c_char_p, c_size_t,
                                          POINTER(c_void_p), POINTER(c_size_t)]),
    # Fraud evidence (docs/PROTOCOL.md section 12).
    "dde_evidence_check": (c_int, [c_char_p, c_size_t, POINTER(c_void_p), POINTER(c_size_t)]),
    "dde_store_evidence_import": (c_int, [StorePointer, c_char_p, c_size_t, c_uint64]),
    "dde_store_evidence_export": (c_int, [StorePointer, POINTER(c_void_p), POINTER(c_size_t)]),
}

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_path: Optional[str] = None
_abi_found: Optional[Tuple[int, int]] = None

_HOW_TO = (
    "Build it with scripts/build-lib.sh in the dde repository (it writes build/host/lib/libdde.so, "
    "a link to libdde.so.0) and set DDE_LIBRARY to that path, or install it where the dynamic "
    "loader finds it (scripts/install.sh /usr/local, then run ldconfig)."
)


def _candidates() -> List[Tuple[str, Optional[str]]]:
    """(where, what to dlopen or None when that place has nothing) in search order, after DDE_LIBRARY."""
    here = Path(__file__).resolve()
    out: List[Tuple[str, Optional[str]]] = []
    for name in LIBRARY_NAMES:
        bundled = here.with_name(name)
        out.append((f"{name} bundled with the package", str(bundled) if bundled.is_file() else None))
    out.append(("ctypes.util.find_library('dde')", ctypes.util.find_library("dde")))
    for name in LIBRARY_NAMES:
        out.append(("the dynamic loader's search path", name))
    return out


def _load() -> Tuple[ctypes.CDLL, str]:
    env = os.environ.get(ENV_VAR)
    if env:
        try:
            return ctypes.CDLL(env), env
        except OSError as e:
            raise LibraryNotFoundError._raised_here(
                f"{ENV_VAR}={env!r} could not be loaded ({e}). Point {ENV_VAR} at a libdde.so "
                f"(scripts/build-lib.sh writes build/host/lib/libdde.so) or unset it to search "
                f"the default places.") from None
    tried = [f"{ENV_VAR}: not set"]
    for how, what in _candidates():
        if what is None:
            tried.append(f"{how}: nothing there")
            continue
        try:
            return ctypes.CDLL(what), what
        except OSError as e:
            tried.append(f"{how}: {what}: {e}")
    raise LibraryNotFoundError._raised_here(
        f"libdde ({' or '.join(LIBRARY_NAMES)}) was not found. Tried, in order: " + "; ".join(tried) + ". " + _HOW_TO)


def _library_abi(lib: ctypes.CDLL, path: str) -> Tuple[int, int]:
    """The library's ABI version, or IncompatibleLibraryError when it is not one this package
    can use (checked before anything else is bound: an older library lacks functions)."""
    wanted = f"ABI {EXPECTED_ABI[0]}.{EXPECTED_ABI[1]} or a later {EXPECTED_ABI[0]}.x ({_abi.SONAME})"
    try:
        major_fn, minor_fn = lib.dde_abi_version_major, lib.dde_abi_version_minor
    except AttributeError:
        raise IncompatibleLibraryError._raised_here(
            f"{path} has no dde_abi_version_major(): it is not libdde, or an unversioned one (0.1.0, "
            f"soname libdde.so); this package needs {wanted}: install the matching libdde") from None
    major_fn.restype = minor_fn.restype = c_int
    major_fn.argtypes = minor_fn.argtypes = []
    found = (major_fn(), minor_fn())
    if found[0] != EXPECTED_ABI[0] or found[1] < EXPECTED_ABI[1]:
        raise IncompatibleLibraryError._raised_here(
            f"{path} has ABI {found[0]}.{found[1]} (libdde {_version_of(lib)}), this package needs "
            f"{wanted}: install the matching libdde")
    return found


def _version_of(lib: ctypes.CDLL) -> str:
    try:
        lib.dde_version.restype = c_char_p
        return lib.dde_version().decode(errors="replace")
    except AttributeError:
        return "of unknown version"


def _bind(lib: ctypes.CDLL, path: str) -> None:
    global _abi_found
    found = _library_abi(lib, path)
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            function = getattr(lib, name)
        except AttributeError:
            raise IncompatibleLibraryError._raised_here(
                f"{path} has no {name}: it is not a libdde this package supports "
                f"(ABI {found[0]}.{found[1]}, libdde {_version_of(lib)})") from None
        function.restype = restype
        function.argtypes = argtypes
    # Every size and limit this package copies (from abi/dde.abi) must be the library's.
    for name, (function, expected, _) in _abi.CONSTANTS.items():
        got = getattr(lib, function)()
        if got != expected:
            raise IncompatibleLibraryError._raised_here(
                f"{path}: {function}() is {got}, this package expects {expected} (DDE_{name})")
    _abi_found = found
    if lib.dde_init() != 0:
        raise error_from_library(lib, lib.dde_errcode())


def library() -> ctypes.CDLL:
    """The loaded library (loading it on first use). Raises LibraryNotFoundError."""
    global _lib, _path
    lib = _lib
    if lib is not None:
        return lib
    with _lock:
        if _lib is None:
            lib, path = _load()
            _bind(lib, path)
            _lib, _path = lib, path
        return _lib


def abi_version() -> Tuple[int, int]:
    """The loaded library's ABI version (major, minor): dde_abi_version_major()/_minor().

    >>> abi_version()[0] == _abi.ABI_VERSION_MAJOR
    True
    """
    library()
    assert _abi_found is not None
    return _abi_found


def library_path() -> str:
    """What the library was loaded from (a path, or the name the dynamic loader resolved).

    >>> os.path.basename(library_path()).startswith("libdde.so")
    True
    """
    library()
    assert _path is not None
    return _path


def error_from_library(lib: ctypes.CDLL, code: int) -> DDEError:
    """The exception for a failed call; must run right after it (dde_errmsg is per thread)."""
    message = (lib.dde_errmsg() or b"").decode("utf-8", errors="replace")
    name = (lib.dde_status_name(code) or b"DDE_ERR_UNKNOWN").decode("ascii", errors="replace")
    return error_class(code)(code, name, message)


def call(function_name: str, *args) -> None:
    """Calls a dde_* function that returns a status and raises its exception on failure."""
    lib = library()
    code = getattr(lib, function_name)(*args)
    if code != 0:
        raise error_from_library(lib, code)


def take_string(pointer: c_void_p, length: c_size_t) -> bytes:
    """Copies a char * the library returned and releases it with dde_free."""
    lib = library()
    if not pointer.value:
        return b""
    try:
        return ctypes.string_at(pointer.value, length.value)
    finally:
        lib.dde_free(pointer)

