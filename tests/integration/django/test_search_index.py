"""search_index (Django): the API's books in the same order both ways; every title
examined per search naive, only the query's posting lists optimised (the header, and
the worker's counter adding up to what the answers said)."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from perflab.settings import Settings
from tests.support.metrics import sample

pytestmark = pytest.mark.integration
QUERIES = ["amber", "Amber River", "quiet-engine", "zephyr willow", "nosuchword"]


def _search(client: httpx.Client, q: str, variant: str, limit: int = 200) -> tuple[dict, int]:
    answer = client.get("/books/search", params={"q": q, "limit": limit})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json(), int(answer.headers["X-Search-Examined"])


def _examined(client: httpx.Client, variant: str) -> float:
    return sample(client, "perflab_search_items_examined_total", variant=variant)


def test_the_apis_books_with_far_fewer_items_examined(
    django: httpx.Client, set_flag, flags_api: str, settings: Settings
):
    with psycopg.connect(settings.db.dsn) as conn:
        books = conn.execute("SELECT count(*) FROM books").fetchone()[0]
    set_flag("search_index", False)
    before = {v: _examined(django, v) for v in ("naive", "optimised")}
    naive = {q: _search(django, q, "naive") for q in QUERIES}
    set_flag("search_index", True)
    optimised = {q: _search(django, q, "optimised") for q in QUERIES}
    after = {v: _examined(django, v) for v in ("naive", "optimised")}

    for q in QUERIES:
        (naive_body, naive_examined), (opt_body, opt_examined) = naive[q], optimised[q]
        assert naive_body == opt_body, q
        api = httpx.get(f"{flags_api}/books/search", params={"q": q, "limit": 200}).json()
        assert naive_body == api, q
        assert naive_examined == books  # every title, every time
        assert opt_examined < books / 5, (q, opt_examined, books)
    assert naive["amber"][0]["total"] > 0 and naive["nosuchword"][0]["total"] == 0
    assert optimised["nosuchword"][1] == 0  # no posting list: nothing to look at
    assert after["naive"] - before["naive"] == sum(n[1] for n in naive.values())
    assert after["optimised"] - before["optimised"] == sum(o[1] for o in optimised.values())


def test_limit_keeps_the_total_and_the_first_books(django: httpx.Client, set_flag):
    for enabled, variant in ((False, "naive"), (True, "optimised")):
        set_flag("search_index", enabled)
        full, _ = _search(django, "amber", variant)
        page, _ = _search(django, "amber", variant, limit=3)
        assert page["total"] == full["total"] and page["books"] == full["books"][:3]


def test_bad_queries_are_400s_naming_what_was_wrong(django: httpx.Client):
    for params, named in (({"q": "!!! ---"}, "q="), ({}, "'q'"), ({"q": "a", "limit": 0}, "limit")):
        answer = django.get("/books/search", params=params)
        assert answer.status_code == 400 and named in answer.json()["error"], params
