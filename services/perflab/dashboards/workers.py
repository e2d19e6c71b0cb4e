"""Workers: the Celery queue, task throughput by outcome, and task duration."""

from __future__ import annotations

from typing import Any

from perflab.dashboards import queries as q
from perflab.dashboards.common import dashboard, finish, flag_state, prom, stat, timeseries

UID = "perflab-workers"


def build() -> dict[str, Any]:
    builder = (
        dashboard(UID, "perflab / Workers", "Celery queue depth and age, task rate and duration.")
        .with_panel(stat("Celery workers up", "short", prom(q.WORKERS_UP, "up"), width=6, height=9))
        .with_panel(flag_state(width=18))
        .with_panel(
            timeseries(
                "Queue depth",
                "short",
                prom(q.QUEUE_LENGTH, "{{queue}}"),
                description="Messages waiting in the broker; grows when workers fall behind.",
            )
        )
        .with_panel(timeseries("Oldest message age", "s", prom(q.QUEUE_OLDEST_AGE, "{{queue}}")))
        .with_panel(
            timeseries(
                "Delivered, not acknowledged",
                "short",
                prom(q.UNACKED, "unacked"),
                description="Tasks running or reserved by a worker. A dead worker's stay "
                "here until the visibility timeout (30 s) requeues them (docs/faults.md).",
            )
        )
        .with_panel(
            timeseries(
                "Oldest unacknowledged delivery",
                "s",
                prom(q.UNACKED_OLDEST_AGE, "age"),
                description="Above 30 s + 5 s: no live worker is requeueing a dead one's tasks.",
            )
        )
        .with_panel(
            timeseries(
                "Tasks per second by outcome",
                "ops",
                prom(q.TASKS_BY_OUTCOME, "{{task}} {{outcome}}"),
            )
        )
        .with_panel(
            timeseries(
                "Task duration (p50 / p95)",
                "s",
                prom(q.task_latency(0.5), "p50 {{task}}"),
                prom(q.task_latency(0.95), "p95 {{task}}"),
            )
        )
    )
    return finish(builder)
