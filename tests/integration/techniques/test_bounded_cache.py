"""bounded_cache: the same report both ways; the dict memo keeps every key it ever saw,
the LRU never more than its size (entry counts, and the statements a hit saves)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from perflab.api.techniques import bounded_cache

pytestmark = pytest.mark.integration

KEYS = [(author, since, since + 10) for author in range(1, 11) for since in range(1950, 2000)]


async def _report(client: httpx.AsyncClient, key: tuple[int, int, int], variant: str) -> tuple:
    author, since, until = key
    answer = await client.get(f"/authors/{author}/report", params={"since": since, "until": until})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json(), int(answer.headers["X-DB-Queries"])


async def _gauge(client: httpx.AsyncClient) -> dict[str, float]:
    text = (await client.get("/metrics")).text
    return {
        s.labels["variant"]: s.value
        for family in text_string_to_metric_families(text)
        if family.name == "perflab_memo_entries"
        for s in family.samples
    }


async def test_same_reports_unbounded_growth_naive_and_a_bounded_lru_optimised(
    app_client: httpx.AsyncClient, set_flag
):
    assert len(KEYS) > bounded_cache.LRU_SIZE
    bounded_cache.clear()
    await set_flag("bounded_cache", False)
    naive = [await _report(app_client, key, "naive") for key in KEYS]
    assert await _gauge(app_client) == {"naive": len(KEYS), "optimised": 0}
    # Every key is still held: asking again sends no SQL at all.
    again = [await _report(app_client, key, "naive") for key in KEYS[:5]]
    assert [q for _, q in again] == [0] * 5 and all(q >= 1 for _, q in naive)

    await set_flag("bounded_cache", True)
    optimised = [await _report(app_client, key, "optimised") for key in KEYS]
    assert [body for body, _ in optimised] == [body for body, _ in naive]
    # The LRU holds its size, the dict memo was dropped with the switch.
    assert await _gauge(app_client) == {"naive": 0, "optimised": bounded_cache.LRU_SIZE}
    assert bounded_cache.entries()[bounded_cache.Variant.OPTIMISED] == bounded_cache.LRU_SIZE
    # The most recent keys are hits; the oldest were evicted and cost a query again.
    recent = await _report(app_client, KEYS[-1], "optimised")
    oldest = await _report(app_client, KEYS[0], "optimised")
    assert recent[1] == 0 and oldest[1] >= 1
    assert any(body["books"] for body, _ in naive)
    report = naive[0][0]
    assert report["reviews"] == sum(b["review_count"] for b in report["books"])


async def test_years_and_author_are_validated(app_client: httpx.AsyncClient):
    assert (await app_client.get("/authors/0/report")).status_code == 422
    bad = await app_client.get("/authors/1/report", params={"since": 99})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "since"]
    empty = await app_client.get("/authors/1/report", params={"since": 2030, "until": 2020})
    assert empty.status_code == 200 and empty.json()["books"] == []
