"""background_offload (Flask): the same confirmation row either way; naive sends the
e-mail in the request (200 with the row), optimised enqueues one task on the real
Celery worker (202; counted) whose row then appears with via=celery."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from perflab.settings import Settings
from tests.support.servers import Server

pytestmark = pytest.mark.integration
TASK = "perflab.send_order_confirmation"


def _enqueued() -> float:
    return REGISTRY.get_sample_value("perflab_celery_tasks_enqueued_total", {"task": TASK}) or 0.0


async def test_inline_naive_one_task_optimised_same_row(
    flask_client: FlaskClient, flask_flag, celery_worker_server: Server, settings: Settings
) -> None:
    await flask_flag("background_offload", False)
    naive = flask_client.post("/orders/43/confirm")
    assert naive.status_code == 200, naive.text
    assert naive.headers["X-Technique-Variant"] == "naive"
    sent = naive.json
    assert sent["status"] == "sent" and sent["via"] == "inline"
    assert sent["confirmation"]["order_id"] == 43
    assert "@" not in naive.text  # no answer shows the customer's address

    await flask_flag("background_offload", True)
    enqueued = _enqueued()
    queued = flask_client.post("/orders/43/confirm")
    assert queued.status_code == 202, queued.text
    assert queued.headers["X-Technique-Variant"] == "optimised"
    answer = queued.json
    assert answer["via"] == "celery" and "@" not in queued.text
    assert _enqueued() == enqueued + 1

    deadline = time.monotonic() + 30
    while True:
        status = flask_client.get(answer["status_url"]).json
        if status["ready"] or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert status["state"] == "SUCCESS", status
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        rows = await conn.fetch(
            "SELECT order_id, recipient, via, task_id FROM order_confirmations WHERE id = ANY($1)",
            [sent["confirmation"]["id"], status["result"]["id"]],
        )
    finally:
        await conn.close()
    stored = {r["via"]: (r["order_id"], r["recipient"], r["task_id"]) for r in rows}
    inline_recipient = stored["inline"][1]
    # The same row either way: the same order and recipient; only `via` (and the task) differ.
    assert stored == {
        "inline": (43, inline_recipient, None),
        "celery": (43, inline_recipient, answer["task_id"]),
    }


async def test_unknown_order_and_task_are_404_and_a_bad_id_422(
    flask_client: FlaskClient, flask_flag
) -> None:
    for enabled in (False, True):
        await flask_flag("background_offload", enabled)
        missing = flask_client.post("/orders/999999999/confirm")
        assert missing.status_code == 404 and "999999999" in missing.json["error"]
    assert flask_client.post("/orders/0/confirm").status_code == 422
    unknown = flask_client.get("/tasks/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404 and "not found" in unknown.json["error"]
