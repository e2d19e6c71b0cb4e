"""The offloaded half of background_offload: send the order confirmation e-mail.

The worker is synchronous (prefork) and psycopg is not installed, so the task runs
the same asyncpg code as the API's inline path under `asyncio.run`, with one direct
connection per task: a pool cannot outlive the event loop that `asyncio.run` closes,
and one connect (a few ms) is small next to the e-mail's delay. The connection is
opened after the e-mail is sent, so no connection is held while waiting on SMTP.

Nothing is lost (docs/faults.md): delivery is at least once (`task_acks_late` and
`task_reject_on_worker_lost`, worker/app.py), the row is keyed by the task id so a
second delivery stores nothing new, and a Postgres that cannot be reached makes the
task retry with capped exponential backoff and jitter instead of failing.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import asyncpg
from celery import Task

from perflab.db import errors as db_errors
from perflab.db.querylog import CountingConnection
from perflab.mail import record_confirmation, send_email
from perflab.settings import get_settings
from perflab.worker.app import celery_app
from perflab.worker.client import CONFIRM_ORDER_TASK

# Retries while Postgres is down: 40 waits of at most 8 s ride out a few minutes.
MAX_RETRIES = 40
MAX_BACKOFF_SECONDS = 8.0


async def _send(order_id: int, recipient: str, task_id: str | None) -> dict[str, Any]:
    settings = get_settings()
    await send_email(settings.techniques.email_delay_seconds)
    conn = await asyncpg.connect(
        settings.db.dsn,
        connection_class=CountingConnection,  # its INSERT is a span of the task's trace
        timeout=settings.db.connect_timeout_seconds,
        command_timeout=settings.db.command_timeout_seconds,
    )
    try:
        sent = await record_confirmation(conn, order_id, recipient, "celery", task_id)
    finally:
        await conn.close()
    return sent.model_dump(mode="json")


def backoff(retries: int) -> float:
    """Seconds before retry number `retries` + 1: 1, 2, 4, 8, 8... with full jitter."""
    return random.uniform(0.5, 1.0) * min(MAX_BACKOFF_SECONDS, 2.0**retries)


@celery_app.task(name=CONFIRM_ORDER_TASK, bind=True, max_retries=MAX_RETRIES)
def send_order_confirmation(self: Task, order_id: int, recipient: str) -> dict[str, Any]:
    try:
        return asyncio.run(_send(order_id, recipient, self.request.id))
    except Exception as exc:
        if not db_errors.is_unavailable(exc):
            raise
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
