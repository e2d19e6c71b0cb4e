"""Per-request SQL accounting, counted in the task that runs the statement.

A mutable `QueryStats` put in a context variable at request start collects every
statement of that request, whichever connection ran it. Connections made by
`perflab.db.pool` are `CountingConnection`s: each statement is counted and timed the
moment it completes, in the caller's own task, so the count is final when the
handler returns (asyncpg's query logger, used before, runs its callbacks on a later
loop turn, so every request had to yield once more to read them: measured, that
turn and the logger cost more than all the metric writes of a request together).
`Statement(query)` counts statements no connection method sees (COPY, cursor
fetches). The pool's reset on release is housekeeping, not SQL the request asked
for, and is not counted.

Tracing lives here too: when the current span is sampled (recording), each statement
gets a CLIENT span with the stable database semantic conventions (a `LeanSpan`, see
telemetry/lean_spans.py); otherwise the only cost is one context lookup. This
replaces opentelemetry-instrumentation-asyncpg, whose wrapt wrappers sit on every
call of every connection, sampled or not (on `GET /books/{id}` it cost more per
request than all the metric writes).
"""

from __future__ import annotations

import asyncio
import re
import time
from contextvars import ContextVar
from typing import Any

import asyncpg
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from perflab.telemetry import tally
from perflab.telemetry.lean_spans import LabTracerProvider, LeanTracer
from perflab.telemetry.metrics import DB_QUERY_DURATION

_tracer = trace.get_tracer("perflab.db")
# Set by `enable_tracing` with the lab's provider: statement spans under a sampled
# parent are lean spans.
_lean: LeanTracer | None = None
_QUERY_DURATION = tally.OwnedHistogram(DB_QUERY_DURATION)
# Set by `enable_tracing` (telemetry.tracing): without it a statement skips even the
# context lookup that would find no sampled span.
_tracing = False
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


def record(elapsed: float) -> None:
    """Count one statement of the current request (and time it)."""
    _QUERY_DURATION.observe(elapsed)
    stats = _current.get()
    if stats is not None:
        stats.count += 1


def operation_name(query: str) -> str:
    """`SELECT`, `INSERT`, `COPY`...: the first keyword, after any leading comments."""
    words = _LEADING_COMMENTS.sub("", query, count=1).split(None, 1)
    return words[0].upper() if words else "SQL"


def enable_tracing(provider: trace.TracerProvider | None = None) -> None:
    global _tracing, _lean
    _tracing = True
    if isinstance(provider, LabTracerProvider):
        _lean = provider.lean_tracer("perflab.db")


def _start_span(query: str, conn: asyncpg.Connection | None) -> Span | None:
    """A CLIENT span for one statement, only inside a sampled trace."""
    if not _tracing:
        return None
    parent = trace.get_current_span()
    if not parent.is_recording():
        return None
    operation = operation_name(query)
    attributes = {
        **(conn._span_attributes() if isinstance(conn, CountingConnection) else {}),
        "db.system.name": "postgresql",
        "db.operation.name": operation,
        "db.query.text": query,
    }
    parent_context = parent.get_span_context()
    if _lean is not None and parent_context.trace_flags.sampled:
        return _lean.start_child(operation, parent_context, SpanKind.CLIENT, attributes)
    return _tracer.start_span(operation, kind=SpanKind.CLIENT, attributes=attributes)


def _end_span(span: Span, error: BaseException | None) -> None:
    if error is not None:
        span.set_status(Status(StatusCode.ERROR))
        span.set_attribute("error.type", type(error).__qualname__)
    span.end()


class Statement:
    """Count, time and, inside a sampled trace, trace one statement:
    `with Statement(query, conn): ...`. The connection's methods use it; so do the
    statements no connection method sees (COPY, cursor fetches). A class rather than a
    generator context manager: it runs for every statement of every request."""

    __slots__ = ("_query", "_conn", "_span", "_started")

    def __init__(self, query: str, conn: asyncpg.Connection | None = None) -> None:
        self._query = query
        self._conn = conn
        self._span: Span | None = None
        self._started = 0.0

    def __enter__(self) -> None:
        self._span = _start_span(self._query, self._conn)
        self._started = time.perf_counter()

    def __exit__(self, kind: object, error: BaseException | None, tb: object) -> None:
        # Failed statements count too: they reached the server.
        record(time.perf_counter() - self._started)
        if self._span is not None:
            _end_span(self._span, error)


class CountingConnection(asyncpg.Connection):
    """asyncpg's three statement entry points (the ones its query logger sees), counted,
    timed and, inside a sampled trace, traced.

    `execute` without arguments uses the simple protocol; with arguments, like every
    fetch*, it goes through `_execute`; `executemany` and `fetchmany` through
    `_executemany`.
    """

    __slots__ = ("_attributes",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._attributes: dict[str, Any] | None = None

    def _span_attributes(self) -> dict[str, Any]:
        # The database only: the server address is the lab's one Postgres (and every
        # attribute costs a few us per sampled span to record and encode).
        if self._attributes is None:
            self._attributes = {"db.namespace": self._params.database}
        return self._attributes

    # The `timeout` parameters are asyncpg's own signatures, passed through.
    async def execute(
        self,
        query: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> str:
        if args:  # counted in _execute
            return await super().execute(query, *args, timeout=timeout)
        with Statement(query, self):
            return await super().execute(query, timeout=timeout)

    async def _execute(
        self,
        query: str,
        args: Any,
        limit: int,
        timeout: Any,  # noqa: ASYNC109
        **kw: Any,
    ) -> Any:
        with Statement(query, self):
            return await super()._execute(query, args, limit, timeout, **kw)

    async def _executemany(
        self,
        query: str,
        args: Any,
        timeout: Any,  # noqa: ASYNC109
        **kw: Any,
    ) -> Any:
        with Statement(query, self):
            return await super()._executemany(query, args, timeout, **kw)

    async def reset(self, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """asyncpg's own `Connection.reset` (0.32), except that its reset query goes
        straight to asyncpg's `execute`: housekeeping on every release to the pool,
        neither counted nor traced, and without two extra coroutine layers (measured
        ~4 us per request, a fifth of the metrics' whole cost on a one-query read)."""
        async with asyncio.timeout(timeout):
            await self._reset()
            reset_query = self.get_reset_query()
            if reset_query:
                await asyncpg.Connection.execute(self, reset_query)
