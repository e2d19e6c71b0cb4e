"""An index on the column a hot lookup filters by (the same index and flag as the API).

Demonstrates: `GET /users/{user_id}/orders` filters `orders` by `user_id`. Both
variants run the same ORM query: the difference lives in Postgres. The index
`orders_user_id_idx` is built and dropped by the API when the flag flips (`PUT
/flags/db_index`, `CREATE INDEX CONCURRENTLY`); it is Postgres-wide, so this service
only reads the flag to say which variant answered and runs the query. Without the
index Postgres scans every order; with it, only the user's rows.
Watch: `perflab_technique_duration_seconds{technique="db_index"}` (service=django).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service.shop.models import Customer, Order
from perflab.django_service.techniques.base import Technique, check_id, json_answer, run
from perflab.errors import NotFound

NAME = "db_index"
_FIELDS = ("id", "book_id", "quantity", "total_cents", "status", "created_at")


def orders_query(user_id: int) -> QuerySet[Order, dict[str, Any]]:
    """The one query both variants run (tests EXPLAIN it)."""
    return Order.objects.filter(user_id=user_id).order_by("id").values(*_FIELDS)


def _orders_of(user_id: int) -> dict[str, Any]:
    orders = list(orders_query(user_id))
    # Only a user without orders costs a second query, to tell "none" from "unknown".
    if not orders and not Customer.objects.filter(id=user_id).exists():
        raise NotFound(f"user {user_id} not found")
    return {"user_id": user_id, "orders": orders}


def naive(user_id: int) -> dict[str, Any]:
    """Same query as `optimised`: with no index, Postgres scans every order."""
    return _orders_of(user_id)


def optimised(user_id: int) -> dict[str, Any]:
    """Same query as `naive`: the flip built the index, so Postgres looks the rows up."""
    return _orders_of(user_id)


@require_GET
def user_orders(request: HttpRequest, user_id: int) -> JsonResponse:
    variant, orders = run(NAME, naive, optimised, check_id(user_id, "user_id"))
    return json_answer(orders, variant)


TECHNIQUE = Technique(TECHNIQUES[NAME], [path("users/<int:user_id>/orders", user_orders)])
