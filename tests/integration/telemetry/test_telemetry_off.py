"""A real uvicorn with metrics and tracing off: no metric is written, `/metrics` says
why it is not there, and the answers still carry `X-DB-Queries` (part of the API,
telemetry on or off)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.support.servers import api_metrics_dir, service_env, uvicorn_server

pytestmark = pytest.mark.integration

OFF = {"PERFLAB_TELEMETRY__METRICS_ENABLED": "false", "PERFLAB_TELEMETRY__TRACING_ENABLED": "false"}
PAGE = 5
NAME = "telemetry-off"


@pytest.fixture(scope="module")
def api(lab_root: Path, settings_env: dict[str, str]) -> Iterator[str]:
    with uvicorn_server(lab_root, service_env(settings_env, OFF), name=NAME) as base:
        yield base


def test_answers_still_count_their_sql(api: str):
    one_book = httpx.get(f"{api}/books/1", timeout=10)
    assert one_book.status_code == 200, one_book.text
    assert one_book.headers["x-db-queries"] == "1"  # pooled or direct: one SELECT

    page = httpx.get(f"{api}/books", params={"limit": PAGE}, timeout=10)
    assert page.status_code == 200, page.text
    # Whichever way another test left the flag: JOIN + batched count, or N+1.
    expected = {"optimised": 2, "naive": 1 + 2 * PAGE}[page.headers["x-technique-variant"]]
    assert int(page.headers["x-db-queries"]) == expected


def test_metrics_endpoint_says_metrics_are_off(api: str):
    answer = httpx.get(f"{api}/metrics", timeout=10)
    assert answer.status_code == 404
    assert "PERFLAB_TELEMETRY__METRICS_ENABLED=false" in answer.text


def test_nothing_is_recorded(api: str, lab_root: Path):
    for _ in range(20):
        assert httpx.get(f"{api}/books", params={"limit": 2}, timeout=10).status_code == 200
    folder = api_metrics_dir(lab_root, NAME, api)
    recorded = {
        sample.name
        for family in MultiProcessCollector.merge([str(p) for p in folder.glob("*.db")])
        for sample in family.samples
        if family.name.startswith("perflab_") and sample.value
    }
    # With metrics on, these requests would have written requests, durations, the
    # technique's duration, pool acquire waits, flag states...
    assert recorded == set()
