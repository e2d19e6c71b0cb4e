"""search_index (Flask): the API's books in the same order both ways; every title
examined per search naive, only the query's posting lists optimised (the header, and
the counter adding up to what the answers said)."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from perflab.settings import Settings

pytestmark = pytest.mark.integration
QUERIES = ["amber", "Amber River", "quiet-engine", "zephyr willow", "nosuchword"]


def _search(client: FlaskClient, q: str, variant: str, limit: int = 200) -> tuple[dict, int]:
    answer = client.get("/books/search", query_string={"q": q, "limit": limit})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json, int(answer.headers["X-Search-Examined"])


def _examined(variant: str) -> float:
    # In this process the API and the Flask app share the counter; only Flask searches here.
    labels = {"variant": variant}
    return REGISTRY.get_sample_value("perflab_search_items_examined_total", labels) or 0.0


async def test_the_apis_books_with_far_fewer_items_examined(
    flask_client: FlaskClient, flask_flag, app_client: httpx.AsyncClient, settings: Settings
) -> None:
    with psycopg.connect(settings.db.dsn) as conn:
        books = conn.execute("SELECT count(*) FROM books").fetchone()[0]
    await flask_flag("search_index", False)
    before = {v: _examined(v) for v in ("naive", "optimised")}
    naive = {q: _search(flask_client, q, "naive") for q in QUERIES}
    await flask_flag("search_index", True)
    optimised = {q: _search(flask_client, q, "optimised") for q in QUERIES}
    after = {v: _examined(v) for v in ("naive", "optimised")}

    for q in QUERIES:
        (naive_body, naive_examined), (opt_body, opt_examined) = naive[q], optimised[q]
        assert naive_body == opt_body, q
        api = await app_client.get("/books/search", params={"q": q, "limit": 200})
        assert naive_body == api.json(), q
        assert naive_examined == books  # every title, every time
        assert opt_examined < books / 5, (q, opt_examined, books)
    assert naive["amber"][0]["total"] > 0 and naive["nosuchword"][0]["total"] == 0
    assert optimised["nosuchword"][1] == 0  # no posting list: nothing to look at
    assert after["naive"] - before["naive"] == sum(n[1] for n in naive.values())
    assert after["optimised"] - before["optimised"] == sum(o[1] for o in optimised.values())


async def test_limit_keeps_the_total_and_the_first_books(
    flask_client: FlaskClient, flask_flag
) -> None:
    for enabled, variant in ((False, "naive"), (True, "optimised")):
        await flask_flag("search_index", enabled)
        full, _ = _search(flask_client, "amber", variant)
        page, _ = _search(flask_client, "amber", variant, limit=3)
        assert page["total"] == full["total"] and page["books"] == full["books"][:3]


def test_bad_queries_name_what_was_wrong(flask_client: FlaskClient) -> None:
    answer = flask_client.get("/books/search", query_string={"q": "!!! ---"})
    assert answer.status_code == 400 and "q=" in answer.json["error"]
    missing = flask_client.get("/books/search")
    assert missing.status_code == 422 and missing.json["detail"][0]["loc"] == ["query", "q"]
