"""The Flask service's SQLAlchemy engines (psycopg 3) and per-request SQL accounting.

Two engines on the lab's Postgres, chosen per request by the technique that runs:
- `pooled`: a `QueuePool` of warm connections (`pool_max` of them, no overflow, each
  pinged on checkout), used by every technique;
- `direct`: a `NullPool`, which connects on every checkout and disconnects on checkin:
  connection_pool's naive path.

Accounting goes through SQLAlchemy's public events only: `before_cursor_execute` /
`after_cursor_execute` count each statement in the current request's `QueryStats`
(the `X-DB-Queries` header and `perflab_db_queries_per_request`) and time it into
`perflab_db_query_duration_seconds`; the pool's `connect` event counts
`perflab_db_connections_opened_total{kind="pool"|"direct"}`. Transaction control
(psycopg's implicit BEGIN, COMMIT, the pool's rollback on checkin) goes through the
DBAPI connection, not a cursor, and is not counted, as in the FastAPI service.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool, QueuePool

from perflab.settings import DbSettings
from perflab.telemetry.metrics import (
    DB_CONNECTIONS_OPENED,
    DB_POOL_CONNECTIONS,
    DB_QUERY_DURATION,
)

_STARTED = "perflab_statement_started"


class QueryStats:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


# Mutable on purpose: an async view runs in another thread with a copy of the context,
# and its statements must still land in the request's count.
_current: ContextVar[QueryStats | None] = ContextVar("perflab_flask_query_stats", default=None)


def begin_request() -> QueryStats:
    stats = QueryStats()
    _current.set(stats)
    return stats


def _before(conn: Any, *_: Any) -> None:
    conn.info[_STARTED] = time.perf_counter()


def _after(conn: Any, *_: Any) -> None:
    started = conn.info.pop(_STARTED, None)
    if started is not None:
        DB_QUERY_DURATION.observe(time.perf_counter() - started)
    stats = _current.get()
    if stats is not None:
        stats.count += 1


def _on_error(context: Any) -> None:
    # A failed statement reached the server too: counted like the FastAPI service does.
    if context.connection is not None and context.connection.info.pop(_STARTED, None):
        stats = _current.get()
        if stats is not None:
            stats.count += 1


def _url(settings: DbSettings) -> Any:
    return make_url(settings.dsn).set(drivername="postgresql+psycopg")


def _connect_args(settings: DbSettings) -> dict[str, Any]:
    timeout_ms = int(settings.command_timeout_seconds * 1000)
    return {
        "connect_timeout": max(1, round(settings.connect_timeout_seconds)),
        "options": f"-c statement_timeout={timeout_ms}",
    }


def _instrument(engine: Engine, kind: str) -> Engine:
    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)
    event.listen(engine, "handle_error", _on_error)

    def opened(*_: Any) -> None:
        DB_CONNECTIONS_OPENED.labels(kind=kind).inc()

    event.listen(engine, "connect", opened)
    return engine


def pooled_engine(settings: DbSettings) -> Engine:
    return _instrument(
        create_engine(
            _url(settings),
            poolclass=QueuePool,
            pool_size=settings.pool_max,
            max_overflow=0,
            pool_timeout=settings.connect_timeout_seconds,
            # A ping on checkout (on the DBAPI connection: no cursor event, not counted)
            # replaces a connection Postgres dropped, e.g. on a restart, instead of failing
            # the request that drew it; Django's CONN_HEALTH_CHECKS does the same.
            pool_pre_ping=True,
            connect_args=_connect_args(settings),
        ),
        "pool",
    )


def direct_engine(settings: DbSettings) -> Engine:
    return _instrument(
        create_engine(_url(settings), poolclass=NullPool, connect_args=_connect_args(settings)),
        "direct",
    )


def sample_pool(engine: Engine) -> None:
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return
    idle, in_use = pool.checkedin(), pool.checkedout()
    DB_POOL_CONNECTIONS.labels(state="size").set(idle + in_use)
    DB_POOL_CONNECTIONS.labels(state="idle").set(idle)
    DB_POOL_CONNECTIONS.labels(state="in_use").set(in_use)
    DB_POOL_CONNECTIONS.labels(state="max").set(pool.size())
