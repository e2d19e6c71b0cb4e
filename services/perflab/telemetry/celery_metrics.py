"""Celery worker telemetry: task outcomes and durations, worker up, runtime, traces, logs.

- Tasks: `task_prerun` starts the clock and `task_postrun` stops it (pool process);
  outcomes come from the postrun state (success, retry, ...) except failures, counted
  on `task_failure`, which also fires in the main process for the failures no
  postrun sees (hard time limit, lost pool process, rejected message): each failure
  counts once.
- `perflab_celery_worker_up`: 1 from the main process while its consumer runs (a
  consumer bootstep), `livesum` across workers sharing a metrics folder.
- Runtime: each pool process samples itself from a daemon thread; the main process
  from the worker's timer, in its main thread, because the main process forks pool
  processes and a fork must never copy a half-written metric lock.
- Tracing is set up per pool process on `worker_process_init` (the SDK's export
  thread must not cross a fork) and flushed on `worker_process_shutdown`.
- Logs: Celery's `setup_logging` signal hands logging to telemetry.logging (JSON).
"""

from __future__ import annotations

import time
from typing import Any

import psutil
from celery import Celery, bootsteps, signals

from perflab.settings import Settings
from perflab.telemetry import celery_tracing, queues, runtime
from perflab.telemetry.logging import setup_logging
from perflab.telemetry.metrics import CELERY_TASK_DURATION, CELERY_TASKS, CELERY_WORKERS_UP
from perflab.telemetry.tracing import flush_tracing, setup_tracing

OUTCOMES = ("success", "failure", "retry")
SAMPLE_SECONDS = 1.0
_started: dict[str, float] = {}

__all__ = ["install", "queues"]  # queues: imported for its publish-time stamp


def _task_name(task: Any) -> str:
    return str(getattr(task, "name", None) or task)


def _on_prerun(task_id: str | None = None, **_: Any) -> None:
    if task_id is not None:
        _started[task_id] = time.perf_counter()


def _on_postrun(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    started = _started.pop(task_id, None) if task_id is not None else None
    name = _task_name(task)
    if started is not None:
        CELERY_TASK_DURATION.labels(task=name).observe(time.perf_counter() - started)
    outcome = (state or "unknown").lower()
    if outcome != "failure":  # counted by task_failure, wherever it fires
        CELERY_TASKS.labels(task=name, outcome=outcome).inc()


def _on_failure(sender: Any = None, **_: Any) -> None:
    CELERY_TASKS.labels(task=_task_name(sender), outcome="failure").inc()


def preinit_labels(app: Celery) -> None:
    """Every task x outcome series exists at 0 before the first task runs."""
    for name in list(app.tasks):
        if name.startswith("celery."):
            continue
        CELERY_TASK_DURATION.labels(task=name)
        for outcome in OUTCOMES:
            CELERY_TASKS.labels(task=name, outcome=outcome)


class WorkerTelemetry(bootsteps.StartStopStep):
    """Main process: worker up while consuming, and its own runtime figures."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._process = psutil.Process()
        self._timer_entry: Any = None

    def start(self, parent: Any) -> None:
        CELERY_WORKERS_UP.set(1)
        runtime.sample_process(self._process)
        self._timer_entry = parent.timer.call_repeatedly(
            SAMPLE_SECONDS, runtime.sample_process, (self._process,)
        )

    def stop(self, parent: Any) -> None:  # noqa: ARG002 - bootstep signature
        CELERY_WORKERS_UP.set(0)
        if self._timer_entry is not None:
            self._timer_entry.cancel()
            self._timer_entry = None

    shutdown = stop


def install(app: Celery, settings: Settings) -> None:
    """Connect everything to `app`; import-time safe, every hook is idempotent."""

    def init_pool_process(**_: Any) -> None:
        provider = setup_tracing(settings, "perflab-worker")
        if provider is not None:
            celery_tracing.instrument_worker(provider)
        if settings.telemetry.metrics_enabled:
            runtime.start_sampler_thread(SAMPLE_SECONDS)
            preinit_labels(app)

    def setup_worker_logging(loglevel: Any = None, **_: Any) -> None:
        setup_logging(loglevel or settings.telemetry.log_level)

    def end_pool_process(**_: Any) -> None:
        flush_tracing()

    hooks = [
        (signals.task_prerun, _on_prerun),
        (signals.task_postrun, _on_postrun),
        (signals.task_failure, _on_failure),
        (signals.worker_process_init, init_pool_process),
        (signals.worker_process_shutdown, end_pool_process),
        (signals.setup_logging, setup_worker_logging),
    ]
    for signal, receiver in hooks:
        uid = f"perflab.telemetry.{receiver.__name__}"
        signal.connect(receiver, weak=False, dispatch_uid=uid)
    if settings.telemetry.metrics_enabled:
        app.steps["consumer"].add(WorkerTelemetry)
