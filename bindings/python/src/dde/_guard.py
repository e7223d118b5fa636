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
from typing import Any, Callable, Iterator

from .errors import ClosedError


class Guard:
    def __init__(self, owner: object, resource: Any, release: Callable[[Any], None], what: str) -> None:
        self._resource = resource
        self._what = what
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
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
            while self._writer:
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
            while self._writer or self._readers:
                self._cond.wait()
            if self._resource is None:
                raise self._closed_error()
            self._writer = True
            resource = self._resource
        try:
            yield resource
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()

    def close(self) -> None:
        """Waits for calls in flight, then releases the resource. Idempotent."""
        with self._cond:
            while self._writer or self._readers:
                self._cond.wait()
            if self._resource is None:
                return
            self._resource = None
        self._finalizer()
