"""resilience (Django): the API's stock both ways while healthy; a spike cut at the
deadline; a dead upstream called by every naive request and no longer once the
worker's breaker is open; one trial call closes it (tests/integration/techniques/
resilience_checks.py, counted on the worker's /metrics)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from perflab.settings import Settings
from tests.integration.techniques import resilience_checks as checks
from tests.support.metrics import sample

pytestmark = pytest.mark.integration


@pytest.fixture
async def service(
    django: httpx.Client, django_url: str, set_flag, flags_api: str
) -> AsyncIterator[checks.ThreadedService]:
    async with (
        httpx.AsyncClient(base_url=django_url, timeout=30) as client,
        httpx.AsyncClient(base_url=flags_api, timeout=30) as api,
    ):

        async def stock(book_id: int) -> tuple[int, dict[str, Any], str | None]:
            answer = await client.get("/upstream/stock", params={"book_id": book_id})
            return answer.status_code, answer.json(), answer.headers.get("X-Technique-Variant")

        async def use(enabled: bool) -> None:
            set_flag("resilience", enabled)

        async def set_fault(knob: dict[str, float]) -> None:
            assert (await api.put("/upstream/fault", json=knob)).status_code == 200

        def metric(name: str, labels: dict[str, str]) -> float:
            return sample(django, name, **labels)

        yield checks.ThreadedService(stock, use, set_fault, metric)
        await api.put("/upstream/fault", json={})  # healthy for whoever comes next


async def test_the_apis_stock_both_ways_while_healthy(service, flags_api: str):
    async with httpx.AsyncClient(base_url=flags_api, timeout=30) as api:
        answers = [await api.get("/upstream/stock", params={"book_id": b}) for b in checks.BOOKS]
    await checks.same_stock_as_the_api(
        service, {b: a.json() for b, a in zip(checks.BOOKS, answers, strict=True)}
    )


async def test_a_spike_is_cut_at_the_deadline(service):
    await checks.a_spike_is_cut_at_the_deadline(service)


async def test_a_dead_upstream_opens_the_breaker_and_a_trial_call_closes_it(
    service, settings: Settings
):
    await checks.a_dead_upstream_opens_the_breaker(
        service, settings.techniques.breaker_open_seconds
    )


def test_book_id_is_required_and_checked(django: httpx.Client):
    for params, named in (
        ({}, "'book_id'"),
        ({"book_id": 0}, "book_id"),
        ({"book_id": "x"}, "book_id"),
    ):
        answer = django.get("/upstream/stock", params=params)
        assert answer.status_code == 400 and named in answer.json()["error"], params
