"""resilience: the same stock both ways while the upstream is healthy; with the upstream
failing, the naive path calls it on every request while the optimised path's breaker
opens and its calls stop (counted, not timed); once healthy, one trial call closes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY

from perflab.api.app import create_app
from perflab.settings import Settings

pytestmark = pytest.mark.integration

BOOKS = (1, 7, 42, 199)
REQUESTS = 12
FAILURES_TO_OPEN = 5


@pytest.fixture(scope="module")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    knobs = settings.techniques.model_copy(
        update={"breaker_failures": FAILURES_TO_OPEN, "breaker_open_seconds": 1.0}
    )
    app = create_app(settings.model_copy(update={"techniques": knobs}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lab") as http:
            yield http
            await http.put("/upstream/fault", json={})  # healthy for whoever comes next
            await http.put("/flags/resilience", json={"enabled": True})


def _calls(variant: str) -> float:
    return sum(
        REGISTRY.get_sample_value(
            "perflab_upstream_calls_total", {"variant": variant, "outcome": outcome}
        )
        or 0.0
        for outcome in ("ok", "error", "timeout")
    )


def _value(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def _stock(http: httpx.AsyncClient, variant: str, book_id: int) -> httpx.Response:
    answer = await http.get("/upstream/stock", params={"book_id": book_id})
    # An error answer is built by the error handler, without the variant header.
    assert answer.headers.get("X-Technique-Variant", variant) == variant
    return answer


async def _use(http: httpx.AsyncClient, enabled: bool) -> str:
    flipped = await http.put("/flags/resilience", json={"enabled": enabled})
    assert flipped.status_code == 200, flipped.text
    return "optimised" if enabled else "naive"


async def test_a_misspelt_fault_knob_is_refused_and_changes_nothing(client: httpx.AsyncClient):
    knob = {"error_rate": 0.5, "spike_rate": 0.0, "spike_seconds": 2.0}
    assert (await client.put("/upstream/fault", json=knob)).status_code == 200
    typo = await client.put("/upstream/fault", json={"error_rat": 0.0})
    assert typo.status_code == 422 and typo.json()["detail"][0]["loc"] == ["body", "error_rat"]
    assert (await client.get("/upstream/fault")).json() == knob  # not reset to healthy
    assert (await client.put("/upstream/fault", json={})).status_code == 200


async def test_same_stock_both_ways_while_healthy(client: httpx.AsyncClient):
    assert (await client.put("/upstream/fault", json={})).status_code == 200
    answers = {}
    for enabled in (False, True):
        variant = await _use(client, enabled)
        replies = [await _stock(client, variant, book) for book in BOOKS]
        assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
        answers[variant] = [r.json() for r in replies]
    assert answers["naive"] == answers["optimised"]
    assert answers["naive"][0].keys() == {"book_id", "in_stock", "warehouse", "ships_in_days"}


async def test_a_dead_upstream_is_called_by_every_naive_request_and_no_longer_once_open(
    client: httpx.AsyncClient,
):
    knob = {"error_rate": 1.0, "spike_rate": 0.0}
    assert (await client.put("/upstream/fault", json=knob)).status_code == 200

    variant = await _use(client, False)
    before = _calls("naive")
    naive = [await _stock(client, variant, 7) for _ in range(REQUESTS)]
    assert {(r.status_code, r.json()["dependency"]) for r in naive} == {(503, "upstream")}
    assert _calls("naive") - before == REQUESTS  # one call per request, for ever

    variant = await _use(client, True)
    before, retries = _calls("optimised"), _value("perflab_upstream_retries_total")
    rejected = _value("perflab_upstream_breaker_rejections_total")
    optimised = [await _stock(client, variant, 7) for _ in range(REQUESTS)]
    assert {(r.status_code, r.json()["dependency"]) for r in optimised} == {(503, "upstream")}
    # The breaker opened after FAILURES_TO_OPEN failed attempts; then no call got out.
    assert _calls("optimised") - before == FAILURES_TO_OPEN
    assert "circuit open" in optimised[-1].json()["error"]
    assert _value("perflab_upstream_retries_total") > retries
    assert _value("perflab_upstream_breaker_rejections_total") - rejected >= REQUESTS - 2
    assert _value("perflab_upstream_breaker_state") == 2

    # Healthy again: after the open period one trial call goes out and closes it.
    assert (await client.put("/upstream/fault", json={})).status_code == 200
    await asyncio.sleep(1.2)
    calls = _calls("optimised")
    recovered = await _stock(client, variant, 7)
    assert recovered.status_code == 200, recovered.text
    assert _calls("optimised") - calls == 1
    assert _value("perflab_upstream_breaker_state") == 0
