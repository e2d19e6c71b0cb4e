"""db_index: the flip builds / drops the index; same rows both ways; EXPLAIN shows it.

The proof by count is the plan itself: with the flag off Postgres reads `orders` with
a Seq Scan, with it on it reads through `orders_user_id_idx`.
"""

from __future__ import annotations

import httpx
import pytest

from perflab.api.techniques import db_index
from tests.integration.techniques.plans import explain, nodes

pytestmark = pytest.mark.integration


def _resources(client: httpx.AsyncClient):
    return client.app.state.resources  # type: ignore[attr-defined]


async def _index_state(client: httpx.AsyncClient) -> bool | None:
    async with _resources(client).pool.acquire() as conn:
        return await db_index.index_state(conn)


async def _orders_scan(client: httpx.AsyncClient, user_id: int) -> list[dict]:
    async with _resources(client).pool.acquire() as conn:
        plan = await explain(conn, db_index.ORDERS_SQL, user_id)
    return [n for n in nodes(plan) if n.get("Relation Name") == "orders" or "Index Name" in n]


async def _busiest_user(client: httpx.AsyncClient) -> int:
    async with _resources(client).pool.acquire() as conn:
        return await conn.fetchval(
            "SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1"
        )


async def _orders(client: httpx.AsyncClient, user_id: int, variant: str) -> dict:
    answer = await client.get(f"/users/{user_id}/orders")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json()


async def test_flip_drops_and_builds_the_index_and_the_plan_follows(
    app_client: httpx.AsyncClient, set_flag
):
    user_id = await _busiest_user(app_client)
    await set_flag("db_index", True)
    await set_flag("db_index", False)  # a real flip whatever the starting state
    assert await _index_state(app_client) is None
    naive = await _orders(app_client, user_id, "naive")
    scans = await _orders_scan(app_client, user_id)
    assert [n["Node Type"] for n in scans] == ["Seq Scan"]

    await set_flag("db_index", True)
    assert await _index_state(app_client) is True
    optimised = await _orders(app_client, user_id, "optimised")
    scans = await _orders_scan(app_client, user_id)
    assert "Seq Scan" not in [n["Node Type"] for n in scans]
    assert db_index.INDEX in [n.get("Index Name") for n in scans]

    assert naive == optimised
    assert naive["user_id"] == user_id and len(naive["orders"]) > 1
    ids = [order["id"] for order in naive["orders"]]
    assert ids == sorted(ids)


async def test_reconcile_replaces_an_invalid_index_and_follows_the_flag(
    app_client: httpx.AsyncClient, set_flag
):
    res = _resources(app_client)
    await set_flag("db_index", True)
    async with res.pool.acquire() as conn:
        await conn.execute(f"DROP INDEX IF EXISTS {db_index.INDEX}")
        # A concurrent build that fails (duplicate user ids) leaves an invalid index.
        with pytest.raises(Exception, match="could not create unique index"):
            await conn.execute(
                f"CREATE UNIQUE INDEX CONCURRENTLY {db_index.INDEX} ON orders (user_id)"
            )
    assert await _index_state(app_client) is False

    assert await db_index.reconcile(res) is True
    async with res.pool.acquire() as conn:
        unique = await conn.fetchval(
            "SELECT indisunique FROM pg_index WHERE indexrelid = to_regclass($1)", db_index.INDEX
        )
    assert await _index_state(app_client) is True and unique is False

    await set_flag("db_index", False)
    async with res.pool.acquire() as conn:  # made by hand while the flag is off
        await conn.execute(f"CREATE INDEX IF NOT EXISTS {db_index.INDEX} ON orders (user_id)")
    assert await db_index.reconcile(res) is True
    assert await _index_state(app_client) is None


async def test_unknown_user_is_404_a_user_without_orders_is_empty_a_bad_id_422(
    app_client: httpx.AsyncClient,
):
    missing = await app_client.get("/users/999999/orders")
    assert missing.status_code == 404
    assert "user 999999" in missing.json()["error"]
    async with _resources(app_client).pool.acquire() as conn:
        new_id = await conn.fetchval(
            "INSERT INTO users (id, email, name, created_at)"
            " SELECT max(id) + 1, 'no-orders-' || (max(id) + 1), 'No Orders', now() FROM users"
            " RETURNING id"
        )
    try:
        empty = await app_client.get(f"/users/{new_id}/orders")
        assert empty.status_code == 200
        assert empty.json() == {"user_id": new_id, "orders": []}
    finally:
        async with _resources(app_client).pool.acquire() as conn:
            await conn.execute("DELETE FROM users WHERE id = $1", new_id)
    for bad in ("0", "abc", str(2**31)):
        answer = await app_client.get(f"/users/{bad}/orders")
        assert answer.status_code == 422, bad
        assert answer.json()["detail"][0]["loc"] == ["path", "user_id"]
