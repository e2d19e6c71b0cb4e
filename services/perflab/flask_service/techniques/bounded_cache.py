"""A memo of computed reports: cachetools over a plain dict vs over a bounded LRUCache.

Demonstrates: `GET /authors/{author_id}/report?since=&until=`, an author's books
published between two years with their review counts and ratings (the API's report,
as one SQLAlchemy statement). Both paths memoise the report per process with the same
`cachetools.cached` decorator, keyed by the request's parameters; only the cache object
differs. The naive memo is a plain dict (cachetools' own example of an unbounded
cache): every new (author, since, until) adds an entry and none ever leaves, so under
varied traffic each gunicorn worker's memory keeps growing, which `ApiMemoryGrowing`
watches for in every service.
The optimised memo is an `LRUCache(maxsize=256)`: the least recently used report goes
when a new one comes, so memory levels off. An LRUCache reorders itself on every read,
so it is not thread-safe: gthread workers share it behind the decorator's `lock`.
Each variant holds only its own memo: the first request of one variant empties the
other's, as a deploy would.
Watch: `perflab_memo_entries{variant}` (service=flask) and the workers' RSS. Expect
entries to climb without end with the flag off and to stop at 256 per worker with it
on; the same report either way.
"""

from __future__ import annotations

import threading
from typing import Any

from cachetools import LRUCache, cached
from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import Float, Select, cast, func, select

from perflab.catalog import TECHNIQUES
from perflab.flask_service import validation
from perflab.flask_service.models import Book, Review
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run
from perflab.memos import MemoPair
from perflab.shapes import report_of

NAME = "bounded_cache"
LRU_SIZE = 256
Key = tuple[int, int, int]


def report_query(author_id: int, since: int, until: int) -> Select[Any]:
    """The API's report statement: one grouped LEFT JOIN (tests compare)."""
    average = cast(func.round(func.avg(Review.rating), 3), Float)
    return (
        select(
            Book.id,
            Book.title,
            Book.published_year,
            func.count(Review.id).label("review_count"),
            average.label("average_rating"),
        )
        .outerjoin(Review, Review.book_id == Book.id)
        .where(Book.author_id == author_id, Book.published_year.between(since, until))
        .group_by(Book.id)
        .order_by(Book.published_year, Book.id)
    )


def _compute(key: Key) -> dict[str, Any]:
    rows = session().execute(report_query(*key)).mappings()
    return report_of(key, [dict(row) for row in rows])


# Per process, on purpose: these are the memos the lesson is about.
memos = MemoPair(
    cached(cache={}, info=True)(_compute),
    cached(cache=LRUCache(maxsize=LRU_SIZE), lock=threading.Lock(), info=True)(_compute),
)


def naive(key: Key) -> dict[str, Any]:
    report: dict[str, Any] = memos.recall("naive", key)
    return report


def optimised(key: Key) -> dict[str, Any]:
    report: dict[str, Any] = memos.recall("optimised", key)
    return report


class Years(BaseModel):
    since: int = Field(1950, ge=1000, le=3000)
    until: int = Field(2025, ge=1000, le=3000)


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/authors/<int:author_id>/report")
def author_report(author_id: int) -> ResponseReturnValue:
    years = validation.query(Years)
    key = (validation.path_id("author_id", author_id), years.since, years.until)
    return jsonify(run(NAME, naive, optimised, key))


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
