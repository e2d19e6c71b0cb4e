"""Searching titles by words: a linear scan per request vs an inverted index built once.

Demonstrates: `GET /books/search?q=amber river&limit=20`, the books whose title holds
every word of the query, by id (the guides' search-engine example). Each API process
loads every (id, title) once. The naive path tokenises and checks every title on each
request: the work grows with the catalogue. The optimised path builds an inverted
index once (word -> the sorted ids of the titles holding it) and intersects the
query's posting lists, the shortest first: the work grows with the rarest word's
postings, not with the catalogue. Same books, same order (by id), same total.
Why in-process and not Postgres full-text search with a GIN index: this is the
algorithm lesson (a data structure built once instead of a scan per request), with
exact word matching both variants share; FTS would stem, rank and drop stop words,
so its answers would differ from the scan's, and db_index already teaches indexes.
The books table never changes at run time (only orders and reviews do), so the
loaded titles and the index stay right for the life of the process.
Watch: `perflab_search_items_examined_total{variant}` per request (the
`X-Search-Examined` header per answer) and the route's p95. Expect every title (20k
at scale 1) against ~1.2k posting entries for one word, fewer for two.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from perflab.api.deps import Flags, Pool
from perflab.api.responses import BAD_REQUEST
from perflab.api.techniques.base import Technique, Variant, run
from perflab.catalog import TECHNIQUES
from perflab.db.pool import acquire
from perflab.errors import BadRequest
from perflab.search import Titles, lookup, query_words, scan
from perflab.technique_metrics import SEARCH_ITEMS_EXAMINED

NAME = "search_index"
EXAMINED_HEADER = "X-Search-Examined"
TITLES_SQL = "SELECT id, title FROM books ORDER BY id"
_COUNTERS = {v: SEARCH_ITEMS_EXAMINED.labels(variant=v.value) for v in Variant}


class BookHit(BaseModel):
    id: int
    title: str


class SearchResult(BaseModel):
    query: list[str]
    total: int
    books: list[BookHit]


class _Catalogue(Titles):
    """This process's titles, loaded once from Postgres under an asyncio lock."""

    def __init__(self) -> None:
        super().__init__()
        self._loading = asyncio.Lock()

    async def load(self, pool: asyncpg.Pool) -> None:
        if self.loaded:
            return
        async with self._loading:
            if not self.loaded:
                async with acquire(pool) as conn:
                    rows = await conn.fetch(TITLES_SQL)
                self.load_once(lambda: [(row["id"], row["title"]) for row in rows])


_catalogue = _Catalogue()


def _answer(query: list[str], ids: list[int], limit: int) -> SearchResult:
    hits = [BookHit(id=i, title=_catalogue.by_id[i]) for i in ids[:limit]]
    return SearchResult(query=query, total=len(ids), books=hits)


async def naive(
    pool: asyncpg.Pool, query: list[str], limit: int, response: Response
) -> SearchResult:
    await _catalogue.load(pool)
    ids, examined = scan(_catalogue.titles, query)
    _COUNTERS[Variant.NAIVE].inc(examined)
    response.headers[EXAMINED_HEADER] = str(examined)
    return _answer(query, ids, limit)


async def optimised(
    pool: asyncpg.Pool, query: list[str], limit: int, response: Response
) -> SearchResult:
    await _catalogue.load(pool)
    ids, examined = lookup(_catalogue.inverted(), query)
    _COUNTERS[Variant.OPTIMISED].inc(examined)
    response.headers[EXAMINED_HEADER] = str(examined)
    return _answer(query, ids, limit)


router = APIRouter(tags=["techniques"])


@router.get("/books/search", response_model=SearchResult, responses=BAD_REQUEST)
async def search_books(
    pool: Pool,
    flags: Flags,
    response: Response,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Words, all required.")],
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> SearchResult:
    query = query_words(q)
    if not query:
        raise BadRequest(f"q={q!r} holds no word to search for")
    return await run(NAME, flags, naive, optimised, response, pool, query, limit, response)


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], router=router)
