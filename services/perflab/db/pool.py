"""The asyncpg pool and direct connections, both instrumented.

Every connection is a `querylog.CountingConnection` (queries per request, query
duration, statement spans) and is counted when opened; the pool's reset on release is
`querylog.reset_connection` (rollback only). The pool's size / idle / in-use figures
are sampled by `sample_pool` on the runtime sampler's tick.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from perflab.db import errors as db_errors
from perflab.db import querylog
from perflab.errors import DependencyUnavailable
from perflab.settings import DbSettings
from perflab.telemetry.metrics import (
    DB_CONNECTIONS_OPENED,
    DB_POOL_ACQUIRE,
    DB_POOL_CONNECTIONS,
)

CONNECT_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


async def _init_pooled(conn: asyncpg.Connection) -> None:  # noqa: ARG001 - asyncpg's hook
    DB_CONNECTIONS_OPENED.labels(kind="pool").inc()


async def create_pool(
    settings: DbSettings, *, statement_cache_size: int | None = None
) -> asyncpg.Pool:
    try:
        pool = await asyncpg.create_pool(
            settings.dsn,
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            statement_cache_size=(
                settings.statement_cache_size
                if statement_cache_size is None
                else statement_cache_size
            ),
            command_timeout=settings.command_timeout_seconds,
            timeout=settings.connect_timeout_seconds,
            init=_init_pooled,
            connection_class=querylog.CountingConnection,
            reset=querylog.reset_connection,
        )
    except CONNECT_ERRORS as exc:
        raise DependencyUnavailable("postgres", str(exc) or type(exc).__name__) from exc
    assert pool is not None
    return pool


async def connect(settings: DbSettings, **kwargs: object) -> asyncpg.Connection:
    """A new, unpooled connection: the naive path of the pooling technique."""
    try:
        conn = await asyncpg.connect(
            settings.dsn,
            timeout=settings.connect_timeout_seconds,
            command_timeout=settings.command_timeout_seconds,
            connection_class=querylog.CountingConnection,
            **kwargs,
        )
    except CONNECT_ERRORS as exc:
        raise DependencyUnavailable("postgres", str(exc) or type(exc).__name__) from exc
    DB_CONNECTIONS_OPENED.labels(kind="direct").inc()
    return conn


@asynccontextmanager
async def acquire(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """Acquire from the pool, timing the wait; a dead Postgres becomes a named 503."""
    started = time.perf_counter()
    try:
        conn = await pool.acquire()
    except CONNECT_ERRORS as exc:
        raise DependencyUnavailable("postgres", str(exc) or type(exc).__name__) from exc
    DB_POOL_ACQUIRE.observe(time.perf_counter() - started)
    try:
        yield conn
    except (OSError, TimeoutError) as exc:
        # A socket error or command timeout inside the block is Postgres failing (the
        # error handler cannot tell an OSError's origin; here it can).
        raise DependencyUnavailable("postgres", db_errors.describe(exc)) from exc
    finally:
        # Rolls back an open transaction; no other statement (reset_connection).
        await pool.release(conn)


def sample_pool(pool: asyncpg.Pool) -> None:
    size = pool.get_size()
    idle = pool.get_idle_size()
    DB_POOL_CONNECTIONS.labels(state="size").set(size)
    DB_POOL_CONNECTIONS.labels(state="idle").set(idle)
    DB_POOL_CONNECTIONS.labels(state="in_use").set(size - idle)
    DB_POOL_CONNECTIONS.labels(state="max").set(pool.get_max_size())
