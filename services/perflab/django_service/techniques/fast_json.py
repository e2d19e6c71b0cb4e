"""orjson vs the standard library's json for a large payload (the API's book dump).

Demonstrates: dumping a few thousand books with their author and review summary (about
600 KB of JSON). The rows are loaded once with the ORM (`select_related("author")`, then
one grouped aggregate of the page's reviews); only the serialisation differs and only it
is timed. The naive path is what `JsonResponse` does underneath, `json.dumps`, calling
back into Python for every datetime; the optimised path is `orjson.dumps`, handed to an
`HttpResponse` as bytes (perflab/serialise.py, the API's two serialisers). The same bytes
either way, and the same as the API's.
Watch: `perflab_technique_cpu_seconds{technique="fast_json"}` (service=django): the
request thread's CPU time in the serialisation alone.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, DecimalField, Max, Min
from django.db.models.functions import Round
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book, Review
from perflab.django_service.techniques.base import Technique, answer, int_param, run_cpu_bound
from perflab.serialise import with_orjson, with_stdlib
from perflab.shapes import book_with_author

NAME = "fast_json"
MAX_LIMIT = 20_000


def books(limit: int) -> list[dict[str, Any]]:
    """The page of books in the API's shape: two queries, as the API makes."""
    page = list(Book.objects.select_related("author").order_by("id")[:limit])
    summaries = {
        row["book_id"]: row
        for row in Review.objects.filter(book_id__in=[b.id for b in page])
        .order_by()
        .values("book_id")
        .annotate(
            count=Count("id"),
            rating=Round(Avg("rating", output_field=DecimalField()), 2),
            first_at=Min("created_at"),
            last_at=Max("created_at"),
        )
    }
    result = []
    for book in page:
        summary = summaries.get(book.id)
        result.append(
            {
                **book_with_author(book, description=False),
                "reviews": {
                    "count": summary["count"] if summary else 0,
                    "rating": float(summary["rating"]) if summary else None,
                    "first_at": summary["first_at"] if summary else None,
                    "last_at": summary["last_at"] if summary else None,
                },
            }
        )
    return result


def naive(payload: list[dict[str, Any]]) -> bytes:
    return with_stdlib(payload)


def optimised(payload: list[dict[str, Any]]) -> bytes:
    return with_orjson(payload)


@require_GET
def dump_books(request: HttpRequest) -> HttpResponseBase:
    payload = books(int_param(request, "limit", 2_000, 1, MAX_LIMIT))
    variant, body = run_cpu_bound(NAME, naive, optimised, payload)
    return answer(HttpResponse(body, content_type="application/json"), variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("books/dump", dump_books)], cpu_bound=True)
