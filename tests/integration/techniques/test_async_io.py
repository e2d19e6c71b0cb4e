"""async_io: the same quote both ways; the naive path blocks the event loop, counted."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from perflab.settings import Settings
from tests.support.loop_probe import LoopProbe

pytestmark = pytest.mark.integration

CONCURRENT = 8
BOOK_ID = 7


def _in_flight() -> float:
    return REGISTRY.get_sample_value("perflab_upstream_calls_in_progress") or 0.0


async def _burst(client: httpx.AsyncClient, probe: LoopProbe) -> list[httpx.Response]:
    async with probe:
        return await asyncio.gather(
            *(
                client.get("/upstream/quote", params={"book_id": BOOK_ID, "quantity": 2})
                for _ in range(CONCURRENT)
            )
        )


async def test_same_quote_and_naive_blocks_the_loop(
    app_client: httpx.AsyncClient, set_flag, settings: Settings
):
    await set_flag("async_io", False)
    naive_probe = LoopProbe(sample=_in_flight)
    naive = await _burst(app_client, naive_probe)
    await set_flag("async_io", True)
    optimised_probe = LoopProbe(sample=_in_flight)
    optimised = await _burst(app_client, optimised_probe)

    assert {r.status_code for r in naive + optimised} == {200}
    assert {r.headers["X-Technique-Variant"] for r in naive} == {"naive"}
    assert {r.headers["X-Technique-Variant"] for r in optimised} == {"optimised"}
    bodies = [r.json() for r in naive + optimised]
    assert all(body == bodies[0] for body in bodies)
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        price = await conn.fetchval("SELECT price_cents FROM books WHERE id = $1", BOOK_ID)
    finally:
        await conn.close()
    quote = bodies[0]
    assert quote["unit_price_cents"] == price
    assert quote["total_cents"] == 2 * price + quote["shipping_cents"]

    latency = settings.techniques.upstream_latency_seconds
    # Every blocking sleep stalls the probe at least `latency`: the floor is physical.
    assert naive_probe.blocked_intervals >= 1
    assert naive_probe.blocked_seconds >= 0.5 * CONCURRENT * latency
    # Side by side: awaiting leaves the loop free (wide margin for a loaded machine).
    assert naive_probe.blocked_seconds >= 3 * optimised_probe.blocked_seconds
    # A blocked loop can never have two upstream calls in flight; awaiting overlaps them.
    assert naive_probe.max_sample <= 1
    assert optimised_probe.max_sample >= 2


@pytest.mark.parametrize("enabled", [False, True])
async def test_rejects_bad_input_and_unknown_book(app_client: httpx.AsyncClient, set_flag, enabled):
    await set_flag("async_io", enabled)
    missing = await app_client.get("/upstream/quote", params={"book_id": 10**9})
    assert missing.status_code == 404
    assert "book 1000000000 not found" in missing.json()["error"]
    for params in ({}, {"book_id": 0}, {"book_id": 1, "quantity": 0}, {"book_id": "x"}):
        answer = await app_client.get("/upstream/quote", params=params)
        assert answer.status_code == 422, params
