"""Techniques about what observing a service costs."""

from __future__ import annotations

from perflab.catalog.spec import Implementation, Load, TechniqueSpec

TELEMETRY_SAMPLING = TechniqueSpec(
    name="telemetry_sampling",
    method="GET",
    path="/telemetry/books/{book_id}",
    summary="One book's title and price (a single pooled query), traced or not by the flag.",
    lesson="Trace a head-sampled share of requests instead of every one.",
    metric="service CPU per request: rate(perflab_process_cpu_seconds) of the service's "
    "processes / its request rate; route p95",
    expected="API CPU per request ~1.5x lower (2.2 -> 1.5 ms, busy 2-core machine, spans "
    "recorded but not exported); p95 lower",
    key_figure="api_cpu_per_request",
    promise=None,
    signals=("cpu_per_request", "http_p95"),
    load=Load(keys=("id", "title", "price_cents")),
    implementations={
        "fastapi": Implementation(
            naive="Every request is traced (sampling ratio 1.0): its server and Postgres spans "
            "are recorded, batched and exported.",
            optimised="Head sampling at the lab's default ratio "
            "(PERFLAB_TELEMETRY__TRACE_SAMPLE_RATIO): unsampled requests carry a trace id "
            "but record no span. The flag applies to every request of the API.",
        ),
        "django": Implementation(
            naive="Every request is traced: the Django and psycopg instrumentations' server "
            "and statement spans recorded, batched and exported.",
            optimised="Head sampling at the lab's default ratio; the flag applies to every "
            "request of the Django service.",
        ),
        "flask": Implementation(
            naive="Every request is traced: the Flask and SQLAlchemy instrumentations' server "
            "and statement spans recorded, batched and exported.",
            optimised="Head sampling at the lab's default ratio; the flag applies to every "
            "request of the Flask service.",
        ),
    },
)
