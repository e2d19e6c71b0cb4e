"""N+1 queries vs `select_related` + an annotated count (the ORM's own cure).

Demonstrates: listing books with their author and review count. The naive path is
the classic ORM trap: iterate a queryset and touch `book.author` (a lazy foreign key:
one query per book) and `book.reviews.count()` (one more per book): 1 + 2N
statements. The optimised path asks for everything at once:
`select_related("author")` joins the author in and `annotate(Count("reviews"))` counts
in the same query: 1 statement whatever the page size.
Watch: `perflab_db_queries_per_request{route="/books"}` and the route's p95 (Database
and Techniques dashboards, service=django). Expect 101 -> 1 statements for 50 books.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book
from perflab.django_service.techniques.base import Technique, int_param, json_answer, run

NAME = "n_plus_one"


def _summary(book: Book, author: Any, review_count: int) -> dict[str, Any]:
    return {
        "id": book.id,
        "title": book.title,
        "genre": book.genre,
        "author": {"id": author.id, "name": author.name},
        "review_count": review_count,
    }


def naive(limit: int) -> list[dict[str, Any]]:
    books = Book.objects.order_by("id")[:limit]
    return [_summary(book, book.author, book.reviews.count()) for book in books]


def optimised(limit: int) -> list[dict[str, Any]]:
    books = (
        Book.objects.select_related("author")
        .annotate(review_count=Count("reviews"))
        .order_by("id")[:limit]
    )
    return [_summary(book, book.author, book.review_count) for book in books]


@require_GET
def list_books(request: HttpRequest) -> JsonResponse:
    limit = int_param(request, "limit", 50, 1, 200)
    variant, books = run(NAME, naive, optimised, limit)
    return json_answer(books, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("books", list_books)])
