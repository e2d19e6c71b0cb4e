"""resilience (Flask): the API's stock both ways while healthy; a spike cut at the
deadline; a dead upstream called by every naive request and no longer once the app's
breaker is open; one trial call closes it (tests/integration/techniques/
resilience_checks.py; counters of this process, where only Flask calls meanwhile)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from perflab.settings import Settings
from tests.integration.techniques import resilience_checks as checks

pytestmark = pytest.mark.integration


@pytest.fixture
async def service(
    flask_client: FlaskClient, flask_flag, app_client: httpx.AsyncClient
) -> AsyncIterator[checks.ThreadedService]:
    async def stock(book_id: int) -> tuple[int, dict[str, Any], str | None]:
        answer = flask_client.get("/upstream/stock", query_string={"book_id": book_id})
        return answer.status_code, answer.json, answer.headers.get("X-Technique-Variant")

    async def use(enabled: bool) -> None:
        await flask_flag("resilience", enabled)

    async def set_fault(knob: dict[str, float]) -> None:
        assert (await app_client.put("/upstream/fault", json=knob)).status_code == 200

    def metric(name: str, labels: dict[str, str]) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    yield checks.ThreadedService(stock, use, set_fault, metric)
    await app_client.put("/upstream/fault", json={})  # healthy for whoever comes next


async def test_the_apis_stock_both_ways_while_healthy(service, app_client: httpx.AsyncClient):
    api = {}
    for book in checks.BOOKS:
        api[book] = (await app_client.get("/upstream/stock", params={"book_id": book})).json()
    await checks.same_stock_as_the_api(service, api)


async def test_a_spike_is_cut_at_the_deadline(service):
    await checks.a_spike_is_cut_at_the_deadline(service)


async def test_a_dead_upstream_opens_the_breaker_and_a_trial_call_closes_it(
    service, settings: Settings
):
    await checks.a_dead_upstream_opens_the_breaker(
        service, settings.techniques.breaker_open_seconds
    )


def test_book_id_is_required_and_checked(flask_client: FlaskClient) -> None:
    for query in ({}, {"book_id": 0}, {"book_id": "x"}):
        answer = flask_client.get("/upstream/stock", query_string=query)
        assert answer.status_code == 422 and answer.json["detail"][0]["loc"] == ["query", "book_id"]
