"""The worker runs no web service's code: with DJANGO_SETTINGS_MODULE in its environment
(as here) Celery's Django fix-up would set Django up in it, and Django's technique series
would pose as the worker's in its /metrics."""

from __future__ import annotations

import httpx

from perflab.catalog import TECHNIQUES
from tests.support.servers import Server


def test_the_worker_exports_no_technique_durations_after_a_django_background_offload(
    celery_worker_server: Server,
    django,
    set_flag,  # noqa: ANN001
) -> None:
    set_flag("background_offload", True)
    order = django.post("/orders/1/confirm")
    assert order.status_code in (200, 202), order.text
    text = httpx.get(f"http://127.0.0.1:{celery_worker_server.port}/metrics", timeout=5).text
    leaked = [
        line for line in text.splitlines()
        if line.startswith("perflab_technique_duration_seconds") and any(
            f'technique="{name}"' in line for name in TECHNIQUES
        )
    ]  # fmt: skip
    assert leaked == [], leaked[:3]
