"""Loading only the columns a page shows vs whole ORM rows.

Demonstrates: `GET /books/catalog`, a list page of books (id, title, author id, genre,
year, price). The naive path asks for `select(Book)`, the ORM default: every mapped
column, so every book's ~1.5 KB description (and its ISBN) comes out of Postgres,
over the socket and through psycopg's decoder, only to be dropped. The optimised path
asks for the same entities with `load_only(...)` of the six columns the page needs.
Same rows, same JSON.
Watch: `perflab_technique_duration_seconds{technique="select_columns"}` and the
route's p95 (Techniques dashboard). Expect bytes sent by Postgres per 50-book page
down ~20x; the latency gain is small on loopback and grows with page size and distance.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import Select, select
from sqlalchemy.orm import load_only

from perflab.catalog import TECHNIQUES
from perflab.flask_service import validation
from perflab.flask_service.models import Book
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run
from perflab.text import StorableText

NAME = "select_columns"
SHOWN = (Book.id, Book.title, Book.author_id, Book.genre, Book.published_year, Book.price_cents)


class Page(BaseModel):
    genre: StorableText | None = Field(default=None, min_length=1, max_length=40)
    limit: int = Field(default=50, ge=1, le=500)


def _page(query: Select[tuple[Book]], page: Page) -> list[dict[str, Any]]:
    if page.genre is not None:
        query = query.where(Book.genre == page.genre)
    books = session().scalars(query.order_by(Book.id).limit(page.limit))
    return [
        {
            "id": b.id,
            "title": b.title,
            "author_id": b.author_id,
            "genre": b.genre,
            "published_year": b.published_year,
            "price_cents": b.price_cents,
        }
        for b in books
    ]


def naive(page: Page) -> list[dict[str, Any]]:
    return _page(select(Book), page)


def optimised(page: Page) -> list[dict[str, Any]]:
    return _page(select(Book).options(load_only(*SHOWN)), page)


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/books/catalog")
def catalog() -> ResponseReturnValue:
    return jsonify(run(NAME, naive, optimised, validation.query(Page)))


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
