"""CPU-bound work run in a process pool vs inline on the event loop.

Demonstrates: the Fibonacci membership check - is n a Fibonacci number, and which
numbers in 1..n are - done the CPU-heavy way (every integer tested, ~40 ms of pure
Python at the default n = 200 000). The naive path computes it inside the coroutine:
the event loop is blocked for the whole computation and every other request of the
process waits. The optimised path sends it to a `ProcessPoolExecutor` (spawned
lazily, `PERFLAB_TECHNIQUES__CPU_POOL_WORKERS` processes per API process, shut down
by the lifespan) with `run_in_executor`: the loop stays free and, past the GIL,
requests compute on several cores. Same answer either way.
Watch: `perflab_event_loop_lag_seconds` and the route's p95 under concurrent load
(Runtime and Techniques dashboards). Expect loop lag from ~the computation time per
request to ~0 and other routes' latency unaffected by fibonacci checks.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from perflab.api.deps import Flags, Res
from perflab.api.resources import Resources
from perflab.api.techniques.base import Technique, run
from perflab.catalog import TECHNIQUES
from perflab.compute import fibonacci_up_to

NAME = "cpu_offload"
DEFAULT_N = 200_000
MAX_N = 5_000_000  # ~1 s of CPU: enough to hurt, bounded so one request can't hog a core
_POOL_KEY = "cpu_offload_pool"


class FibonacciCheck(BaseModel):
    n: int
    is_fibonacci: bool
    checked: int  # integers tested
    fibonacci_up_to_n: list[int]


class _ProcessPool:
    """A process pool the lifespan can close (it closes extras that have `close`)."""

    def __init__(self, workers: int) -> None:
        # spawn, not fork: children must not inherit the API's sockets, threads and loop.
        context = multiprocessing.get_context("spawn")
        self.executor = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def _executor(res: Resources) -> ProcessPoolExecutor:
    pool = res.extras.get(_POOL_KEY)
    if pool is None:
        pool = res.extras[_POOL_KEY] = _ProcessPool(res.settings.techniques.cpu_pool_workers)
    assert isinstance(pool, _ProcessPool)
    return pool.executor


def _answer(n: int, found: list[int]) -> FibonacciCheck:
    return FibonacciCheck(
        n=n, is_fibonacci=bool(found) and found[-1] == n, checked=n, fibonacci_up_to_n=found
    )


async def naive(res: Resources, n: int) -> FibonacciCheck:
    del res  # same signature as optimised; inline needs no pool
    # Runs on the event loop thread: nothing else in this process moves until it ends.
    return _answer(n, fibonacci_up_to(n))


async def optimised(res: Resources, n: int) -> FibonacciCheck:
    loop = asyncio.get_running_loop()
    found = await loop.run_in_executor(_executor(res), fibonacci_up_to, n)
    return _answer(n, found)


router = APIRouter(tags=["techniques"])


@router.get("/compute/fibonacci-check", response_model=FibonacciCheck)
async def fibonacci_check(
    res: Res,
    flags: Flags,
    response: Response,
    n: Annotated[int, Query(ge=1, le=MAX_N)] = DEFAULT_N,
) -> FibonacciCheck:
    return await run(NAME, flags, naive, optimised, response, res, n)


TECHNIQUE = Technique(
    spec=TECHNIQUES[NAME],
    router=router,
)
