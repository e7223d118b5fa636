"""Lifetime of a native resource shared between threads: never used after it is released.

ctypes releases the GIL during a call, so another thread could free a task while dde_verify
still reads it. A Guard counts the calls in flight (shared use), lets one mutation run alone
(exclusive use: dde_policy_deny, wiping a key) and releases the resource only when nobody uses it.
After close() every use raises ClosedError instead of handing C a dangling pointer.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

from .errors import ClosedError


class Guard:
    def __init__(self, owner: object, resource: Any, release: Callable[[Any], None], what: str) -> None:
        self._resource = resource
        self._what = what
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0  # new shared users wait for them: no writer starves
        # Runs release(resource) exactly once: at close(), or when the owner is collected, or at
        # interpreter exit. It must not reference the owner, or the owner would never be collected.
        self._finalizer = weakref.finalize(owner, release, resource)

    @property
    def closed(self) -> bool:
        return self._resource is None

    def _closed_error(self) -> ClosedError:
        return ClosedError._raised_here(f"the {self._what} is closed; create or load a new one")

    @contextmanager
    def shared(self) -> Iterator[Any]:
        with self._cond:
            while self._resource is not None and (self._writer or self._writers_waiting):
                self._cond.wait()
            if self._resource is None:
                raise self._closed_error()
            self._readers += 1
            resource = self._resource
        try:
            yield resource
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[Any]:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._resource is not None and (self._writer or self._readers):
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            if self._resource is None:
                self._cond.notify_all()
                raise self._closed_error()
            self._writer = True
            resource = self._resource
        try:
            yield resource
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()

    def close(self) -> Any:
        """Holds back new calls (they then raise ClosedError), waits for those in flight, then
        releases the resource. Returns what release returned (a status for dde_store_close and
        dde_client_free), or None when it was already released.
        Idempotent."""
        with self._cond:
            if self._resource is None:
                return None
            self._writers_waiting += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            if self._resource is None:  # another close() won the race
                return None
            self._resource = None
            self._cond.notify_all()  # waiters see the closed state and raise ClosedError
        return self._finalizer()


_G = TypeVar("_G", bound="Guarded")


class Guarded:
    """What every owner of a Guard offers: close(), closed, and use as a context manager
    (``with ... as x:`` closes x at the end). Subclasses set ``self._guard``."""

    _guard: Guard

    def close(self) -> None:
        """Releases the native resource once no call uses it (waits for calls in flight).
        Idempotent; later use raises ClosedError."""
        self._guard.close()

    @property
    def closed(self) -> bool:
        return self._guard.closed

    def __enter__(self: _G) -> _G:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
