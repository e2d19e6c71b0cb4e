"""response_cache (Flask): same leaderboard both ways; Flask-Caching hits cost no SQL.

Counts: `perflab_cache_requests_total{cache="top_rated"}` (fed by Flask-Caching's
hit/miss signals) and `X-DB-Queries`. A review written through the service deletes
the entry, so the next cached read is a miss that sees the new review.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from perflab.flask_service.app import CACHE_KEY_PREFIX
from perflab.flask_service.techniques.response_cache import CACHE_KEY

pytestmark = pytest.mark.integration


def _lookups() -> dict[str, float]:
    return {
        result: REGISTRY.get_sample_value(
            "perflab_cache_requests_total", {"cache": "top_rated", "result": result}
        )
        or 0.0
        for result in ("hit", "miss", "error")
    }


def _top(client: FlaskClient, variant: str) -> tuple[dict, int]:
    answer = client.get("/genres/top-rated")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json, int(answer.headers["X-DB-Queries"])


def _delta(before: dict[str, float]) -> dict[str, float]:
    after = _lookups()
    return {k: after[k] - before[k] for k in after}


async def test_hits_answer_from_redis_without_sql_and_writes_invalidate(
    flask_client: FlaskClient, flask_flag, redis_client: Redis
):
    await redis_client.delete(CACHE_KEY_PREFIX + CACHE_KEY)
    await flask_flag("response_cache", False)
    before = _lookups()
    naive = [_top(flask_client, "naive") for _ in range(2)]
    assert _delta(before) == {"hit": 0, "miss": 0, "error": 0}
    assert [queries for _, queries in naive] == [1, 1]

    await flask_flag("response_cache", True)
    before = _lookups()
    first, first_queries = _top(flask_client, "optimised")
    hits = [_top(flask_client, "optimised") for _ in range(3)]
    assert _delta(before) == {"hit": 3, "miss": 1, "error": 0}
    assert first_queries == 1 and [queries for _, queries in hits] == [0, 0, 0]
    assert first == naive[0][0] and all(body == first for body, _ in hits)
    assert await redis_client.exists(CACHE_KEY_PREFIX + CACHE_KEY)
    assert len(first["genres"]) >= 5 and all(len(g["books"]) <= 10 for g in first["genres"])

    # A review invalidates: the next read misses and recomputes.
    top_book = first["genres"][0]["books"][0]
    review = {"user_id": 1, "rating": 1, "body": "changed my mind"}
    written = flask_client.post(f"/books/{top_book['id']}/reviews", json=review)
    assert written.status_code == 201, written.text
    assert written.json["book_id"] == top_book["id"] and written.json["id"] > 0
    assert not await redis_client.exists(CACHE_KEY_PREFIX + CACHE_KEY)
    before = _lookups()
    after_write, queries = _top(flask_client, "optimised")
    assert _delta(before) == {"hit": 0, "miss": 1, "error": 0} and queries == 1
    assert after_write == _top(flask_client, "optimised")[0]
    counts = {b["id"]: b["review_count"] for g in after_write["genres"] for b in g["books"]}
    if top_book["id"] in counts:  # a 1-star review may push it off the leaderboard
        assert counts[top_book["id"]] == top_book["review_count"] + 1


def test_reviews_are_validated(flask_client: FlaskClient):
    bad = flask_client.post("/books/1/reviews", json={"user_id": 1, "rating": 6, "body": "x"})
    assert bad.status_code == 422 and bad.json["detail"][0]["loc"] == ["body", "rating"]
    unknown = flask_client.post(
        "/books/99999999/reviews", json={"user_id": 1, "rating": 5, "body": "x"}
    )
    assert unknown.status_code == 404 and unknown.json == {"error": "book 99999999 not found"}
    no_user = flask_client.post(
        "/books/1/reviews", json={"user_id": 99999999, "rating": 5, "body": "x"}
    )
    assert no_user.status_code == 404 and no_user.json == {"error": "user 99999999 not found"}


def test_text_postgres_cannot_store_is_refused_by_name(flask_client: FlaskClient):
    nul = flask_client.post("/books/1/reviews", json={"user_id": 1, "rating": 5, "body": "a\x00b"})
    assert nul.status_code == 422 and nul.json["detail"][0]["loc"] == ["body", "body"], nul.text
    assert "NUL" in nul.json["detail"][0]["msg"]
    genre = flask_client.get("/books/catalog", query_string={"genre": "a\x00b"})
    assert genre.status_code == 422 and genre.json["detail"][0]["loc"] == ["query", "genre"]
