"""An event-loop lag probe for tests: how often, and for how long, the loop was blocked.

A task in the loop under test sleeps a short tick again and again; each wake-up that
comes later than `threshold` is one blocked interval, and its lateness is added to
`blocked_seconds`. Small scheduling jitter stays below the threshold and is ignored,
so a healthy loop on a busy machine reads ~0 while a blocked one reads about the
time it was blocked. `sample` (optional) is called on every tick, e.g. to read a gauge.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from types import TracebackType


class LoopProbe:
    def __init__(
        self,
        tick: float = 0.002,
        threshold: float = 0.02,
        sample: Callable[[], float] | None = None,
    ) -> None:
        self.tick = tick
        self.threshold = threshold
        self.blocked_intervals = 0
        self.blocked_seconds = 0.0
        self.max_sample = 0.0
        self._sample = sample
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.tick)
            late = time.perf_counter() - started - self.tick
            if late > self.threshold:
                self.blocked_intervals += 1
                self.blocked_seconds += late
            if self._sample is not None:
                self.max_sample = max(self.max_sample, self._sample())

    async def __aenter__(self) -> LoopProbe:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)  # let it take its first tick before the work starts
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._task is not None
        # One more tick, so a block at the very end is still seen.
        await asyncio.sleep(self.tick * 2)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
