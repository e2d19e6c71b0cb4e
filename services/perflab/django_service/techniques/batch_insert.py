"""Bulk create: one `bulk_create` in a transaction vs `save()` per row.

Demonstrates: importing a batch of orders (1..5000). Both paths first validate the
whole batch with two look-ups (users, book prices), so an unknown user or book is a
422 naming its index and nothing is written. The naive path then creates each order
with its own `save()`, each its own transaction (Django's autocommit): N INSERTs and N
commits, and a crash midway leaves a prefix behind. The optimised path is one
`Order.objects.bulk_create(...)` inside `transaction.atomic()`: one multi-row INSERT
(ids returned by the same statement), one commit.
Watch: `perflab_db_queries_per_request{route="/orders/bulk"}` (service=django).
Expect statements per request N+2 -> 3.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Book, Customer, Order
from perflab.django_service.techniques.base import (
    MAX_INT,
    Technique,
    json_answer,
    json_body,
    run,
)
from perflab.errors import BadRequest, PerflabError

NAME = "batch_insert"
MAX_ITEMS = 5000
STATUS = "paid"
FIELDS = {"user_id": MAX_INT, "book_id": MAX_INT, "quantity": 10_000}  # each one's maximum


class Unprocessable(PerflabError):
    status_code = 422


def _items(request: HttpRequest) -> list[tuple[int, int, int]]:
    """(user_id, book_id, quantity) per item; 400/422 naming what is wrong."""
    body = json_body(request)
    if not isinstance(body, list) or not 1 <= len(body) <= MAX_ITEMS:
        raise BadRequest(f"body must be a list of 1 to {MAX_ITEMS} orders")
    items = []
    for index, item in enumerate(body):
        if not isinstance(item, dict):
            raise Unprocessable(f"item {index}: expected an object")
        # A key the import does not store (a price, say) is refused, not half-applied.
        if unknown := sorted(set(item) - set(FIELDS)):
            raise Unprocessable(f"item {index}: unknown field(s) {', '.join(unknown)}")
        values = []
        for field, high in FIELDS.items():
            value = item.get(field)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
                raise Unprocessable(f"item {index}: {field} must be an integer in 1..{high}")
            values.append(value)
        items.append((values[0], values[1], values[2]))
    return items


def _totals(items: list[tuple[int, int, int]]) -> list[int]:
    """Each item's total from its book's price; 422 naming the first bad item."""
    wanted = {user_id for user_id, _, _ in items}
    users = set(Customer.objects.filter(id__in=wanted).values_list("id", flat=True))
    prices = dict(
        Book.objects.filter(id__in={b for _, b, _ in items}).values_list("id", "price_cents")
    )
    for index, (user_id, book_id, _) in enumerate(items):
        if user_id not in users:
            raise Unprocessable(f"item {index}: unknown user {user_id}")
        if book_id not in prices:
            raise Unprocessable(f"item {index}: unknown book {book_id}")
    return [quantity * prices[book_id] for _, book_id, quantity in items]


def _order(item: tuple[int, int, int], total: int, now: Any) -> Order:
    user_id, book_id, quantity = item
    return Order(
        user_id=user_id, book_id=book_id, quantity=quantity, total_cents=total,
        status=STATUS, created_at=now,
    )  # fmt: skip


def naive(items: list[tuple[int, int, int]]) -> dict[str, Any]:
    totals = _totals(items)
    now = timezone.now()
    ids = []
    for item, total in zip(items, totals, strict=True):
        order = _order(item, total, now)
        order.save(force_insert=True)  # autocommit: every INSERT commits on its own
        ids.append(order.id)
    return {"count": len(ids), "ids": ids, "total_cents": sum(totals)}


def optimised(items: list[tuple[int, int, int]]) -> dict[str, Any]:
    totals = _totals(items)
    now = timezone.now()
    with transaction.atomic():
        orders = Order.objects.bulk_create(
            [_order(item, total, now) for item, total in zip(items, totals, strict=True)]
        )
    ids = [order.id for order in orders]
    return {"count": len(ids), "ids": ids, "total_cents": sum(totals)}


@csrf_exempt
@require_POST
def bulk_create_orders(request: HttpRequest) -> JsonResponse:
    variant, result = run(NAME, naive, optimised, _items(request))
    return json_answer(result, variant, status=201)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("orders/bulk", bulk_create_orders)])
