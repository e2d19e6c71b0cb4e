"""Celery spans: the publish side for the API, the contrib instrumentation for workers.

The contrib CeleryInstrumentor ends its `apply_async/<task>` span only when the
publishing process has the task in its registry; the API publishes by name
(`send_task`, see worker/client.py), so that span would never end and the task's
span would hang under a parent no backend ever receives. So the API process does not
use it: `install_publisher` connects a PRODUCER span per message on Celery's public
publish signals, its context injected into the message headers (`traceparent`),
ended on `after_task_publish`. Worker pool processes run the contrib instrumentor
(`instrument_worker`), whose `task_prerun` reads `traceparent` back: the task's span
continues the request's trace.
"""

from __future__ import annotations

from typing import Any

from celery import signals
from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Tracer

_MAX_PENDING = 1_000  # publishes that failed never reach after_task_publish
_pending: dict[str, tuple[trace.Span, object]] = {}
_tracer: Tracer | None = None


def _task_id(headers: dict[str, Any] | None, body: Any) -> str | None:
    if headers and headers.get("id"):
        return str(headers["id"])  # task protocol 2
    if isinstance(body, dict) and body.get("id"):
        return str(body["id"])  # protocol 1
    return None


def _before_publish(
    sender: str | None = None, headers: dict[str, Any] | None = None, body: Any = None, **_: Any
) -> None:
    task_id = _task_id(headers, body)
    if _tracer is None or task_id is None or headers is None:
        return
    span = _tracer.start_span(f"apply_async/{sender}", kind=SpanKind.PRODUCER)
    if span.is_recording():
        span.set_attribute("celery.task_name", str(sender))
        span.set_attribute("messaging.message.id", task_id)
        span.set_attribute("celery.action", "apply_async")
    current = trace.set_span_in_context(span)
    propagate.inject(headers, context=current)
    if len(_pending) >= _MAX_PENDING:
        _pending.clear()
    # Current until after_publish (same thread), so the broker's LPUSH nests under it.
    _pending[task_id] = (span, context.attach(current))


def _after_publish(headers: dict[str, Any] | None = None, body: Any = None, **_: Any) -> None:
    task_id = _task_id(headers, body)
    entry = _pending.pop(task_id, None) if task_id else None
    if entry is not None:
        span, token = entry
        context.detach(token)  # type: ignore[arg-type]
        span.end()


def install_publisher(tracer_provider: trace.TracerProvider) -> None:
    """The API's publish spans (Celery dedupes the receivers: idempotent)."""
    global _tracer
    _tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
    signals.before_task_publish.connect(_before_publish, weak=False)
    signals.after_task_publish.connect(_after_publish, weak=False)


def instrument_worker(tracer_provider: trace.TracerProvider) -> None:
    """A worker pool process's task spans (a second call is ignored)."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    CeleryInstrumentor().instrument(tracer_provider=tracer_provider)
