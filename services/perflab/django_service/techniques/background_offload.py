"""Slow side work sent to the Celery worker (202 + task id) vs done inside the request.

Demonstrates: confirming an order sends an e-mail, a slow SMTP call (simulated by
`PERFLAB_TECHNIQUES__EMAIL_DELAY_SECONDS`, 0.2 s) whose effect is a row in
`order_confirmations`. The naive path sends it inside the request: the gunicorn worker
thread sleeps through SMTP, then saves the row, and answers 200 with it. The
optimised path looks the order up, enqueues the same task the API enqueues
(`perflab.send_order_confirmation`, same worker, same row with `via` = celery) and
answers 202 with the task id and `/tasks/{task_id}` to poll. No answer carries the
recipient's address: walking order ids must not collect customers' e-mail addresses.
Watch: the route's p95 and `perflab_celery_tasks_enqueued_total` (service=django):
a worker thread is no longer held for the e-mail's delay.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any
from uuid import UUID

from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from perflab.catalog import TECHNIQUES
from perflab.django_service import runtime
from perflab.django_service.shop.models import Order, OrderConfirmation
from perflab.django_service.techniques.base import (
    MAX_BIGINT,
    Technique,
    check_id,
    json_answer,
    run,
)
from perflab.errors import NotFound
from perflab.mail import ConfirmationAnswer, SentConfirmation
from perflab.settings import get_settings
from perflab.worker.client import CONFIRM_ORDER_TASK, BlockingTaskClient

NAME = "background_offload"

_lock = threading.Lock()
_clients: dict[int, BlockingTaskClient] = {}


def task_client() -> BlockingTaskClient:
    """This process's Celery client (one per gunicorn worker, made on first use)."""
    with _lock:
        client = _clients.get(os.getpid())
        if client is None:
            client = _clients[os.getpid()] = BlockingTaskClient(
                get_settings(), runtime.redis_client()
            )
        return client


def _recipient(order_id: int) -> str:
    email = (
        Order.objects.filter(id=order_id)
        .annotate(email=F("user__email"))
        .values_list("email", flat=True)
    ).first()
    if email is None:
        raise NotFound(f"order {order_id} not found")
    return str(email)


def naive(order_id: int) -> dict[str, Any]:
    recipient = _recipient(order_id)
    time.sleep(get_settings().techniques.email_delay_seconds)  # the SMTP call, inline
    sent = OrderConfirmation.objects.create(order_id=order_id, recipient=recipient, via="inline")
    confirmation = SentConfirmation.model_validate(sent, from_attributes=True)
    return ConfirmationAnswer.sent(confirmation).model_dump(mode="json")


def optimised(order_id: int) -> dict[str, Any]:
    # Looked up here so an unknown order is still a 404, not a failed task.
    recipient = _recipient(order_id)
    task_id = task_client().enqueue(CONFIRM_ORDER_TASK, order_id, recipient)
    return ConfirmationAnswer.queued(order_id, task_id).model_dump(mode="json")


@csrf_exempt
@require_POST
def confirm_order(request: HttpRequest, order_id: int) -> JsonResponse:
    check_id(order_id, "order_id", MAX_BIGINT)
    variant, result = run(NAME, naive, optimised, order_id)
    return json_answer(result, variant, status=202 if result["status"] == "queued" else 200)


@require_GET
def task_status(request: HttpRequest, task_id: UUID) -> JsonResponse:
    return json_answer(task_client().status(str(task_id)).model_dump(mode="json"))


TECHNIQUE = Technique(
    TECHNIQUES[NAME],
    [
        path("orders/<int:order_id>/confirm", confirm_order),
        path("tasks/<uuid:task_id>", task_status),
    ],
)
