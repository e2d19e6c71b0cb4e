"""http_caching (Django): the API's card both ways; `conditional_page` answers 304 with no
body only when the tag matches, and the service counts 0 bytes for it."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from perflab.settings import Settings
from tests.support.metrics import sample

pytestmark = pytest.mark.integration

BOOK_ID = 12
ROUTE = "/books/{book_id}/card"
PATH = f"/books/{BOOK_ID}/card"
IDENTITY = {"Accept-Encoding": "identity"}


def _card(
    client: httpx.Client, headers: dict[str, str] | None = None
) -> tuple[httpx.Response, bytes]:
    with client.stream("GET", PATH, headers=headers) as answer:
        raw = b"".join(answer.iter_raw())
    return answer, raw


def test_the_apis_card_both_ways_and_validators_only_when_on(
    django: httpx.Client, set_flag, flags_api: str
) -> None:
    set_flag("http_caching", False)
    naive = django.get(PATH, headers=IDENTITY)
    set_flag("http_caching", True)
    optimised = django.get(PATH, headers=IDENTITY)
    assert naive.status_code == optimised.status_code == 200
    assert naive.headers["X-Technique-Variant"] == "naive"
    assert optimised.headers["X-Technique-Variant"] == "optimised"
    # The same data as the API's card, whichever way the flag is set.
    assert naive.json() == optimised.json() == httpx.get(f"{flags_api}{PATH}").json()
    assert "etag" not in naive.headers and "cache-control" not in naive.headers
    assert optimised.headers["etag"].startswith('"')
    assert optimised.headers["cache-control"] == "private, max-age=60"


def test_a_matching_tag_gets_304_with_no_body_and_no_bytes(django: httpx.Client, set_flag) -> None:
    set_flag("http_caching", True)
    set_flag("gzip", False)
    first, body = _card(django, IDENTITY)
    etag = first.headers["etag"]
    assert len(body) > 1000
    size = {"route": ROUTE, "method": "GET"}
    bytes_before = sample(django, "perflab_http_response_size_bytes_sum", **size)
    not_modified_before = sample(django, "perflab_http_requests_total", **size, status_class="3xx")
    for header in (etag, f"W/{etag}", f'"stale", {etag}', "*"):
        again, raw = _card(django, IDENTITY | {"If-None-Match": header})
        assert again.status_code == 304, header
        assert raw == b""
        assert again.headers["etag"] == etag
        assert again.headers["X-Technique-Variant"] == "optimised"
    # Four revalidations: no body byte on the wire, four 3xx answers.
    assert sample(django, "perflab_http_response_size_bytes_sum", **size) == bytes_before
    assert (
        sample(django, "perflab_http_requests_total", **size, status_class="3xx")
        == not_modified_before + 4
    )
    for stale in ('"stale"', etag.strip('"')):
        changed, raw = _card(django, IDENTITY | {"If-None-Match": stale})
        assert changed.status_code == 200, stale
        assert raw == body


def test_a_gzipped_answer_still_revalidates(django: httpx.Client, set_flag) -> None:
    set_flag("http_caching", True)
    set_flag("gzip", True)
    first = django.get(PATH, headers={"Accept-Encoding": "gzip"})
    assert first.headers["content-encoding"] == "gzip"
    etag = first.headers["etag"]
    assert etag.startswith('W/"')  # GZipMiddleware weakens the tag of what it compresses
    again, raw = _card(django, {"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and raw == b""


def test_flag_off_ignores_if_none_match(django: httpx.Client, set_flag) -> None:
    set_flag("http_caching", True)
    etag = django.get(PATH, headers=IDENTITY).headers["etag"]
    set_flag("http_caching", False)
    answer, raw = _card(django, IDENTITY | {"If-None-Match": etag})
    assert answer.status_code == 200
    assert "etag" not in answer.headers and len(raw) > 1000


def test_a_new_review_changes_the_tag(django: httpx.Client, set_flag, settings: Settings) -> None:
    set_flag("http_caching", True)
    before = django.get(PATH, headers=IDENTITY)
    with psycopg.connect(settings.db.dsn, autocommit=True) as conn:
        review_id = conn.execute(
            """
            INSERT INTO reviews (id, book_id, user_id, rating, body, created_at)
            SELECT max(id) + 1, %s, 1, 5, 'Loved it.', now() FROM reviews RETURNING id
            """,
            (BOOK_ID,),
        ).fetchone()[0]
        try:
            after = django.get(PATH, headers=IDENTITY | {"If-None-Match": before.headers["etag"]})
        finally:
            conn.execute("DELETE FROM reviews WHERE id = %s", (review_id,))
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert after.json()["review_count"] == before.json()["review_count"] + 1


def test_the_card_checks_the_id_and_404s_a_missing_book(django: httpx.Client) -> None:
    assert django.get("/books/0/card").status_code == 400
    missing = django.get("/books/2147483647/card")
    assert missing.status_code == 404 and "2147483647" in missing.json()["error"]
