"""Server spans, as a thin pure ASGI middleware on the OpenTelemetry API.

One SERVER span per request with `tracer.start_as_current_span`: the incoming W3C
`traceparent` (if any) is its parent, the provider's sampler decides, and a sampled
span carries the HTTP semantic conventions' required attributes and is named
`METHOD /route/{template}` once routing has chosen the route. Measured against the
contrib ASGI instrumentation and FastAPI's native telemetry (docs/telemetry.md), it
was the cheapest: it adds no span for `send`/`receive`, no metrics and no attributes
to unsampled requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import propagate, trace
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
        status = 500  # unless a response starts

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self.tracer.start_as_current_span(
            scope["method"], context=parent, kind=SpanKind.SERVER
        ) as span:
            recording = span.is_recording()
            if recording:
                span.set_attributes(_request_attrs(scope))
            try:
                await self.app(scope, receive, send_status)
            finally:
                if recording:
                    _finish(span, scope, status)


def _request_attrs(scope: Scope) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "http.request.method": scope["method"],
        "url.scheme": scope.get("scheme", "http"),
        "url.path": scope["path"],
    }
    if scope.get("query_string"):
        attributes["url.query"] = scope["query_string"].decode("latin-1")
    return attributes


def _finish(span: trace.Span, scope: Scope, status: int) -> None:
    route = getattr(scope.get("route"), "path_format", None)
    if route is not None:
        span.update_name(f"{scope['method']} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(StatusCode.ERROR)
