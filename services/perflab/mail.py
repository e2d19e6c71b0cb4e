"""The order-confirmation e-mail: a stand-in for a slow SMTP call, plus its effect.

Shared by the API (background_offload's naive path, inline) and the Celery worker
(its optimised path), so both variants do exactly the same work and store the same
row; only `via` says who sent it. Each request is one e-mail sent (a new request is a
new row), so every request costs the same under load; only a Celery task delivered
twice (its worker died before acknowledging it) finds the row of its first run.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Literal

import asyncpg
from pydantic import BaseModel

Via = Literal["inline", "celery"]

RECIPIENT_SQL = """
SELECT u.email FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1
"""


class SentConfirmation(BaseModel):
    """A stored confirmation as answers show it: never the recipient's address."""

    id: int
    order_id: int
    via: Via
    sent_at: datetime


class ConfirmationAnswer(BaseModel):
    """`POST /orders/{id}/confirm`'s answer in every service, e-mailed inline or queued."""

    # No recipient: walking order ids must not collect customers' e-mail addresses.
    order_id: int
    status: Literal["sent", "queued"]
    via: Via
    confirmation: SentConfirmation | None = None  # inline: the row already stored
    task_id: str | None = None  # offloaded: poll status_url for the row
    status_url: str | None = None

    @classmethod
    def sent(cls, confirmation: SentConfirmation) -> ConfirmationAnswer:
        return cls(
            order_id=confirmation.order_id,
            status="sent",
            via=confirmation.via,
            confirmation=confirmation,
        )

    @classmethod
    def queued(cls, order_id: int, task_id: str) -> ConfirmationAnswer:
        return cls(
            order_id=order_id,
            status="queued",
            via="celery",
            task_id=task_id,
            status_url=f"/tasks/{task_id}",
        )


async def recipient_of(conn: asyncpg.Connection, order_id: int) -> str | None:
    """The e-mail address an order's confirmation goes to; None for an unknown order."""
    email: str | None = await conn.fetchval(RECIPIENT_SQL, order_id)
    return email


async def send_email(delay_seconds: float) -> None:
    """The SMTP round trip nobody should wait for in a request (no connection held)."""
    await asyncio.sleep(delay_seconds)


async def record_confirmation(
    conn: asyncpg.Connection, order_id: int, recipient: str, via: Via, task_id: str | None = None
) -> SentConfirmation:
    """The effect of a sent e-mail: one row in order_confirmations.

    A task's row is keyed by its id: a task delivered again (its worker died before
    acknowledging it) finds its row instead of storing a second one.
    """
    row = await conn.fetchrow(
        """
        INSERT INTO order_confirmations (order_id, recipient, via, task_id)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (task_id) DO UPDATE SET task_id = EXCLUDED.task_id
        RETURNING id, order_id, via, sent_at
        """,
        order_id,
        recipient,
        via,
        task_id,
    )
    assert row is not None
    return SentConfirmation(**dict(row))
