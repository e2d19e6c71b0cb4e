"""Multiprocess metric values that reach their mmap file a tick later, not on every update.

prometheus_client's multiprocess value writes its mmap file on every `inc`/`set`
(a lock, a `getpid()` and a struct pack: ~0.8 us; a request makes ~15 of them). Here
an update only changes the value in memory and marks it dirty; a daemon thread per
process writes the dirty values through the library's own value (same files, same
format, same merge) every `FLUSH_SECONDS`, and at exit. Counts are never lost by a
graceful stop; a process killed with SIGKILL loses at most its last tick of updates.
A scrape sees other processes' updates at most one tick late (Prometheus scrapes
every few seconds); the scraping process flushes its own first.

Fork safety (Celery's prefork pool): a fork waits for a flush in progress, and the
child starts from zero with no pending updates, as the library's own values do.
Installed by `install()` before the first metric is created (telemetry.metrics).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import values

FLUSH_SECONDS = 0.1

_lock = threading.Lock()
_dirty: list[Any] = []
_all: list[Any] = []
_flusher_pid = 0
_before_flush: list[Callable[[], None]] = []


def before_flush(hook: Callable[[], None]) -> None:
    """Run `hook` at the start of every flush (tallies move their updates in)."""
    _before_flush.append(hook)


def flush() -> None:
    """Write every pending update of this process to its mmap files now."""
    for hook in _before_flush:
        hook()
    with _lock:
        pending = list(_dirty)
        _dirty.clear()
        for value in pending:
            value._pending = False
            value._write()


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        flush()


def ensure_flusher() -> None:
    """Start this process's flusher thread unless it runs already."""
    global _flusher_pid
    if _flusher_pid != os.getpid():
        _flusher_pid = os.getpid()
        threading.Thread(target=_flush_forever, name="metrics-flush", daemon=True).start()


def _after_fork_in_child() -> None:
    global _lock, _flusher_pid
    _lock = threading.Lock()
    _flusher_pid = 0  # the parent's thread did not cross the fork
    _dirty.clear()
    for value in _all:
        value._pending = False
    if _all:
        # The library notices the new pid on its next call and re-reads every value
        # from this process's own (new, empty) files: do it now, before any update.
        _all[0]._read()


def buffered_class() -> type:
    base: Any = values.MultiProcessValue()

    class BufferedValue(base):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pending = False
            with _lock:
                _all.append(self)

        def _mark(self) -> None:  # caller holds _lock
            if not self._pending:
                self._pending = True
                _dirty.append(self)
                if _flusher_pid != os.getpid():
                    ensure_flusher()

        def inc(self, amount: float) -> None:
            with _lock:
                self._value += amount
                self._timestamp = 0.0
                self._mark()

        def set(self, value: float, timestamp: float | None = None) -> None:
            with _lock:
                self._value = value
                self._timestamp = timestamp or 0.0
                self._mark()

        def get(self) -> float:
            with _lock:
                return float(self._value)

        def _write(self) -> None:
            base.set(self, self._value, self._timestamp)

        def _read(self) -> float:
            return float(base.get(self))

    return BufferedValue


def installed() -> bool:
    """Whether metrics of this process use buffered values (multiprocess mode)."""
    return getattr(values.ValueClass, "_buffered", False) is True


def install() -> None:
    """Use buffered values for every metric created from now on (multiprocess mode only)."""
    if values.ValueClass is values.MutexValue or installed():
        return
    cls = buffered_class()
    cls._buffered = True  # type: ignore[attr-defined]
    values.ValueClass = cls
    os.register_at_fork(
        before=lambda: _lock.acquire(),
        after_in_parent=lambda: _lock.release(),
        after_in_child=_after_fork_in_child,
    )
    atexit.register(flush)
