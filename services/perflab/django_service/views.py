"""The service's own endpoints: health, readiness, metrics, techniques, flags."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from perflab.catalog import TECHNIQUES
from perflab.django_service import runtime
from perflab.django_service.techniques import REGISTRY
from perflab.errors import NotFound
from perflab.settings import get_settings
from perflab.telemetry import multiproc


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _probe(check: Callable[[], object]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported
        return {"ok": False, "error": str(exc) or type(exc).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _postgres() -> None:
    # Through the pool, as every request goes (its timeout bounds the wait).
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"postgres": _probe(_postgres), "redis": _probe(runtime.redis_client().ping)}
    down = [name for name, result in checks.items() if not result["ok"]]
    body: dict[str, Any] = {"status": "ready" if not down else "unavailable", "checks": checks}
    if down:
        body["error"] = f"{', '.join(down)} unavailable"
    return JsonResponse(body, status=503 if down else 200)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not get_settings().telemetry.metrics_enabled:
        raise NotFound("metrics are off (PERFLAB_TELEMETRY__METRICS_ENABLED=false)")
    body, content_type = multiproc.render(request.headers.get("accept"))
    return HttpResponse(body, content_type=content_type)


@require_GET
def techniques(request: HttpRequest) -> JsonResponse:
    flags = runtime.flags()
    listed = [{**t.describe(), "enabled": flags.enabled(t.name)} for t in REGISTRY.values()]
    return JsonResponse({"techniques": listed})


@require_GET
def flags(request: HttpRequest) -> JsonResponse:
    """This process's view of the shared flags (read-only: the API's PUT sets them)."""
    state = runtime.flags().state
    snapshot = state.snapshot()
    descriptions = {name: spec.lesson for name, spec in TECHNIQUES.items()}
    return JsonResponse(
        {
            "flags": [
                {"name": name, "enabled": on, "description": descriptions.get(name, "")}
                for name, on in snapshot.items()
            ],
            "version": state.version,
            "pid": os.getpid(),  # which worker process answered (flip propagation tests)
        }
    )


# The answers Django would give as HTML pages are JSON like every other answer (the
# URLconf names them as `handler404` / `handler500`).
def not_found(request: HttpRequest, exception: Exception) -> JsonResponse:
    return JsonResponse({"error": f"no route {request.method} {request.path}"}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"error": "internal error; see the service log"}, status=500)
