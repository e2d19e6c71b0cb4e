"""batch_insert (Flask): the same orders written both ways; N + 2 statements vs 3.

Counts: `X-DB-Queries` (2 validation look-ups, then one INSERT per row naive, one
multi-row INSERT optimised) and the rows really in Postgres afterwards.
"""

from __future__ import annotations

import asyncpg
import pytest
from flask.testing import FlaskClient

from perflab.settings import Settings

pytestmark = pytest.mark.integration

ITEMS = [
    {"user_id": u, "book_id": b, "quantity": q} for u, b, q in ((1, 2, 1), (3, 4, 2), (5, 6, 3))
]
ITEMS = ITEMS * 10  # 30 rows


def _bulk(client: FlaskClient, items: list, variant: str) -> tuple[dict, int]:
    answer = client.post("/orders/bulk", json=items)
    assert answer.status_code == 201, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json, int(answer.headers["X-DB-Queries"])


async def test_same_rows_with_one_insert_per_row_or_one_for_all(
    flask_client: FlaskClient, flask_flag, settings: Settings
):
    await flask_flag("batch_insert", False)
    naive, naive_queries = _bulk(flask_client, ITEMS, "naive")
    await flask_flag("batch_insert", True)
    optimised, queries = _bulk(flask_client, ITEMS, "optimised")

    assert naive_queries == 2 + len(ITEMS)
    assert queries == 3
    assert naive["count"] == optimised["count"] == len(ITEMS)
    assert naive["total_cents"] == optimised["total_cents"] > 0
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        for result in (naive, optimised):
            rows = await conn.fetch(
                "SELECT id, user_id, book_id, quantity FROM orders WHERE id = ANY($1::bigint[])",
                result["ids"],
            )
            by_id = {r["id"]: (r["user_id"], r["book_id"], r["quantity"]) for r in rows}
            # Every id exists and, in request order, holds its item.
            assert [by_id[i] for i in result["ids"]] == [
                (item["user_id"], item["book_id"], item["quantity"]) for item in ITEMS
            ]
    finally:
        await conn.close()


@pytest.mark.parametrize("enabled", [False, True])
async def test_a_bad_item_rejects_the_whole_batch(
    flask_client: FlaskClient, flask_flag, settings: Settings, enabled: bool
):
    await flask_flag("batch_insert", enabled)
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        before = await conn.fetchval("SELECT count(*) FROM orders")
        items = [ITEMS[0], {"user_id": 1, "book_id": 99999999, "quantity": 1}]
        answer = flask_client.post("/orders/bulk", json=items)
        assert answer.status_code == 422
        assert answer.json["detail"][0]["loc"] == ["body", 1, "book_id"]
        assert await conn.fetchval("SELECT count(*) FROM orders") == before
    finally:
        await conn.close()
    unknown = [{**ITEMS[0], "price": 5}]
    for body, loc in (
        ([], ["body"]),
        ([{"user_id": 1}], ["body", 0, "book_id"]),
        (unknown, ["body", 0, "price"]),
    ):
        answer = flask_client.post("/orders/bulk", json=body)
        assert answer.status_code == 422 and answer.json["detail"][0]["loc"] == loc
    deep = flask_client.post(  # json's recursion, not a 500
        "/orders/bulk", data=b"[" * 100_000, content_type="application/json"
    )
    assert deep.status_code == 422 and deep.json["detail"][0]["msg"] == "body is nested too deeply"
