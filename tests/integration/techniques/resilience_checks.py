"""resilience's checks for the threaded services (Django, Flask), each run through the
service's own client and counters; the fault knob is set through the API, as users do.
Proofs are counts: upstream calls by outcome, retries, breaker rejections and state."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from perflab.upstream import KNOB_TTL_SECONDS

BOOKS = (1, 7, 42, 199)
REQUESTS = 12
OUTCOMES = ("ok", "error", "timeout")


@dataclass
class ThreadedService:
    stock: Callable[
        [int], Awaitable[tuple[int, dict[str, Any], str | None]]
    ]  # status, body, variant
    use: Callable[[bool], Awaitable[None]]  # flip the resilience flag and wait until heard
    set_fault: Callable[[dict[str, float]], Awaitable[None]]  # the API's PUT /upstream/fault
    sample: Callable[[str, dict[str, str]], float]  # a counter or gauge of this service

    async def fault(self, knob: dict[str, float]) -> None:
        await self.set_fault(knob)
        await asyncio.sleep(KNOB_TTL_SECONDS + 0.1)  # every process has read it by then

    def calls(self, variant: str, outcome: str | None = None) -> float:
        outcomes = OUTCOMES if outcome is None else (outcome,)
        return sum(
            self.sample("perflab_upstream_calls_total", {"variant": variant, "outcome": o})
            for o in outcomes
        )


async def same_stock_as_the_api(service: ThreadedService, api: dict[int, dict]) -> None:
    await service.fault({})
    answers = {}
    for enabled, variant in ((False, "naive"), (True, "optimised")):
        await service.use(enabled)
        replies = [await service.stock(book) for book in BOOKS]
        assert all(status == 200 and v == variant for status, _, v in replies), replies
        answers[variant] = [body for _, body, _ in replies]
    assert answers["naive"] == answers["optimised"] == [api[book] for book in BOOKS]


async def a_spike_is_cut_at_the_deadline(service: ThreadedService) -> None:
    await service.fault({"spike_rate": 1.0, "spike_seconds": 1.0})
    await service.use(False)
    status, body, _ = await service.stock(7)
    assert status == 200 and body["book_id"] == 7  # after the whole spike
    await service.use(True)
    timeouts = service.calls("optimised", "timeout")
    status, body, _ = await service.stock(7)
    assert status == 503 and body["dependency"] == "upstream"
    assert "3 attempts failed" in body["error"], body
    assert service.calls("optimised", "timeout") - timeouts == 3  # each attempt gave up
    await service.fault({})
    assert (await service.stock(7))[0] == 200  # a success: the breaker's count starts over


async def a_dead_upstream_opens_the_breaker(service: ThreadedService, open_seconds: float) -> None:
    await service.fault({"error_rate": 1.0})
    await service.use(False)
    before = service.calls("naive")
    naive = [await service.stock(7) for _ in range(REQUESTS)]
    assert {(status, body["dependency"]) for status, body, _ in naive} == {(503, "upstream")}
    assert service.calls("naive") - before == REQUESTS  # one call per request, for ever

    await service.use(True)
    before = service.calls("optimised")
    retries = service.sample("perflab_upstream_retries_total", {})
    rejected = service.sample("perflab_upstream_breaker_rejections_total", {})
    optimised = [await service.stock(7) for _ in range(REQUESTS)]
    assert {(status, body["dependency"]) for status, body, _ in optimised} == {(503, "upstream")}
    # The breaker opened at the 5th failed attempt (the first request's 3, the second's
    # 2); the second request's third attempt and every later request were refused
    # without a call.
    assert service.calls("optimised") - before == 5
    assert "circuit open" in optimised[1][1]["error"]
    assert service.sample("perflab_upstream_retries_total", {}) > retries
    refused = service.sample("perflab_upstream_breaker_rejections_total", {}) - rejected
    assert refused == REQUESTS - 1
    assert service.sample("perflab_upstream_breaker_state", {}) == 2

    # Healthy again: after the open period one trial call goes out and closes it.
    await service.set_fault({})
    await asyncio.sleep(max(open_seconds, KNOB_TTL_SECONDS) + 0.2)
    calls = service.calls("optimised")
    status, body, _ = await service.stock(7)
    assert status == 200, body
    assert service.calls("optimised") - calls == 1
    assert service.sample("perflab_upstream_breaker_state", {}) == 0
