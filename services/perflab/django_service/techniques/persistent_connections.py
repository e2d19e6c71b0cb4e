"""A connection kept across requests (`CONN_MAX_AGE`) vs a new one for every request.

Demonstrates: `GET /books/{book_id}`, one book with its author, a single cheap query.
Django's own default, `CONN_MAX_AGE=0`, opens a Postgres connection for each request
(TCP, startup, authentication, a backend process forked by Postgres) and closes it when
the request ends: the naive path reads through the `direct` alias, set up that way. The
optimised path reads through the `persistent` alias (`CONN_MAX_AGE=60`,
`CONN_HEALTH_CHECKS=True`): each worker thread keeps its connection and reuses it.
(The service's `default` alias goes one step further, Django's native psycopg pool.)
Watch: `perflab_db_connections_opened_total` by `kind` (Database dashboard,
service=django): `direct` opens at the request rate when off, `persistent` ~0/s when on.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book
from perflab.django_service.techniques.base import Technique, check_id, json_answer, run
from perflab.errors import NotFound
from perflab.shapes import book_with_author

NAME = "persistent_connections"
NAIVE_ALIAS = "direct"
OPTIMISED_ALIAS = "persistent"


def _book(alias: str, book_id: int) -> dict[str, Any]:
    book = Book.objects.using(alias).select_related("author").filter(id=book_id).first()
    if book is None:
        raise NotFound(f"book {book_id} not found")
    return book_with_author(book)


def naive(book_id: int) -> dict[str, Any]:
    return _book(NAIVE_ALIAS, book_id)


def optimised(book_id: int) -> dict[str, Any]:
    return _book(OPTIMISED_ALIAS, book_id)


@require_GET
def get_book(request: HttpRequest, book_id: int) -> JsonResponse:
    variant, book = run(NAME, naive, optimised, check_id(book_id, "book_id"))
    return json_answer(book, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("books/<int:book_id>", get_book)])
