"""Lean spans against SDK spans: the same calls must give the same exported span."""

from __future__ import annotations

import secrets

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import (
    encode_spans as official_encode_spans,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from perflab.telemetry.lean_spans import ROOT_SAMPLED, LabTracerProvider, LeanSpan
from perflab.telemetry.otlp_encoder import encode_spans

RESOURCE = Resource.create({"service.name": "lean-test"})


def _provider(kind: type[TracerProvider]) -> tuple[TracerProvider, InMemorySpanExporter]:
    provider = kind(sampler=ALWAYS_ON, resource=RESOURCE)
    exporter = InMemorySpanExporter()
    # Added after the provider exists, as tests and the lab's OTLP set-up do.
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


class _Odd:
    def __str__(self) -> str:
        return "odd value"


def _exercise(span: trace.Span) -> None:
    """One of every call the Span API offers, in the order a handler might make them."""
    span.set_attribute("http.response.status_code", 500)
    span.set_attributes({"url.path": "/books/7", "ratio": 0.5, "flag": True, "raw": b"\x00"})
    span.set_attribute("tags", ["a", "b"])  # a list: stored as a tuple
    span.set_attribute("odd", _Odd())  # not a valid value type: kept as its str()
    span.add_event("retry", {"attempt": 2}, timestamp=1_000)
    span.add_link(SpanContext(7, 9, is_remote=True), {"why": "batch"})
    span.update_name("GET /books/{book_id}")
    try:
        raise ValueError("no such book")
    except ValueError as exc:
        span.record_exception(exc, {"book": 7}, timestamp=2_000)
    span.set_status(Status(StatusCode.ERROR, "lookup failed"))
    span.set_status(StatusCode.UNSET)  # ignored, as by the SDK
    span.end()
    span.set_attribute("after", "end")  # ignored once ended
    span.update_name("renamed after end")
    span.end()  # a second end exports nothing more


def _comparable(span: ReadableSpan) -> dict:
    exception = next(e for e in span.events if e.name == "exception")
    return {
        "name": span.name,
        "kind": span.kind,
        "attributes": dict(span.attributes),
        "status": (span.status.status_code, span.status.description),
        "events": [
            (e.name, {k: v for k, v in e.attributes.items() if k != "exception.stacktrace"})
            for e in span.events
        ],
        "event_times": [e.timestamp for e in span.events],
        "stacktrace_names_the_error": "ValueError: no such book"
        in exception.attributes["exception.stacktrace"],
        "links": [(link.context, dict(link.attributes)) for link in span.links],
        "resource": span.resource,
        "scope": span.instrumentation_scope.name,
        "sampled": span.context.trace_flags.sampled,
    }


def test_a_lean_span_exports_what_an_sdk_span_exports_for_the_same_calls():
    lab, lab_spans = _provider(LabTracerProvider)
    sdk, sdk_spans = _provider(TracerProvider)
    trace_id = secrets.randbits(128) | 1
    lean = lab.lean_tracer("perflab.test").start_root("GET", trace_id, SpanKind.SERVER, {})
    _exercise(lean)
    _exercise(sdk.get_tracer("perflab.test").start_span("GET", kind=SpanKind.SERVER))

    (ours,), (theirs,) = lab_spans.get_finished_spans(), sdk_spans.get_finished_spans()
    assert _comparable(ours) == _comparable(theirs)
    assert ours.attributes["tags"] == ("a", "b") and ours.attributes["odd"] == "odd value"
    assert ours.context.trace_id == trace_id and ours.context.trace_flags == ROOT_SAMPLED
    assert 0 < ours.start_time <= ours.end_time
    # What the exporter sends of it: the lab's encoder writes what the official one does.
    assert encode_spans([ours]) == official_encode_spans([ours]).SerializePartialToString()


def test_ok_is_final_as_in_the_sdk():
    lab, spans = _provider(LabTracerProvider)
    span = lab.lean_tracer("t").start_root("x", 5, SpanKind.INTERNAL, {})
    span.set_status(StatusCode.OK)
    span.set_status(StatusCode.ERROR, "too late")
    span.end()
    assert spans.get_finished_spans()[0].status.status_code is StatusCode.OK


def test_a_child_keeps_the_parents_trace_and_sdk_spans_nest_under_a_lean_span():
    lab, spans = _provider(LabTracerProvider)
    lean = lab.lean_tracer("perflab.test")
    root = lean.start_root("GET", secrets.randbits(128) | 1, SpanKind.SERVER, {"a": 1})
    statement = lean.start_child("SELECT", root.get_span_context(), SpanKind.CLIENT, {})
    statement.end()
    # What the contrib Redis/Celery instrumentations do: an SDK span in the current context.
    with trace.use_span(root, end_on_exit=False):
        lab.get_tracer("contrib").start_span("HGET", kind=SpanKind.CLIENT).end()
    root.end()

    finished = {s.name: s for s in spans.get_finished_spans()}
    assert set(finished) == {"GET", "SELECT", "HGET"}
    for name in ("SELECT", "HGET"):
        child = finished[name]
        assert child.context.trace_id == root.get_span_context().trace_id
        assert child.parent is not None and child.parent.span_id == root.get_span_context().span_id
        assert child.context.trace_flags.sampled
    assert isinstance(root, LeanSpan) and not root.is_recording()


def test_a_child_of_a_remote_parent_keeps_its_trace_state():
    lab, spans = _provider(LabTracerProvider)
    parent = SpanContext(
        secrets.randbits(128) | 1,
        secrets.randbits(64) | 1,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=trace.TraceState([("vendor", "v1")]),
    )
    lab.lean_tracer("t").start_child("SELECT", parent, SpanKind.CLIENT, {}).end()
    (span,) = spans.get_finished_spans()
    assert span.parent == parent
    assert span.context.trace_state == parent.trace_state
    assert span.context.span_id != parent.span_id and not span.context.is_remote
