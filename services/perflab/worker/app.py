"""The Celery app. Broker and result backend are Redis (database 1 by default).

Each worker process mirrors the flags from Redis in a daemon thread, so a flip
reaches tasks within a second, like the API processes.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from perflab.flags.state import FlagState
from perflab.flags.threaded import ThreadedFlagMirror
from perflab.settings import get_settings
from perflab.telemetry import celery_metrics
from perflab.worker import metrics_server

_settings = get_settings()

celery_app = Celery(
    "perflab",
    broker=_settings.celery_broker_url,
    backend=_settings.celery_broker_url,
    include=["perflab.worker.tasks", "perflab.worker.confirmations"],
)
celery_app.conf.update(
    task_default_queue=_settings.celery.queue,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=3600,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
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
