"""Per-request SQL accounting and Postgres spans, on asyncpg's public API.

A mutable `QueryStats` put in a context variable at request start collects every
statement of that request, whichever connection ran it. Connections made by
`perflab.db.pool` are `CountingConnection`s: asyncpg's `Connection` with its public
statement methods (`execute`, `executemany`, `fetch*`, `copy_*`) wrapped, so each
statement is counted and timed the moment it completes, in the caller's own task, and
the count is final when the handler returns. (`Connection.add_query_logger` would see
the same statements, but runs its callbacks on a later loop turn: a response could
leave before its last statement is counted.) `Statement(query)` counts what no
connection method runs (cursor fetches).

Inside a sampled trace each statement is also a CLIENT span with the stable database
semantic conventions (`SELECT`, `COPY`...), made with the OpenTelemetry API; outside
one the only cost is a context lookup.

The pool's reset on release (`reset_connection`, asyncpg's public
`create_pool(reset=...)` hook) is the rollback of an open transaction only, as in
the other two services' pools: no statement per release.
"""

from __future__ import annotations

import re
import time
from contextvars import ContextVar
from typing import Any

import asyncpg
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode

from perflab.telemetry.metrics import DB_QUERY_DURATION

_tracer = trace.get_tracer("perflab.db")
_LEADING_COMMENTS = re.compile(r"^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*", re.DOTALL)


class QueryStats:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


_current: ContextVar[QueryStats | None] = ContextVar("perflab_query_stats", default=None)


def begin() -> QueryStats:
    stats = QueryStats()
    _current.set(stats)
    return stats


def operation_name(query: str) -> str:
    """`SELECT`, `INSERT`, `COPY`...: the first keyword, after any leading comments."""
    words = _LEADING_COMMENTS.sub("", query, count=1).split(None, 1)
    return words[0].upper() if words else "SQL"


def _start_span(query: str) -> Span | None:
    """A CLIENT span for one statement, only inside a sampled trace."""
    if not trace.get_current_span().is_recording():
        return None
    operation = operation_name(query)
    attributes = {
        "db.system.name": "postgresql",
        "db.operation.name": operation,
        "db.query.text": query,
    }
    return _tracer.start_span(operation, kind=SpanKind.CLIENT, attributes=attributes)


class Statement:
    """Count, time and, inside a sampled trace, trace one statement:
    `with Statement(query): ...`. A class rather than a generator context manager:
    it runs for every statement of every request."""

    __slots__ = ("_query", "_span", "_started")

    def __init__(self, query: str) -> None:
        self._query = query
        self._span: Span | None = None
        self._started = 0.0

    def __enter__(self) -> None:
        self._span = _start_span(self._query)
        self._started = time.perf_counter()

    def __exit__(self, kind: object, error: BaseException | None, tb: object) -> None:
        # Failed statements count too: they reached the server.
        DB_QUERY_DURATION.observe(time.perf_counter() - self._started)
        stats = _current.get()
        if stats is not None:
            stats.count += 1
        if self._span is not None:
            if error is not None:
                self._span.set_status(StatusCode.ERROR)
                self._span.set_attribute("error.type", type(error).__qualname__)
            self._span.end()


class CountingConnection(asyncpg.Connection):
    """asyncpg's public statement methods, each counted, timed and (sampled) traced.

    None of them calls another of them, so a statement counts once.
    """

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> str:
        with Statement(query):
            return await super().execute(query, *args, **kwargs)

    async def executemany(self, command: str, args: Any, **kwargs: Any) -> None:
        with Statement(command):
            await super().executemany(command, args, **kwargs)

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> list[Any]:
        with Statement(query):
            return await super().fetch(query, *args, **kwargs)

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        with Statement(query):
            return await super().fetchval(query, *args, **kwargs)

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        with Statement(query):
            return await super().fetchrow(query, *args, **kwargs)

    async def fetchmany(self, query: str, args: Any, **kwargs: Any) -> list[Any]:
        with Statement(query):
            return await super().fetchmany(query, args, **kwargs)

    async def copy_from_table(self, table_name: str, **kwargs: Any) -> str:
        with Statement(f"COPY {table_name} TO STDOUT"):
            return await super().copy_from_table(table_name, **kwargs)

    async def copy_from_query(self, query: str, *args: Any, **kwargs: Any) -> str:
        with Statement(f"COPY ({query}) TO STDOUT"):
            return await super().copy_from_query(query, *args, **kwargs)

    async def copy_to_table(self, table_name: str, **kwargs: Any) -> str:
        with Statement(f"COPY {table_name} FROM STDIN"):
            return await super().copy_to_table(table_name, **kwargs)

    async def copy_records_to_table(self, table_name: str, **kwargs: Any) -> str:
        with Statement(f"COPY {table_name} FROM STDIN"):
            return await super().copy_records_to_table(table_name, **kwargs)


async def reset_connection(conn: asyncpg.Connection) -> None:  # noqa: ARG001 - asyncpg's hook
    """The pool's reset on release (`create_pool(reset=...)`): nothing beyond the rollback
    of an open transaction, which asyncpg does before calling it.

    asyncpg's default reset runs `get_reset_query()` (unlock advisory locks, close
    cursors, unlisten, reset settings): a second round trip on every request, for
    session state that no pooled code here creates (the one advisory lock, db_index's,
    is taken on a direct connection). Rollback-only is what SQLAlchemy's pool
    (`reset_on_return="rollback"`) and psycopg_pool do for the Flask and Django services.
    """
