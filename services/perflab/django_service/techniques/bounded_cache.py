"""A memo of computed reports: `functools.cache` (unbounded) vs `functools.lru_cache`.

Demonstrates: `GET /authors/{author_id}/report?since=&until=`, an author's books
published between two years with their review counts and ratings (the API's report,
as an ORM aggregate). Both paths memoise the report per process with the standard
library's decorators, keyed by the request's parameters. The naive memo is
`functools.cache`: every new (author, since, until) adds an entry and none ever leaves,
so under varied traffic each gunicorn worker's memory keeps growing, which
`ApiMemoryGrowing` watches for in every service (Python's docs: `cache` "never needs to
evict", which is the leak). The optimised memo is `functools.lru_cache(maxsize=256)`:
the least recently used report goes when a new one comes, so memory levels off. Both
are thread-safe for gthread workers; entries come from their public `cache_info()`
(`perflab/memos.py` holds the two). Each variant holds only its own memo: the first
request of one variant empties the other's, as a deploy would.
(Django's `LocMemCache` with `MAX_ENTRIES` bounds a memo too, but pickles every value
and has no public size to watch.)
Watch: `perflab_memo_entries{variant}` (service=django) and the workers' RSS. Expect
entries to climb without end with the flag off and to stop at 256 per worker with it
on; the same report either way.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db.models import Avg, Count
from django.db.models.functions import Round
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book
from perflab.django_service.techniques.base import Technique, check_id, int_param, json_answer, run
from perflab.memos import MemoPair
from perflab.shapes import report_of

NAME = "bounded_cache"
LRU_SIZE = 256
Key = tuple[int, int, int]


def report_query(author_id: int, since: int, until: int) -> Any:
    """The API's report statement in the ORM: one grouped LEFT JOIN (tests compare)."""
    return (
        Book.objects.filter(author_id=author_id, published_year__range=(since, until))
        .annotate(review_count=Count("reviews"), average_rating=Round(Avg("reviews__rating"), 3))
        .order_by("published_year", "id")
        .values("id", "title", "published_year", "review_count", "average_rating")
    )


def _compute(key: Key) -> dict[str, Any]:
    return report_of(key, list(report_query(*key)))


# Per process, on purpose: these are the memos the lesson is about.
memos = MemoPair(functools.cache(_compute), functools.lru_cache(maxsize=LRU_SIZE)(_compute))


def naive(key: Key) -> dict[str, Any]:
    report: dict[str, Any] = memos.recall("naive", key)
    return report


def optimised(key: Key) -> dict[str, Any]:
    report: dict[str, Any] = memos.recall("optimised", key)
    return report


@require_GET
def author_report(request: HttpRequest, author_id: int) -> JsonResponse:
    key = (
        check_id(author_id, "author_id"),
        int_param(request, "since", 1950, 1000, 3000),
        int_param(request, "until", 2025, 1000, 3000),
    )
    variant, report = run(NAME, naive, optimised, key)
    return json_answer(report, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("authors/<int:author_id>/report", author_report)])
