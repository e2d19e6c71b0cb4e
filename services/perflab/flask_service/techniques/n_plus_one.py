"""N+1 queries through lazy relationships vs eager loading.

Demonstrates: `GET /books`, books with their author and review count, the ORM way.
The naive path loads the page, then touches `book.author` and `book.reviews` in the
loop: each relationship is `lazy="select"` (SQLAlchemy's default), so each first
access runs one more SELECT: 1 + N (reviews) + one per distinct author (the identity
map serves an author already loaded). The optimised path asks for the same objects
with `joinedload(Book.author)` (the author comes in the page's own query, a JOIN) and
`selectinload(Book.reviews)` (every review of the page in one `IN` query): 2 statements
whatever the page size.
Watch: `perflab_db_queries_per_request{route="/books"}` and the route's p95
(Database and Techniques dashboards). Expect ~2N fewer statements and a lower p95.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from perflab.catalog import TECHNIQUES
from perflab.flask_service import validation
from perflab.flask_service.models import Book
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run

NAME = "n_plus_one"


class Page(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)


def _summary(book: Book) -> dict[str, Any]:
    # Touching `author` and `reviews` is what loads them when they were not loaded yet.
    return {
        "id": book.id,
        "title": book.title,
        "genre": book.genre,
        "author": {"id": book.author.id, "name": book.author.name},
        "review_count": len(book.reviews),
    }


def naive(limit: int) -> list[dict[str, Any]]:
    books = session().scalars(select(Book).order_by(Book.id).limit(limit)).all()
    return [_summary(book) for book in books]


def optimised(limit: int) -> list[dict[str, Any]]:
    query = (
        select(Book)
        .options(joinedload(Book.author), selectinload(Book.reviews))
        .order_by(Book.id)
        .limit(limit)
    )
    return [_summary(book) for book in session().scalars(query).all()]


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/books")
def list_books() -> ResponseReturnValue:
    page = validation.query(Page)
    return jsonify(run(NAME, naive, optimised, page.limit))


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
