"""The `default` pool's connection check: psycopg's own, plus a sweep when it fails.

psycopg_pool checks a connection before handing it out and, when the check fails,
tries the next one after a backoff of 1, 2, 4 ... s. After a Postgres restart every idle
connection of the pool is dead, so a worker that held three of them made its next
request wait through 1 + 2 + 4 s of backoff, past the pool's 5 s timeout: a 503 long
after Postgres was back (found by the fault suite). On the first failed check this
sweeps the whole pool at once with `ConnectionPool.check()` (documented for "after a
network disruption"): dead connections are dropped and replaced together, and the
request's next try gets a fresh one after a single backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg_pool import ConnectionPool


def sweeping_check(pool: Callable[[], ConnectionPool | None]) -> Callable[[Any], None]:
    """A `check` for a ConnectionPool; `pool` finds the pool it belongs to (built later)."""

    def check(conn: Any) -> None:
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            found = pool()
            if found is not None:
                found.check()
            raise

    return check
