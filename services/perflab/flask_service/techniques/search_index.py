"""Searching titles by words: a linear scan per request vs an inverted index built once.

Demonstrates: `GET /books/search?q=amber river&limit=20`, the books whose title holds
every word of the query, by id (the API's answer). Each worker process loads every
(id, title) once with one SQLAlchemy `select`, under a lock so its threads read them
once. The naive path tokenises and checks every title on each request: the work grows
with the catalogue. The optimised path builds an inverted index once (word -> the
sorted ids of the titles holding it) and intersects the query's posting lists, the
shortest first. Both algorithms are the API's (`perflab/search.py`).
Watch: `perflab_search_items_examined_total{variant}` (service=flask) per request (the
`X-Search-Examined` header per answer) and the route's p95. Expect every title (20k at
scale 1) against ~1.2k posting entries for one word, fewer for two.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import select

from perflab.catalog import TECHNIQUES
from perflab.errors import BadRequest
from perflab.flask_service import validation
from perflab.flask_service.models import Book
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run
from perflab.search import Titles, lookup, query_words, scan
from perflab.technique_metrics import SEARCH_ITEMS_EXAMINED

NAME = "search_index"
EXAMINED_HEADER = "X-Search-Examined"
_COUNTERS = {v: SEARCH_ITEMS_EXAMINED.labels(variant=v) for v in ("naive", "optimised")}
# Per process, loaded on first use: every title, and its index once the optimised path asks.
_titles = Titles()


def _rows() -> list[tuple[int, str]]:
    rows = session().execute(select(Book.id, Book.title).order_by(Book.id))
    return [(book_id, title) for book_id, title in rows]


def _answer(query: list[str], ids: list[int], limit: int) -> dict[str, Any]:
    return {"query": query, "total": len(ids), "books": _titles.hits(ids, limit)}


def naive(query: list[str], limit: int) -> tuple[dict[str, Any], int]:
    _titles.load_once(_rows)
    ids, examined = scan(_titles.titles, query)
    _COUNTERS["naive"].inc(examined)
    return _answer(query, ids, limit), examined


def optimised(query: list[str], limit: int) -> tuple[dict[str, Any], int]:
    _titles.load_once(_rows)
    ids, examined = lookup(_titles.inverted(), query)
    _COUNTERS["optimised"].inc(examined)
    return _answer(query, ids, limit), examined


class Search(BaseModel):
    q: str = Field(min_length=1, max_length=200, description="Words, all required.")
    limit: int = Field(20, ge=1, le=200)


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/books/search")
def search_books() -> ResponseReturnValue:
    search = validation.query(Search)
    query = query_words(search.q)
    if not query:
        raise BadRequest(f"q={search.q!r} holds no word to search for")
    found, examined = run(NAME, naive, optimised, query, search.limit)
    return jsonify(found), {EXAMINED_HEADER: str(examined)}


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
