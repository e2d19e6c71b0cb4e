"""pagination (Django): the API's pages both ways (walked by cursor and jumped to); the
proof by count: statements per page (Paginator's COUNT(*) + OFFSET vs one seek) and rows
read, from `EXPLAIN (ANALYZE)` of the very querysets the two paths slice."""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest

from perflab.django_service.techniques.pagination import orders
from perflab.settings import Settings

pytestmark = pytest.mark.integration

SIZE = 25
DEEP_PAGE = 600  # 14,975 orders in, of the test data's 25,000


def _feed(client: httpx.Client, variant: str, **params: object) -> tuple[dict, int]:
    answer = client.get("/orders/feed", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json(), int(answer.headers["X-DB-Queries"])


def _walk(client: httpx.Client, variant: str, pages: int) -> list[dict]:
    walked = [_feed(client, variant, size=SIZE)[0]]
    while len(walked) < pages:
        walked.append(_feed(client, variant, cursor=walked[-1]["next_cursor"])[0])
    return walked


def test_same_pages_both_ways_and_as_the_api(
    django: httpx.Client, set_flag, flags_api: str
) -> None:
    set_flag("pagination", False)
    naive_walk = _walk(django, "naive", 4)
    naive_deep, _ = _feed(django, "naive", page=DEEP_PAGE, size=SIZE)
    before_deep, _ = _feed(django, "naive", page=DEEP_PAGE - 1, size=SIZE)
    set_flag("pagination", True)
    optimised_walk = _walk(django, "optimised", 4)
    jumped, _ = _feed(django, "optimised", page=DEEP_PAGE, size=SIZE)
    followed, _ = _feed(django, "optimised", cursor=before_deep["next_cursor"])

    assert naive_walk == optimised_walk
    assert naive_deep == jumped == followed
    ids = [o["id"] for page in naive_walk for o in page["items"]]
    assert len(ids) == 4 * SIZE and ids == sorted(set(ids))  # ascending, none repeated
    # The API's page, item for item, and its cursor: a client follows either the same way.
    api = httpx.get(f"{flags_api}/orders/feed", params={"page": DEEP_PAGE, "size": SIZE}).json()
    assert api == jumped


def test_last_page_has_no_cursor_and_past_the_end_is_empty(
    django: httpx.Client, set_flag, settings: Settings
) -> None:
    with psycopg.connect(settings.db.dsn) as conn:
        total = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    last = -(-total // SIZE)
    for enabled, variant in ((False, "naive"), (True, "optimised")):
        set_flag("pagination", enabled)
        final, _ = _feed(django, variant, page=last, size=SIZE)
        assert final["next_cursor"] is None and 1 <= len(final["items"]) <= SIZE
        beyond, _ = _feed(django, variant, page=last + 1, size=SIZE)
        assert beyond == {"page": last + 1, "size": SIZE, "items": [], "next_cursor": None}


def test_following_a_cursor_paginator_counts_and_offsets_the_keyset_seeks(
    django: httpx.Client, set_flag, settings: Settings
) -> None:
    set_flag("pagination", True)
    before_deep, _ = _feed(django, "optimised", page=DEEP_PAGE - 1, size=SIZE)
    cursor = before_deep["next_cursor"]
    set_flag("pagination", False)
    _, naive_statements = _feed(django, "naive", cursor=cursor)
    set_flag("pagination", True)
    _, optimised_statements = _feed(django, "optimised", cursor=cursor)
    assert (naive_statements, optimised_statements) == (2, 1)  # COUNT(*) + page vs the seek

    offset = (DEEP_PAGE - 1) * SIZE
    after_id = before_deep["items"][-1]["id"]
    deep = orders()[offset : offset + SIZE]  # what Paginator.page(N) runs
    seek = orders().filter(id__gt=after_id)[: SIZE + 1]
    assert _rows_read(settings.db.dsn, deep) == offset + SIZE
    assert _rows_read(settings.db.dsn, seek) == SIZE + 1


def _rows_read(dsn: str, queryset: object) -> int:
    sql, params = queryset.query.sql_with_params()
    with psycopg.connect(dsn) as conn:
        raw = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params).fetchone()[0]
    todo = [(raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]]
    scans = []
    while todo:
        node = todo.pop()
        if node.get("Relation Name") == "orders":
            scans.append(node)
        todo += node.get("Plans", [])
    assert len(scans) == 1, scans
    return int(scans[0]["Actual Rows"])


def test_bad_input_is_400_with_the_reason(django: httpx.Client, set_flag) -> None:
    set_flag("pagination", True)
    first, _ = _feed(django, "optimised", size=SIZE)
    cases = [
        ({"page": 0}, "'page' must be between"),
        ({"size": 201}, "'size' must be between"),
        ({"cursor": "not-a-cursor"}, "not a cursor returned by this endpoint"),
        ({"cursor": first["next_cursor"], "page": 2}, "either page or cursor"),
        ({"cursor": first["next_cursor"], "size": SIZE + 1}, f"pages of {SIZE}"),
    ]
    for params, reason in cases:
        answer = django.get("/orders/feed", params=params)
        assert answer.status_code == 400, params
        assert reason in answer.json()["error"], (params, answer.text)
        assert answer.headers["X-DB-Queries"] == "0"
