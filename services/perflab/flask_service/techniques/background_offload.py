"""Slow side work sent to the Celery worker (202 + task id) vs done inside the request.

Demonstrates: confirming an order sends an e-mail, a slow SMTP call (simulated by
`PERFLAB_TECHNIQUES__EMAIL_DELAY_SECONDS`, 0.2 s) whose effect is a row in
`order_confirmations`. The naive path sends it inside the request: the gunicorn worker
thread sleeps through SMTP, then saves the row, and answers 200 with it. The optimised
path looks the order up, enqueues the same task the API and Django enqueue
(`perflab.send_order_confirmation`, same worker, same row with `via` = celery) and
answers 202 with the task id and `/tasks/{task_id}` to poll. No answer carries the
recipient's address: walking order ids must not collect customers' e-mail addresses.
Watch: the route's p95 and `perflab_celery_tasks_enqueued_total` (service=flask):
a worker thread is no longer held for the e-mail's delay.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from perflab.catalog import TECHNIQUES
from perflab.errors import NotFound
from perflab.flask_service import validation
from perflab.flask_service.models import Order, OrderConfirmation, User
from perflab.flask_service.resources import resources, session
from perflab.flask_service.techniques.base import Technique, run
from perflab.mail import ConfirmationAnswer, SentConfirmation
from perflab.paging import MAX_ORDER_ID
from perflab.worker.client import CONFIRM_ORDER_TASK

NAME = "background_offload"


def _recipient(order_id: int) -> str:
    query = select(User.email).join(Order, Order.user_id == User.id).where(Order.id == order_id)
    email = session().execute(query).scalar()
    if email is None:
        raise NotFound(f"order {order_id} not found")
    return email


def naive(order_id: int) -> dict[str, Any]:
    recipient = _recipient(order_id)
    time.sleep(resources().settings.techniques.email_delay_seconds)  # the SMTP call, inline
    sent = OrderConfirmation(order_id=order_id, recipient=recipient, via="inline")
    session().add(sent)
    session().commit()  # sent_at and id come back from Postgres
    confirmation = SentConfirmation.model_validate(sent, from_attributes=True)
    return ConfirmationAnswer.sent(confirmation).model_dump(mode="json")


def optimised(order_id: int) -> dict[str, Any]:
    # Looked up here so an unknown order is still a 404, not a failed task.
    recipient = _recipient(order_id)
    task_id = resources().tasks.enqueue(CONFIRM_ORDER_TASK, order_id, recipient)
    return ConfirmationAnswer.queued(order_id, task_id).model_dump(mode="json")


blueprint = Blueprint(NAME, __name__)


@blueprint.post("/orders/<int:order_id>/confirm")
def confirm_order(order_id: int) -> ResponseReturnValue:
    result = run(NAME, naive, optimised, validation.path_id("order_id", order_id, MAX_ORDER_ID))
    return jsonify(result), 202 if result["status"] == "queued" else 200


@blueprint.get("/tasks/<uuid:task_id>")
def task_status(task_id: UUID) -> ResponseReturnValue:
    return jsonify(resources().tasks.status(str(task_id)).model_dump(mode="json"))


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
