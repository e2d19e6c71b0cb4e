"""response_cache (Django): same leaderboard both ways; a hit sends no SQL and is counted,
a review write invalidates the entry."""

from __future__ import annotations

import httpx
import pytest

from tests.support.metrics import sample

pytestmark = pytest.mark.integration
HITS = {"cache": "top_rated", "result": "hit"}
MISSES = {"cache": "top_rated", "result": "miss"}


def _top(client: httpx.Client, variant: str) -> tuple[dict, int]:
    answer = client.get("/genres/top-rated")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json(), int(answer.headers["X-DB-Queries"])


def _review(client: httpx.Client) -> None:
    answer = client.post("/books/1/reviews", json={"user_id": 1, "rating": 5, "body": "test"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["book_id"] == 1 and answer.json()["rating"] == 5


def test_hits_send_no_sql_and_a_write_invalidates(django: httpx.Client, set_flag):
    set_flag("response_cache", True)
    _review(django)  # a known state: the entry is gone
    hits, misses = (sample(django, "perflab_cache_requests_total", **k) for k in (HITS, MISSES))
    first, first_sql = _top(django, "optimised")  # miss: computed and stored
    second, second_sql = _top(django, "optimised")  # hit
    assert first == second and first["genres"]
    assert first_sql >= 1 and second_sql == 0
    assert sample(django, "perflab_cache_requests_total", **MISSES) == misses + 1
    assert sample(django, "perflab_cache_requests_total", **HITS) == hits + 1

    set_flag("response_cache", False)
    naive, naive_sql = _top(django, "naive")
    assert naive == first and naive_sql >= 1

    _review(django)
    set_flag("response_cache", True)
    _, after_write_sql = _top(django, "optimised")
    assert after_write_sql >= 1  # recomputed: the write deleted the entry
    assert sample(django, "perflab_cache_requests_total", **MISSES) == misses + 2


def test_a_review_for_an_unknown_book_or_user_is_404_and_bad_bodies_400(django: httpx.Client):
    review = {"user_id": 1, "rating": 3, "body": "x"}
    unknown_book = django.post("/books/999999/reviews", json=review)
    assert unknown_book.status_code == 404 and "book 999999" in unknown_book.json()["error"]
    unknown_user = django.post("/books/1/reviews", json=review | {"user_id": 999999})
    assert unknown_user.status_code == 404 and "user 999999" in unknown_user.json()["error"]
    bad = django.post("/books/1/reviews", json={"user_id": 1, "rating": 9, "body": "x"})
    assert bad.status_code == 400 and "rating" in bad.json()["error"]
    for text in (r"nul\u0000inside", r"lone \ud800 surrogate"):  # JSON escapes
        raw = ('{"user_id": 1, "rating": 3, "body": "' + text + '"}').encode()
        odd = django.post("/books/1/reviews", content=raw)
        assert odd.status_code == 400 and "body" in odd.json()["error"], odd.text
