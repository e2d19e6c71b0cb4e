"""How fast the machine was while a technique ran: a fixed CPU probe and the host's steal.

A ratio between a CPU-bound arm and an arm of fixed waits (an event loop blocked by
a computation against one that is not, 101 cheap round trips against 2) moves when
the CPU's speed does, and on a shared VM it does: the same work has cost 1.55× more
CPU ten minutes later. Interleaved arms cancel that within a run; across runs it
shows as disagreement. The probe, timed just before and just after each technique,
tells a slower machine apart from a noisy figure; steal is the share of CPU time
the hypervisor gave to other guests (Linux's /proc/stat), the usual cause.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")
# Recursion and JSON encoding: the interpreter work and C-extension calls the
# services' CPU-bound paths are made of, about 5 ms on the reference VM.
_FIB_N = 22
_DOC = [{"id": i, "title": f"Book {i}", "price": i * 1.25, "tags": ["a", "b"]} for i in range(500)]


def _fib(n: int) -> int:
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


def _work() -> None:
    _fib(_FIB_N)
    for _ in range(10):
        json.dumps(_DOC)


def cpu_probe_ms(rounds: int = 5) -> float:
    """The fixed work's fastest time out of `rounds`, in ms: the machine's speed when
    nothing of ours competes (the fastest round is the one least disturbed)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        _work()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def cpu_ticks(stat: Path = PROC_STAT) -> tuple[int, int] | None:
    """(steal, total) CPU ticks of all cores since boot; None where /proc/stat is absent."""
    try:
        first = stat.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if first[0] != "cpu" or len(first) < 9:
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is
    # already counted in user and nice.
    ticks = [int(value) for value in first[1:9]]
    return ticks[7], sum(ticks)


@dataclass(frozen=True)
class Machine:
    probe_before_ms: float
    probe_after_ms: float
    steal_share: float | None  # of all CPU time between the two probes

    @property
    def probe_ms(self) -> float:
        return (self.probe_before_ms + self.probe_after_ms) / 2

    def describe(self) -> str:
        steal = (
            "steal not known (no /proc/stat)"
            if self.steal_share is None
            else f"steal {self.steal_share:.1%} (CPU time the hypervisor gave other guests)"
        )
        return (
            f"a fixed CPU probe took {self.probe_before_ms:.2f} ms before the arms and "
            f"{self.probe_after_ms:.2f} ms after (fastest of 5 rounds); {steal}"
        )


class Watch:
    """Probe and steal counters at the start; `stop()` takes them again."""

    def __init__(self, stat: Path = PROC_STAT) -> None:
        self.stat = stat
        self.probe_before_ms = cpu_probe_ms()
        self.ticks = cpu_ticks(stat)

    def stop(self) -> Machine:
        ticks = cpu_ticks(self.stat)
        steal = None
        if self.ticks is not None and ticks is not None and ticks[1] > self.ticks[1]:
            steal = (ticks[0] - self.ticks[0]) / (ticks[1] - self.ticks[1])
        return Machine(self.probe_before_ms, cpu_probe_ms(), steal)
