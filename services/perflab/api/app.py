"""The FastAPI application: wiring only; the work lives in techniques and routes."""

from __future__ import annotations

from fastapi import FastAPI

from perflab.api import errors
from perflab.api.middleware.gzip import GZipMiddleware
from perflab.api.middleware.metrics import MetricsMiddleware
from perflab.api.middleware.querycount import QueryCountMiddleware
from perflab.api.resources import lifespan
from perflab.api.routes import alerts, flags, health, metrics, techniques
from perflab.api.techniques import REGISTRY
from perflab.settings import Settings, get_settings
from perflab.telemetry import metrics as lab_metrics
from perflab.telemetry.logging import setup_logging
from perflab.telemetry.tracing import fastapi_options, instrument_api


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="perflab", version="0.1.0", lifespan=lifespan, **fastapi_options())
    app.state.settings = settings or get_settings()
    # Run by the lifespan (e.g. db_index makes its index match the flag).
    app.state.technique_startup_hooks = {
        t.name: t.on_start for t in REGISTRY.values() if t.on_start is not None
    }
    errors.install(app)
    # Technique routes first: the router tries routes in order (a few us each), and the
    # techniques are what load tests call; health, metrics, flags and alerts are called
    # now and then, FastAPI's docs routes (added first by FastAPI) hardly ever.
    routers = [technique.router for technique in REGISTRY.values()]
    routers += [health.router, metrics.router, flags.router, techniques.router, alerts.router]
    # Not `include_router`: FastAPI (>= 0.137) includes a router lazily, and each request
    # walks every included router (twice) until one holds its path: ~20 routers cost about
    # a whole bare FastAPI request. These routers have no prefix, dependencies or
    # overrides to carry, so their routes join the app's router as they are: one scan.
    routes = [route for router in routers for route in router.routes]
    app.router.routes[:0] = routes
    # Inside the metrics middleware, so the size metric counts compressed bytes.
    app.add_middleware(GZipMiddleware)
    # Outside gzip, so it sees the bytes that really go on the wire. Either one sends
    # the X-DB-Queries header: it is part of the answers, metrics on or off.
    if app.state.settings.telemetry.metrics_enabled:
        app.add_middleware(
            MetricsMiddleware,
            routes=routes,
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
