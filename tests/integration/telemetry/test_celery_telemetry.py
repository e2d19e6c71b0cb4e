"""Celery telemetry against the real broker and a real worker.

Queue depth and age are read from the raw Redis lists that kombu LPUSHes and BRPOPs;
task outcomes, worker up and runtime figures come from the worker's own /metrics.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from perflab.procs import wait_until
from perflab.settings import Settings
from perflab.telemetry import queues
from tests.support.servers import Server

pytestmark = pytest.mark.integration


async def test_queue_depth_and_oldest_age_come_from_the_tail_of_the_list(settings: Settings):
    queue = f"perflab-depth-{uuid.uuid4().hex[:8]}"  # no worker consumes it
    app = Celery("perflab-depth-test", broker=settings.celery_broker_url, set_as_current=False)
    broker = Redis.from_url(settings.celery_broker_url)
    try:
        before_first = time.time()
        await asyncio.to_thread(app.send_task, "perflab.ping", queue=queue)
        after_first = time.time()
        await asyncio.sleep(0.3)
        for _ in range(4):
            await asyncio.to_thread(app.send_task, "perflab.ping", queue=queue)
        after_last = time.time()
        now = time.time()
        depth, age = await queues.measure(broker, queue, now=now)
        assert depth == 5
        # The age is the first message's: the tail of the list is the oldest.
        assert now - after_first <= age <= now - before_first
        assert age > now - after_last
        await broker.delete(*queues.queue_keys(queue))
        assert await queues.measure(broker, queue) == (0, 0.0)
    finally:
        await broker.aclose()
        app.close()


def _worker_metrics(server: Server) -> dict[str, list]:
    text = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10).text
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def _ping_successes(server: Server) -> float:
    samples = _worker_metrics(server).get("perflab_celery_tasks", [])
    return sum(
        s.value
        for s in samples
        if s.name == "perflab_celery_tasks_total"
        and s.labels == {"task": "perflab.ping", "outcome": "success"}
    )


def test_worker_counts_tasks_and_reports_itself_up_with_per_process_runtime(
    celery_worker_server: Server, settings_env
):
    import subprocess
    import sys

    from tests.support.servers import service_env

    before = _ping_successes(celery_worker_server)
    code = "from perflab.worker.tasks import ping; [ping.delay().get(timeout=10) for _ in range(6)]"
    subprocess.run(
        [sys.executable, "-c", code], env=service_env(settings_env), timeout=60, check=True
    )
    assert wait_until(lambda: _ping_successes(celery_worker_server) >= before + 6, timeout=15)
    assert _ping_successes(celery_worker_server) == before + 6
    families = _worker_metrics(celery_worker_server)
    assert [s.value for s in families["perflab_celery_worker_up"]] == [1.0]
    durations = [
        s for s in families["perflab_celery_task_duration_seconds"]
        if s.name.endswith("_count") and s.labels["task"] == "perflab.ping"
    ]  # fmt: skip
    assert durations and durations[0].value >= 6
    # The main process and its 2 pool processes each report their own memory.
    pids = {s.labels["pid"] for s in families["perflab_process_resident_memory_bytes"]}
    assert len(pids) >= 3
