"""`seed.restore`: what load added since the seed goes, the seed stays (real Postgres).

A database of its own on the test server, so the other tests' rows are left alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from perflab.db.seed import Restored, SeedCounts, restore, seed
from perflab.lab import postgres as pg
from perflab.lab import secrets
from perflab.settings import with_password
from tests.support.servers import Server, secrets_of

pytestmark = pytest.mark.integration

DATABASE = "perflab_restore"
SCALE = 0.01


@pytest.fixture
def dsn(postgres_server: Server, lab_root: Path) -> Iterator[str]:
    keys = secrets_of(lab_root)
    admin = pg.superuser_dsn(postgres_server.port, keys.value(secrets.POSTGRES_SUPERUSER))

    async def admin_run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    # Identifiers fixed here: DDL takes no parameters.
    asyncio.run(admin_run(f"CREATE DATABASE {DATABASE} OWNER {pg.APP_ROLE}"))
    try:
        yield with_password(
            pg.dsn(postgres_server.port, DATABASE), keys.value(secrets.POSTGRES_APP)
        )
    finally:
        asyncio.run(admin_run(f"DROP DATABASE {DATABASE} WITH (FORCE)"))


async def _counts(conn: asyncpg.Connection) -> tuple[int, int, int]:
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM reviews) AS "
        "reviews, (SELECT count(*) FROM order_confirmations) AS confirmations"
    )
    return row["orders"], row["reviews"], row["confirmations"]


async def _add_load_rows(conn: asyncpg.Connection) -> None:
    """What the write techniques add: two orders, a review, a confirmation."""
    for _ in range(2):
        order_id = await conn.fetchval(
            "INSERT INTO orders (user_id, book_id, quantity, total_cents, status, created_at) "
            "VALUES (1, 1, 1, 499, 'paid', now()) RETURNING id"
        )
    await conn.execute(
        "INSERT INTO reviews (book_id, user_id, rating, body, created_at) "
        "VALUES (1, 1, 5, 'from the load', now())"
    )
    await conn.execute(
        "INSERT INTO order_confirmations (order_id, recipient, via, task_id) "
        "VALUES ($1, 'user1@example.test', 'worker', 'task-1')",
        order_id,
    )


def test_restore_removes_what_load_added_and_keeps_the_seed(dsn: str) -> None:
    async def scenario() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            assert await restore(conn) is None  # nothing seeded yet
            await seed(conn, SCALE)
            seeded = await _counts(conn)
            counts = SeedCounts.for_scale(SCALE)
            assert seeded == (counts.orders, counts.reviews, 0)
            before = await conn.fetch("SELECT * FROM orders ORDER BY id LIMIT 50")

            await _add_load_rows(conn)
            assert await _counts(conn) == (counts.orders + 2, counts.reviews + 1, 1)

            assert await restore(conn) == Restored(orders=2, reviews=1, confirmations=1)
            assert await _counts(conn) == seeded
            assert await conn.fetch("SELECT * FROM orders ORDER BY id LIMIT 50") == before
            # Nothing left to remove; and new writes still get fresh ids.
            assert await restore(conn) == Restored(0, 0, 0)
            await _add_load_rows(conn)
            assert await _counts(conn) == (counts.orders + 2, counts.reviews + 1, 1)
        finally:
            await conn.close()

    asyncio.run(scenario())
