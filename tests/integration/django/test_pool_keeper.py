"""After a Postgres restart every idle pooled connection is dead, and psycopg's check at
checkout backs off 1, 2, 4 ... s between them. The Django workers' pool keeper checks
the idle connections in the background, so the next request gets a live one at once.
Real Postgres: the pool's backends are ended with pg_terminate_backend."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg_pool import ConnectionPool, PoolTimeout

from perflab.django_service.runtime import keep_pool_healthy
from perflab.settings import Settings

pytestmark = pytest.mark.integration
IDLE = 3


def _pool_with_dead_connections(settings: Settings) -> ConnectionPool:
    """A pool like Django's (psycopg's check at checkout) whose idle connections died."""
    name = f"pool-keeper-{uuid.uuid4().hex[:8]}"
    pool = ConnectionPool(
        settings.db.dsn, min_size=IDLE, max_size=IDLE, open=False,
        check=ConnectionPool.check_connection, kwargs={"application_name": name},
    )  # fmt: skip
    pool.open(wait=True)
    with psycopg.connect(settings.db.dsn, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s",
            (name,),
        ).fetchone()
    assert ended == (IDLE,)
    return pool


def test_dead_idle_connections_make_a_request_wait_unless_the_keeper_ran(settings: Settings):
    unkept = _pool_with_dead_connections(settings)
    try:
        # The first dead connection's failed check costs a 1 s backoff: past this timeout.
        with pytest.raises(PoolTimeout), unkept.connection(timeout=0.8):
            pass
    finally:
        unkept.close()

    kept = _pool_with_dead_connections(settings)
    try:
        keep_pool_healthy(kept)
        assert kept.get_stats()["connections_lost"] == IDLE
        with kept.connection(timeout=0.8) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        kept.close()
