"""batch_insert: equivalent rows both ways, N+2 vs a constant number of statements."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from perflab.api.techniques.batch_insert import MAX_ITEMS
from perflab.settings import Settings

pytestmark = pytest.mark.integration

PATH = "/orders/bulk"


def _items(count: int, offset: int = 0) -> list[dict[str, int]]:
    return [
        {"user_id": 1 + (offset + i) * 7 % 900, "book_id": 1 + (offset + i) * 13 % 900,
         "quantity": 1 + i % 4}
        for i in range(count)
    ]  # fmt: skip


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(settings.db.dsn)
    seeded_max = await conn.fetchval("SELECT max(id) FROM orders")
    yield conn
    # Leave the shared test database as seeded.
    await conn.execute("DELETE FROM orders WHERE id > $1", seeded_max)
    await conn.close()


async def _bulk(client: httpx.AsyncClient, items: list[dict[str, int]]) -> tuple[dict, int]:
    answer = await client.post(PATH, json=items)
    assert answer.status_code == 201, answer.text
    return answer.json(), int(answer.headers["X-DB-Queries"])


async def _rows(db: asyncpg.Connection, ids: list[int]) -> list[tuple]:
    rows = await db.fetch(
        """
        SELECT o.id, o.user_id, o.book_id, o.quantity, o.total_cents, o.status,
               o.quantity * b.price_cents AS expected_total
        FROM orders o JOIN books b ON b.id = o.book_id WHERE o.id = ANY($1::bigint[])
        """,
        ids,
    )
    by_id = {r["id"]: r for r in rows}
    # Content only, in request order: ids differ between the two imports.
    return [tuple(by_id[i])[1:] for i in ids]


async def test_same_rows_and_constant_statements(app_client: httpx.AsyncClient, set_flag, db):
    items = _items(40)
    await set_flag("batch_insert", False)
    naive, naive_queries = await _bulk(app_client, items)
    await set_flag("batch_insert", True)
    optimised, optimised_queries = await _bulk(app_client, items)
    large, large_queries = await _bulk(app_client, _items(500, offset=7))

    assert naive["count"] == optimised["count"] == len(items)
    assert naive["total_cents"] == optimised["total_cents"]
    assert len(set(naive["ids"]) | set(optimised["ids"])) == 2 * len(items)
    naive_rows = await _rows(db, naive["ids"])
    assert naive_rows == await _rows(db, optimised["ids"])
    for (user_id, book_id, quantity, total, status, expected_total), item in zip(
        naive_rows, items, strict=True
    ):
        assert (user_id, book_id, quantity) == (item["user_id"], item["book_id"], item["quantity"])
        assert (total, status) == (expected_total, "paid")
    assert naive["total_cents"] == sum(row[3] for row in naive_rows)
    assert large["count"] == 500
    # One INSERT per row plus a few (2 look-ups, the pool's reset, first-use type
    # introspection of a fresh connection)...
    assert naive_queries >= len(items) + 2
    # ...vs the same handful whatever the size: 2 look-ups, BEGIN, nextval, COPY, COMMIT.
    assert optimised_queries <= 10
    assert large_queries <= 10


@pytest.mark.parametrize("enabled", [False, True])
async def test_an_invalid_item_inserts_nothing(
    app_client: httpx.AsyncClient, set_flag, db, enabled
):
    await set_flag("batch_insert", enabled)
    before = await db.fetchval("SELECT count(*) FROM orders")
    sequence_before = await db.fetchval("SELECT last_value FROM orders_id_seq")
    for bad_index, field in ((3, "book_id"), (5, "user_id")):
        items = _items(10)
        items[bad_index][field] = 10**9
        answer = await app_client.post(PATH, json=items)
        assert answer.status_code == 422
        (error,) = answer.json()["detail"]
        assert error["loc"] == ["body", bad_index, field]
        assert f"item {bad_index}" in error["msg"]
    assert await db.fetchval("SELECT count(*) FROM orders") == before
    assert await db.fetchval("SELECT last_value FROM orders_id_seq") == sequence_before


@pytest.mark.parametrize(
    "body",
    [
        [],
        [{"user_id": 1, "book_id": 1, "quantity": 0}],
        [{"user_id": 1, "book_id": 1}],
        [{"user_id": 0, "book_id": 1, "quantity": 1}],
        {"user_id": 1, "book_id": 1, "quantity": 1},
        [{"user_id": 1, "book_id": 1, "quantity": 1}] * (MAX_ITEMS + 1),
        [{"user_id": 1, "book_id": 1, "quantity": 1, "price": 5}],
    ],
    ids=[
        "empty",
        "zero-quantity",
        "missing-field",
        "bad-user-id",
        "not-a-list",
        "too-many",
        "unknown-field",
    ],  # fmt: skip
)
async def test_rejects_malformed_batches(app_client: httpx.AsyncClient, db, body):
    before = await db.fetchval("SELECT count(*) FROM orders")
    answer = await app_client.post(PATH, json=body)
    assert answer.status_code == 422
    assert await db.fetchval("SELECT count(*) FROM orders") == before
