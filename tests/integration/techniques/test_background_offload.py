"""background_offload: inline 200 vs 202 + a real Celery task that stores the same row."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from perflab.settings import Settings
from perflab.worker.client import CONFIRM_ORDER_TASK

pytestmark = pytest.mark.integration

ORDER_ID = 42


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(settings.db.dsn)
    seen = await conn.fetchval("SELECT coalesce(max(id), 0) FROM order_confirmations")
    yield conn
    await conn.execute("DELETE FROM order_confirmations WHERE id > $1", seen)
    await conn.close()


async def _enqueued(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "perflab_celery_tasks_enqueued_total"
                and sample.labels.get("task") == CONFIRM_ORDER_TASK
            ):
                return sample.value
    return 0.0


async def _wait_for_success(client: httpx.AsyncClient, status_url: str) -> dict:
    # Bounded poll: the worker needs the e-mail delay plus a task round trip.
    for _ in range(300):
        status = (await client.get(status_url)).json()
        if status["ready"]:
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"task did not finish: {status}")


async def test_inline_and_offloaded_store_the_same_confirmation(
    app_client: httpx.AsyncClient, set_flag, db, celery_worker_server
):
    recipient = await db.fetchval(
        "SELECT u.email FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1",
        ORDER_ID,
    )
    path = f"/orders/{ORDER_ID}/confirm"

    await set_flag("background_offload", False)
    enqueued_before = await _enqueued(app_client)
    naive = await app_client.post(path)
    enqueued_after_naive = await _enqueued(app_client)
    assert naive.status_code == 200, naive.text
    body = naive.json()
    assert (body["status"], body["via"], body["task_id"]) == ("sent", "inline", None)
    assert body["confirmation"]["order_id"] == ORDER_ID

    await set_flag("background_offload", True)
    optimised = await app_client.post(path)
    enqueued_after_optimised = await _enqueued(app_client)
    assert optimised.status_code == 202, optimised.text
    queued = optimised.json()
    assert (queued["status"], queued["via"], queued["confirmation"]) == ("queued", "celery", None)
    assert queued["status_url"] == f"/tasks/{queued['task_id']}"

    status = await _wait_for_success(app_client, queued["status_url"])
    assert status["state"] == "SUCCESS", status
    assert status["task"] == CONFIRM_ORDER_TASK

    rows = await db.fetch(
        "SELECT id, order_id, recipient, via, task_id FROM order_confirmations WHERE id = ANY($1)",
        [body["confirmation"]["id"], status["result"]["id"]],
    )
    stored = {r["via"]: (r["order_id"], r["recipient"], r["task_id"]) for r in rows}
    # The effect is stored both ways, identical but for who sent it (and the task's id).
    assert stored == {
        "inline": (ORDER_ID, recipient, None),
        "celery": (ORDER_ID, recipient, queued["task_id"]),
    }
    # No answer carries the customer's address: walking ids must not collect them.
    for answer in (naive.text, optimised.text, json.dumps(status)):
        assert recipient not in answer and "@" not in answer

    # Counted: exactly one task enqueued by the offloaded request, none by the inline one...
    assert enqueued_after_naive == enqueued_before
    assert enqueued_after_optimised == enqueued_before + 1
    # ...and the request itself no longer runs the INSERT.
    assert int(optimised.headers["X-DB-Queries"]) < int(naive.headers["X-DB-Queries"])


@pytest.mark.parametrize("enabled", [False, True])
async def test_unknown_order_is_404_and_nothing_is_sent(
    app_client: httpx.AsyncClient, set_flag, db, enabled
):
    await set_flag("background_offload", enabled)
    enqueued = await _enqueued(app_client)
    before = await db.fetchval("SELECT count(*) FROM order_confirmations")
    missing = await app_client.post("/orders/999999999/confirm")
    assert missing.status_code == 404
    assert "order 999999999 not found" in missing.json()["error"]
    assert (await app_client.post("/orders/0/confirm")).status_code == 422
    assert (await app_client.post("/orders/abc/confirm")).status_code == 422
    assert await db.fetchval("SELECT count(*) FROM order_confirmations") == before
    assert await _enqueued(app_client) == enqueued


async def test_task_status_rejects_unknown_and_malformed_ids(app_client: httpx.AsyncClient):
    unknown = await app_client.get(f"/tasks/{uuid.uuid4()}")
    assert unknown.status_code == 404
    assert (await app_client.get("/tasks/not-a-uuid")).status_code == 422
