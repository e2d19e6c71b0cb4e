"""OpenTelemetry tracing for the API and the Celery workers.

`setup_tracing` installs one `LabTracerProvider` per process (the SDK's provider, with
its span processors shared by the lab's lean spans, see lean_spans.py; head sampling:
`ParentBased(TraceIdRatioBased(trace_sample_ratio))`, so a task follows the decision
of the request that enqueued it; parentless client spans are dropped) and
instruments Redis and Celery with the contrib instrumentations. The API's server
spans come from `api/middleware/tracing.py` and Postgres statement spans from
`db/querylog.py` (see there why: both cost little on unsampled requests). Spans are
exported by OTLP/HTTP (batched; protobuf written by otlp_encoder.py) only when
`telemetry.otlp_endpoint` is set; without it they still exist, so logs and exemplars
carry trace ids. `tracing_enabled=false` installs nothing at all. Celery propagates
the context in the task message headers (`traceparent`): injected on
`before_task_publish` (celery_tracing), extracted on `task_prerun` in the worker's pool
process (the contrib instrumentor).
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import SpanKind

from perflab.db import querylog
from perflab.settings import Settings
from perflab.telemetry import celery_tracing
from perflab.telemetry.lean_spans import LabTracerProvider

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fastapi import FastAPI
    from opentelemetry.context import Context
    from opentelemetry.trace import Link
    from opentelemetry.trace.span import TraceState
    from opentelemetry.util.types import Attributes

log = logging.getLogger(__name__)

# Scrapes and probes would fill the trace store with noise: never traced.
EXCLUDED_URLS = "/metrics,/healthz,/readyz"
TRACES_PATH = "/v1/traces"

_provider: LabTracerProvider | None = None


class LabSampler(Sampler):
    """Head sampling by trace id ratio, following the parent's decision, except that
    a client span with no parent (the flag listener's Redis polling, the queue
    sampler, the pool warm-up) is background chatter, not a trace: dropped."""

    def __init__(self, ratio: float) -> None:
        self._root = TraceIdRatioBased(ratio)
        self._delegate = ParentBased(self._root)

    def samples_root(self, trace_id: int) -> bool:
        """The decision `should_sample` takes for a span without a parent (a request
        without `traceparent`), from its trace id alone."""
        return trace_id & TraceIdRatioBased.TRACE_ID_LIMIT < self._root.bound

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT:
            parent = trace.get_current_span(parent_context).get_span_context()
            if not parent.is_valid:
                return SamplingResult(Decision.DROP)
        return self._delegate.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"LabSampler({self._delegate.get_description()})"


class _HashOnceResource(Resource):
    """A Resource that computes its hash once.

    `Resource.__hash__` serialises all the attributes to JSON each time, and the official
    OTLP encoder hashes the resource for every exported span (a sixth of its time). The
    lab's encoder (otlp_encoder.py) hashes it once per batch, so with it this saves
    little; it stays for any exporter that groups by resource. A Resource is immutable,
    so its hash cannot change.
    """

    _hash: int | None = None

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = super().__hash__()
        return self._hash


def otlp_traces_url(endpoint: str) -> str:
    """`http://host:4318` -> `http://host:4318/v1/traces` (a full URL is kept)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


def setup_tracing(settings: Settings, service_name: str) -> LabTracerProvider | None:
    """Install tracing in this process once; later calls return the same provider."""
    global _provider
    telemetry = settings.telemetry
    if not telemetry.tracing_enabled:
        return None
    if _provider is not None:
        return _provider
    resource = Resource.create({"service.name": service_name})
    provider = LabTracerProvider(
        resource=_HashOnceResource(resource.attributes, resource.schema_url),
        sampler=LabSampler(telemetry.trace_sample_ratio),
    )
    if telemetry.otlp_endpoint:
        # The official OTLP/HTTP exporter, with the lab's own encoder (5x cheaper).
        from perflab.telemetry.otlp_encoder import FastOTLPSpanExporter

        exporter = FastOTLPSpanExporter(endpoint=otlp_traces_url(telemetry.otlp_endpoint))
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _instrument_libraries(provider)
    querylog.enable_tracing(provider)
    _provider = provider
    log.info(
        "tracing on",
        extra={"sample_ratio": telemetry.trace_sample_ratio, "otlp": telemetry.otlp_endpoint},
    )
    return provider


def _instrument_libraries(provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    # Each instrumentor patches process-wide and ignores a second call.
    RedisInstrumentor().instrument(tracer_provider=provider)
    CeleryInstrumentor().instrument(tracer_provider=provider)
    celery_tracing.install(provider)


def instrument_api(app: FastAPI, settings: Settings) -> None:
    """Tracing for an API process and server spans for its app (before its first call).

    Added last, so it is the outermost middleware: the metrics middleware runs inside
    the server span and can put its trace id on the latency histogram.
    """
    provider = setup_tracing(settings, "perflab-api")
    if provider is None:
        return
    from perflab.api.middleware.tracing import TracingMiddleware

    app.add_middleware(
        TracingMiddleware, tracer_provider=provider, excluded=frozenset(EXCLUDED_URLS.split(","))
    )


def fastapi_options() -> dict[str, Any]:
    """FastAPI's own telemetry off: from 0.16x it opens server spans (and records
    metrics and logs) whenever a provider is configured, on top of perflab's spans."""
    from fastapi import FastAPI

    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    return {}


def flush_tracing(timeout_millis: int = 5_000) -> None:
    """Export pending spans now: a Celery pool process exits without running atexit."""
    if _provider is not None:
        _provider.force_flush(timeout_millis)


def sampled_trace_id() -> str | None:
    """Hex trace id of the current span when it is sampled, else None (cheap)."""
    span = trace.get_current_span()
    if not span.is_recording():  # first: an unsampled span makes its ids on demand
        return None
    context = span.get_span_context()
    if context.trace_flags.sampled:
        return format(context.trace_id, "032x")
    return None
