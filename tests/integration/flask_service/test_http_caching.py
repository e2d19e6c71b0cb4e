"""http_caching (Flask): the API's card both ways; Werkzeug's `make_conditional` answers
304 with no body only when the tag matches, and the service counts 0 bytes for it."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from werkzeug.test import TestResponse

from perflab.settings import Settings

pytestmark = pytest.mark.integration

BOOK_ID = 13
ROUTE = "/books/{book_id}/card"
PATH = f"/books/{BOOK_ID}/card"
LABELS = {"route": ROUTE, "method": "GET"}


def _observed(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, LABELS | labels) or 0.0


def _card(client: FlaskClient, headers: dict[str, str] | None = None) -> tuple[TestResponse, bytes]:
    answer = client.get(PATH, headers=headers or {})
    raw = answer.get_data()
    answer.close()  # the end of the WSGI response, where the middleware records it
    return answer, raw


async def test_the_apis_card_both_ways_and_validators_only_when_on(
    flask_client: FlaskClient, flask_flag, app_client: httpx.AsyncClient
) -> None:
    await flask_flag("http_caching", False)
    naive, _ = _card(flask_client)
    await flask_flag("http_caching", True)
    optimised, _ = _card(flask_client)
    assert naive.status_code == optimised.status_code == 200
    assert naive.headers["X-Technique-Variant"] == "naive"
    assert optimised.headers["X-Technique-Variant"] == "optimised"
    # The same data as the API's card, whichever way the flag is set.
    assert naive.json == optimised.json == (await app_client.get(PATH)).json()
    assert "ETag" not in naive.headers and "Cache-Control" not in naive.headers
    assert optimised.headers["ETag"].startswith('"')
    assert optimised.headers["Cache-Control"] == "private, max-age=60"


async def test_a_matching_tag_gets_304_with_no_body_and_no_bytes(
    flask_client: FlaskClient, flask_flag
) -> None:
    await flask_flag("http_caching", True)
    first, body = _card(flask_client)
    etag = first.headers["ETag"]
    assert len(body) > 1000
    bytes_before = _observed("perflab_http_response_size_bytes_sum")
    not_modified_before = _observed("perflab_http_requests_total", status_class="3xx")
    for header in (etag, f"W/{etag}", f'"stale", {etag}', "*"):
        again, raw = _card(flask_client, {"If-None-Match": header})
        assert again.status_code == 304, header
        assert raw == b""
        assert again.headers["ETag"] == etag
        assert again.headers["X-Technique-Variant"] == "optimised"
    # Four revalidations: no body byte on the wire, four 3xx answers.
    assert _observed("perflab_http_response_size_bytes_sum") == bytes_before
    assert _observed("perflab_http_requests_total", status_class="3xx") == not_modified_before + 4
    # (Werkzeug also takes an unquoted tag as that tag, unlike Django and the API.)
    changed, raw = _card(flask_client, {"If-None-Match": '"stale"'})
    assert changed.status_code == 200
    assert raw == body


async def test_flag_off_ignores_if_none_match(flask_client: FlaskClient, flask_flag) -> None:
    await flask_flag("http_caching", True)
    etag = _card(flask_client)[0].headers["ETag"]
    await flask_flag("http_caching", False)
    answer, raw = _card(flask_client, {"If-None-Match": etag})
    assert answer.status_code == 200
    assert "ETag" not in answer.headers and len(raw) > 1000


async def test_a_new_review_changes_the_tag(
    flask_client: FlaskClient, flask_flag, settings: Settings
) -> None:
    await flask_flag("http_caching", True)
    before, _ = _card(flask_client)
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
            after, _ = _card(flask_client, {"If-None-Match": before.headers["ETag"]})
        finally:
            await conn.execute("DELETE FROM reviews WHERE id = $1", review_id)
    finally:
        await conn.close()
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.json["review_count"] == before.json["review_count"] + 1


def test_the_card_checks_the_id_and_404s_a_missing_book(flask_client: FlaskClient) -> None:
    assert flask_client.get("/books/0/card").status_code == 422
    missing = flask_client.get("/books/2147483647/card")
    assert missing.status_code == 404 and "2147483647" in missing.json["error"]
