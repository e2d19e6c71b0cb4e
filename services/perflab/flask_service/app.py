"""The Flask application factory: wiring only; the work lives in techniques and routes.

`create_app(settings)` builds one app with its own resources (engines, Redis, flag
mirror). gunicorn calls `app_factory()` once per worker (no preload), so every worker
owns its pool and its flag thread.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from perflab.flask_service import admin, errors, routes, tracing
from perflab.flask_service.extensions import cache, compress
from perflab.flask_service.resources import EXTENSION, Resources, close_sessions
from perflab.flask_service.techniques import REGISTRY
from perflab.flask_service.techniques.base import mark_variant
from perflab.flask_service.telemetry import RequestTelemetry
from perflab.settings import Settings, get_settings
from perflab.telemetry import runtime
from perflab.telemetry.logging import setup_logging

CACHE_KEY_PREFIX = "perflab:flask:cache:"


def _config(settings: Settings) -> dict[str, Any]:
    timeout = settings.redis.socket_timeout_seconds
    return {
        # Flask-Caching on the lab's Redis; its hit/miss signals feed the cache metric.
        "CACHE_TYPE": "RedisCache",
        "CACHE_REDIS_URL": settings.redis.url,
        "CACHE_KEY_PREFIX": CACHE_KEY_PREFIX,
        "CACHE_ENABLE_SIGNALS": True,
        "CACHE_OPTIONS": {"socket_timeout": timeout, "socket_connect_timeout": timeout},
        # Flask-Compress only where the gzip technique asks for it, per request.
        "COMPRESS_REGISTER": False,
        "COMPRESS_ALGORITHM": ["gzip"],
        "COMPRESS_MIN_SIZE": 1024,
    }


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    # Off, every metric is already a no-op (telemetry/metrics.py reads the setting).
    metrics_on = settings.telemetry.metrics_enabled
    app = Flask(__name__)
    app.config.from_mapping(_config(settings))
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep each answer's own order
    res = Resources.open(settings)
    app.extensions[EXTENSION] = res
    cache.init_app(app)
    compress.init_app(app)
    errors.install(app)
    admin.install(app, settings)
    app.register_blueprint(routes.blueprint)
    for technique in REGISTRY.values():
        app.register_blueprint(technique.blueprint)
    app.after_request(mark_variant)
    app.teardown_appcontext(close_sessions)
    # Outside everything Flask does, so it sees the bytes that really go on the wire.
    app.wsgi_app = RequestTelemetry(app, app.wsgi_app, metrics=metrics_on)  # type: ignore[method-assign]
    if metrics_on:
        runtime.start_sampler_thread()
        res.start_pool_sampler()
    tracing.instrument(app, settings, [res.pooled, res.direct], res.flags)
    return app


def app_factory() -> Flask:
    """Entry for gunicorn: `perflab.flask_service.app:app_factory()`."""
    setup_logging(get_settings().telemetry.log_level)
    return create_app()
