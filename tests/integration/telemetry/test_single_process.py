"""Without PROMETHEUS_MULTIPROC_DIR (the in-process app of the tests) exemplars come
from prometheus_client itself: the trace id of the request lands on its bucket."""

from __future__ import annotations

import secrets

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration


async def test_latency_bucket_carries_the_trace_id_of_the_request(app_client: httpx.AsyncClient):
    trace_id = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    assert (await app_client.get("/flags", headers=headers)).status_code == 200
    answer = await app_client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    exemplars = [
        s.exemplar.labels["trace_id"]
        for family in text_string_to_metric_families(answer.text)
        if family.name == "perflab_http_request_duration_seconds"
        for s in family.samples
        if s.exemplar is not None and s.labels.get("route") == "/flags"
    ]
    assert trace_id in exemplars
