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

import base64
import binascii
from dataclasses import dataclass
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

NAME = "pagination"
MAX_PAGE = 1_000_000
MAX_SIZE = 200
DEFAULT_SIZE = 50
MAX_ORDER_ID = 2**63 - 1  # orders.id is a bigint
_COLUMNS = "id, user_id, book_id, quantity, total_cents, status, created_at"
OFFSET_SQL = f"SELECT {_COLUMNS} FROM orders ORDER BY id OFFSET $1 LIMIT $2"
KEYSET_SQL = f"SELECT {_COLUMNS} FROM orders WHERE id > $1 ORDER BY id LIMIT $2"
FIRST_SQL = f"SELECT {_COLUMNS} FROM orders ORDER BY id LIMIT $1"
# The last id of the previous page, for a direct jump without a cursor.
BOUNDARY_SQL = "SELECT id FROM orders ORDER BY id OFFSET $1 LIMIT 1"
_CURSOR_PREFIX = "v1"


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


@dataclass(frozen=True)
class Position:
    page: int
    size: int
    after_id: int | None  # known from a cursor; None when only the page is known


def encode_cursor(position: Position) -> str:
    raw = f"{_CURSOR_PREFIX}:{position.page}:{position.size}:{position.after_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position a cursor of this endpoint names; 422 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, page, size, after_id = raw.split(":")
        position = Position(int(page), int(size), int(after_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid("cursor", cursor, "not a cursor returned by this endpoint") from None
    # Every bound checked before any SQL: a forged id beyond bigint must not reach asyncpg.
    if prefix != _CURSOR_PREFIX or not (
        1 < position.page <= MAX_PAGE
        and 1 <= position.size <= MAX_SIZE
        and 1 <= (position.after_id or 0) <= MAX_ORDER_ID
    ):
        raise _invalid("cursor", cursor, "not a cursor returned by this endpoint")
    return position


def _invalid(field: str, value: object, msg: str) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", field), "msg": msg, "input": value}]
    )


def _page(position: Position, rows: list[asyncpg.Record]) -> bytes:
    # One row beyond the page says whether a next page exists. The columns are
    # FeedOrder's fields: FeedPage rendered once (render.py says why not the models).
    items = [dict(row) for row in rows[: position.size]]
    following = Position(position.page + 1, position.size, items[-1]["id"]) if items else None
    return render(
        {
            "page": position.page,
            "size": position.size,
            "items": items,
            "next_cursor": (
                encode_cursor(following) if following and len(rows) > position.size else None
            ),
        }
    )


async def naive(pool: Pool, position: Position) -> bytes:
    offset = (position.page - 1) * position.size
    async with acquire(pool) as conn:
        rows = await conn.fetch(OFFSET_SQL, offset, position.size + 1)
    return _page(position, rows)


async def optimised(pool: Pool, position: Position) -> bytes:
    async with acquire(pool) as conn:
        after_id = position.after_id
        if after_id is None and position.page > 1:
            boundary = (position.page - 1) * position.size - 1
            after_id = await conn.fetchval(BOUNDARY_SQL, boundary)
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
    if cursor is None:
        position = Position(page or 1, size or DEFAULT_SIZE, None)
    elif page is not None:
        raise _invalid("page", page, "give either page or cursor, not both")
    else:
        position = decode_cursor(cursor)
        if size is not None and size != position.size:
            raise _invalid("size", size, f"the cursor is for pages of {position.size}")
    return answer(await run(NAME, flags, naive, optimised, response, pool, position), response)


TECHNIQUE = Technique(
    spec=TECHNIQUES[NAME],
    router=router,
)
