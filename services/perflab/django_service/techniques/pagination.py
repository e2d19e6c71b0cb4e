"""Keyset (seek) pagination vs Django's `Paginator`, on the API's order feed.

Demonstrates: `GET /orders/feed`, every order in id order, page by page, with the
API's `next_cursor` (perflab/paging.py). The naive path is the one Django's
documentation starts with: `Paginator(queryset, size).page(N)`, which runs
`SELECT COUNT(*)` over every order (to know the page count) and then the page with
`OFFSET (N-1)*size`, where Postgres walks and throws away every earlier row. The
optimised path seeks: `filter(id__gt=last_id).order_by("id")[:size]`, one index
descent and `size` rows on any page, no count (one row beyond the page says whether a
next one exists). Asked for `page=N` without a cursor, it must first find the page's
boundary id, which still means counting (N-1) x size primary-key entries: only
following `next_cursor` is cheap. Same items and cursor either way.
Watch: `perflab_technique_duration_seconds{technique="pagination"}` (service=django) and
statements per request (`X-DB-Queries`: 2 -> 1). Expect rows read per page N x size
(plus a count of every order) -> size.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import EmptyPage, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Order
from perflab.django_service.techniques.base import Technique, int_param, json_answer, run
from perflab.errors import BadRequest
from perflab.paging import MAX_PAGE, MAX_SIZE, PagingError, Position, page_answer, parse_position

NAME = "pagination"
FIELDS = ("id", "user_id", "book_id", "quantity", "total_cents", "status", "created_at")
MAX_CURSOR_LENGTH = 200


def orders() -> QuerySet[Order, dict[str, Any]]:
    """Every order in the feed's order (tests EXPLAIN its slices)."""
    return Order.objects.order_by("id").values(*FIELDS)


def naive(position: Position) -> dict[str, Any]:
    # A cursor's last id is ignored: Paginator knows pages by number only.
    paginator = Paginator(orders(), position.size)
    try:
        page = paginator.page(position.page)  # COUNT(*) of every order, then OFFSET
    except EmptyPage:
        return page_answer(position, [], more=False)
    return page_answer(position, list(page.object_list), more=page.has_next())


def optimised(position: Position) -> dict[str, Any]:
    after_id = position.after_id
    if after_id is None and position.page > 1:
        # A jump without a cursor: the previous page's last id, found by counting.
        ids = Order.objects.order_by("id").values_list("id", flat=True)
        boundary = ids[position.offset - 1 : position.offset]
        after_id = next(iter(boundary), None)
        if after_id is None:  # past the last order
            return page_answer(position, [], more=False)
    seek = orders() if after_id is None else orders().filter(id__gt=after_id)
    rows = list(seek[: position.size + 1])  # one beyond the page: is there a next one?
    return page_answer(position, rows[: position.size], more=len(rows) > position.size)


def _int_or_none(request: HttpRequest, name: str, high: int) -> int | None:
    return int_param(request, name, 1, 1, high) if name in request.GET else None


def _position(request: HttpRequest) -> Position:
    cursor = request.GET.get("cursor")
    if cursor is not None and not 1 <= len(cursor) <= MAX_CURSOR_LENGTH:
        raise BadRequest(f"query parameter 'cursor' must be 1 to {MAX_CURSOR_LENGTH} characters")
    page, size = _int_or_none(request, "page", MAX_PAGE), _int_or_none(request, "size", MAX_SIZE)
    try:
        return parse_position(page, cursor, size)
    except PagingError as exc:
        raise BadRequest(f"query parameter '{exc.field}': {exc}") from None


@require_GET
def orders_feed(request: HttpRequest) -> JsonResponse:
    variant, page = run(NAME, naive, optimised, _position(request))
    return json_answer(page, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("orders/feed", orders_feed)])
