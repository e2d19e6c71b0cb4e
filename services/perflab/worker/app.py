"""The Celery app. Broker and result backend are Redis (database 1 by default).

Each worker process mirrors the flags from Redis in a daemon thread, so a flip
reaches tasks within a second, like the API processes.
"""

from __future__ import annotations

import os
import sys

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown
from pydantic import ValidationError
from pydantic_settings import SettingsError

from perflab.flags.state import FlagState
from perflab.flags.threaded import ThreadedFlagMirror
from perflab.settings import Settings, explain, get_settings
from perflab.telemetry import celery_metrics
from perflab.worker import metrics_server

try:
    _settings = get_settings()
except (ValidationError, SettingsError) as _exc:
    sys.exit("\n".join(f"perflab worker: bad setting {line}" for line in explain(_exc)))


def broker_transport_options(settings: Settings) -> dict[str, int]:
    """A message delivered to a worker that dies before acknowledging it waits in the
    broker's `unacked` set until its visibility timeout passes, then a live worker
    requeues it (kombu sweeps every `unacked_restore_interval`). The lab's tasks take
    well under a second, so the default 30 s is safe, and a dead worker's tasks come
    back within 30 + 5 s of their delivery (docs/faults.md); kombu's default is an
    hour. A task running longer than the timeout would run twice: tasks must be
    idempotent (the confirmation task is)."""
    return {
        "visibility_timeout": settings.celery.visibility_timeout_seconds,
        "unacked_restore_interval": settings.celery.restore_sweep_seconds,
        "unacked_restore_throttle": 1,  # scan on every sweep, not every 10th
    }


celery_app = Celery(
    "perflab",
    broker=_settings.celery_broker_url,
    backend=_settings.celery_broker_url,
    include=["perflab.worker.tasks", "perflab.worker.confirmations"],
    # No Django fix-up: the worker serves every service and runs no Django code, but
    # with DJANGO_SETTINGS_MODULE in its environment Celery would set Django up, and
    # Django's technique series would then show in the worker's /metrics.
    fixups=[],
)
celery_app.conf.update(
    task_default_queue=_settings.celery.queue,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=3600,
    # At least once: a message is acknowledged when its task is done, and a task whose
    # pool process died (kill -9, OOM) goes back to the queue instead of failing.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # Each pool process reserves one message at a time: a dead worker holds few.
    worker_prefetch_multiplier=1,
    # A task that finished while Redis (also the result backend) was away retries
    # storing its state, with backoff, instead of failing after its work is done: a
    # done task never reads PENDING forever (tests/e2e/test_faults.py, redis).
    result_backend_always_retry=True,
    result_backend_max_retries=20,
    broker_transport_options=broker_transport_options(_settings),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
if _settings.telemetry.metrics_enabled:  # off: no metric written, no /metrics port opened
    metrics_server.install()
celery_metrics.install(celery_app, _settings)

_mirror: ThreadedFlagMirror | None = None
_mirror_pid = 0


def worker_flags() -> ThreadedFlagMirror:
    """This process's flag mirror, started on first use (works for every pool type)."""
    global _mirror, _mirror_pid
    if _mirror is None or _mirror_pid != os.getpid():
        _mirror = ThreadedFlagMirror(
            _settings.redis.url,
            FlagState(_settings.flags),
            _settings.flags.resync_interval_seconds,
        )
        _mirror.start()
        _mirror_pid = os.getpid()
    return _mirror


@worker_process_init.connect
def _start_flag_mirror(**_: object) -> None:
    worker_flags()


@worker_process_shutdown.connect
def _stop_flag_mirror(**_: object) -> None:
    if _mirror is not None and _mirror_pid == os.getpid():
        _mirror.stop()
