"""Slow side work sent to a Celery task (202 + task id) vs done inside the request.

Demonstrates: confirming an order sends an e-mail, a slow SMTP call (simulated by
`PERFLAB_TECHNIQUES__EMAIL_DELAY_SECONDS`, 0.2 s) whose effect is a row in
`order_confirmations`. The naive path sends it inline and answers 200 with the stored
row, so every request waits for SMTP and runs the INSERT itself. The optimised path
only looks the order up, enqueues `perflab.send_order_confirmation` and answers 202
with the task id and `/tasks/{task_id}` to poll; the worker sends the e-mail and
stores the same row (`via` = celery instead of inline). Not idempotent: each call is
one e-mail (see `perflab.mail`).
Watch: `perflab_http_request_duration_seconds{route="/orders/{order_id}/confirm"}`,
`perflab_celery_tasks_enqueued_total` and the queue length (Techniques and Celery
dashboards). Expect p95 to drop from above the e-mail delay to a few ms, 2 -> 1 SQL
statements per request, one task enqueued per request.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response
from fastapi import Path as PathParam

from perflab.api.deps import Flags, Res
from perflab.api.resources import Resources
from perflab.api.responses import ADMIN, NOT_FOUND, WRITE
from perflab.api.techniques.base import Technique, run
from perflab.catalog import TECHNIQUES
from perflab.db.pool import acquire
from perflab.errors import NotFound
from perflab.mail import ConfirmationAnswer, recipient_of, record_confirmation, send_email
from perflab.worker.client import CONFIRM_ORDER_TASK, TaskClient, TaskStatus

NAME = "background_offload"
_CLIENT_KEY = "celery_client"
_MAX_BIGINT = 2**63 - 1


def task_client(res: Resources) -> TaskClient:
    """This process's Celery client, made on first use and closed by the lifespan."""
    client = res.extras.get(_CLIENT_KEY)
    if client is None:
        client = res.extras[_CLIENT_KEY] = TaskClient(res.settings, res.redis)
    assert isinstance(client, TaskClient)
    return client


async def _recipient(res: Resources, order_id: int) -> str:
    async with acquire(res.pool) as conn:
        recipient = await recipient_of(conn, order_id)
    if recipient is None:
        raise NotFound(f"order {order_id} not found")
    return recipient


async def naive(res: Resources, order_id: int) -> ConfirmationAnswer:
    recipient = await _recipient(res, order_id)
    await send_email(res.settings.techniques.email_delay_seconds)
    async with acquire(res.pool) as conn:
        sent = await record_confirmation(conn, order_id, recipient, "inline")
    return ConfirmationAnswer.sent(sent)


async def optimised(res: Resources, order_id: int) -> ConfirmationAnswer:
    # Looked up here so an unknown order is still a 404, not a failed task.
    recipient = await _recipient(res, order_id)
    task_id = await task_client(res).enqueue(CONFIRM_ORDER_TASK, order_id, recipient)
    return ConfirmationAnswer.queued(order_id, task_id)


router = APIRouter(tags=["techniques"])


@router.post(
    "/orders/{order_id}/confirm",
    response_model=ConfirmationAnswer,
    responses={
        202: {"model": ConfirmationAnswer, "description": "E-mail queued."},
        **NOT_FOUND,
        **WRITE,
    },
    openapi_extra=ADMIN,
)
async def confirm_order(
    res: Res,
    flags: Flags,
    response: Response,
    order_id: Annotated[int, PathParam(ge=1, le=_MAX_BIGINT)],
) -> ConfirmationAnswer:
    answer = await run(NAME, flags, naive, optimised, response, res, order_id)
    if answer.status == "queued":
        response.status_code = 202
    return answer


@router.get("/tasks/{task_id}", response_model=TaskStatus, responses=NOT_FOUND)
async def task_status(res: Res, task_id: UUID) -> TaskStatus:
    return await task_client(res).status(str(task_id))


TECHNIQUE = Technique(
    spec=TECHNIQUES[NAME],
    router=router,
)
