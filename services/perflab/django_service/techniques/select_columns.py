"""Selecting only the columns a page shows (`values()`) vs whole model instances.

Demonstrates: `GET /books/catalog`, a list page of books (id, title, author id, genre,
year, price). The naive path iterates `Book.objects.filter(...)`, the ORM default: a
`SELECT` of every column, so each book's ~1.5 KB description (and its ISBN) crosses
the socket and is decoded into a model instance only to be dropped. The optimised
path asks for the six columns with `.values(...)` (`.only(...)` is the same with
model instances). Same rows, same JSON.
Watch: `perflab_technique_duration_seconds{technique="select_columns"}` (service=
django). Expect bytes sent by Postgres per 50-book page down ~20x.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book
from perflab.django_service.techniques.base import (
    Technique,
    int_param,
    json_answer,
    run,
    storable_text,
)
from perflab.errors import BadRequest

NAME = "select_columns"
COLUMNS = ("id", "title", "author_id", "genre", "published_year", "price_cents")


def _books(genre: str | None, limit: int) -> QuerySet[Book]:
    books = Book.objects.order_by("id")
    return (books.filter(genre=genre) if genre is not None else books)[:limit]


def naive(genre: str | None, limit: int) -> list[dict[str, Any]]:
    return [{column: getattr(book, column) for column in COLUMNS} for book in _books(genre, limit)]


def optimised(genre: str | None, limit: int) -> list[dict[str, Any]]:
    return list(_books(genre, limit).values(*COLUMNS))


@require_GET
def catalog(request: HttpRequest) -> JsonResponse:
    genre = request.GET.get("genre")
    if genre is not None:
        if not 1 <= len(genre) <= 40:
            raise BadRequest("query parameter 'genre' must be 1 to 40 characters")
        storable_text(genre, "query parameter 'genre'")
    limit = int_param(request, "limit", 50, 1, 500)
    variant, page = run(NAME, naive, optimised, genre, limit)
    return json_answer(page, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("books/catalog", catalog)])
