"""Per-process runtime figures, sampled on a fixed tick by each API process.

Event-loop lag is how late a `sleep(TICK)` wakes up: a blocked loop shows at once.
The worst lag of each window is exported, so a short block is not averaged away.
"""

from __future__ import annotations

import asyncio
import gc
import time

import asyncpg
import psutil

from perflab.db.pool import sample_pool
from perflab.telemetry.metrics import (
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


async def sample_forever(pool: asyncpg.Pool | None = None) -> None:
    process = psutil.Process()
    worst = 0.0
    ticks = 0
    while True:
        started = time.perf_counter()
        await asyncio.sleep(TICK_SECONDS)
        worst = max(worst, time.perf_counter() - started - TICK_SECONDS)
        ticks += 1
        if ticks >= WINDOW_TICKS:
            EVENT_LOOP_LAG.set(max(worst, 0.0))
            sample_process(process)
            if pool is not None:
                sample_pool(pool)
            worst = 0.0
            ticks = 0
