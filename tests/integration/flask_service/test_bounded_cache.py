"""bounded_cache (Flask): the API's report both ways; cachetools over a dict keeps every
key it ever saw, over an LRUCache never more than its size (entry counts, and the
statements a hit saves)."""

from __future__ import annotations

import httpx
import pytest
from flask.testing import FlaskClient

from perflab.flask_service.techniques import bounded_cache

pytestmark = pytest.mark.integration

KEYS = [(author, since, since + 10) for author in range(1, 11) for since in range(1950, 1980)]


def _report(client: FlaskClient, key: tuple[int, int, int], variant: str) -> tuple[dict, int]:
    author, since, until = key
    answer = client.get(f"/authors/{author}/report", query_string={"since": since, "until": until})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json, int(answer.headers["X-DB-Queries"])


async def test_same_reports_unbounded_growth_naive_and_a_bounded_lru_optimised(
    flask_client: FlaskClient, flask_flag, app_client: httpx.AsyncClient
) -> None:
    assert len(KEYS) > bounded_cache.LRU_SIZE
    await flask_flag("bounded_cache", True)
    _report(flask_client, KEYS[0], "optimised")  # empties a naive memo left by earlier tests
    await flask_flag("bounded_cache", False)
    naive = [_report(flask_client, key, "naive") for key in KEYS]
    assert bounded_cache.memos.entries() == {"naive": len(KEYS), "optimised": 0}
    assert all(queries == 1 for _, queries in naive)
    # Every key is still held: asking again sends no SQL at all.
    assert [_report(flask_client, key, "naive")[1] for key in KEYS[:5]] == [0] * 5

    await flask_flag("bounded_cache", True)
    optimised = [_report(flask_client, key, "optimised") for key in KEYS]
    assert [body for body, _ in optimised] == [body for body, _ in naive]
    # The LRU holds its size; the dict memo was dropped with the switch.
    assert bounded_cache.memos.entries() == {"naive": 0, "optimised": bounded_cache.LRU_SIZE}
    # The most recent keys are hits; the oldest were evicted and cost a query again.
    assert _report(flask_client, KEYS[-1], "optimised")[1] == 0
    assert _report(flask_client, KEYS[0], "optimised")[1] == 1

    # The API's report, field for field.
    for (body, _), (author, since, until) in list(zip(naive, KEYS, strict=True))[::37]:
        params = {"since": since, "until": until}
        assert (await app_client.get(f"/authors/{author}/report", params=params)).json() == body
    assert any(book["average_rating"] is not None for body, _ in naive for book in body["books"])
    report = naive[0][0]
    assert report["reviews"] == sum(b["review_count"] for b in report["books"])


def test_years_and_author_are_validated(flask_client: FlaskClient) -> None:
    assert flask_client.get("/authors/0/report").status_code == 422
    bad = flask_client.get("/authors/1/report", query_string={"since": 99})
    assert bad.status_code == 422 and bad.json["detail"][0]["loc"] == ["query", "since"]
    empty = flask_client.get("/authors/1/report", query_string={"since": 2030, "until": 2020})
    assert empty.status_code == 200 and empty.json["books"] == []
