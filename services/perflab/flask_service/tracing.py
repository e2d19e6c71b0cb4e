"""Traces for the Flask service with the stock instrumentations.

`opentelemetry-instrumentation-flask` opens a server span per request (probes and
scrapes excluded) and `opentelemetry-instrumentation-sqlalchemy` a client span per
statement on both engines, under the lab's tracer provider (sampling and OTLP export
as in every lab process: telemetry/tracing.py). Logs carry the ids of the current span.
The sampler traces every request while the telemetry_sampling flag is off, and the
lab's ratio once it is on (`full_tracing_by`).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from sqlalchemy import Engine

from perflab.flags.threaded import ThreadedFlagMirror
from perflab.settings import Settings
from perflab.telemetry.tracing import EXCLUDED_URLS, setup_tracing

SERVICE_NAME = "perflab-flask"
SAMPLING_FLAG = "telemetry_sampling"


def full_tracing_by(flags: ThreadedFlagMirror) -> Callable[[], bool]:
    """The sampler's question at every root span: trace it whatever the ratio while
    the telemetry_sampling flag is off (in this app's mirror of Redis)."""
    return lambda: not flags.enabled(SAMPLING_FLAG)


def instrument(
    app: Flask, settings: Settings, engines: list[Engine], flags: ThreadedFlagMirror
) -> None:
    provider = setup_tracing(settings, SERVICE_NAME, full_tracing_by(flags))
    if provider is None:  # tracing_enabled=false: nothing installed
        return
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider, excluded_urls=EXCLUDED_URLS)
    SQLAlchemyInstrumentor().instrument(
        engines=engines, tracer_provider=provider, enable_commenter=False
    )
