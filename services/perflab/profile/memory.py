"""tracemalloc captures: around one request, or over a window of a live process.

tracemalloc traces the whole process, so one capture runs at a time per process (a
second one is refused, not queued) and it sees every allocation made meanwhile, the
concurrent requests' included: the report says so. Tracing starts with the capture,
so every traced block is new since then; the report gives

- `peak_bytes`: the most traced memory at any moment of the capture;
- `held_bytes`: what was still allocated when the capture looked (a request: when its
  answer started; a window: at its end), by allocation site (`top`) and by call stack
  (`stacks`, root first, for a flame graph).

Frames are `path:line` (tracemalloc keeps no function names); paths inside the lab
are shortened to `perflab/...`, others to what follows `site-packages/` or the
standard library's folder (`asyncio/runners.py`).
"""

from __future__ import annotations

import re
import threading
import time
import tracemalloc
from typing import Any

_lock = threading.Lock()
# Any interpreter's standard library (this one's, a container's): `.../lib/python3.11/`.
_STDLIB = re.compile(r"^.*/lib/python3\.\d+/")
# Allocations of the profiler itself, not of the profiled code.
_IGNORED = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, __file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    tracemalloc.Filter(False, "<unknown>"),
)


class Busy(RuntimeError):
    """Another memory capture runs in this process (tracemalloc is process-wide)."""


def short_path(path: str) -> str:
    marker = "/perflab/"
    if marker in path and "site-packages" not in path:
        return "perflab/" + path.rsplit(marker, 1)[1]
    if "site-packages/" in path:
        return path.rsplit("site-packages/", 1)[1]
    return _STDLIB.sub("", path)


def frame_label(frame: tracemalloc.Frame) -> str:
    return f"{short_path(frame.filename)}:{frame.lineno}"


class MemoryCapture:
    def __init__(self, frames: int) -> None:
        self._frames = frames
        self._held: tracemalloc.Snapshot | None = None
        self._started = 0.0

    def start(self) -> None:
        """Start tracing; `Busy` when another capture (or anyone else) traces already."""
        if not _lock.acquire(blocking=False):
            raise Busy("another memory profile is running in this process")
        if tracemalloc.is_tracing():
            _lock.release()
            raise Busy("tracemalloc is already tracing in this process")
        self._started = time.perf_counter()
        tracemalloc.start(self._frames)

    def mark(self) -> None:
        """Look at what is held now (a request: when its answer starts)."""
        if self._held is None and tracemalloc.is_tracing():
            self._held = tracemalloc.take_snapshot()

    def stop(self, top: int = 25, stacks: int = 300) -> tuple[float, dict[str, Any]]:
        try:
            _, peak = tracemalloc.get_traced_memory()
            snapshot = self._held or tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
            _lock.release()
        return time.perf_counter() - self._started, report(snapshot, peak, top, stacks)


def report(snapshot: tracemalloc.Snapshot, peak: int, top: int, stacks: int) -> dict[str, Any]:
    snapshot = snapshot.filter_traces(_IGNORED)
    by_line = snapshot.statistics("lineno")
    by_stack = snapshot.statistics("traceback")
    return {
        "peak_bytes": peak,
        "held_bytes": sum(s.size for s in by_line),
        "held_blocks": sum(s.count for s in by_line),
        "top": [
            {"site": frame_label(s.traceback[0]), "bytes": s.size, "blocks": s.count}
            for s in by_line[:top]
        ],
        # tracemalloc orders a traceback oldest frame first: root first, as flame graphs.
        "stacks": [
            {"frames": [frame_label(f) for f in s.traceback], "bytes": s.size, "blocks": s.count}
            for s in by_stack[:stacks]
        ],
        "note": "tracemalloc traces the whole process: concurrent work is included",
    }


def as_text(data: dict[str, Any]) -> str:
    lines = [
        f"peak traced memory: {data['peak_bytes'] / 1024:,.1f} KiB",
        f"held when looked at: {data['held_bytes'] / 1024:,.1f} KiB "
        f"in {data['held_blocks']:,} blocks",
        "",
        f"{'KiB':>10}  {'blocks':>8}  allocation site",
    ]
    for row in data["top"]:
        lines.append(f"{row['bytes'] / 1024:>10,.1f}  {row['blocks']:>8,}  {row['site']}")
    lines += ["", f"note: {data['note']}"]
    return "\n".join(lines) + "\n"
