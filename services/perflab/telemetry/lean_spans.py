"""Recording spans for the lab's own instrumentations, at a seventh of the SDK's cost.

The SDK's `Tracer.start_span` + `Span.end` runs the sampler again, validates every
attribute through `BoundedAttributes` (a lock and an ABC check per value), takes the
span's lock on every call and copies the span into a `ReadableSpan` at the end:
~25 us per span on the lab machine, measured with a hot cache, and several times that
in a real server where one request in ten is sampled and the SDK's code is cold.

A `LeanSpan` is created only after the sampling decision was taken (the server
middleware's root decision, or a sampled parent for a statement span); it keeps its
name, ids, attributes, events and status in slots and builds one SDK `ReadableSpan`
at `end()`, handed to the provider's span processors like any SDK span. Exporters,
processors and the OTLP encoder therefore see standard SDK spans. What it leaves out,
on purpose: span limits (the lab's spans carry a handful of fixed attributes) and
thread safety (a span belongs to the one task that runs its request or statement).
Values that are not plain str/bool/int/float/bytes are cleaned by the SDK's own
`BoundedAttributes`, so a handler's `set_attribute` behaves as with an SDK span.

Used by api/middleware/tracing.py (server spans) and db/querylog.py (statement spans).
Redis and Celery keep the contrib instrumentations: they parent their SDK spans on a
LeanSpan through its `SpanContext`, as on any span.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import (
    Event,
    ReadableSpan,
    SynchronousMultiSpanProcessor,
    TracerProvider,
)
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.id_generator import IdGenerator
    from opentelemetry.sdk.trace.sampling import Sampler
    from opentelemetry.util.types import AnyValue, Attributes

_PLAIN = (str, bool, int, float, bytes)
_UNSET = Status(StatusCode.UNSET)
# What the SDK gives a root span of a random trace id (W3C trace context level 2), sampled
# or not.
_RANDOM_TRACE_ID = getattr(TraceFlags, "RANDOM_TRACE_ID", 0)
ROOT_SAMPLED = TraceFlags(TraceFlags.SAMPLED | _RANDOM_TRACE_ID)
ROOT_UNSAMPLED = TraceFlags(TraceFlags.DEFAULT | _RANDOM_TRACE_ID)


class LabTracerProvider(TracerProvider):
    """The SDK's provider, with its span processors in reach of `LeanTracer`.

    `span_processor` is the provider's own active processor (passed in, public API),
    so `add_span_processor` reaches SDK spans and lean spans alike.
    """

    def __init__(
        self,
        sampler: Sampler | None = None,
        resource: Resource | None = None,
        id_generator: IdGenerator | None = None,
    ) -> None:
        self.span_processor = SynchronousMultiSpanProcessor()
        super().__init__(
            sampler=sampler,
            resource=resource,
            active_span_processor=self.span_processor,
            id_generator=id_generator,
        )

    def lean_tracer(self, name: str) -> LeanTracer:
        return LeanTracer(self, name)


class LeanTracer:
    """Starts `LeanSpan`s whose sampling was already decided (sampled)."""

    def __init__(self, provider: LabTracerProvider, name: str) -> None:
        self.processor = provider.span_processor
        self.resource = provider.resource
        self.scope = InstrumentationScope(name)
        self.ids = provider.id_generator

    def start_root(
        self, name: str, trace_id: int, kind: SpanKind, attributes: dict[str, Any]
    ) -> LeanSpan:
        """A sampled span without a parent, of a trace id the sampler has accepted."""
        span_context = SpanContext(
            trace_id, self.ids.generate_span_id(), is_remote=False, trace_flags=ROOT_SAMPLED
        )
        return LeanSpan(self, name, span_context, None, kind, attributes)

    def start_child(
        self, name: str, parent: SpanContext, kind: SpanKind, attributes: dict[str, Any]
    ) -> LeanSpan:
        """A span under a sampled parent: ParentBased sampling keeps it without asking."""
        span_context = SpanContext(
            parent.trace_id,
            self.ids.generate_span_id(),
            is_remote=False,
            trace_flags=parent.trace_flags,
            trace_state=parent.trace_state,
        )
        return LeanSpan(self, name, span_context, parent, kind, attributes)


class LeanSpan(trace.Span):
    """A recording span that becomes an SDK `ReadableSpan` when it ends."""

    __slots__ = (
        "_tracer", "_name", "_context", "_parent", "_kind", "_attributes", "_events",
        "_links", "_status", "_start", "_end",
    )  # fmt: skip

    def __init__(
        self,
        tracer: LeanTracer,
        name: str,
        span_context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: dict[str, Any],
    ) -> None:
        self._tracer = tracer
        self._name = name
        self._context = span_context
        self._parent = parent
        self._kind = kind
        self._attributes = attributes  # owned from here on: the caller passes a new dict
        self._events: list[Event] = []
        self._links: list[Link] = []
        self._status = _UNSET
        self._end: int | None = None
        self._start = time.time_ns()
        tracer.processor.on_start(self)  # type: ignore[arg-type]  # processors take any Span

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._end is None

    def set_attribute(self, key: str, value: AnyValue) -> None:
        if self._end is not None:
            return
        if type(value) not in _PLAIN:
            value = _cleaned(key, value)
            if value is None:  # not even a str() of it: dropped, as the SDK does
                return
        self._attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, AnyValue]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def add_event(
        self, name: str, attributes: Attributes = None, timestamp: int | None = None
    ) -> None:
        if self._end is None:
            self._events.append(Event(name, _frozen(attributes), timestamp))

    def add_link(self, context: SpanContext, attributes: Attributes = None) -> None:
        if self._end is None and (context.is_valid or attributes):
            self._links.append(Link(context, _frozen(attributes)))

    def update_name(self, name: str) -> None:
        if self._end is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # The SDK's rules: OK is final, UNSET is never set.
        if self._end is not None or self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, StatusCode):
            status = Status(status, description)
        if status.status_code is not StatusCode.UNSET:
            self._status = status

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        kind = type(exception)
        module = kind.__module__
        details: dict[str, AnyValue] = {
            "exception.type": (
                f"{module}.{kind.__qualname__}"
                if module and module != "builtins"
                else kind.__qualname__
            ),
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        if attributes:
            details.update(attributes)
        self.add_event("exception", details, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._end is not None:
            return
        self._end = end_time if end_time is not None else time.time_ns()
        tracer = self._tracer
        tracer.processor.on_end(
            ReadableSpan(
                name=self._name,
                context=self._context,
                parent=self._parent,
                resource=tracer.resource,
                attributes=self._attributes,
                events=tuple(self._events),
                links=tuple(self._links),
                kind=self._kind,
                status=self._status,
                start_time=self._start,
                end_time=self._end,
                instrumentation_scope=tracer.scope,
            )
        )

    def __repr__(self) -> str:
        return f"LeanSpan({self._name!r}, trace_id={self._context.trace_id:032x})"


def _cleaned(key: str, value: Any) -> Any:
    # The SDK's rules: sequences become tuples, mappings are copied, other types their str().
    return BoundedAttributes(attributes={key: value}).get(key)


def _frozen(attributes: Attributes) -> BoundedAttributes:
    # Event and link attributes are immutable in the SDK too.
    return BoundedAttributes(attributes=attributes, immutable=True)
