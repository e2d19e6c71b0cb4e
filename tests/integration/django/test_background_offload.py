"""background_offload (Django): the same confirmation row either way; naive sends the
e-mail in the request (200 with the row), optimised enqueues one task on the real
Celery worker (202; counted) whose row then appears with via=celery."""

from __future__ import annotations

import time

import httpx
import psycopg
import pytest

from perflab.settings import Settings
from tests.support.metrics import sample
from tests.support.servers import Server

pytestmark = pytest.mark.integration
TASK = "perflab.send_order_confirmation"


def test_inline_naive_one_task_optimised_same_row(
    django: httpx.Client, set_flag, celery_worker_server: Server, settings: Settings
):
    set_flag("background_offload", False)
    naive = django.post("/orders/42/confirm")
    assert naive.status_code == 200, naive.text
    assert naive.headers["X-Technique-Variant"] == "naive"
    sent = naive.json()
    assert sent["status"] == "sent" and sent["via"] == "inline"
    assert sent["confirmation"]["order_id"] == 42
    assert "@" not in naive.text  # no answer shows the customer's address

    set_flag("background_offload", True)
    enqueued = sample(django, "perflab_celery_tasks_enqueued_total", task=TASK)
    queued = django.post("/orders/42/confirm")
    assert queued.status_code == 202, queued.text
    assert queued.headers["X-Technique-Variant"] == "optimised"
    answer = queued.json()
    assert answer["via"] == "celery" and "@" not in queued.text
    assert sample(django, "perflab_celery_tasks_enqueued_total", task=TASK) == enqueued + 1

    deadline = time.monotonic() + 30
    while True:
        status = django.get(answer["status_url"]).json()
        if status["ready"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status["state"] == "SUCCESS", status
    with psycopg.connect(settings.db.dsn) as conn:
        rows = conn.execute(
            "SELECT id, order_id, recipient, via, task_id FROM order_confirmations"
            " WHERE id = ANY(%s)",
            [[sent["confirmation"]["id"], status["result"]["id"]]],
        ).fetchall()
    stored = {via: (order_id, recipient, task_id) for _, order_id, recipient, via, task_id in rows}
    inline_recipient = stored["inline"][1]
    # The same row either way: the same order and recipient; only `via` (and the task) differ.
    assert stored == {
        "inline": (42, inline_recipient, None),
        "celery": (42, inline_recipient, answer["task_id"]),
    }


def test_unknown_order_and_task_are_404(django: httpx.Client, set_flag):
    set_flag("background_offload", True)
    assert django.post("/orders/999999999/confirm").status_code == 404
    unknown = django.get("/tasks/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404 and "not found" in unknown.json()["error"]
