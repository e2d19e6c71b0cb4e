"""Celery tasks. Technique-specific tasks live next to the work they offload."""

from __future__ import annotations

from perflab.worker.app import celery_app, worker_flags


@celery_app.task(name="perflab.ping")
def ping() -> str:
    """A no-op round trip: proves the broker, the worker and the result backend work."""
    return "pong"


@celery_app.task(name="perflab.flags_snapshot")
def flags_snapshot() -> dict[str, bool]:
    """The flags as this worker process sees them (the lab's smoke and tests check flips)."""
    return worker_flags().state.snapshot()
