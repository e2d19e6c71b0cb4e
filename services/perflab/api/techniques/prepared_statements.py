"""asyncpg's prepared-statement cache on vs off.

Demonstrates: `GET /authors/{author_id}`, an author with book count, review count,
average rating, genres and years, a three-table join with aggregates, so parsing and
planning are a real part of its cost. With the cache on (the normal pool), each
connection prepares the statement once and later requests only bind and execute it
(one round trip; after five runs Postgres may even reuse a generic plan). With the
cache off (a second pool with `statement_cache_size=0`, as behind PgBouncer in
transaction mode) asyncpg sends the SQL as an unnamed statement on every call, and
twice: Parse + Describe to learn the result types, then Parse + Bind + Execute. So
each request pays two parses, a fresh plan and two round trips instead of one.
Watch: `perflab_technique_duration_seconds{technique="prepared_statements"}` and
`perflab_db_query_duration_seconds` (Techniques and Database dashboards). Expect a
drop in p50 of a round trip plus parse and plan time per query, and less Postgres CPU.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from perflab.api.deps import Flags, Res
from perflab.api.resources import Resources
from perflab.api.responses import NOT_FOUND
from perflab.api.techniques.base import Technique, run
from perflab.catalog import TECHNIQUES
from perflab.db import pool as db_pool
from perflab.db.pool import acquire
from perflab.errors import NotFound
from perflab.settings import DbSettings

NAME = "prepared_statements"
UNCACHED_POOL = "prepared_statements.uncached_pool"  # key in Resources.extras
AUTHOR_SQL = """
SELECT a.id, a.name, a.country,
       count(DISTINCT b.id) AS book_count,
       count(r.id) AS review_count,
       round(avg(r.rating), 3)::float8 AS average_rating,
       coalesce(array_agg(DISTINCT b.genre) FILTER (WHERE b.genre IS NOT NULL), '{}')
           AS genres,
       min(b.published_year) AS first_published,
       max(b.published_year) AS last_published
FROM authors a
LEFT JOIN books b ON b.author_id = a.id
LEFT JOIN reviews r ON r.book_id = b.id
WHERE a.id = $1
GROUP BY a.id
"""
_MAX_ID = 2**31 - 1


class AuthorStats(BaseModel):
    id: int
    name: str
    country: str
    book_count: int
    review_count: int
    average_rating: float | None
    genres: list[str]
    first_published: int | None
    last_published: int | None


class UncachedPool:
    """A second pool with the statement cache off, opened on first use.

    Lives in `Resources.extras`, so the lifespan closes it (`aclose`) at shutdown.
    """

    def __init__(self, settings: DbSettings) -> None:
        self._settings = settings
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await db_pool.create_pool(self._settings, statement_cache_size=0)
        return self._pool

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()


def uncached_pool(res: Resources) -> UncachedPool:
    holder = res.extras.get(UNCACHED_POOL)
    if holder is None:
        holder = res.extras[UNCACHED_POOL] = UncachedPool(res.settings.db)
    assert isinstance(holder, UncachedPool)
    return holder


async def _author(pool: asyncpg.Pool, author_id: int) -> AuthorStats:
    async with acquire(pool) as conn:
        row = await conn.fetchrow(AUTHOR_SQL, author_id)
    if row is None:
        raise NotFound(f"author {author_id} not found")
    return AuthorStats(**dict(row))


async def naive(res: Resources, author_id: int) -> AuthorStats:
    return await _author(await uncached_pool(res).get(), author_id)


async def optimised(res: Resources, author_id: int) -> AuthorStats:
    return await _author(res.pool, author_id)


router = APIRouter(tags=["techniques"])


@router.get("/authors/{author_id:int}", response_model=AuthorStats, responses=NOT_FOUND)
async def get_author(
    res: Res,
    flags: Flags,
    response: Response,
    author_id: Annotated[int, Path(ge=1, le=_MAX_ID)],
) -> AuthorStats:
    return await run(NAME, flags, naive, optimised, response, res, author_id)


TECHNIQUE = Technique(
    spec=TECHNIQUES[NAME],
    router=router,
)
