"""The FastAPI application: wiring only; the work lives in techniques and routes."""

from __future__ import annotations

from fastapi import FastAPI

from perflab.api import errors
from perflab.api.middleware.gzip import GZipMiddleware
from perflab.api.middleware.metrics import MetricsMiddleware
from perflab.api.middleware.querycount import QueryCountMiddleware
from perflab.api.resources import lifespan
from perflab.api.routes import alerts, docs, flags, health, metrics, techniques
from perflab.api.techniques import REGISTRY
from perflab.settings import Settings, get_settings
from perflab.telemetry import metrics as lab_metrics
from perflab.telemetry.logging import setup_logging
from perflab.telemetry.tracing import fastapi_options, instrument_api


def create_app(settings: Settings | None = None) -> FastAPI:
    # docs_url/redoc_url None: `routes.docs` serves both pages from vendored assets.
    app = FastAPI(
        title="perflab", version="0.1.0", lifespan=lifespan,
        docs_url=None, redoc_url=None, **fastapi_options(),
    )  # fmt: skip
    app.state.settings = settings or get_settings()
    # Run by the lifespan (e.g. db_index makes its index match the flag).
    app.state.technique_startup_hooks = {
        t.name: t.on_start for t in REGISTRY.values() if t.on_start is not None
    }
    errors.install(app)
    docs.install(app)
    routers = [health.router, metrics.router, flags.router, techniques.router, alerts.router]
    routers += [technique.router for technique in REGISTRY.values()]
    for router in routers:
        app.include_router(router)
    # Inside the metrics middleware, so the size metric counts compressed bytes.
    app.add_middleware(GZipMiddleware)
    # Outside gzip, so it sees the bytes that really go on the wire. Either one sends
    # the X-DB-Queries header: it is part of the answers, metrics on or off.
    if app.state.settings.telemetry.metrics_enabled:
        app.add_middleware(
            MetricsMiddleware,
            routes=[r for rt in routers for r in rt.routes],
            exemplars=app.state.settings.telemetry.tracing_enabled,
        )
    else:
        lab_metrics.disable()  # before any request binds a metric
        app.add_middleware(QueryCountMiddleware)
    # Server spans wrap every middleware, so the metrics see the sampled trace id.
    instrument_api(app, app.state.settings)
    return app


def app_factory() -> FastAPI:
    """Entry for `uvicorn --factory perflab.api.app:app_factory`."""
    setup_logging(get_settings().telemetry.log_level)
    return create_app()
