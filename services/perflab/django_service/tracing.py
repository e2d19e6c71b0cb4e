"""Traces of the Django service: the lab's provider, then the stock instrumentations.

`opentelemetry-instrumentation-django` opens a server span per request (it inserts its
middleware in front of MIDDLEWARE, so it must run before the WSGI app is built) and
`opentelemetry-instrumentation-psycopg` a client span per statement. Probes and
scrapes are not traced. The sampler traces every request while the
telemetry_sampling flag is off, and the lab's ratio once it is on (`full_tracing`).
"""

from __future__ import annotations

from perflab.django_service import runtime
from perflab.settings import Settings
from perflab.telemetry.tracing import EXCLUDED_URLS, setup_tracing

SERVICE_NAME = "perflab-django"
SAMPLING_FLAG = "telemetry_sampling"


def full_tracing() -> bool:
    """Asked by the sampler at every root span: trace it whatever the ratio while the
    telemetry_sampling flag is off (this worker's mirror of Redis)."""
    return not runtime.enabled(SAMPLING_FLAG)


def instrument(settings: Settings) -> None:
    provider = setup_tracing(settings, SERVICE_NAME, full_tracing)
    if provider is None:
        return
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    DjangoInstrumentor().instrument(tracer_provider=provider, excluded_urls=EXCLUDED_URLS)
    PsycopgInstrumentor().instrument(tracer_provider=provider)
