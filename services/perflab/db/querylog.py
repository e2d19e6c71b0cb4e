"""Per-request SQL accounting, counted in the task that runs the statement.

A mutable `QueryStats` put in a context variable at request start collects every
statement of that request, whichever connection ran it. Connections made by
`perflab.db.pool` are `CountingConnection`s: each statement is counted and timed the
moment it completes, in the caller's own task, so the count is final when the
handler returns (asyncpg's query logger, used before, runs its callbacks on a later
loop turn, so every request had to yield once more to read them: measured, that
turn and the logger cost more than all the metric writes of a request together).
`record(query, elapsed)` counts statements no connection method sees (COPY, cursor
fetches). The pool's reset on release is housekeeping, not SQL the request asked
for, and is not counted.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from perflab.telemetry.metrics import DB_QUERY_DURATION


@dataclass
class QueryStats:
    count: int = 0
    seconds: float = 0.0
    statements: list[str] = field(default_factory=list)
    keep_statements: bool = False

    def add(self, query: str, elapsed: float) -> None:
        self.count += 1
        self.seconds += elapsed
        if self.keep_statements:
            self.statements.append(query)


_current: ContextVar[QueryStats | None] = ContextVar("perflab_query_stats", default=None)


def begin(keep_statements: bool = False) -> QueryStats:
    stats = QueryStats(keep_statements=keep_statements)
    _current.set(stats)
    return stats


def current() -> QueryStats | None:
    return _current.get()


def record(query: str, elapsed: float) -> None:
    """Count one statement of the current request (and time it)."""
    DB_QUERY_DURATION.observe(elapsed)
    stats = _current.get()
    if stats is not None:
        stats.add(query, elapsed)


class CountingConnection(asyncpg.Connection):
    """asyncpg's three statement entry points (the ones its query logger sees), counted.

    `execute` without arguments uses the simple protocol; with arguments, like every
    fetch*, it goes through `_execute`; `executemany` and `fetchmany` through
    `_executemany`. Failed statements count too: they reached the server.
    """

    __slots__ = ("_housekeeping",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._housekeeping = False

    # The `timeout` parameters are asyncpg's own signatures, passed through.
    async def execute(
        self,
        query: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> str:
        if args:  # counted in _execute
            return await super().execute(query, *args, timeout=timeout)
        started = time.perf_counter()
        try:
            return await super().execute(query, timeout=timeout)
        finally:
            if not self._housekeeping:
                record(query, time.perf_counter() - started)

    async def _execute(
        self,
        query: str,
        args: Any,
        limit: int,
        timeout: Any,  # noqa: ASYNC109
        **kw: Any,
    ) -> Any:
        started = time.perf_counter()
        try:
            return await super()._execute(query, args, limit, timeout, **kw)
        finally:
            if not self._housekeeping:
                record(query, time.perf_counter() - started)

    async def _executemany(
        self,
        query: str,
        args: Any,
        timeout: Any,  # noqa: ASYNC109
        **kw: Any,
    ) -> Any:
        started = time.perf_counter()
        try:
            return await super()._executemany(query, args, timeout, **kw)
        finally:
            if not self._housekeeping:
                record(query, time.perf_counter() - started)

    async def reset(self, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self._housekeeping = True
        try:
            await super().reset(timeout=timeout)
        finally:
            self._housekeeping = False
