"""An expensive aggregate cached in Redis (cache-aside) vs computed on every request.

Demonstrates: `GET /genres/top-rated`, the ten best-rated books of every genre with
their review counts, aggregated over every review (200k at scale 1). The naive path
runs that aggregate each time. The optimised path reads Redis first: a hit answers
without touching Postgres; a miss computes, stores the rendered answer under a
versioned key with a TTL, and answers. A Redis error on read is counted and falls back
to computing, so a cache outage degrades latency, never correctness.
What is cached is the rendered response (the JSON bytes), not the objects, as Django's
`cache_page` does: a hit sends the stored bytes as they are, with no parsing, no model
validation and no serialisation (re-validating the cached JSON into models and letting
`response_model` serialise them again cost more CPU than the Redis round trip). Both
paths render with the same serialiser, so their answers are byte-identical.
Writes invalidate: `POST /books/{book_id}/reviews` inserts a review and deletes the
key, so the next read recomputes (a read racing a write may re-store the old figures;
the TTL bounds that, the usual cache-aside trade-off).
Watch: `perflab_cache_requests_total{cache="top_rated"}` (hit ratio) and the route's
p95 (Cache and Techniques dashboards). Expect ~100% hits under steady reads, 0 SQL
statements per hit, and p50 from the aggregate's ~230 ms (scale 1) to a few ms.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from perflab.api.deps import Pool, Res, resources
from perflab.api.resources import Resources
from perflab.api.responses import ADMIN, NOT_FOUND, WRITE
from perflab.api.techniques.base import Technique, run
from perflab.api.techniques.render import answer
from perflab.catalog import TECHNIQUES
from perflab.db.pool import acquire
from perflab.errors import NotFound
from perflab.telemetry.metrics import CACHE_REQUESTS
from perflab.text import StorableText

NAME = "response_cache"
CACHE = "top_rated"
# Bump the version when the answer's shape changes, so old entries are never read.
CACHE_KEY = "perflab:cache:top_rated:v2"  # v2: the rendered JSON bytes
TTL_SECONDS = 300
TOP_N = 10
MIN_REVIEWS = 3  # so one lucky 5-star review does not top a genre
_MAX_ID = 2**31 - 1

TOP_RATED_SQL = """
WITH stats AS (
    SELECT book_id, avg(rating) AS average, count(*) AS reviews
    FROM reviews GROUP BY book_id HAVING count(*) >= $2
), ranked AS (
    SELECT b.genre, b.id, b.title, a.name AS author, s.average, s.reviews,
           row_number() OVER (
               PARTITION BY b.genre ORDER BY s.average DESC, s.reviews DESC, b.id
           ) AS rank
    FROM stats s
    JOIN books b ON b.id = s.book_id
    JOIN authors a ON a.id = b.author_id
)
SELECT genre, id, title, author, round(average, 3)::float8 AS average_rating,
       reviews AS review_count
FROM ranked WHERE rank <= $1
ORDER BY genre, rank
"""
INSERT_REVIEW_SQL = """
INSERT INTO reviews (id, book_id, user_id, rating, body, created_at)
VALUES (nextval('reviews_id_seq'), $1, $2, $3, $4, now())
RETURNING id, book_id, user_id, rating, body, created_at
"""

log = logging.getLogger(__name__)
for _result in ("hit", "miss", "error"):  # series exist before the first look-up
    CACHE_REQUESTS.labels(cache=CACHE, result=_result)


class RatedBook(BaseModel):
    id: int
    title: str
    author: str
    average_rating: float
    review_count: int


class GenreTop(BaseModel):
    genre: str
    books: list[RatedBook]


class TopRated(BaseModel):
    genres: list[GenreTop]


# Renders the answer to JSON bytes in pydantic's Rust core, as FastAPI's response_model would.
_RENDER = TypeAdapter(TopRated)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: int = Field(ge=1, le=_MAX_ID)
    rating: int = Field(ge=1, le=5)
    body: StorableText = Field(min_length=1, max_length=5000)


class ReviewOut(BaseModel):
    id: int
    book_id: int
    user_id: int
    rating: int
    body: str
    created_at: datetime


async def _compute(pool: asyncpg.Pool) -> bytes:
    """The leaderboard, rendered: the JSON bytes of the answer."""
    async with acquire(pool) as conn:
        rows = await conn.fetch(TOP_RATED_SQL, TOP_N, MIN_REVIEWS)
    genres: dict[str, list[RatedBook]] = {}
    for row in rows:
        genres.setdefault(row["genre"], []).append(
            RatedBook(
                id=row["id"],
                title=row["title"],
                author=row["author"],
                average_rating=row["average_rating"],
                review_count=row["review_count"],
            )
        )
    return _RENDER.dump_json(
        TopRated(genres=[GenreTop(genre=g, books=b) for g, b in genres.items()])
    )


async def naive(res: Resources) -> bytes:
    return await _compute(res.pool)


async def optimised(res: Resources) -> bytes:
    try:
        cached = await res.redis.get(CACHE_KEY)
    except (RedisError, OSError) as exc:
        CACHE_REQUESTS.labels(cache=CACHE, result="error").inc()
        log.warning("top-rated cache unreadable, computing instead: %s", exc)
        return await _compute(res.pool)  # no write-back: Redis is failing right now
    if cached is not None:
        CACHE_REQUESTS.labels(cache=CACHE, result="hit").inc()
        return cached  # type: ignore[return-value]  # bytes: this client never decodes
    CACHE_REQUESTS.labels(cache=CACHE, result="miss").inc()
    top = await _compute(res.pool)
    try:
        await res.redis.set(CACHE_KEY, top, ex=TTL_SECONDS)
    except (RedisError, OSError) as exc:
        log.warning("top-rated cache not stored: %s", exc)
    return top


async def invalidate(redis: Redis) -> None:
    """Drop the cached leaderboard; done on every write whatever the flag says."""
    try:
        await redis.delete(CACHE_KEY)
    except (RedisError, OSError) as exc:
        # The review is stored; the stale entry expires within TTL_SECONDS.
        log.warning("top-rated cache not invalidated (stale up to %ss): %s", TTL_SECONDS, exc)


router = APIRouter(tags=["techniques"])


# `response_model` documents the shape; the answer is sent as rendered, not re-serialised.
@router.get("/genres/top-rated", response_model=TopRated)
async def top_rated(request: Request, response: Response) -> Response:
    res = resources(request)  # not the `Res` dependency: see `resources`
    return answer(await run(NAME, res.flags, naive, optimised, response, res), response)


@router.post(
    "/books/{book_id:int}/reviews",
    response_model=ReviewOut,
    status_code=201,
    responses={**NOT_FOUND, **WRITE},
    openapi_extra=ADMIN,
)
async def add_review(
    pool: Pool,
    res: Res,
    book_id: Annotated[int, Path(ge=1, le=_MAX_ID)],
    review: ReviewIn,
) -> ReviewOut:
    async with acquire(pool) as conn:
        try:
            row = await conn.fetchrow(
                INSERT_REVIEW_SQL, book_id, review.user_id, review.rating, review.body
            )
        except asyncpg.ForeignKeyViolationError as exc:
            # The violated constraint names which of the two was unknown.
            if "user" in (exc.constraint_name or ""):
                raise NotFound(f"user {review.user_id} not found") from exc
            raise NotFound(f"book {book_id} not found") from exc
    await invalidate(res.redis)
    return ReviewOut(**dict(row))


TECHNIQUE = Technique(
    spec=TECHNIQUES[NAME],
    router=router,
)
