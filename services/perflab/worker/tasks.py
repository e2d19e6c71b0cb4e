"""Celery tasks. Technique-specific tasks live next to the work they offload."""

from __future__ import annotations

from perflab.worker.app import celery_app


@celery_app.task(name="perflab.ping")
def ping() -> str:
    """A no-op round trip: proves the broker, the worker and the result backend work."""
    return "pong"
