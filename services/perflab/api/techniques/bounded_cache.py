"""A memo of computed reports: an unbounded dict vs a bounded LRU.

Demonstrates: `GET /authors/{author_id}/report?since=&until=`, an author's books
published between two years with their review counts and ratings (an aggregate over
the reviews). Both paths memoise the report per process, keyed by the request's
parameters. The naive memo is a plain dict: every new (author, since, until) adds an
entry and none ever leaves, so under varied traffic the process's memory grows until
`ApiMemoryGrowing` fires (the guides' "cache without a bound is a leak"). The optimised
memo is a `cachetools.LRUCache` of `LRU_SIZE` reports: the least recently used report
goes when a new one comes, so memory levels off. Each variant holds only its own memo:
the first request of one variant empties the other's, as a deploy would.
Watch: `perflab_memo_entries{variant}` and the API's RSS (Runtime dashboard), and the
`ApiMemoryGrowing` alert. Expect entries to climb without end with the flag off and to
stop at 256 with it on; the same report either way.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from cachetools import LRUCache
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel

from perflab.api.deps import Flags, Pool
from perflab.api.techniques.base import Technique, Variant, run
from perflab.catalog import TECHNIQUES
from perflab.db.pool import acquire
from perflab.technique_metrics import MEMO_ENTRIES

NAME = "bounded_cache"
LRU_SIZE = 256
_MAX_ID = 2**31 - 1

REPORT_SQL = """
SELECT b.id, b.title, b.published_year, count(r.id) AS review_count,
       round(avg(r.rating), 3)::float8 AS average_rating
FROM books b LEFT JOIN reviews r ON r.book_id = b.id
WHERE b.author_id = $1 AND b.published_year BETWEEN $2 AND $3
GROUP BY b.id
ORDER BY b.published_year, b.id
"""


class BookLine(BaseModel):
    id: int
    title: str
    published_year: int
    review_count: int
    average_rating: float | None


class AuthorReport(BaseModel):
    author_id: int
    since: int
    until: int
    books: list[BookLine]
    reviews: int


Key = tuple[int, int, int]
# Per process, on purpose: this is the memo the lesson is about.
_unbounded: dict[Key, AuthorReport] = {}
_lru: LRUCache[Key, AuthorReport] = LRUCache(maxsize=LRU_SIZE)
_GAUGES = {v: MEMO_ENTRIES.labels(variant=v.value) for v in Variant}
for _gauge in _GAUGES.values():  # series exist before the first report
    _gauge.set(0)


def entries() -> dict[Variant, int]:
    """How many reports each memo of this process holds."""
    return {Variant.NAIVE: len(_unbounded), Variant.OPTIMISED: len(_lru)}


def clear() -> None:
    """Empty both memos (a test starting from a known state)."""
    _unbounded.clear()
    _lru.clear()
    for gauge in _GAUGES.values():
        gauge.set(0)


async def _compute(pool: asyncpg.Pool, key: Key) -> AuthorReport:
    author_id, since, until = key
    async with acquire(pool) as conn:
        rows = await conn.fetch(REPORT_SQL, author_id, since, until)
    books = [BookLine(**dict(row)) for row in rows]
    return AuthorReport(
        author_id=author_id,
        since=since,
        until=until,
        books=books,
        reviews=sum(b.review_count for b in books),
    )


def _only(variant: Variant) -> None:
    other = _lru if variant is Variant.NAIVE else _unbounded
    if other:
        other.clear()
        _GAUGES[Variant.OPTIMISED if variant is Variant.NAIVE else Variant.NAIVE].set(0)


async def naive(pool: asyncpg.Pool, key: Key) -> AuthorReport:
    _only(Variant.NAIVE)
    report = _unbounded.get(key)
    if report is None:
        report = _unbounded[key] = await _compute(pool, key)
        _GAUGES[Variant.NAIVE].set(len(_unbounded))
    return report


async def optimised(pool: asyncpg.Pool, key: Key) -> AuthorReport:
    _only(Variant.OPTIMISED)
    report = _lru.get(key)
    if report is None:
        report = _lru[key] = await _compute(pool, key)
        _GAUGES[Variant.OPTIMISED].set(len(_lru))
    return report


router = APIRouter(tags=["techniques"])


@router.get("/authors/{author_id:int}/report", response_model=AuthorReport)
async def author_report(
    pool: Pool,
    flags: Flags,
    response: Response,
    author_id: Annotated[int, Path(ge=1, le=_MAX_ID)],
    since: Annotated[int, Query(ge=1000, le=3000)] = 1950,
    until: Annotated[int, Query(ge=1000, le=3000)] = 2025,
) -> AuthorReport:
    return await run(NAME, flags, naive, optimised, response, pool, (author_id, since, until))


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], router=router)
