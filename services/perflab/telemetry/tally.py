"""Per-request metric updates as plain numbers, moved into the metrics a tick later.

The HTTP middleware makes about ten metric updates per request; through
prometheus_client each is a chain of calls and a lock (~0.2-0.4 us). A tally keeps
them as plain Python numbers instead, written by one thread only, the event loop's,
so the hot path takes no lock. `flush()` moves them into the real metric children:
from the flusher thread of `buffered_values` every tick, before every scrape of this
process, and at exit. It adds the difference between a tally's running totals and
what it already moved, never resetting what the writer increments, so nothing is
lost or counted twice while both threads run. Exposition is the library's own.

Multiprocess mode only (`enabled()`): there the values reach other processes a tick
late anyway. In single-process mode the middleware updates the children directly, so
`REGISTRY` is always current.

Histograms that any thread may observe (query duration, pool acquire wait, technique
duration) are `OwnedHistogram`s: the thread that called `own_this_thread()` (the API's
event loop) observes into a tally, any other thread into the child itself, as before.
"""

from __future__ import annotations

import os
import threading
from bisect import bisect_left
from typing import Any

from perflab.telemetry import buffered_values, metrics

_lock = threading.Lock()  # one flush at a time: two would move the same difference
_tallies: list[Any] = []


def enabled() -> bool:
    return buffered_values.installed()


class CounterTally:
    __slots__ = ("_child", "count", "_moved")

    def __init__(self, child: Any) -> None:
        self._child = child
        self.count = 0
        self._moved = 0
        _register(self)

    def inc(self) -> None:
        self.count += 1

    def _flush(self) -> None:
        count = self.count
        if count != self._moved:
            self._child.inc(count - self._moved)
            self._moved = count

    def _forget(self) -> None:
        self._moved = self.count


class GaugeTally:
    """A gauge the writer moves up and down; flushed as its current value."""

    __slots__ = ("_child", "value", "_moved")

    def __init__(self, child: Any) -> None:
        self._child = child
        self.value = 0
        self._moved = 0
        _register(self)

    def inc(self) -> None:
        self.value += 1

    def dec(self) -> None:
        self.value -= 1

    def _flush(self) -> None:
        value = self.value
        if value != self._moved:
            self._child.set(value)
            self._moved = value

    def _forget(self) -> None:
        self.value = self._moved = 0


class HistogramTally:
    """Same buckets and `le` semantics as the child (`amount <= bound`)."""

    __slots__ = ("_child", "_bounds", "counts", "sum", "_moved_counts", "_moved_sum")

    def __init__(self, child: Any) -> None:
        self._child = child
        self._bounds = list(child._upper_bounds)
        self.counts = [0] * len(self._bounds)
        self.sum = 0.0
        self._moved_counts = [0] * len(self._bounds)
        self._moved_sum = 0.0
        _register(self)

    def observe(self, amount: float) -> None:
        self.sum += amount
        self.counts[bisect_left(self._bounds, amount)] += 1

    def _flush(self) -> None:
        # Counts are read before the sum, which the writer adds to first: every
        # observation a flush counts is in the sum it flushes.
        counts = list(self.counts)
        total = self.sum
        for i, count in enumerate(counts):
            if count != self._moved_counts[i]:
                self._child._buckets[i].inc(count - self._moved_counts[i])
                self._moved_counts[i] = count
        if total != self._moved_sum:
            self._child._sum.inc(total - self._moved_sum)
            self._moved_sum = total

    def _forget(self) -> None:
        self._moved_counts = list(self.counts)
        self._moved_sum = self.sum


# The one thread whose OwnedHistogram updates go to tallies; None: every update is direct.
_owner: int | None = None
_get_ident = threading.get_ident


def own_this_thread() -> None:
    """Make the calling thread (the API's event loop) the writer of OwnedHistogram tallies.
    Multiprocess mode with metrics on only: a tally writes the child's values directly,
    past `metrics.disable()`."""
    global _owner
    if enabled() and not metrics.disabled():
        _owner = _get_ident()


class OwnedHistogram:
    """A histogram child several threads may observe: the owner thread's observations go
    to a tally (no lock), any other thread's to the child directly."""

    __slots__ = ("_child", "_tally")

    def __init__(self, child: Any) -> None:
        self._child = child
        self._tally: HistogramTally | None = None  # made by the owner's first observation

    def observe(self, amount: float) -> None:
        if _get_ident() == _owner:
            if self._tally is None:
                self._tally = HistogramTally(self._child)
            self._tally.observe(amount)
        else:
            self._child.observe(amount)


def _register(tally: Any) -> None:
    with _lock:
        _tallies.append(tally)
    buffered_values.ensure_flusher()


def flush() -> None:
    """Move every tally's new updates into its metric child."""
    with _lock:
        for tally in list(_tallies):
            tally._flush()


def _after_fork_in_child() -> None:
    # The parent's unflushed updates are the parent's: the child's metrics start
    # from zero (its own files), as buffered values do.
    global _lock, _owner
    _lock = threading.Lock()
    _owner = None  # the child's thread ids are its own
    for tally in _tallies:
        tally._forget()


buffered_values.before_flush(flush)
os.register_at_fork(after_in_child=_after_fork_in_child)
