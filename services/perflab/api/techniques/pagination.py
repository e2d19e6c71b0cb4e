"""Keyset (seek) pagination vs a deep OFFSET.

Demonstrates: `GET /orders/feed`, every order in id order, page by page. Each page
returns `next_cursor`, an opaque token holding the next page's number and size and
the last id seen; clients follow it (or ask for `page=N` directly). The naive path
answers with `ORDER BY id OFFSET (N-1)*size LIMIT size`: Postgres walks and throws
away every earlier row, so page N costs N x size rows. The optimised path seeks,
`WHERE id > last_id ORDER BY id LIMIT size`: one index descent, `size` rows, on any
page. Asked for `page=N` without a cursor, it must first find that page's boundary
id, which still means counting (N-1) x size primary-key entries: a jump costs about
what OFFSET costs, and only following `next_cursor` is cheap. Same items and cursor
either way.
Watch: `perflab_technique_duration_seconds{technique="pagination"}` and the route's
p95 while clients walk deep into the feed by `next_cursor` (Techniques dashboard).
Expect rows read per page N x size -> size: page 5000 of 50 at scale 1 reads 250k
rows (~40 ms) with OFFSET and 51 rows (~2 ms) with the keyset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from perflab.api.deps import Flags, Pool
from perflab.api.techniques.base import Technique, run
from perflab.api.techniques.render import answer, render
from perflab.catalog import TECHNIQUES
from perflab.db.pool import acquire
from perflab.paging import MAX_PAGE, MAX_SIZE, PagingError, Position, page_answer, parse_position

NAME = "pagination"
_COLUMNS = "id, user_id, book_id, quantity, total_cents, status, created_at"
OFFSET_SQL = f"SELECT {_COLUMNS} FROM orders ORDER BY id OFFSET $1 LIMIT $2"
KEYSET_SQL = f"SELECT {_COLUMNS} FROM orders WHERE id > $1 ORDER BY id LIMIT $2"
FIRST_SQL = f"SELECT {_COLUMNS} FROM orders ORDER BY id LIMIT $1"
# The last id of the previous page, for a direct jump without a cursor.
BOUNDARY_SQL = "SELECT id FROM orders ORDER BY id OFFSET $1 LIMIT 1"


class FeedOrder(BaseModel):
    id: int
    user_id: int
    book_id: int
    quantity: int
    total_cents: int
    status: str
    created_at: datetime


class FeedPage(BaseModel):
    page: int
    size: int
    items: list[FeedOrder]
    next_cursor: str | None  # None on the last page


def _invalid(field: str, value: object, msg: str) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", field), "msg": msg, "input": value}]
    )


def _page(position: Position, rows: list[asyncpg.Record]) -> bytes:
    # One row beyond the page says whether a next page exists. The columns are
    # FeedOrder's fields: FeedPage rendered once (render.py says why not the models).
    items = [dict(row) for row in rows[: position.size]]
    return render(page_answer(position, items, len(rows) > position.size))


async def naive(pool: Pool, position: Position) -> bytes:
    async with acquire(pool) as conn:
        rows = await conn.fetch(OFFSET_SQL, position.offset, position.size + 1)
    return _page(position, rows)


async def optimised(pool: Pool, position: Position) -> bytes:
    async with acquire(pool) as conn:
        after_id = position.after_id
        if after_id is None and position.page > 1:
            after_id = await conn.fetchval(BOUNDARY_SQL, position.offset - 1)
            if after_id is None:  # past the last order
                return _page(position, [])
        if after_id is None:
            rows = await conn.fetch(FIRST_SQL, position.size + 1)
        else:
            rows = await conn.fetch(KEYSET_SQL, after_id, position.size + 1)
    return _page(position, rows)


router = APIRouter(tags=["techniques"])


@router.get("/orders/feed", response_model=FeedPage)  # the shape, for the schema
async def orders_feed(
    pool: Pool,
    flags: Flags,
    response: Response,
    page: Annotated[int | None, Query(ge=1, le=MAX_PAGE)] = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    size: Annotated[int | None, Query(ge=1, le=MAX_SIZE)] = None,
) -> Response:
    try:
        asked = parse_position(page, cursor, size)
    except PagingError as exc:
        raise _invalid(exc.field, exc.value, str(exc)) from None
    return answer(await run(NAME, flags, naive, optimised, response, pool, asked), response)


TECHNIQUE = Technique(
    spec=TECHNIQUES[NAME],
    router=router,
)
