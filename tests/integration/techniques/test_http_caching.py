"""http_caching: the same card both ways; 304 with no body only when the ETag matches."""

from __future__ import annotations

import json

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from perflab.settings import Settings

pytestmark = pytest.mark.integration

BOOK_ID = 11
ROUTE = "/books/{book_id}/card"
PATH = f"/books/{BOOK_ID}/card"
IDENTITY = {"Accept-Encoding": "identity"}


async def _raw(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None
) -> tuple[httpx.Response, bytes]:
    async with client.stream("GET", PATH, headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, raw


def _observed(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_same_card_both_ways_and_validators_only_when_on(
    app_client: httpx.AsyncClient, set_flag, settings: Settings
):
    await set_flag("http_caching", False)
    naive = await app_client.get(PATH)
    await set_flag("http_caching", True)
    optimised = await app_client.get(PATH)

    assert naive.status_code == optimised.status_code == 200
    assert naive.headers["X-Technique-Variant"] == "naive"
    assert optimised.headers["X-Technique-Variant"] == "optimised"
    assert naive.json() == optimised.json()
    assert "etag" not in naive.headers and "cache-control" not in naive.headers
    assert optimised.headers["etag"]
    assert optimised.headers["cache-control"] == "private, max-age=60"

    card = optimised.json()
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        reviews = await conn.fetchval("SELECT count(*) FROM reviews WHERE book_id = $1", BOOK_ID)
        title = await conn.fetchval("SELECT title FROM books WHERE id = $1", BOOK_ID)
    finally:
        await conn.close()
    assert (card["id"], card["title"], card["review_count"]) == (BOOK_ID, title, reviews)


async def test_matching_etag_gets_304_with_no_body(app_client: httpx.AsyncClient, set_flag):
    await set_flag("http_caching", True)
    await set_flag("gzip", False)
    first, body = await _raw(app_client, IDENTITY)
    etag = first.headers["etag"]
    assert etag.startswith('"') and len(body) > 1000

    size_before = _observed(
        "perflab_http_response_size_bytes_sum", {"route": ROUTE, "method": "GET"}
    )
    not_modified_before = _observed(
        "perflab_http_requests_total", {"route": ROUTE, "method": "GET", "status_class": "3xx"}
    )
    for header in (etag, f"W/{etag}", f'"stale", {etag}', "*"):
        again, raw = await _raw(app_client, IDENTITY | {"If-None-Match": header})
        assert again.status_code == 304, header
        assert raw == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "private, max-age=60"
    # Bytes on the wire for four revalidations: none; and they count as 3xx.
    assert (
        _observed("perflab_http_response_size_bytes_sum", {"route": ROUTE, "method": "GET"})
        == size_before
    )
    assert (
        _observed(
            "perflab_http_requests_total",
            {"route": ROUTE, "method": "GET", "status_class": "3xx"},
        )
        == not_modified_before + 4
    )

    for stale in ('"stale"', etag.strip('"'), f'"{etag[2:]}'):
        changed, raw = await _raw(app_client, IDENTITY | {"If-None-Match": stale})
        assert changed.status_code == 200, stale
        assert raw == body


async def test_a_gzipped_answer_still_revalidates(app_client: httpx.AsyncClient, set_flag):
    await set_flag("http_caching", True)
    await set_flag("gzip", True)
    first = await app_client.get(PATH, headers={"Accept-Encoding": "gzip"})
    assert first.headers["content-encoding"] == "gzip"
    # Starlette's GZipMiddleware passes the ETag through as the endpoint made it.
    etag = first.headers["etag"]
    again, raw = await _raw(app_client, {"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and raw == b""


async def test_flag_off_ignores_if_none_match(app_client: httpx.AsyncClient, set_flag):
    await set_flag("http_caching", True)
    etag = (await app_client.get(PATH, headers=IDENTITY)).headers["etag"]
    await set_flag("http_caching", False)
    answer, raw = await _raw(app_client, IDENTITY | {"If-None-Match": etag})
    assert answer.status_code == 200
    assert "etag" not in answer.headers
    assert len(raw) > 1000


async def test_a_new_review_changes_the_etag(
    app_client: httpx.AsyncClient, set_flag, settings: Settings
):
    await set_flag("http_caching", True)
    before = await app_client.get(PATH, headers=IDENTITY)
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        review_id = await conn.fetchval(
            """
            INSERT INTO reviews (id, book_id, user_id, rating, body, created_at)
            SELECT max(id) + 1, $1, 1, 5, 'Loved it.', now() FROM reviews RETURNING id
            """,
            BOOK_ID,
        )
        try:
            after, raw = await _raw(
                app_client, IDENTITY | {"If-None-Match": before.headers["etag"]}
            )
        finally:
            await conn.execute("DELETE FROM reviews WHERE id = $1", review_id)
    finally:
        await conn.close()
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert json.loads(raw)["review_count"] == before.json()["review_count"] + 1


async def test_card_validates_the_id_and_404s_a_missing_book(app_client: httpx.AsyncClient):
    for bad in ("0", "-3", "abc", str(2**31)):
        assert (await app_client.get(f"/books/{bad}/card")).status_code == 422, bad
    missing = await app_client.get("/books/2147483647/card")
    assert missing.status_code == 404
    assert "2147483647" in missing.json()["error"]
