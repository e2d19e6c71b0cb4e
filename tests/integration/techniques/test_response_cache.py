"""response_cache: same leaderboard both ways; hits cost 0 SQL; writes invalidate.

The proof by count: `perflab_cache_requests_total{cache="top_rated"}` moves by exactly
one hit or miss per request, and a hit runs no SQL statement (`X-DB-Queries: 0`).
"""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from perflab.api.techniques import response_cache
from perflab.procs import free_port

pytestmark = pytest.mark.integration


def _cache_count(result: str) -> float:
    value = REGISTRY.get_sample_value(
        "perflab_cache_requests_total", {"cache": response_cache.CACHE, "result": result}
    )
    return value or 0.0


async def _top(client: httpx.AsyncClient, variant: str) -> tuple[dict, int]:
    answer = await client.get("/genres/top-rated")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json(), int(answer.headers["X-DB-Queries"])


async def _counted(client: httpx.AsyncClient) -> tuple[dict, int, dict[str, float]]:
    before = {r: _cache_count(r) for r in ("hit", "miss", "error")}
    body, queries = await _top(client, "optimised")
    return body, queries, {r: _cache_count(r) - before[r] for r in before}


async def test_cache_aside_hits_then_invalidates_on_a_new_review(
    app_client: httpx.AsyncClient, set_flag, redis_client: Redis
):
    await redis_client.delete(response_cache.CACHE_KEY)
    await set_flag("response_cache", False)
    naive, naive_queries = await _top(app_client, "naive")
    assert naive_queries >= 1
    assert len(naive["genres"]) > 1
    assert all(1 <= len(g["books"]) <= response_cache.TOP_N for g in naive["genres"])

    await set_flag("response_cache", True)
    first, _, delta = await _counted(app_client)
    assert delta == {"hit": 0, "miss": 1, "error": 0}
    second, hit_queries, delta = await _counted(app_client)
    assert delta == {"hit": 1, "miss": 0, "error": 0}
    assert hit_queries == 0
    assert naive == first == second
    assert await redis_client.ttl(response_cache.CACHE_KEY) > 0

    genre = naive["genres"][0]
    book = genre["books"][0]  # a 5-star review can only keep it in its genre's top
    posted = await app_client.post(
        f"/books/{book['id']}/reviews", json={"user_id": 1, "rating": 5, "body": "Superb."}
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["book_id"] == book["id"] and posted.json()["rating"] == 5
    assert await redis_client.exists(response_cache.CACHE_KEY) == 0

    after, after_queries, delta = await _counted(app_client)
    assert delta == {"hit": 0, "miss": 1, "error": 0}
    assert after_queries >= 1
    fresh = next(g for g in after["genres"] if g["genre"] == genre["genre"])
    updated = next(b for b in fresh["books"] if b["id"] == book["id"])
    assert updated["review_count"] == book["review_count"] + 1
    await set_flag("response_cache", False)
    assert (await _top(app_client, "naive"))[0] == after


async def test_the_cache_holds_the_rendered_answer_and_a_hit_sends_it_byte_for_byte(
    app_client: httpx.AsyncClient, set_flag, redis_client: Redis
):
    await redis_client.delete(response_cache.CACHE_KEY)
    await set_flag("response_cache", False)
    naive = await app_client.get("/genres/top-rated")
    await set_flag("response_cache", True)
    miss = await app_client.get("/genres/top-rated")
    hit = await app_client.get("/genres/top-rated")
    assert [a.status_code for a in (naive, miss, hit)] == [200, 200, 200]
    assert [a.headers["X-DB-Queries"] for a in (miss, hit)] == ["1", "0"]
    assert naive.content == miss.content == hit.content
    assert {a.headers["content-type"] for a in (naive, miss, hit)} == {"application/json"}
    # What Redis holds is the answer itself, not objects to re-render.
    assert await redis_client.get(response_cache.CACHE_KEY) == hit.content
    # Still the shape the OpenAPI schema documents.
    top = response_cache.TopRated.model_validate_json(hit.content)
    assert top.genres and top.genres[0].books


async def test_redis_down_falls_back_to_computing(app_client: httpx.AsyncClient):
    res = app_client.app.state.resources  # type: ignore[attr-defined]
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        before = _cache_count("error")
        answer = await response_cache.optimised(dataclasses.replace(res, redis=dead))
        assert _cache_count("error") - before == 1
    finally:
        await dead.aclose()
    assert answer == await response_cache.naive(res)


async def test_review_input_is_validated(app_client: httpx.AsyncClient):
    good = {"user_id": 1, "rating": 4, "body": "Fine."}
    for body, field in (
        ({**good, "rating": 6}, "rating"),
        ({**good, "rating": 0}, "rating"),
        ({**good, "body": ""}, "body"),
        ({**good, "user_id": 0}, "user_id"),
        ({"rating": 4, "body": "x"}, "user_id"),
        ({**good, "extra": 1}, "extra"),
    ):
        answer = await app_client.post("/books/1/reviews", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["detail"][0]["loc"][-1] == field
    unknown_book = await app_client.post("/books/99999999/reviews", json=good)
    assert unknown_book.status_code == 404 and "book 99999999" in unknown_book.json()["error"]
    unknown_user = await app_client.post("/books/1/reviews", json={**good, "user_id": 99999999})
    assert unknown_user.status_code == 404 and "user 99999999" in unknown_user.json()["error"]


@pytest.mark.parametrize("body", ["nul \x00 inside", "lone \ud969 surrogate"])
async def test_a_review_postgres_cannot_store_is_422_not_500(app_client: httpx.AsyncClient, body):
    # Found by schemathesis: a NUL or a lone surrogate failed inside the INSERT.
    answer = await app_client.post(
        "/books/1/reviews",
        content=json.dumps({"user_id": 1, "rating": 3, "body": body}),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "body"]
