"""A server-rendered page whose expensive sidebar is cached with `{% cache %}`.

Demonstrates: `GET /books/{book_id}/page`, a book's HTML page with a "best sellers"
sidebar: units sold per book over the last 10,000 orders, an aggregate far costlier than
the page itself (a join and a grouping of 10k rows against one primary-key read). The
sidebar's queryset goes to the template unevaluated; the template iterates it. Naive:
the sidebar is rendered every time, so its query runs on every page. Optimised: the same
fragment inside `{% cache 60 bestsellers %}`: its rendered HTML comes from the cache
(Redis) and the queryset is never evaluated on a hit.
Hits and misses are counted in `perflab_cache_requests_total{cache="sidebar_fragment"}`.
Watch: `perflab_db_queries_per_request{route="/books/{book_id}/page"}` (1 instead of
2 statements on a hit) and the route's p95 (service=django).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet, Subquery, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template import engines
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book, Order
from perflab.django_service.techniques.base import Technique, answer, check_id, run
from perflab.errors import NotFound
from perflab.telemetry.metrics import CACHE_REQUESTS

NAME = "template_fragment_cache"
CACHE = "sidebar_fragment"
TEMPLATE = "shop/book_page.html"
SIDEBAR_BOOKS = 10
SIDEBAR_ORDERS = 10_000  # "best sellers lately": the most recent orders only

for _result in ("hit", "miss"):
    CACHE_REQUESTS.labels(cache=CACHE, result=_result)


class LazySidebar:
    """The sidebar's rows, queried only if the template iterates them."""

    def __init__(self, rows: QuerySet[Book]) -> None:
        self._rows = rows
        self.evaluated = False

    def __iter__(self) -> Iterator[Any]:
        self.evaluated = True
        return iter(self._rows)


def _bestsellers() -> QuerySet[Book]:
    # The id of the 10,000th most recent order, as a subquery: one statement in all.
    since = Order.objects.order_by("-id").values("id")[SIDEBAR_ORDERS - 1 : SIDEBAR_ORDERS]
    return (
        Book.objects.filter(orders__id__gte=Subquery(since))
        .annotate(sold=Sum("orders__quantity"))
        .order_by("-sold", "id")
        .values("id", "title", "sold")[:SIDEBAR_BOOKS]
    )


def _page(request: HttpRequest, book_id: int, cached: bool) -> HttpResponseBase:
    book = Book.objects.select_related("author").filter(id=book_id).first()
    if book is None:
        raise NotFound(f"book {book_id} not found")
    sidebar = LazySidebar(_bestsellers())
    html = (
        engines["cached"]
        .get_template(TEMPLATE)
        .render({"book": book, "bestsellers": sidebar, "cache_sidebar": cached}, request)
    )
    if cached:
        CACHE_REQUESTS.labels(cache=CACHE, result="miss" if sidebar.evaluated else "hit").inc()
    return HttpResponse(html)


def naive(request: HttpRequest, book_id: int) -> HttpResponseBase:
    return _page(request, book_id, cached=False)


def optimised(request: HttpRequest, book_id: int) -> HttpResponseBase:
    return _page(request, book_id, cached=True)


@require_GET
def book_page(request: HttpRequest, book_id: int) -> HttpResponseBase:
    variant, response = run(NAME, naive, optimised, request, check_id(book_id, "book_id"))
    return answer(response, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("books/<int:book_id>/page", book_page)])
