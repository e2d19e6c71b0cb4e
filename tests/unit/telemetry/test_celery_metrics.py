"""Celery task outcomes count once each; queue messages carry their enqueue time."""

from __future__ import annotations

import json
import time

from prometheus_client import REGISTRY

from perflab.telemetry import celery_metrics, queues


class _Task:
    name = "perflab.test_task"


def _count(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "perflab_celery_tasks_total", {"task": _Task.name, "outcome": outcome}
    )
    return value or 0.0


def _duration_count() -> float:
    value = REGISTRY.get_sample_value(
        "perflab_celery_task_duration_seconds_count", {"task": _Task.name}
    )
    return value or 0.0


def test_each_outcome_counts_once_and_every_run_is_timed():
    before = {o: _count(o) for o in ("success", "failure", "retry")}
    timed = _duration_count()
    task = _Task()
    # A success, a retry, and a failure as the pool process signals it (failure + postrun).
    for task_id, state in (("a", "SUCCESS"), ("b", "RETRY"), ("c", "FAILURE")):
        celery_metrics._on_prerun(task_id=task_id, task=task)
        if state == "FAILURE":
            celery_metrics._on_failure(sender=task, task_id=task_id)
        celery_metrics._on_postrun(task_id=task_id, task=task, state=state)
    # A failure the main process reports alone (hard time limit, lost pool process).
    celery_metrics._on_failure(sender=task, task_id="d")
    assert _count("success") - before["success"] == 1
    assert _count("retry") - before["retry"] == 1
    assert _count("failure") - before["failure"] == 2
    assert _duration_count() - timed == 3
    assert not celery_metrics._started


def test_publish_stamps_the_enqueue_time_read_back_from_the_raw_message():
    headers: dict = {"id": "x", "task": "perflab.ping"}
    before = time.time()
    queues._stamp_enqueue_time(headers=headers)
    raw = json.dumps({"body": "", "headers": headers, "properties": {}}).encode()
    stamped = queues.enqueued_at(raw)
    assert stamped is not None and before <= stamped <= time.time()
    assert queues.enqueued_at(json.dumps({"headers": {}}).encode()) is None
    assert queues.enqueued_at(b"not json") is None
    assert queues.enqueued_at(None) is None


def test_priority_lists_are_part_of_the_queue():
    assert queues.queue_keys("perflab") == [
        "perflab",
        "perflab\x06\x163",
        "perflab\x06\x166",
        "perflab\x06\x169",
    ]
