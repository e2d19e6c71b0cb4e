"""The FastAPI application: wiring only; the work lives in techniques and routes."""

from __future__ import annotations

import inspect
import sys
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import ValidationError
from pydantic_settings import SettingsError

from perflab.api import errors, responses
from perflab.api.middleware.admin import AdminTokenMiddleware
from perflab.api.middleware.body_limit import BodyLimitMiddleware
from perflab.api.middleware.gzip import GZipByFlag
from perflab.api.middleware.metrics import MetricsMiddleware
from perflab.api.middleware.profiling import ProfilingMiddleware
from perflab.api.middleware.querycount import QueryCountMiddleware
from perflab.api.middleware.tracing import TracingMiddleware
from perflab.api.resources import lifespan
from perflab.api.routes import alerts, docs, flags, health, metrics, profiles, techniques
from perflab.api.techniques import REGISTRY, telemetry_sampling
from perflab.settings import Settings, explain, get_settings
from perflab.telemetry import celery_tracing
from perflab.telemetry.logging import setup_logging
from perflab.telemetry.tracing import setup_tracing


def _fastapi_options() -> dict[str, Any]:
    """FastAPI's own telemetry off: from 0.16x it opens server spans (and records
    metrics and logs) whenever a provider is configured, on top of perflab's spans."""
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    return {}


def create_app(settings: Settings | None = None) -> FastAPI:
    # docs_url/redoc_url None: `routes.docs` serves both pages from vendored assets.
    app = FastAPI(
        title="perflab", version="0.1.0", lifespan=lifespan,
        docs_url=None, redoc_url=None, **_fastapi_options(),
    )  # fmt: skip
    app.state.settings = settings = settings or get_settings()
    # Run by the lifespan (e.g. db_index makes its index match the flag).
    app.state.technique_startup_hooks = {
        t.name: t.on_start for t in REGISTRY.values() if t.on_start is not None
    }
    errors.install(app)
    docs.install(app)
    # Technique routes first: the router tries routes in order (a few us each), and the
    # techniques are what load tests call; health, metrics, flags and alerts are called
    # now and then, the docs pages and their assets (installed above) hardly ever.
    routers = [technique.router for technique in REGISTRY.values()]
    routers += [health.router, metrics.router, flags.router, techniques.router, alerts.router]
    routers.append(profiles.router)
    # Not `include_router`: FastAPI (>= 0.137) includes a router lazily, and each request
    # walks every included router (twice) until one holds its path: ~20 routers cost about
    # a whole bare FastAPI request. These routers have no prefix, dependencies or
    # overrides to carry, so their routes join the app's router as they are: one scan.
    routes = [route for router in routers for route in router.routes]
    app.router.routes[:0] = routes
    # What the OpenAPI document must also list: 503s, and the writes' 400/401/413.
    responses.complete(routes, no_store=health.router.routes)
    _document_security(app)
    # Innermost: both answer before routing and before any body is read.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api.max_body_bytes)
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    app.add_middleware(AdminTokenMiddleware, token=token)
    # Inside the metrics middleware, so the size metric counts compressed bytes.
    app.add_middleware(GZipByFlag)
    # Outside gzip, so it sees the bytes that really go on the wire. Either one sends
    # the X-DB-Queries header: it is part of the answers, metrics on or off.
    if settings.telemetry.metrics_enabled:
        app.add_middleware(
            MetricsMiddleware,
            routes=routes,
            exemplars=settings.telemetry.tracing_enabled,
        )
    else:
        app.add_middleware(QueryCountMiddleware)
    # Added last, so server spans wrap every middleware and the metrics middleware
    # sees the sampled trace id (exemplars).
    # The telemetry_sampling flag picks the sampling ratio at every root span.
    provider = setup_tracing(settings, "perflab-api", telemetry_sampling.full_tracing)
    if provider is not None:
        celery_tracing.install_publisher(provider)
        app.add_middleware(TracingMiddleware, before_span=telemetry_sampling.bind_request)
    # Outermost: a profile sees every middleware. Absent when off, so it costs nothing.
    if settings.profiling.enabled:
        app.add_middleware(ProfilingMiddleware, settings=settings)
    return app


def _document_security(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            app.openapi_schema = responses.add_components(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented hook


def app_factory() -> FastAPI:
    """Entry for `uvicorn --factory perflab.api.app:app_factory`."""
    try:
        settings = get_settings()
    except (ValidationError, SettingsError) as exc:
        sys.exit("\n".join(f"perflab api: bad setting {line}" for line in explain(exc)))
    setup_logging(settings.telemetry.log_level)
    return create_app(settings)
