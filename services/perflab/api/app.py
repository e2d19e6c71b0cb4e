"""The FastAPI application: wiring only; the work lives in techniques and routes."""

from __future__ import annotations

from fastapi import FastAPI

from perflab.api import errors
from perflab.api.middleware.metrics import MetricsMiddleware
from perflab.api.resources import lifespan
from perflab.api.routes import flags, health, metrics, techniques
from perflab.api.techniques import REGISTRY
from perflab.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="perflab", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings or get_settings()
    errors.install(app)
    routers = [health.router, metrics.router, flags.router, techniques.router]
    routers += [technique.router for technique in REGISTRY.values()]
    for router in routers:
        app.include_router(router)
    # Outermost, so it sees the bytes that really go on the wire.
    app.add_middleware(MetricsMiddleware, routes=[r for rt in routers for r in rt.routes])
    return app


def app_factory() -> FastAPI:
    """Entry for `uvicorn --factory perflab.api.app:app_factory`."""
    return create_app()
