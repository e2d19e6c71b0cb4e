"""At least once, for real: a killed pool process or a killed worker loses no task.

Each test runs its own prefork worker on its own queue (so the session's worker takes
none of its tasks), sends confirmation tasks with a slow e-mail (so tasks are in
flight when the kill lands), kills with SIGKILL, and then counts: every task ends
SUCCESS, and each has exactly one confirmation row (a redelivered task finds its row).
Bounded: ~15 s each.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest
import redis
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families

from perflab.procs import pid_alive, wait_until
from perflab.settings import Settings
from perflab.telemetry.queues import UNACKED_KEY
from perflab.worker.client import CONFIRM_ORDER_TASK
from tests.support.servers import Server, celery_worker, service_env

pytestmark = pytest.mark.integration

VISIBILITY_SECONDS = 4
SWEEP_SECONDS = 1
EMAIL_SECONDS = 1.0


@pytest.fixture
def queue() -> str:
    return f"delivery-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def worker_env(settings_env: dict[str, str], queue: str) -> dict[str, str]:
    return service_env(
        settings_env,
        {
            "PERFLAB_CELERY__QUEUE": queue,
            "PERFLAB_CELERY__VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_SECONDS),
            "PERFLAB_CELERY__RESTORE_SWEEP_SECONDS": str(SWEEP_SECONDS),
            "PERFLAB_TECHNIQUES__EMAIL_DELAY_SECONDS": str(EMAIL_SECONDS),
        },
    )


@pytest.fixture
def sender(settings: Settings) -> Iterator[Celery]:
    app = Celery("delivery-test", broker=settings.celery_broker_url,
                 backend=settings.celery_broker_url, set_as_current=False)  # fmt: skip
    yield app
    app.close()


def _send(app: Celery, queue: str, count: int) -> list[str]:
    # Order 1's recipient: any existing order will do, the row is what is counted.
    return [
        app.send_task(CONFIRM_ORDER_TASK, args=[1 + i, f"user{i}@example.test"], queue=queue).id
        for i in range(count)
    ]


def _states(app: Celery, ids: list[str]) -> dict[str, str]:
    return {task_id: app.AsyncResult(task_id).state for task_id in ids}


def _all_ready(app: Celery, ids: list[str], timeout: float) -> dict[str, str]:
    ready = {"SUCCESS", "FAILURE"}
    wait_until(lambda: set(_states(app, ids).values()) <= ready, timeout=timeout, interval=0.3)
    return _states(app, ids)


async def _rows(settings: Settings, ids: list[str]) -> dict[str, int]:
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        rows = await conn.fetch(
            "SELECT task_id, count(*) AS n FROM order_confirmations"
            " WHERE task_id = ANY($1) GROUP BY task_id",
            ids,
        )
    finally:
        await conn.close()
    return {r["task_id"]: r["n"] for r in rows}


def _unacked(settings: Settings) -> int:
    client = redis.Redis.from_url(settings.celery_broker_url)
    try:
        return int(client.hlen(UNACKED_KEY))
    finally:
        client.close()


def _busy_children(worker: Server) -> list[psutil.Process]:
    return psutil.Process(worker.proc.pid).children()


async def test_a_killed_pool_process_loses_no_task(
    lab_root: Path, settings: Settings, worker_env: dict[str, str], sender: Celery, queue: str
):
    root = lab_root / f"child-kill-{queue}"
    with celery_worker(root, worker_env, concurrency=2) as worker:
        ids = _send(sender, queue, 8)
        # Both pool processes are inside their 1 s e-mail once two messages are out.
        assert wait_until(lambda: _unacked(settings) >= 2, timeout=15), "no task delivered"
        await asyncio.sleep(EMAIL_SECONDS / 3)
        victim = _busy_children(worker)[0]
        os.kill(victim.pid, signal.SIGKILL)
        states = _all_ready(sender, ids, timeout=45)
        log = worker.log_tail(400)
    assert "WorkerLostError" in log, "the kill did not hit a running task"
    assert set(states.values()) == {"SUCCESS"}, states
    assert await _rows(settings, ids) == dict.fromkeys(ids, 1)


async def test_a_killed_worker_s_tasks_come_back_within_the_visibility_timeout(
    lab_root: Path,
    settings: Settings,
    worker_env: dict[str, str],
    sender: Celery,
    queue: str,
    app_client: httpx.AsyncClient,
):
    with celery_worker(lab_root / f"worker-kill-{queue}", worker_env, concurrency=1) as first:
        ids = _send(sender, queue, 4)
        assert wait_until(lambda: _unacked(settings) >= 1, timeout=15), "no task delivered"
        os.killpg(first.proc.pid, signal.SIGKILL)  # the main process and its pool
        assert wait_until(lambda: not pid_alive(first.proc.pid), timeout=5)
    killed_at = time.monotonic()
    held = _unacked(settings)
    assert held >= 1
    # The API shows the held work (its queue sampler ticks every 2 s).
    deadline = time.monotonic() + 6
    while await _gauge(app_client) < held:
        assert time.monotonic() < deadline, "perflab_celery_unacked_messages never rose"
        await asyncio.sleep(0.5)

    with celery_worker(lab_root / f"worker-2-{queue}", worker_env, concurrency=2):
        bound = VISIBILITY_SECONDS + SWEEP_SECONDS + 4 * EMAIL_SECONDS + 10
        states = _all_ready(sender, ids, timeout=bound)
        took = time.monotonic() - killed_at
    assert set(states.values()) == {"SUCCESS"}, (states, f"{took:.1f} s")
    assert await _rows(settings, ids) == dict.fromkeys(ids, 1)


async def _gauge(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "perflab_celery_unacked_messages":
                return sample.value
    return -1.0
