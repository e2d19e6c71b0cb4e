"""How fast the machine was while a technique ran: a fixed CPU probe and the host's steal.

A ratio between a CPU-bound arm and an arm of fixed waits (an event loop blocked by
a computation against one that is not, 101 cheap round trips against 2) moves when
the CPU's speed does, and on a shared VM it does: the same work has cost 1.55× more
CPU ten minutes later. Interleaved arms cancel that within a run; across runs it
shows as disagreement. The probe, timed just before and just after each technique,
tells a slower machine apart from a noisy figure. Steal is the share of CPU time the
hypervisor gave to other guests (psutil's CPU times): one cause; a busy neighbour on
the same physical core is another, and shows only in the probe.

The probe measures the idle machine: it waits (a few seconds at most) for the lab's
own leftover work to end, the worker finishing queued tasks after the load stopped,
and says how busy the machine still was. The same work runs faster on a machine kept
busy (its cores do not drop to idle states), so a probe is only compared with probes.
It is a snapshot: on the lab's VM the idle probe's median was 5.1 ms, but one probe
in ten over a minute took 7.5-9 ms, so a single slow reading says little and two runs'
probes are compared as a trend, not row by row.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import psutil

# Recursion and JSON encoding: the interpreter work and C-extension calls the
# services' CPU-bound paths are made of, about 5 ms on the reference VM.
_FIB_N = 22
_DOC = [{"id": i, "title": f"Book {i}", "price": i * 1.25, "tags": ["a", "b"]} for i in range(500)]
QUIET = 0.25  # busy share of all cores under which the machine counts as idle
SETTLE_SECONDS = 5.0  # the longest wait for it


def _fib(n: int) -> int:
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


def _work() -> None:
    _fib(_FIB_N)
    for _ in range(10):
        json.dumps(_DOC)


def cpu_probe_ms(rounds: int = 5) -> float:
    """The fixed work's fastest time out of `rounds`, in ms (the fastest round is the
    one least disturbed)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        _work()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def _total(times: Any) -> float:
    # psutil's cpu_times: guest time is already counted in user and nice.
    return sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)


def steal_share(before: Any, after: Any) -> float | None:
    """The share of CPU time the hypervisor gave other guests between two
    `psutil.cpu_times()` readings; None where the platform reports no steal."""
    total = _total(after) - _total(before)
    if total <= 0 or not hasattr(after, "steal"):
        return None
    return float((after.steal - before.steal) / total)


def settle(seconds: float = SETTLE_SECONDS) -> float:
    """Wait until the machine is idle (busy under QUIET over a quarter second), at most
    `seconds`; the busy share last seen."""
    deadline = time.monotonic() + seconds
    while True:
        busy = psutil.cpu_percent(interval=0.25) / 100
        if busy < QUIET or time.monotonic() >= deadline:
            return busy


@dataclass(frozen=True)
class Probe:
    ms: float
    busy: float | None  # the machine's busy share just before it

    def describe(self) -> str:
        return f"{self.ms:.2f} ms" + ("" if self.busy is None else f" ({self.busy:.0%} busy)")


def probe(settle_seconds: float = SETTLE_SECONDS) -> Probe:
    busy = settle(settle_seconds)
    return Probe(cpu_probe_ms(), busy)


@dataclass(frozen=True)
class Machine:
    probe_before_ms: float
    probe_after_ms: float
    steal_share: float | None  # of all CPU time from the first probe to the last
    busy_before: float | None = None  # the machine's busy share before each probe
    busy_after: float | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Machine:
        return cls(
            data["probe_before_ms"], data["probe_after_ms"], data.get("steal_share"),
            data.get("busy_before"), data.get("busy_after"),
        )  # fmt: skip

    @property
    def probe_ms(self) -> float:
        """The machine's speed: the faster probe (a slower one may still have had work
        of ours beside it)."""
        return min(self.probe_before_ms, self.probe_after_ms)

    def describe(self) -> str:
        before = Probe(self.probe_before_ms, self.busy_before).describe()
        after = Probe(self.probe_after_ms, self.busy_after).describe()
        steal = (
            "steal not known (the platform reports none)"
            if self.steal_share is None
            else f"steal {self.steal_share:.1%} (CPU time the hypervisor gave other guests)"
        )
        return (
            f"a fixed CPU probe took {before} at the start and {after} at the end "
            f"(fastest of 5 rounds, once the machine was idle or after {SETTLE_SECONDS:g} s); "
            f"{steal}"
        )


def report_lines(report: dict[str, Any]) -> list[str]:
    """A benchmark report's closing line on the machine's speed (none in older reports)."""
    speed = report.get("machine")
    return [f"machine speed: {Machine.from_json(speed).describe()}"] if speed else []


class Watch:
    """CPU times and a probe at the start; `stop()` takes them again (steal is over the
    whole stretch, probes included)."""

    def __init__(self, settle_seconds: float = SETTLE_SECONDS) -> None:
        self.settle_seconds = settle_seconds
        self.times = psutil.cpu_times()
        self.before = probe(settle_seconds)

    def stop(self) -> Machine:
        after = probe(self.settle_seconds)
        steal = steal_share(self.times, psutil.cpu_times())
        return Machine(self.before.ms, after.ms, steal, self.before.busy, after.busy)
