"""The worker's `/metrics`: one HTTP endpoint in Celery's main process for all its processes.

Started on `worker_init` (the main process, before the pool forks), so Prometheus
scrapes one target per worker. With `PROMETHEUS_MULTIPROC_DIR` set, it aggregates the
files every pool process writes (prometheus_client multiprocess mode).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import worker_init, worker_process_shutdown
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.multiprocess import mark_process_dead

from perflab.settings import get_settings
from perflab.telemetry import multiproc

log = logging.getLogger(__name__)
_server: Any = None


def registry() -> CollectorRegistry:
    """Built once for the HTTP server: the merged collector reaps the live gauges of
    pool processes killed without `worker_process_shutdown` at every scrape, as the
    API's `/metrics` does."""
    path = multiproc.folder()
    if path is None:
        return REGISTRY
    aggregated = CollectorRegistry(auto_describe=False)
    aggregated.register(multiproc.MergedCollector(path))
    return aggregated


def serve(**_: object) -> None:
    """Start the metrics endpoint once per main process (a busy port is logged, not fatal)."""
    global _server
    if _server is not None:
        return
    worker = get_settings().worker
    try:
        _server, _thread = start_http_server(worker.metrics_port, worker.metrics_host, registry())
    except OSError as exc:
        log.error("worker metrics: cannot listen on %s:%s: %s", worker.metrics_host,
                  worker.metrics_port, exc)  # fmt: skip
        return
    log.info("worker metrics on http://%s:%s/metrics", worker.metrics_host, worker.metrics_port)


def _forget_process(pid: int | None = None, **_: object) -> None:
    # Live gauges of a pool process that exited must not linger in the aggregate.
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        mark_process_dead(pid or os.getpid())


def install() -> None:
    """Connect the signal handlers (idempotent: Celery dedupes by receiver)."""
    worker_init.connect(serve, weak=False)
    worker_process_shutdown.connect(_forget_process, weak=False)
