"""connection_pool: same book both ways; one new connection per naive request, none pooled.

The proof by count is `perflab_db_connections_opened_total`, read in this process (the
app runs in it): N naive requests open exactly N direct connections, N optimised
requests open no connection at all, pooled or direct.
"""

from __future__ import annotations

import json

import httpx
import pytest
from prometheus_client import REGISTRY

from perflab.api.techniques.connection_pool import BookDetail

pytestmark = pytest.mark.integration

N = 5
BOOK_IDS = range(1, N + 1)


def _opened() -> dict[str, float]:
    return {
        kind: REGISTRY.get_sample_value("perflab_db_connections_opened_total", {"kind": kind})
        or 0.0
        for kind in ("direct", "pool")
    }


async def _books(client: httpx.AsyncClient, variant: str) -> tuple[list[bytes], dict[str, float]]:
    before = _opened()
    books = []
    for book_id in BOOK_IDS:
        answer = await client.get(f"/books/{book_id}")
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Technique-Variant"] == variant
        assert answer.headers["content-type"] == "application/json"
        books.append(answer.content)
    after = _opened()
    return books, {kind: after[kind] - before[kind] for kind in after}


async def test_naive_opens_one_connection_per_request_and_the_pool_none(
    app_client: httpx.AsyncClient, set_flag
):
    await set_flag("connection_pool", True)
    await app_client.get("/books/1")  # warm-up: the pool may grow to its minimum first
    optimised, opened = await _books(app_client, "optimised")
    assert opened == {"direct": 0, "pool": 0}

    await set_flag("connection_pool", False)
    naive, opened = await _books(app_client, "naive")
    assert opened == {"direct": N, "pool": 0}

    assert naive == optimised  # byte for byte
    # Rendered once, still the shape the OpenAPI schema documents.
    books = [BookDetail.model_validate_json(body) for body in naive]
    assert json.loads(naive[0]).keys() == BookDetail.model_fields.keys()
    assert [b.id for b in books] == list(BOOK_IDS)
    assert all(b.author.name and b.description for b in books)


@pytest.mark.parametrize("enabled", [False, True])
async def test_missing_book_is_404_and_a_bad_id_422(
    app_client: httpx.AsyncClient, set_flag, enabled: bool
):
    await set_flag("connection_pool", enabled)
    missing = await app_client.get("/books/99999999")
    assert missing.status_code == 404
    assert missing.json() == {"error": "book 99999999 not found"}
    for bad in ("0", str(2**31)):
        answer = await app_client.get(f"/books/{bad}")
        assert answer.status_code == 422, bad
        assert answer.json()["detail"][0]["loc"] == ["path", "book_id"]
    assert (await app_client.get("/books/abc")).status_code == 404  # no such route
