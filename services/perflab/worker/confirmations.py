"""The offloaded half of background_offload: send the order confirmation e-mail.

The worker is synchronous (prefork) and psycopg is not installed, so the task runs
the same asyncpg code as the API's inline path under `asyncio.run`, with one direct
connection per task: a pool cannot outlive the event loop that `asyncio.run` closes,
and one connect (a few ms) is small next to the e-mail's delay. The connection is
opened after the e-mail is sent, so no connection is held while waiting on SMTP.
Delivery is at least once (`task_acks_late`): a worker killed mid-task re-sends.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from perflab.db.querylog import CountingConnection
from perflab.mail import record_confirmation, send_email
from perflab.settings import get_settings
from perflab.worker.app import celery_app
from perflab.worker.client import CONFIRM_ORDER_TASK


async def _send(order_id: int, recipient: str) -> dict[str, Any]:
    settings = get_settings()
    await send_email(settings.techniques.email_delay_seconds)
    conn = await asyncpg.connect(
        settings.db.dsn,
        connection_class=CountingConnection,  # its INSERT is a span of the task's trace
        timeout=settings.db.connect_timeout_seconds,
        command_timeout=settings.db.command_timeout_seconds,
    )
    try:
        sent = await record_confirmation(conn, order_id, recipient, "celery")
    finally:
        await conn.close()
    return sent.model_dump(mode="json")


@celery_app.task(name=CONFIRM_ORDER_TASK)
def send_order_confirmation(order_id: int, recipient: str) -> dict[str, Any]:
    return asyncio.run(_send(order_id, recipient))
