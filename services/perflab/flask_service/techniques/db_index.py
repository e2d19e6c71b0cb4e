"""An index on the column a hot lookup filters by (the same index and flag as the API).

Demonstrates: `GET /users/{user_id}/orders` filters `orders` by `user_id`. Both
variants run the same SQLAlchemy statement: the difference lives in Postgres. The
index `orders_user_id_idx` is built and dropped by the API when the flag flips (`PUT
/flags/db_index`, `CREATE INDEX CONCURRENTLY`); it is Postgres-wide, so this service
only reads the flag to say which variant answered and runs the query. Without the
index Postgres scans every order; with it, only the user's rows. (In a Flask project
the index is `Index("orders_user_id_idx", Order.user_id)` on the table and an Alembic
migration.)
Watch: `perflab_technique_duration_seconds{technique="db_index"}` (service=flask).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, select

from perflab.catalog import TECHNIQUES
from perflab.errors import NotFound
from perflab.flask_service import validation
from perflab.flask_service.models import Order, User
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run, utc_iso

NAME = "db_index"


def orders_query(user_id: int) -> Select[Any]:
    """The one statement both variants run (tests EXPLAIN it)."""
    columns = (
        Order.id, Order.book_id, Order.quantity, Order.total_cents, Order.status,
        Order.created_at,
    )  # fmt: skip
    return select(*columns).where(Order.user_id == user_id).order_by(Order.id)


def _orders_of(user_id: int) -> dict[str, Any]:
    orders = [dict(row) for row in session().execute(orders_query(user_id)).mappings()]
    # Only a user without orders costs a second query, to tell "none" from "unknown".
    if not orders and session().get(User, user_id) is None:
        raise NotFound(f"user {user_id} not found")
    for order in orders:
        order["created_at"] = utc_iso(order["created_at"])
    return {"user_id": user_id, "orders": orders}


def naive(user_id: int) -> dict[str, Any]:
    """Same statement as `optimised`: with no index, Postgres scans every order."""
    return _orders_of(user_id)


def optimised(user_id: int) -> dict[str, Any]:
    """Same statement as `naive`: the flip built the index, so Postgres looks the rows up."""
    return _orders_of(user_id)


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/users/<int:user_id>/orders")
def user_orders(user_id: int) -> ResponseReturnValue:
    return jsonify(run(NAME, naive, optimised, validation.path_id("user_id", user_id)))


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
