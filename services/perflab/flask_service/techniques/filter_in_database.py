"""Filter and join in Python vs in SQL.

Demonstrates: `GET /books/by-country?country=FR&max_price=2500&limit=20`, the cheapest
books by authors from one country. The naive path is the classic ORM mistake: load
every book and every author (`select(Book)`, `select(Author)`), join them through a
dict, then filter, sort and slice in Python. Two statements, but every row of both
tables crosses the wire, is decoded and becomes an ORM object, for a page of 20. The
optimised path says it all in SQL, `select(Book).join(Book.author).where(...)`
`.order_by(...).limit(n)` (the one join the filter needs, nothing else), and Postgres
returns only the page.
Watch: `perflab_technique_duration_seconds{technique="filter_in_database"}`, the
route's p95 and the service's CPU (Techniques dashboard). Expect rows read per request
from every book plus every author (22k at scale 1) to at most `limit`, and p95 from
hundreds of ms to a few ms.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from perflab.catalog import TECHNIQUES
from perflab.flask_service import validation
from perflab.flask_service.models import Author, Book
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run

NAME = "filter_in_database"


class Search(BaseModel):
    country: str = Field(min_length=2, max_length=2, pattern="^[A-Z]{2}$")
    max_price: int = Field(default=2_500, ge=0, le=1_000_000)
    limit: int = Field(default=20, ge=1, le=100)


def _item(book: Book, author: Author) -> dict[str, Any]:
    return {
        "id": book.id,
        "title": book.title,
        "genre": book.genre,
        "price_cents": book.price_cents,
        "author": {"id": author.id, "name": author.name, "country": author.country},
    }


def naive(search: Search) -> list[dict[str, Any]]:
    db = session()
    authors = {author.id: author for author in db.scalars(select(Author))}
    matches = [
        (book, authors[book.author_id])
        for book in db.scalars(select(Book))
        if authors[book.author_id].country == search.country
        and book.price_cents <= search.max_price
    ]
    matches.sort(key=lambda pair: (pair[0].price_cents, pair[0].id))
    return [_item(book, author) for book, author in matches[: search.limit]]


def optimised(search: Search) -> list[dict[str, Any]]:
    query = (
        select(Book)
        .join(Book.author)
        .options(contains_eager(Book.author))
        .where(Author.country == search.country, Book.price_cents <= search.max_price)
        .order_by(Book.price_cents, Book.id)
        .limit(search.limit)
    )
    return [_item(book, book.author) for book in session().scalars(query)]


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/books/by-country")
def books_by_country() -> ResponseReturnValue:
    search = validation.query(Search)
    books = run(NAME, naive, optimised, search)
    return jsonify({"country": search.country, "max_price": search.max_price, "books": books})


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
