"""bounded_cache (Django): the API's report both ways; `functools.cache` keeps every key
it ever saw, `lru_cache` never more than its size (entry counts from the worker's
/metrics, and the statements a hit saves)."""

from __future__ import annotations

import httpx
import pytest

from perflab.django_service.techniques.bounded_cache import LRU_SIZE
from tests.support.metrics import sample

pytestmark = pytest.mark.integration

KEYS = [(author, since, since + 10) for author in range(1, 11) for since in range(1950, 1980)]


def _report(client: httpx.Client, key: tuple[int, int, int], variant: str) -> tuple[dict, int]:
    author, since, until = key
    answer = client.get(f"/authors/{author}/report", params={"since": since, "until": until})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json(), int(answer.headers["X-DB-Queries"])


def _entries(client: httpx.Client) -> dict[str, float]:
    return {v: sample(client, "perflab_memo_entries", variant=v) for v in ("naive", "optimised")}


def test_same_reports_unbounded_growth_naive_and_a_bounded_lru_optimised(
    django: httpx.Client, set_flag, flags_api: str
):
    assert len(KEYS) > LRU_SIZE
    set_flag("bounded_cache", True)
    _report(django, KEYS[0], "optimised")  # empties the naive memo left by earlier tests
    set_flag("bounded_cache", False)
    naive = [_report(django, key, "naive") for key in KEYS]
    assert _entries(django) == {"naive": len(KEYS), "optimised": 0}
    assert all(queries == 1 for _, queries in naive)
    # Every key is still held: asking again sends no SQL at all.
    assert [_report(django, key, "naive")[1] for key in KEYS[:5]] == [0] * 5

    set_flag("bounded_cache", True)
    optimised = [_report(django, key, "optimised") for key in KEYS]
    assert [body for body, _ in optimised] == [body for body, _ in naive]
    # The LRU holds its size; the unbounded memo was dropped with the switch.
    assert _entries(django) == {"naive": 0, "optimised": LRU_SIZE}
    # The most recent keys are hits; the oldest were evicted and cost a query again.
    assert _report(django, KEYS[-1], "optimised")[1] == 0
    assert _report(django, KEYS[0], "optimised")[1] == 1

    # The API's report, field for field.
    for (body, _), (author, since, until) in list(zip(naive, KEYS, strict=True))[::37]:
        params = {"since": since, "until": until}
        assert httpx.get(f"{flags_api}/authors/{author}/report", params=params).json() == body
    assert any(body["books"] for body, _ in naive)
    assert any(book["average_rating"] is not None for body, _ in naive for book in body["books"])
    report = naive[0][0]
    assert report["reviews"] == sum(b["review_count"] for b in report["books"])


def test_years_and_author_are_validated(django: httpx.Client):
    assert django.get("/authors/0/report").status_code == 400
    bad = django.get("/authors/1/report", params={"since": 99})
    assert bad.status_code == 400 and "since" in bad.json()["error"]
    assert django.get("/authors/1/report", params={"until": "x"}).status_code == 400
    empty = django.get("/authors/1/report", params={"since": 2030, "until": 2020})
    assert empty.status_code == 200 and empty.json()["books"] == []
