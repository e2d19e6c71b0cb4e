"""Keyset (seek) pagination vs a deep OFFSET, in SQLAlchemy, on the API's order feed.

Demonstrates: `GET /orders/feed`, every order in id order, page by page, with the
API's `next_cursor` (perflab/paging.py). The naive path is
`select(...).order_by(Order.id).offset((N-1)*size).limit(size)`: Postgres walks and
throws away every earlier row, so page N costs N x size rows. The optimised path seeks,
`.where(Order.id > last_id).order_by(Order.id).limit(size)`: one index descent and
`size` rows on any page. Asked for `page=N` without a cursor, it must first find the
page's boundary id, which still means counting (N-1) x size primary-key entries: only
following `next_cursor` is cheap. Both read one row beyond the page to know whether a
next one exists. Same items and cursor either way.
Watch: `perflab_technique_duration_seconds{technique="pagination"}` (service=flask).
Expect rows read per page N x size -> size.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import Select, select

from perflab.catalog import TECHNIQUES
from perflab.flask_service import validation
from perflab.flask_service.models import Order
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run, utc_iso
from perflab.paging import MAX_PAGE, MAX_SIZE, PagingError, Position, page_answer, parse_position

NAME = "pagination"
COLUMNS = (
    Order.id, Order.user_id, Order.book_id, Order.quantity, Order.total_cents, Order.status,
    Order.created_at,
)  # fmt: skip


def orders() -> Select[Any]:
    """Every order in the feed's order (tests EXPLAIN its slices)."""
    return select(*COLUMNS).order_by(Order.id)


def _rows(query: Select[Any]) -> list[dict[str, Any]]:
    rows = [dict(row) for row in session().execute(query).mappings()]
    for row in rows:
        row["created_at"] = utc_iso(row["created_at"])
    return rows


def _page(position: Position, rows: list[dict[str, Any]]) -> dict[str, Any]:
    # One row beyond the page says whether a next one exists.
    return page_answer(position, rows[: position.size], more=len(rows) > position.size)


def naive(position: Position) -> dict[str, Any]:
    # A cursor's last id is ignored: OFFSET knows pages by number only.
    return _page(position, _rows(orders().offset(position.offset).limit(position.size + 1)))


def optimised(position: Position) -> dict[str, Any]:
    after_id = position.after_id
    if after_id is None and position.page > 1:
        # A jump without a cursor: the previous page's last id, found by counting.
        boundary = select(Order.id).order_by(Order.id).offset(position.offset - 1).limit(1)
        after_id = session().execute(boundary).scalar()
        if after_id is None:  # past the last order
            return _page(position, [])
    seek = orders() if after_id is None else orders().where(Order.id > after_id)
    return _page(position, _rows(seek.limit(position.size + 1)))


class Feed(BaseModel):
    page: int | None = Field(None, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(None, min_length=1, max_length=200)
    size: int | None = Field(None, ge=1, le=MAX_SIZE)


def _position(feed: Feed) -> Position:
    try:
        return parse_position(feed.page, feed.cursor, feed.size)
    except PagingError as exc:
        error = {"type": "value_error", "loc": (exc.field,), "msg": str(exc), "input": exc.value}
        raise validation.InvalidRequest("query", [error]) from None


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/orders/feed")
def orders_feed() -> ResponseReturnValue:
    position = _position(validation.query(Feed))
    return jsonify(run(NAME, naive, optimised, position))


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
