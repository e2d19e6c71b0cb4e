"""An index on the column a hot lookup filters by, built and dropped at runtime.

Demonstrates: `GET /users/{user_id}/orders` filters `orders` by `user_id`, which the
schema leaves unindexed. Both variants run the *same* SQL, on purpose: the difference
lives in the database, not in the code. Flipping the flag on builds
`orders_user_id_idx` with `CREATE INDEX CONCURRENTLY` (writes keep flowing while it
builds); flipping it off drops it with `DROP INDEX CONCURRENTLY`. `naive` and
`optimised` therefore share one body; `on_flip` / `reconcile` make the index follow
the flag. Without the index Postgres reads every order (Seq Scan); with it, only the
user's ~25 rows (Bitmap/Index Scan), which `EXPLAIN` shows.
Watch: `perflab_technique_duration_seconds{technique="db_index"}` and the route's p95
(Techniques dashboard). Expect a scan of every order (500k at scale 1) to become a
lookup of the user's ~25: p50 about 40 ms -> 2 ms; the build itself takes ~0.5 s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path, Response
from pydantic import BaseModel
from redis.exceptions import RedisError

from perflab.api.deps import Flags, Pool
from perflab.api.resources import Resources
from perflab.api.responses import NOT_FOUND
from perflab.api.techniques.base import Technique, run
from perflab.api.techniques.render import answer, render
from perflab.catalog import TECHNIQUES
from perflab.db import pool as db_pool
from perflab.db.pool import acquire
from perflab.errors import Conflict, NotFound, PerflabError
from perflab.flags.state import REDIS_KEY, decode

NAME = "db_index"
INDEX = "orders_user_id_idx"
ORDERS_SQL = """
SELECT id, book_id, quantity, total_cents, status, created_at
FROM orders WHERE user_id = $1 ORDER BY id
"""
# DDL with identifiers fixed here, never from input. CONCURRENTLY cannot run inside a
# transaction block, so it goes over a dedicated connection in autocommit.
_CREATE = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON orders (user_id)"
_DROP = f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}"
# None: absent; False: left invalid by a failed concurrent build; True: usable.
_STATE = "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)"
# Serialises index changes of every API process (two concurrent builds would collide).
_LOCK_KEY = 0x70666C61_62696478  # "pflabidx"
_LOCK_WAIT_SECONDS = 120.0
_DDL_TIMEOUT_SECONDS = 600.0
_MAX_ID = 2**31 - 1

log = logging.getLogger(__name__)


class Order(BaseModel):
    id: int
    book_id: int
    quantity: int
    total_cents: int
    status: str
    created_at: datetime


class UserOrders(BaseModel):
    user_id: int
    orders: list[Order]


async def _orders_of(pool: asyncpg.Pool, user_id: int) -> bytes:
    async with acquire(pool) as conn:
        rows = await conn.fetch(ORDERS_SQL, user_id)
        # Only a user without orders costs a second query, to tell "none" from "unknown".
        if not rows and not await conn.fetchval("SELECT 1 FROM users WHERE id = $1", user_id):
            raise NotFound(f"user {user_id} not found")
    # ORDERS_SQL's columns are Order's fields: rendered once (render.py says why).
    return render({"user_id": user_id, "orders": [dict(r) for r in rows]})


async def naive(pool: Pool, user_id: int) -> bytes:
    """Same SQL as `optimised`: with no index, Postgres scans every order."""
    return await _orders_of(pool, user_id)


async def optimised(pool: Pool, user_id: int) -> bytes:
    """Same SQL as `naive`: the flag built the index, so Postgres looks the rows up."""
    return await _orders_of(pool, user_id)


async def index_state(conn: asyncpg.Connection) -> bool | None:
    """None when the index is absent, False when invalid, True when usable."""
    valid: bool | None = await conn.fetchval(_STATE, INDEX)
    return valid


async def _wanted(res: Resources, fallback: bool) -> bool:
    # Re-read the flag under the lock: with flips racing in several processes, the
    # last one stored in Redis wins, whatever order the DDL calls arrive in.
    try:
        return decode(await res.redis.hget(REDIS_KEY, NAME), fallback)
    except (RedisError, OSError):
        return fallback


async def _lock(conn: asyncpg.Connection) -> None:
    # Polled, not a blocking pg_advisory_lock: a waiting backend holds a snapshot that
    # the concurrent build would wait for in turn (a deadlock).
    deadline = time.monotonic() + _LOCK_WAIT_SECONDS
    while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK_KEY):
        if time.monotonic() > deadline:
            raise Conflict(f"another change of index {INDEX} is still running")
        await asyncio.sleep(0.2)


async def apply(res: Resources, fallback: bool) -> bool:
    """Make the index match the flag (Redis, else `fallback`); returns the state set."""
    conn = await db_pool.connect(res.settings.db)
    try:
        await _lock(conn)  # released when the connection closes
        wanted = await _wanted(res, fallback)
        state = await index_state(conn)
        if state is False or (state and not wanted):
            # An invalid index is left by a failed or cancelled concurrent build; it
            # slows writes and is never used, so it is dropped and built again.
            await conn.execute(_DROP, timeout=_DDL_TIMEOUT_SECONDS)
        if wanted and state is not True:
            await conn.execute(_CREATE, timeout=_DDL_TIMEOUT_SECONDS)
        log.info("index %s %s", INDEX, "present" if wanted else "absent")
        return wanted
    except (asyncpg.PostgresError, TimeoutError) as exc:
        raise PerflabError(f"changing index {INDEX} failed: {exc!r}") from exc
    finally:
        await conn.close()


async def on_flip(enabled: bool, res: Resources) -> None:
    await apply(res, enabled)


async def reconcile(res: Resources) -> bool:
    """At startup: build or drop the index to match the flag. Logs, never raises."""
    try:
        await apply(res, res.flags.enabled(NAME))
    except (PerflabError, asyncpg.PostgresError, OSError) as exc:
        log.warning("could not reconcile index %s with flag %s: %s", INDEX, NAME, exc)
        return False
    return True


router = APIRouter(tags=["techniques"])


# `response_model`: the shape, for the schema.
@router.get("/users/{user_id}/orders", response_model=UserOrders, responses=NOT_FOUND)
async def user_orders(
    pool: Pool,
    flags: Flags,
    response: Response,
    user_id: Annotated[int, Path(ge=1, le=_MAX_ID)],
) -> Response:
    return answer(await run(NAME, flags, naive, optimised, response, pool, user_id), response)


TECHNIQUE = Technique(
    spec=TECHNIQUES[NAME],
    router=router,
    on_flip=on_flip,
    on_start=reconcile,
)
