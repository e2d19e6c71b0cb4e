"""A flaky upstream called with no timeout and no retry vs timeouts, retries and a breaker.

Demonstrates: `GET /upstream/stock?book_id=N` asks a stock service (simulated,
`perflab/upstream.py`) whose faults are set at runtime with `PUT /upstream/fault`
(error rate, latency spikes). The naive path awaits the call as it comes: a spike
holds the request (and its client) for the whole spike, an error is a 503, and a
dead upstream gets every request's call. The optimised path gives each attempt a
deadline (`PERFLAB_TECHNIQUES__UPSTREAM_TIMEOUT_SECONDS`, 0.25 s), retries failed
attempts with exponential backoff and jitter (tenacity; 3 attempts), and puts a
circuit breaker (purgatory) around every attempt: after 5 consecutive failures it
opens and requests fail fast with a 503 without calling, until a trial call 5 s
later finds the upstream back. Same stock either way while the upstream is healthy.
Watch: `perflab_upstream_calls_total{variant, outcome}`, `perflab_upstream_retries_total`,
`perflab_upstream_breaker_state` and the route's p95 (Techniques dashboard).
Expect, with `error_rate` 1: naive calls per second = requests per second, each
request waiting the upstream's latency; optimised calls drop to one trial per 5 s
and the 503s take ~1 ms. With spikes: p95 from the spike length to about the
deadline (a spike is cut off and retried).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Response
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from tenacity import AsyncRetrying

from perflab.api.deps import Flags, Res
from perflab.api.resources import Resources
from perflab.api.responses import ADMIN, WRITE
from perflab.api.techniques.base import Technique, run
from perflab.api.techniques.flaky_upstream import FlakyUpstream
from perflab.catalog import TECHNIQUES
from perflab.errors import DependencyUnavailable
from perflab.upstream import (
    CIRCUIT,
    FAILURES,
    Stock,
    UpstreamError,
    UpstreamFault,
    attempts_failed,
    on_breaker_event,
    refused_by_open_circuit,
    retry_policy,
)

NAME = "resilience"
_UPSTREAM_KEY = "flaky_upstream"
_BREAKERS_KEY = "upstream_breakers"


def upstream(res: Resources) -> FlakyUpstream:
    """This process's upstream client, made on first use."""
    client = res.extras.get(_UPSTREAM_KEY)
    if client is None:
        latency = res.settings.techniques.upstream_latency_seconds
        client = res.extras[_UPSTREAM_KEY] = FlakyUpstream(res.redis, latency)
    assert isinstance(client, FlakyUpstream)
    return client


def breakers(res: Resources) -> AsyncCircuitBreakerFactory:
    """This process's breakers (in memory: each process judges the upstream itself)."""
    factory = res.extras.get(_BREAKERS_KEY)
    if factory is None:
        knobs = res.settings.techniques
        factory = AsyncCircuitBreakerFactory(
            default_threshold=knobs.breaker_failures, default_ttl=knobs.breaker_open_seconds
        )
        factory.add_listener(on_breaker_event)
        res.extras[_BREAKERS_KEY] = factory
    assert isinstance(factory, AsyncCircuitBreakerFactory)
    return factory


async def naive(res: Resources, book_id: int) -> Stock:
    try:
        return await upstream(res).call(book_id, "naive")
    except UpstreamError as exc:
        raise DependencyUnavailable("upstream", str(exc)) from exc


async def optimised(res: Resources, book_id: int) -> Stock:
    knobs = res.settings.techniques
    breaker = await breakers(res).get_breaker(CIRCUIT)
    client = upstream(res)
    try:
        async for attempt in AsyncRetrying(**retry_policy(knobs)):
            with attempt:
                async with breaker, asyncio.timeout(knobs.upstream_timeout_seconds):
                    return await client.call(book_id, "optimised")
    except FAILURES as exc:
        raise attempts_failed(knobs, exc) from exc
    except OpenedState as exc:  # raised on entry while open: nothing was sent
        raise refused_by_open_circuit(knobs) from exc
    raise AssertionError("unreachable: tenacity either returned or raised")


router = APIRouter(tags=["techniques"])


@router.get("/upstream/stock", response_model=Stock)
async def upstream_stock(
    res: Res,
    flags: Flags,
    response: Response,
    book_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
) -> Stock:
    return await run(NAME, flags, naive, optimised, response, res, book_id)


@router.get("/upstream/fault", response_model=UpstreamFault)
async def get_upstream_fault(res: Res) -> UpstreamFault:
    """The simulated upstream's faults as this process sees them."""
    return await upstream(res).fault()


@router.put("/upstream/fault", response_model=UpstreamFault, responses=WRITE, openapi_extra=ADMIN)
async def set_upstream_fault(res: Res, fault: UpstreamFault) -> UpstreamFault:
    """Make the simulated upstream fail (error rate, latency spikes); every process of
    every service (API, Django, Flask) follows within a second. All zero: healthy again."""
    await upstream(res).set_fault(fault)
    return fault


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], router=router)
