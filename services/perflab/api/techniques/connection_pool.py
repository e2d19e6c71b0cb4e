"""A pooled connection vs a new Postgres connection for every request.

Demonstrates: `GET /books/{book_id}`, one book with its author, a single cheap query.
The naive path opens a fresh connection per request (TCP handshake, startup and
authentication, a new backend process forked by Postgres), runs the query and closes
it: the connection costs far more than the query. The optimised path borrows a warm
connection from the asyncpg pool and gives it back.
Both render the answer once, straight from the row to JSON bytes (render.py): the row
comes from typed columns, so building models only for `response_model` to validate
and serialise them again would cost more CPU than the pooled query itself.
Watch: `rate(perflab_db_connections_opened_total[1m])` by `kind` (Database dashboard)
and the route's p95. Expect direct connections/s to equal requests/s when off and
0 when on, and p95 several times lower (a few ms of connect per request saved).
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel

from perflab.api.deps import resources
from perflab.api.resources import Resources
from perflab.api.responses import NOT_FOUND
from perflab.api.techniques.base import Technique, run
from perflab.api.techniques.render import answer, render
from perflab.catalog import TECHNIQUES
from perflab.db import pool as db_pool
from perflab.db.pool import acquire
from perflab.errors import NotFound

NAME = "connection_pool"
BOOK_SQL = """
SELECT b.id, b.title, b.isbn, b.genre, b.published_year, b.price_cents, b.description,
       a.id AS author_id, a.name AS author_name, a.country AS author_country
FROM books b JOIN authors a ON a.id = b.author_id
WHERE b.id = $1
"""
_MAX_ID = 2**31 - 1


class BookAuthor(BaseModel):
    id: int
    name: str
    country: str


class BookDetail(BaseModel):
    """The answer's shape, for the OpenAPI schema (`_book` renders it)."""

    id: int
    title: str
    isbn: str
    genre: str
    published_year: int
    price_cents: int
    description: str
    author: BookAuthor


def _book(row: asyncpg.Record | None, book_id: int) -> bytes:
    if row is None:
        raise NotFound(f"book {book_id} not found")
    return render(
        {
            "id": row["id"],
            "title": row["title"],
            "isbn": row["isbn"],
            "genre": row["genre"],
            "published_year": row["published_year"],
            "price_cents": row["price_cents"],
            "description": row["description"],
            "author": {
                "id": row["author_id"],
                "name": row["author_name"],
                "country": row["author_country"],
            },
        }
    )


async def naive(res: Resources, book_id: int) -> bytes:
    conn = await db_pool.connect(res.settings.db)  # counted as kind="direct"
    try:
        row = await conn.fetchrow(BOOK_SQL, book_id)
    finally:
        await conn.close()
    return _book(row, book_id)


async def optimised(res: Resources, book_id: int) -> bytes:
    async with acquire(res.pool) as conn:
        row = await conn.fetchrow(BOOK_SQL, book_id)
    return _book(row, book_id)


router = APIRouter(tags=["techniques"])


# `:int` so sibling routes such as /books/catalog are never taken for an id.
# `response_model` documents the shape; the answer is sent as rendered.
@router.get("/books/{book_id:int}", response_model=BookDetail, responses=NOT_FOUND)
async def get_book(
    request: Request,
    response: Response,
    book_id: Annotated[int, Path(ge=1, le=_MAX_ID)],
) -> Response:
    res = resources(request)  # not the `Res` dependency: see `resources`
    return answer(await run(NAME, res.flags, naive, optimised, response, res, book_id), response)


TECHNIQUE = Technique(
    spec=TECHNIQUES[NAME],
    router=router,
)
