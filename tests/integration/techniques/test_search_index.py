"""search_index: the same books in the same order both ways; every title examined per
search naive, only the query's posting lists optimised (the header and the counter)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration

QUERIES = ["amber", "Amber River", "river amber", "quiet-engine", "zephyr willow", "nosuchword"]
# Postgres tokenises for the oracle: an independent answer to compare both paths with.
ORACLE_SQL = """
SELECT id, title FROM books
WHERE regexp_split_to_array(lower(title), '\\W+') @> $1::text[]
ORDER BY id
"""


async def _examined(client: httpx.AsyncClient) -> dict[str, float]:
    text = (await client.get("/metrics")).text
    return {
        sample.labels["variant"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "perflab_search_items_examined"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


async def _search(client: httpx.AsyncClient, q: str, variant: str, limit: int = 200) -> tuple:
    answer = await client.get("/books/search", params={"q": q, "limit": limit})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json(), int(answer.headers["X-Search-Examined"])


async def test_same_books_in_the_same_order_with_far_fewer_items_examined(
    app_client: httpx.AsyncClient, set_flag, settings
):
    import asyncpg

    conn = await asyncpg.connect(settings.db.dsn)
    try:
        books = await conn.fetchval("SELECT count(*) FROM books")
        oracle = {
            q: await conn.fetch(
                ORACLE_SQL, sorted({w.lower() for w in q.replace("-", " ").split()})
            )
            for q in QUERIES
        }
    finally:
        await conn.close()

    await set_flag("search_index", False)
    before = await _examined(app_client)
    naive = {q: await _search(app_client, q, "naive") for q in QUERIES}
    await set_flag("search_index", True)
    optimised = {q: await _search(app_client, q, "optimised") for q in QUERIES}
    after = await _examined(app_client)

    for q in QUERIES:
        (naive_body, naive_examined), (opt_body, opt_examined) = naive[q], optimised[q]
        assert naive_body == opt_body, q
        expected = [{"id": r["id"], "title": r["title"]} for r in oracle[q]]
        assert naive_body["books"] == expected[:200] and naive_body["total"] == len(expected), q
        assert naive_examined == books  # every title, every time
        assert opt_examined < books / 5, (q, opt_examined, books)
    assert optimised["amber"][0]["total"] > 0 and optimised["nosuchword"][0]["total"] == 0
    assert optimised["nosuchword"][1] == 0  # no posting list: nothing to look at
    # The counter adds up exactly what the answers said.
    assert after["naive"] - before.get("naive", 0) == sum(n[1] for n in naive.values())
    assert after["optimised"] - before.get("optimised", 0) == sum(o[1] for o in optimised.values())


async def test_limit_keeps_the_total_and_the_first_books(app_client: httpx.AsyncClient, set_flag):
    for enabled, variant in ((False, "naive"), (True, "optimised")):
        await set_flag("search_index", enabled)
        full, _ = await _search(app_client, "amber", variant)
        page, _ = await _search(app_client, "amber", variant, limit=3)
        assert page["total"] == full["total"] and page["books"] == full["books"][:3]


async def test_a_query_without_words_is_a_400_naming_q(app_client: httpx.AsyncClient):
    answer = await app_client.get("/books/search", params={"q": "!!! ---"})
    assert answer.status_code == 400 and "q=" in answer.json()["error"]
    missing = await app_client.get("/books/search")
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["query", "q"]
