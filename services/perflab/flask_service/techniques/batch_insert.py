"""Bulk create with SQLAlchemy: one INSERT and one commit per row vs one bulk INSERT.

Demonstrates: importing a batch of orders (1..5000). Both paths first validate the
whole batch with two batched look-ups (users, book prices), so an unknown user or
book is a 422 naming its index and nothing is written. The naive path then does what
a loop over `session.add(Order(...)); session.commit()` does: one INSERT and one
commit (one WAL flush) per row, and a crash midway leaves a prefix behind. The
optimised path sends every row in one ORM bulk `insert(Order).returning(Order.id)`,
which SQLAlchemy's "insertmanyvalues" turns into one multi-row INSERT per 1000 rows,
inside one transaction.
Watch: `perflab_db_queries_per_request{route="/orders/bulk"}` and the route's latency
(Database and Techniques dashboards). Expect statements per request N + 2 -> 3 for up
to 1000 rows, and a bulk import an order of magnitude faster.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from perflab.catalog import TECHNIQUES
from perflab.flask_service import validation
from perflab.flask_service.models import Book, Order, User
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run
from perflab.flask_service.validation import InvalidRequest

NAME = "batch_insert"
MAX_ITEMS = 5000
STATUS = "paid"


class OrderIn(BaseModel):
    # A key the import does not store (a price, say) is refused, not half-applied.
    model_config = ConfigDict(extra="forbid")

    user_id: int = Field(ge=1, le=validation.MAX_ID)
    book_id: int = Field(ge=1, le=validation.MAX_ID)
    # Bounded so quantity x price stays inside total_cents' integer.
    quantity: int = Field(gt=0, le=10_000)


_ITEMS = TypeAdapter(Annotated[list[OrderIn], Field(min_length=1, max_length=MAX_ITEMS)])


def _reject(index: int, field: str, value: int, what: str) -> InvalidRequest:
    error = {"type": "value_error", "loc": (index, field), "input": value}
    return InvalidRequest("body", [error | {"msg": f"item {index}: unknown {what} {value}"}])


def _totals(db: Session, items: list[OrderIn]) -> list[int]:
    """Each item's total from its book's price; 422 naming the first bad item."""
    user_ids = {i.user_id for i in items}
    book_ids = {i.book_id for i in items}
    users = set(db.scalars(select(User.id).where(User.id.in_(user_ids))))
    found = db.execute(select(Book.id, Book.price_cents).where(Book.id.in_(book_ids)))
    prices = dict(found.tuples().all())  # a Result has keys(): dict() would take it as a mapping
    for index, item in enumerate(items):
        if item.user_id not in users:
            raise _reject(index, "user_id", item.user_id, "user")
        if item.book_id not in prices:
            raise _reject(index, "book_id", item.book_id, "book")
    return [item.quantity * prices[item.book_id] for item in items]


def _result(ids: list[int], totals: list[int]) -> dict[str, Any]:
    return {"count": len(ids), "ids": ids, "total_cents": sum(totals)}


def naive(items: list[OrderIn]) -> dict[str, Any]:
    db = session()
    totals = _totals(db, items)
    db.commit()  # end the validation's transaction: each row below commits on its own
    ids = []
    for item, total in zip(items, totals, strict=True):
        order = Order(
            user_id=item.user_id,
            book_id=item.book_id,
            quantity=item.quantity,
            total_cents=total,
            status=STATUS,
            created_at=datetime.now(UTC),
        )
        db.add(order)
        db.flush()  # one INSERT ... RETURNING id
        ids.append(order.id)  # read before the commit expires it (no reload)
        db.commit()  # one commit per row
    return _result(ids, totals)


def optimised(items: list[OrderIn]) -> dict[str, Any]:
    db = session()
    totals = _totals(db, items)
    now = datetime.now(UTC)
    rows = [
        {
            "user_id": item.user_id,
            "book_id": item.book_id,
            "quantity": item.quantity,
            "total_cents": total,
            "status": STATUS,
            "created_at": now,
        }
        for item, total in zip(items, totals, strict=True)
    ]
    # sort_by_parameter_order: ids come back in the order of the request's items.
    query = insert(Order).returning(Order.id, sort_by_parameter_order=True)
    ids = list(db.scalars(query, rows))
    db.commit()
    return _result(ids, totals)


blueprint = Blueprint(NAME, __name__)


@blueprint.post("/orders/bulk")
def bulk_create_orders() -> ResponseReturnValue:
    items = validation.body(_ITEMS)
    return jsonify(run(NAME, naive, optimised, items)), 201


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
