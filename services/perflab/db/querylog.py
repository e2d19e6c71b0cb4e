"""Per-request SQL accounting through asyncpg's query logger.

asyncpg calls loggers with `loop.call_soon`, which copies the current context, so a
mutable `QueryStats` put in a context variable at request start collects every
statement of that request, whichever connection ran it. Callers `await settle()`
before reading the count so the last callbacks have run.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from dataclasses import dataclass, field

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
    """Count a statement the logger cannot see (COPY, cursors)."""
    DB_QUERY_DURATION.observe(elapsed)
    stats = _current.get()
    if stats is not None:
        stats.add(query, elapsed)


# The pool's reset on release is housekeeping, not SQL the request asked for.
_HOUSEKEEPING: set[str] = set()


def _on_query(logged: asyncpg.connection.LoggedQuery) -> None:
    if logged.query not in _HOUSEKEEPING:
        record(logged.query, logged.elapsed)


def instrument(conn: asyncpg.Connection) -> None:
    reset = conn.get_reset_query()
    if reset:
        _HOUSEKEEPING.add(reset)
    conn.add_query_logger(_on_query)


async def settle() -> None:
    # One loop turn runs the call_soon callbacks queued by the last statements.
    await asyncio.sleep(0)
