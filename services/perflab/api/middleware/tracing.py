"""Server spans, as pure ASGI middleware, paying for detail only on sampled requests.

Why not `FastAPIInstrumentor` (or FastAPI's native telemetry): both collect every
attribute and match the route again for each request, sampled or not; measured on
`GET /books/{id}` that roughly doubled the CPU per request at 10% sampling. Here the
head-sampling decision comes first:

- a request without `traceparent` (all of a load test's): the middleware draws the
  trace id and applies the sampler's root rule itself (`LabSampler.samples_root`), so
  the SDK is not entered to decide;
  - not sampled: the request runs under a non-recording span (so a Celery task it
    enqueues inherits "not sampled" through `traceparent`) with the library
    instrumentations suppressed, so asyncpg and Redis calls skip their span work;
  - sampled: a `LeanSpan` (telemetry/lean_spans.py), a seventh of an SDK span's cost;
- a request with `traceparent` (rare): the SDK's `tracer.start_span` with the parent,
  and the same two outcomes;
- either way a sampled request's SERVER span carries the required HTTP semantic-
  convention attributes and is named `METHOD /route/{template}` once routing has
  chosen the route.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.instrumentation.utils import _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from perflab.telemetry.lean_spans import ROOT_UNSAMPLED, LabTracerProvider, LeanTracer
from perflab.telemetry.tracing import LabSampler

_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})


class _Headers(Getter[dict[str, str]]):
    """Just enough of a carrier for the W3C propagators."""

    def get(self, carrier: dict[str, str], key: str) -> list[str] | None:
        value = carrier.get(key)
        return [value] if value is not None else None

    def keys(self, carrier: dict[str, str]) -> list[str]:
        return list(carrier)


_GETTER = _Headers()
# Unsampled requests run with the library instrumentations suppressed: their span work
# would be thrown away anyway.
_SUPPRESSED = context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True, context.Context())


class _UnsampledRootSpan(NonRecordingSpan):
    """The span of an unsampled request without `traceparent`.

    Its trace id is drawn with the sampling decision; the span id and the
    `SpanContext` are made only when something asks for them (a log line, the
    `traceparent` of a Celery task it enqueues). Most requests never do, and building
    them was a fifth of the unsampled cost.
    """

    def __init__(self, trace_id: int, ids: IdGenerator) -> None:
        self._trace_id = trace_id
        self._ids = ids
        self._span_context: SpanContext | None = None

    def get_span_context(self) -> SpanContext:
        if self._span_context is None:
            span_id = self._ids.generate_span_id()
            self._span_context = SpanContext(
                self._trace_id, span_id, is_remote=False, trace_flags=ROOT_UNSAMPLED
            )
        return self._span_context

    def __repr__(self) -> str:
        return f"_UnsampledRootSpan(trace_id={self._trace_id:032x})"


class TracingMiddleware:
    def __init__(
        self, app: ASGIApp, tracer_provider: TracerProvider, excluded: frozenset[str]
    ) -> None:
        self.app = app
        self.tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
        self.excluded = excluded
        # The fast root path needs both the lab's sampler (its root rule) and provider
        # (lean spans); with any other provider every request goes through the SDK.
        sampler = tracer_provider.sampler
        self._fast_root: tuple[LeanTracer, LabSampler] | None = None
        if isinstance(tracer_provider, LabTracerProvider) and isinstance(sampler, LabSampler):
            self._fast_root = (tracer_provider.lean_tracer(__name__), sampler)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Only trace headers are decoded, and only when present (rare under load).
        incoming = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope["headers"]
            if k in _TRACE_HEADERS
        }
        parent = propagate.extract(incoming, getter=_GETTER) if incoming else context.Context()
        if scope["path"] in self.excluded:
            span: Any = trace.INVALID_SPAN
        elif not incoming and self._fast_root is not None:
            span = self._root_span(scope, *self._fast_root)
        else:
            span = self.tracer.start_span(scope["method"], context=parent, kind=SpanKind.SERVER)
            if span.is_recording():
                span.set_attributes(_request_attributes(scope))
        if not span.is_recording():
            base = (
                _SUPPRESSED
                if not incoming
                else context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True, parent)
            )
            token = context.attach(trace.set_span_in_context(span, base))
            try:
                await self.app(scope, receive, send)
            finally:
                context.detach(token)
            return
        await self._traced(scope, receive, send, span, trace.set_span_in_context(span, parent))

    def _root_span(self, scope: Scope, lean: LeanTracer, sampler: LabSampler) -> Any:
        trace_id = lean.ids.generate_trace_id()
        if sampler.samples_root(trace_id):
            attributes = _request_attributes(scope)
            return lean.start_root(scope["method"], trace_id, SpanKind.SERVER, attributes)
        return _UnsampledRootSpan(trace_id, lean.ids)

    async def _traced(
        self, scope: Scope, receive: Receive, send: Send, span: Any, current: context.Context
    ) -> None:
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = context.attach(current)
        try:
            await self.app(scope, receive, send_status)
        except Exception as exc:
            span.record_exception(exc)
            raise
        finally:
            route = getattr(scope.get("route"), "path_format", None)
            if route is not None:
                span.update_name(f"{scope['method']} {route}")
                span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end()
            context.detach(token)


def _request_attributes(scope: Scope) -> dict[str, Any]:
    # The semantic conventions' required attributes only: each one more costs ~2 us to
    # record and ~3 us to encode per sampled span, and on loopback the recommended
    # ones (client and server address, user agent, protocol) say nothing new.
    attributes: dict[str, Any] = {
        "http.request.method": scope["method"],
        "url.scheme": scope.get("scheme", "http"),
        "url.path": scope["path"],
    }
    if scope.get("query_string"):
        attributes["url.query"] = scope["query_string"].decode("latin-1")
    return attributes
