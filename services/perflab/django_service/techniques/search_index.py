"""Searching titles by words: a linear scan per request vs an inverted index built once.

Demonstrates: `GET /books/search?q=amber river&limit=20`, the books whose title holds
every word of the query, by id (the API's answer). Each worker process loads every
(id, title) once through the ORM (`values_list`), under a lock so its threads read
them once. The naive path tokenises and checks every title on each request: the work
grows with the catalogue. The optimised path builds an inverted index once (word ->
the sorted ids of the titles holding it) and intersects the query's posting lists,
the shortest first. Both algorithms are the API's (`perflab/search.py`). (Postgres
full-text search would stem and drop stop words, so its answers would differ from the
scan's; this is the algorithm lesson.)
Watch: `perflab_search_items_examined_total{variant}` (service=django) per request
(the `X-Search-Examined` header per answer) and the route's p95. Expect every title
(20k at scale 1) against ~1.2k posting entries for one word, fewer for two.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book
from perflab.django_service.techniques.base import Technique, int_param, json_answer, run
from perflab.errors import BadRequest
from perflab.search import Titles, lookup, query_words, scan
from perflab.technique_metrics import SEARCH_ITEMS_EXAMINED

NAME = "search_index"
EXAMINED_HEADER = "X-Search-Examined"
MAX_QUERY_CHARS = 200
_COUNTERS = {v: SEARCH_ITEMS_EXAMINED.labels(variant=v) for v in ("naive", "optimised")}
# Per process, loaded on first use: every title, and its index once the optimised path asks.
_titles = Titles()


def _loaded() -> Titles:
    _titles.load_once(lambda: Book.objects.order_by("id").values_list("id", "title"))
    return _titles


def _answer(query: list[str], ids: list[int], limit: int) -> dict[str, Any]:
    return {"query": query, "total": len(ids), "books": _titles.hits(ids, limit)}


def naive(query: list[str], limit: int) -> tuple[dict[str, Any], int]:
    ids, examined = scan(_loaded().titles, query)
    _COUNTERS["naive"].inc(examined)
    return _answer(query, ids, limit), examined


def optimised(query: list[str], limit: int) -> tuple[dict[str, Any], int]:
    ids, examined = lookup(_loaded().inverted(), query)
    _COUNTERS["optimised"].inc(examined)
    return _answer(query, ids, limit), examined


def _query(request: HttpRequest) -> list[str]:
    q = request.GET.get("q", "")
    if not 1 <= len(q) <= MAX_QUERY_CHARS:
        raise BadRequest(f"query parameter 'q' must be 1 to {MAX_QUERY_CHARS} characters")
    query = query_words(q)
    if not query:
        raise BadRequest(f"q={q!r} holds no word to search for")
    return query


@require_GET
def search_books(request: HttpRequest) -> JsonResponse:
    query, limit = _query(request), int_param(request, "limit", 20, 1, 200)
    variant, (found, examined) = run(NAME, naive, optimised, query, limit)
    response = json_answer(found, variant)
    response[EXAMINED_HEADER] = str(examined)
    return response


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("books/search", search_books)])
