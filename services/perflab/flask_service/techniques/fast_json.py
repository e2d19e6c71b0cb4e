"""orjson vs the standard library's json for a large payload (the API's book dump).

Demonstrates: dumping a few thousand books with their author and review summary (about
600 KB of JSON). The rows are loaded once with SQLAlchemy (the books joined to their
authors, then one grouped aggregate of the page's reviews); only the serialisation
differs and only it is timed. The naive path is what Flask's default JSON provider does
underneath, `json.dumps`, calling back into Python for every datetime; the optimised
path is `orjson.dumps`, returned as the response's bytes (perflab/serialise.py, the
API's two serialisers). The same bytes either way, and the same as the API's.
Watch: `perflab_technique_cpu_seconds{technique="fast_json"}` (service=flask): the
request thread's CPU time in the serialisation alone.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from perflab.catalog import TECHNIQUES
from perflab.flask_service import validation
from perflab.flask_service.models import Book, Review
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run_cpu_bound
from perflab.serialise import with_orjson, with_stdlib
from perflab.shapes import book_with_author

NAME = "fast_json"


class Dump(BaseModel):
    limit: int = Field(2_000, ge=1, le=20_000)


def books(limit: int) -> list[dict[str, Any]]:
    """The page of books in the API's shape: two queries, as the API makes."""
    query = select(Book).options(joinedload(Book.author)).order_by(Book.id).limit(limit)
    page = list(session().scalars(query))
    aggregate = (
        select(
            Review.book_id,
            func.count(Review.id),
            func.round(func.avg(Review.rating), 2),
            func.min(Review.created_at),
            func.max(Review.created_at),
        )
        .where(Review.book_id.in_([b.id for b in page]))
        .group_by(Review.book_id)
    )
    summaries = {row[0]: row[1:] for row in session().execute(aggregate)}
    result = []
    for book in page:
        count, rating, first_at, last_at = summaries.get(book.id, (0, None, None, None))
        result.append(
            {
                **book_with_author(book, description=False),
                "reviews": {
                    "count": count,
                    "rating": None if rating is None else float(rating),
                    "first_at": first_at,
                    "last_at": last_at,
                },
            }
        )
    return result


def naive(payload: list[dict[str, Any]]) -> bytes:
    return with_stdlib(payload)


def optimised(payload: list[dict[str, Any]]) -> bytes:
    return with_orjson(payload)


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/books/dump")
def dump_books() -> ResponseReturnValue:
    payload = books(validation.query(Dump).limit)
    return Response(run_cpu_bound(NAME, naive, optimised, payload), mimetype="application/json")


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint, cpu_bound=True)
