"""Server spans, as a thin pure ASGI middleware on the OpenTelemetry API.

One SERVER span per request (`tracer.start_span`, made current with
`context.attach`): the incoming W3C `traceparent` (if any) is its parent, the
provider's sampler decides, and a sampled span carries the HTTP semantic conventions'
required attributes and is named `METHOD /route/{template}` once routing has chosen
the route. Measured against the contrib ASGI instrumentation and FastAPI's native
telemetry (docs/telemetry.md), it was the cheapest: it adds no span for
`send`/`receive`, no metrics and no attributes to unsampled requests, and an
unsampled request passes `send` through unwrapped (4.3 µs per request in-process,
6.5 µs with `start_as_current_span` and the wrapper).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from perflab.telemetry import PROBE_PATHS

_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})


class TracingMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        excluded: frozenset[str] = PROBE_PATHS,
        tracer_provider: trace.TracerProvider | None = None,  # None: the global one
        before_span: Callable[[Scope], None] | None = None,
    ) -> None:
        self.app = app
        self.excluded = excluded
        # Runs just before each request's span starts (and its sampler decides).
        self.before_span = before_span
        self.tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.excluded:
            await self.app(scope, receive, send)
            return
        # Only trace headers are decoded, and only when present (rare under load).
        carrier = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope["headers"]
            if k in _TRACE_HEADERS
        }
        parent = propagate.extract(carrier) if carrier else None
        if self.before_span is not None:
            self.before_span(scope)
        # start_span and attach rather than start_as_current_span: the same span and
        # context, without a generator-based context manager on every request.
        span = self.tracer.start_span(scope["method"], context=parent, kind=SpanKind.SERVER)
        token = context.attach(trace.set_span_in_context(span, parent))
        try:
            if not span.is_recording():  # unsampled: nothing to note, the span just ends
                await self.app(scope, receive, send)
                return
            await self._traced(span, scope, receive, send)
        finally:
            context.detach(token)
            span.end()

    async def _traced(self, span: trace.Span, scope: Scope, receive: Receive, send: Send) -> None:
        span.set_attributes(_request_attrs(scope))
        status = 500  # unless a response starts

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        error: Exception | None = None
        try:
            await self.app(scope, receive, send_status)
        except Exception as exc:
            error = exc
            span.record_exception(exc)  # as start_as_current_span would
            raise
        finally:
            _finish(span, scope, status, error)


def _request_attrs(scope: Scope) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "http.request.method": scope["method"],
        "url.scheme": scope.get("scheme", "http"),
        "url.path": scope["path"],
    }
    if scope.get("query_string"):
        attributes["url.query"] = scope["query_string"].decode("latin-1")
    return attributes


def _finish(span: trace.Span, scope: Scope, status: int, error: Exception | None) -> None:
    route = getattr(scope.get("route"), "path_format", None)
    if route is not None:
        span.update_name(f"{scope['method']} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if error is not None:
        span.set_status(StatusCode.ERROR, f"{type(error).__name__}: {error}")
    elif status >= 500:
        span.set_status(StatusCode.ERROR)
