"""After a Postgres restart every idle pooled connection is dead. psycopg_pool's plain
check tries them one by one with a backoff of 1, 2, 4 ... s between them; the Django
service's check sweeps the pool on the first failure, so the next try gets a fresh one.
Real Postgres: the pool's backends are ended with pg_terminate_backend."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from perflab.django_service.db.pool_check import sweeping_check
from perflab.settings import Settings

pytestmark = pytest.mark.integration
IDLE = 2  # dead idle connections when the request comes


def _failed_checks(settings: Settings, make_check: Callable[[Any], Callable[[Any], None]]) -> int:
    name = f"pool-check-{uuid.uuid4().hex[:8]}"
    failures = 0
    holder: dict[str, ConnectionPool] = {}
    inner = make_check(lambda: holder.get("pool"))

    def counting(conn: Any) -> None:
        nonlocal failures
        try:
            inner(conn)
        except Exception:
            failures += 1
            raise

    pool = ConnectionPool(
        settings.db.dsn, min_size=IDLE, max_size=IDLE, open=False, check=counting,
        kwargs={"application_name": name},
    )  # fmt: skip
    holder["pool"] = pool
    pool.open(wait=True)
    try:
        with psycopg.connect(settings.db.dsn, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (name,),
            ).fetchone()
        assert ended == (IDLE,)
        with pool.connection(timeout=10) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.close()
    return failures


def test_the_first_dead_connection_sweeps_the_rest(settings: Settings):
    plain = _failed_checks(settings, lambda _pool: ConnectionPool.check_connection)
    swept = _failed_checks(settings, sweeping_check)
    assert plain == IDLE  # every dead connection tried in turn, with a backoff after each
    assert swept == 1  # the rest went in the sweep; the next try got a fresh connection
