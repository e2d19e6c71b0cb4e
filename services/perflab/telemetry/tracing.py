"""OpenTelemetry tracing for the API and the Celery workers, on the stock SDK.

`setup_tracing` installs one SDK `TracerProvider` per process: head sampling
`ParentBased(TraceIdRatioBased(ratio))` (so a task follows the decision of the
request that enqueued it; `LabSampler` only adds that a parentless client span is
background chatter, not a trace), spans batched by `BatchSpanProcessor` and exported
by the official `OTLPSpanExporter` (OTLP/HTTP, protobuf) when `telemetry.otlp_endpoint`
is set; without it spans still exist, so logs and exemplars carry trace ids. Redis is
traced by the contrib instrumentation. Server spans come from the API's middleware
(api/middleware/tracing.py), Postgres spans from db/querylog.py, Celery spans from
celery_tracing.py (publish) and the contrib Celery instrumentation (task run, in the
worker). `tracing_enabled=false` installs nothing at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

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

from perflab.settings import Settings
from perflab.telemetry import PROBE_PATHS

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Link
    from opentelemetry.trace.span import TraceState
    from opentelemetry.util.types import Attributes

log = logging.getLogger(__name__)

TRACES_PATH = "/v1/traces"
# Scrapes and probes are never traced (every service; the contrib instrumentations'
# `excluded_urls` format).
EXCLUDED_URLS = ",".join(sorted(PROBE_PATHS))
_ALWAYS = TraceIdRatioBased(1.0)
_provider: TracerProvider | None = None


class LabSampler(Sampler):
    """`ParentBased(TraceIdRatioBased(ratio))`, except that a client span with no
    parent (the flag listener's Redis polling, the queue sampler) is dropped.

    `full_tracing`, when given, is asked at every root span: while it answers True
    every trace is kept (ratio 1.0), otherwise `ratio` applies (the telemetry_sampling
    technique hands in its flag, so a flip takes effect at the next request).
    """

    def __init__(self, ratio: float, full_tracing: Callable[[], bool] | None = None) -> None:
        self._sampled = ParentBased(TraceIdRatioBased(ratio))
        self.full_tracing = full_tracing

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
        # The parent is looked up only when it matters: the common server span of a
        # request without `traceparent` goes straight to the SDK's sampler.
        full_tracing = self.full_tracing
        if kind is SpanKind.CLIENT or full_tracing is not None:
            root = not trace.get_current_span(parent_context).get_span_context().is_valid
            if root and kind is SpanKind.CLIENT:
                return SamplingResult(Decision.DROP)
            if root and full_tracing is not None and full_tracing():
                return _ALWAYS.should_sample(parent_context, trace_id, name, kind, attributes)
        return self._sampled.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"LabSampler({self._sampled.get_description()})"


def otlp_traces_url(endpoint: str) -> str:
    """`http://host:4318` -> `http://host:4318/v1/traces` (a full URL is kept)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


def setup_tracing(
    settings: Settings, service_name: str, full_tracing: Callable[[], bool] | None = None
) -> TracerProvider | None:
    """Install tracing in this process once; later calls return the same provider (and
    hand it their `full_tracing`, if any: the API's flag hook, whoever set tracing up)."""
    global _provider
    telemetry = settings.telemetry
    if not telemetry.tracing_enabled:
        return None
    if _provider is not None:
        if full_tracing is not None and isinstance(_provider.sampler, LabSampler):
            _provider.sampler.full_tracing = full_tracing
        return _provider
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=LabSampler(telemetry.trace_sample_ratio, full_tracing),
    )
    if telemetry.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_traces_url(telemetry.otlp_endpoint))
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    RedisInstrumentor().instrument(tracer_provider=provider)  # a second call is ignored
    _provider = provider
    log.info(
        "tracing on",
        extra={"sample_ratio": telemetry.trace_sample_ratio, "otlp": telemetry.otlp_endpoint},
    )
    return provider


def flush_tracing(timeout_millis: int = 5_000) -> None:
    """Export pending spans now: a Celery pool process exits without running atexit."""
    if _provider is not None:
        _provider.force_flush(timeout_millis)


def sampled_trace_id() -> str | None:
    """Hex trace id of the current span when it is sampled, else None."""
    context = trace.get_current_span().get_span_context()
    if context.trace_flags.sampled:
        return format(context.trace_id, "032x")
    return None
