"""Traces of the Django service: the lab's provider, then the stock instrumentations.

`opentelemetry-instrumentation-django` opens a server span per request (it inserts its
middleware in front of MIDDLEWARE, so it must run before the WSGI app is built) and
`opentelemetry-instrumentation-psycopg` a client span per statement. Probes and
scrapes are not traced.
"""

from __future__ import annotations

from perflab.settings import Settings
from perflab.telemetry.tracing import EXCLUDED_URLS, setup_tracing

SERVICE_NAME = "perflab-django"


def instrument(settings: Settings) -> None:
    provider = setup_tracing(settings, SERVICE_NAME)
    if provider is None:
        return
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    DjangoInstrumentor().instrument(tracer_provider=provider, excluded_urls=EXCLUDED_URLS)
    PsycopgInstrumentor().instrument(tracer_provider=provider)
