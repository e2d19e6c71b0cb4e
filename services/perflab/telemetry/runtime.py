"""Per-process runtime figures, sampled on a fixed tick by every API and worker process.

Event-loop lag is how late a `sleep(TICK)` wakes up: each window's worst (a short block
is not averaged away) and every tick's, summed (exact over any window).
Celery processes have no event loop; a Celery pool process samples RSS, CPU, fds and
GC from a daemon thread (`start_sampler_thread`), its main process from the
worker's own timer (celery_metrics), never from a thread that a fork could copy
mid-write.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable

import psutil
from opentelemetry.instrumentation.utils import suppress_instrumentation

from perflab.settings import Settings
from perflab.telemetry import exemplars, multiproc, queues
from perflab.telemetry.metrics import (
    EVENT_LOOP_DELAY,
    EVENT_LOOP_LAG,
    PROCESS_CPU,
    PROCESS_GC_COLLECTIONS,
    PROCESS_OPEN_FDS,
    PROCESS_RSS,
)

TICK_SECONDS = 0.1
WINDOW_TICKS = 10


def sample_process(process: psutil.Process) -> None:
    with process.oneshot():
        PROCESS_RSS.set(process.memory_info().rss)
        cpu = process.cpu_times()
        PROCESS_CPU.set(cpu.user + cpu.system)
        PROCESS_OPEN_FDS.set(process.num_fds())
    for generation, stats in enumerate(gc.get_stats()):
        PROCESS_GC_COLLECTIONS.labels(generation=str(generation)).set(stats["collections"])


async def sample_forever(on_tick: Callable[[], None] | None = None) -> None:
    """Every window: loop lag, this process's figures, then `on_tick` (e.g. the API's
    pool figures: the service hands it in, telemetry knows no database)."""
    process = psutil.Process()
    exemplar_dir = multiproc.folder()
    sample_process(process)
    worst, ticks = 0.0, 0
    while True:
        started = time.perf_counter()
        await asyncio.sleep(TICK_SECONDS)
        late = max(time.perf_counter() - started - TICK_SECONDS, 0.0)
        EVENT_LOOP_DELAY.inc(late)
        worst, ticks = max(worst, late), ticks + 1
        if ticks >= WINDOW_TICKS:
            EVENT_LOOP_LAG.set(worst)
            sample_process(process)
            if on_tick is not None:
                on_tick()
            if exemplar_dir is not None:
                exemplars.flush(exemplar_dir)
            worst, ticks = 0.0, 0


def freeze_startup_heap() -> None:
    """Keep the start-up heap (modules, routes, models, pools) out of every collection.

    Per-request garbage (spans waiting for export too) triggers full collections, each
    walking the whole start-up heap: measured, most of the instrumentation's p95 cost
    and a third of its CPU. Every configuration gets it, so comparisons stay fair.
    """
    gc.collect()
    gc.freeze()


def start_api_samplers(
    settings: Settings, on_tick: Callable[[], None] | None = None
) -> list[asyncio.Task[None]]:
    """The API process's background samplers (none when metrics are off)."""
    if not settings.telemetry.metrics_enabled:
        return []
    # Their Redis round trips are not part of any request: keep them out of traces.
    with suppress_instrumentation():
        return [
            asyncio.create_task(sample_forever(on_tick), name="runtime-sampler"),
            asyncio.create_task(queues.sample_forever(settings), name="queue-sampler"),
        ]


def start_sampler_thread(interval: float = 1.0) -> threading.Thread:
    """RSS, CPU, fds and GC of this (event-loop-less) process, every `interval` s."""
    process = psutil.Process()

    def loop() -> None:
        while True:
            sample_process(process)
            time.sleep(interval)

    thread = threading.Thread(target=loop, name="runtime-sampler", daemon=True)
    thread.start()
    return thread
