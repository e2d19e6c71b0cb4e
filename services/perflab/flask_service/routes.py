"""The service's own endpoints: `/healthz`, `/readyz`, `/metrics`, `/techniques`, `/flags`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from perflab.catalog import TECHNIQUES
from perflab.errors import NotFound
from perflab.flask_service.resources import resources
from perflab.flask_service.techniques import REGISTRY
from perflab.telemetry import multiproc

blueprint = Blueprint("service", __name__)


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})


def _probe(check: Callable[[], object]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported
        return {"ok": False, "error": str(exc).strip().splitlines()[0] or type(exc).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    res = resources()

    def postgres() -> None:
        with res.pooled.connect() as conn:
            conn.execute(text("SELECT 1"))

    checks = {"postgres": _probe(postgres), "redis": _probe(res.redis.ping)}
    down = [name for name, result in checks.items() if not result["ok"]]
    body: dict[str, Any] = {"status": "ready" if not down else "unavailable", "checks": checks}
    if down:
        body["error"] = f"{', '.join(down)} unavailable"
    return jsonify(body), 503 if down else 200


@blueprint.get("/metrics")
def metrics() -> ResponseReturnValue:
    if not resources().settings.telemetry.metrics_enabled:
        raise NotFound("metrics are off (PERFLAB_TELEMETRY__METRICS_ENABLED=false)")
    # OpenMetrics when Prometheus asks for it; every gunicorn worker's files merged.
    body, content_type = multiproc.render(request.headers.get("accept"))
    return Response(body, content_type=content_type)


@blueprint.get("/techniques")
def techniques() -> ResponseReturnValue:
    flags = resources().flags
    described = [{**t.describe(), "enabled": flags.enabled(t.name)} for t in REGISTRY.values()]
    return jsonify({"techniques": described})


@blueprint.get("/flags")
def flags() -> ResponseReturnValue:
    """This worker's view of the shared flags (read-only: the API's `PUT /flags` sets
    them); `pid` says which worker answered, for the flip propagation checks."""
    state = resources().flags.state
    lessons = {name: spec.lesson for name, spec in TECHNIQUES.items()}
    listed = [
        {"name": name, "enabled": on, "description": lessons.get(name, "")}
        for name, on in state.snapshot().items()
    ]
    return jsonify({"flags": listed, "version": state.version, "pid": os.getpid()})
