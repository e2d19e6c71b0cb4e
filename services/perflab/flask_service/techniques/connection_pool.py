"""A pooled connection vs a new Postgres connection for every request, in SQLAlchemy.

Demonstrates: `GET /books/{book_id}`, one book with its author, a single cheap query.
The naive path runs it on an engine with `NullPool`: every checkout opens a new
connection (TCP, startup, authentication, a backend process forked by Postgres) and
every checkin closes it. The optimised path runs it on the engine's `QueuePool`, which
hands out a warm connection and takes it back. Two engines, chosen per request.
Watch: `rate(perflab_db_connections_opened_total[1m])` by `kind` (Database dashboard)
and the route's p95. Expect direct connections/s to equal requests/s when off and
0 when on, and a p50 a few ms lower.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from perflab.catalog import TECHNIQUES
from perflab.errors import NotFound
from perflab.flask_service import validation
from perflab.flask_service.models import Book
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run
from perflab.shapes import book_with_author

NAME = "connection_pool"


def _book(engine: Literal["pooled", "direct"], book_id: int) -> dict[str, Any]:
    query = select(Book).options(joinedload(Book.author)).where(Book.id == book_id)
    book = session(engine).scalars(query).one_or_none()
    if book is None:
        raise NotFound(f"book {book_id} not found")
    return book_with_author(book)


def naive(book_id: int) -> dict[str, Any]:
    return _book("direct", book_id)  # NullPool: connect, query, disconnect


def optimised(book_id: int) -> dict[str, Any]:
    return _book("pooled", book_id)


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/books/<int:book_id>")
def get_book(book_id: int) -> ResponseReturnValue:
    return jsonify(run(NAME, naive, optimised, validation.path_id("book_id", book_id)))


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
