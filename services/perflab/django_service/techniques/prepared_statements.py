"""Django's default, prepared statements off, vs psycopg 3's prepared statements on.

Demonstrates: `GET /authors/{author_id}`, an author with book count, review count,
average rating, genres and years (the API's three-table join with aggregates, as one
ORM query), so parsing and planning are a real part of its cost. Django's postgresql
backend sets psycopg's `prepare_threshold` to None and binds parameters client-side,
so that connection poolers in transaction mode keep working: every query is sent as
new SQL text that Postgres parses and plans again. The naive path reads through the
`persistent` alias, configured that way. The optimised path reads through the
`prepared` alias, whose OPTIONS are `server_side_binding: True` and
`prepare_threshold: 5` (psycopg's own default): after a query's fifth run on a
connection, psycopg prepares it and later runs only bind and execute it. Both aliases
keep their connections (`CONN_MAX_AGE=60`), since a prepared statement lives in one
Postgres session: only the preparing differs.
Watch: `perflab_technique_duration_seconds{technique="prepared_statements"}`
(service=django) and Postgres' CPU. Expect Parse messages per query 1 -> 0 once warm
and a small drop in the technique's time.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Avg, Count, Max, Min, Q
from django.db.models.functions import Round
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Author
from perflab.django_service.techniques.base import Technique, check_id, json_answer, run
from perflab.errors import NotFound

NAME = "prepared_statements"
NAIVE_ALIAS = "persistent"
OPTIMISED_ALIAS = "prepared"


def author_query(alias: str, author_id: int) -> Any:
    """The API's author statement in the ORM: authors LEFT JOIN books LEFT JOIN reviews."""
    return (
        Author.objects.using(alias)
        .filter(id=author_id)
        .annotate(
            book_count=Count("books", distinct=True),
            review_count=Count("books__reviews"),
            average_rating=Round(Avg("books__reviews__rating"), 3),
            genres=ArrayAgg(
                "books__genre",
                distinct=True,
                filter=Q(books__genre__isnull=False),
                order_by="books__genre",
            ),
            first_published=Min("books__published_year"),
            last_published=Max("books__published_year"),
        )
        .values(
            "id",
            "name",
            "country",
            "book_count",
            "review_count",
            "average_rating",
            "genres",
            "first_published",
            "last_published",
        )  # fmt: skip
    )


def _author(alias: str, author_id: int) -> dict[str, Any]:
    author = author_query(alias, author_id).first()
    if author is None:
        raise NotFound(f"author {author_id} not found")
    # An author without books: ARRAY_AGG over no rows is NULL; the API answers [].
    return {**author, "genres": author["genres"] or []}


def naive(author_id: int) -> dict[str, Any]:
    return _author(NAIVE_ALIAS, author_id)


def optimised(author_id: int) -> dict[str, Any]:
    return _author(OPTIMISED_ALIAS, author_id)


@require_GET
def get_author(request: HttpRequest, author_id: int) -> JsonResponse:
    variant, author = run(NAME, naive, optimised, check_id(author_id, "author_id"))
    return json_answer(author, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("authors/<int:author_id>", get_author)])
