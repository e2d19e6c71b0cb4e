"""An in-memory catalogue of every book: model instances vs `values_list(named=True)` rows.

Demonstrates: `GET /catalogue/stats?genre=`, price and year statistics computed from a
catalogue of every book that each worker process loads once and keeps in memory (the
API's answer). The naive catalogue is what `Book.objects.only(...)` gives: a model
instance per book, each with its own attribute dict and its own `ModelState`, though
nothing here saves or follows a relation. The optimised one is
`values_list(..., named=True)`: one named tuple per book, its field names held once by
the class. Same six fields, same numbers. Each process keeps only the form its flag
asks for (`perflab/book_catalogue.py`): the first request of the other variant drops
it and loads anew.
Watch: `perflab_catalogue_bytes{variant}` (service=django) and the workers' RSS. Expect
about 4x fewer bytes per book held (an instance with its state ~410 B, a named tuple
~100 B, field values left out), ~6 MB less per worker process at scale 1 (20k books).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.book_catalogue import (
    FIELDS,
    HeldCatalogue,
    statistics_of_objects,
    statistics_of_tuples,
)
from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book
from perflab.django_service.techniques.base import Technique, json_answer, run
from perflab.errors import BadRequest

NAME = "compact_objects"
MAX_GENRE_CHARS = 50
# Per process, on purpose: the catalogue held in memory is what the lesson is about.
catalogue = HeldCatalogue()


def model_instances() -> list[Book]:
    return list(Book.objects.only(*FIELDS).order_by("id"))


def named_rows() -> list[Any]:
    return list(Book.objects.order_by("id").values_list(*FIELDS, named=True))


def naive(genre: str | None) -> dict[str, Any]:
    return statistics_of_objects(catalogue.rows("naive", model_instances), genre)


def optimised(genre: str | None) -> dict[str, Any]:
    return statistics_of_tuples(catalogue.rows("optimised", named_rows), genre)


def _genre(request: HttpRequest) -> str | None:
    genre = request.GET.get("genre")
    if genre is not None and not 1 <= len(genre) <= MAX_GENRE_CHARS:
        raise BadRequest(f"query parameter 'genre' must be 1 to {MAX_GENRE_CHARS} characters")
    return genre


@require_GET
def catalogue_stats(request: HttpRequest) -> JsonResponse:
    variant, stats = run(NAME, naive, optimised, _genre(request))
    return json_answer(stats, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("catalogue/stats", catalogue_stats)])
