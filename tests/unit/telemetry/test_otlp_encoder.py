"""The direct OTLP encoder writes what the official encoder builds, byte for byte."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import (
    encode_spans as official_encode_spans,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

from perflab.telemetry.otlp_encoder import FastOTLPSpanExporter, encode_spans

_RESOURCE = Resource({"service.name": "api", "host.name": "box"}, "https://schemas/1.26.0")
_OTHER_RESOURCE = Resource({"service.name": "worker", "n": 3})


def _tracers(
    resource: Resource = _RESOURCE, limits: SpanLimits | None = None
) -> tuple[trace.Tracer, trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=resource, span_limits=limits)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    first = provider.get_tracer("lab.http", "1.2.3", "https://schemas/1.21.0", {"scope.k": "v"})
    second = provider.get_tracer("lab.db")  # no version, schema_url or attributes
    return first, second, exporter


def _assert_same(spans: Sequence[ReadableSpan], expected_spans: int) -> ExportTraceServiceRequest:
    official = official_encode_spans(spans)
    ours = encode_spans(spans)
    assert ExportTraceServiceRequest.FromString(ours) == official
    assert ours == official.SerializePartialToString()  # byte-identical in every case here
    assert encode_spans(spans) == ours  # again, from warm caches
    count = sum(len(s.spans) for r in official.resource_spans for s in r.scope_spans)
    assert count == expected_spans
    return official


def _remote(is_remote: bool, trace_state: TraceState | None = None) -> SpanContext:
    return SpanContext(0xABC, 0xDEF, is_remote, TraceFlags(TraceFlags.SAMPLED), trace_state)


def test_kinds_statuses_and_parents_local_and_remote():
    first, second, exporter = _tracers()
    with first.start_as_current_span("root", kind=SpanKind.SERVER) as root:
        root.set_status(Status(StatusCode.OK))
        for kind in SpanKind:
            with second.start_as_current_span(f"child {kind.name}", kind=kind) as child:
                child.set_status(Status(StatusCode.ERROR, "boom: ünïcode"))
    for is_remote in (True, False):
        parent = trace.set_span_in_context(NonRecordingSpan(_remote(is_remote)))
        first.start_span(f"remote={is_remote}", context=parent, kind=SpanKind.CONSUMER).end()
    first.start_span("").end()  # empty name: omitted on the wire
    request = _assert_same(exporter.get_finished_spans(), 9)
    scopes = request.resource_spans[0].scope_spans
    flags = {span.name: span.flags for scope in scopes for span in scope.spans}
    assert (flags["remote=True"], flags["remote=False"], flags["root"]) == (0x300, 0x100, 0x100)


def test_events_links_and_trace_state():
    first, _, exporter = _tracers()
    state = TraceState([("vendor", "a1"), ("lab", "x")])
    parent = trace.set_span_in_context(NonRecordingSpan(_remote(True, state)))
    links = [
        Link(_remote(True, state), {"link.k": "v", "n": 2}),
        Link(_remote(False)),
        Link(SpanContext(1, 2, False)),
    ]
    with first.start_as_current_span("s", context=parent, links=links) as span:
        span.add_event("plain")
        span.add_event("timed", {"e.s": "x", "e.list": [1, 2]}, timestamp=1_700_000_000_123)
        span.add_event("zero time", timestamp=0)
    request = _assert_same(exporter.get_finished_spans(), 1)
    encoded = request.resource_spans[0].scope_spans[0].spans[0]
    assert encoded.trace_state == "vendor=a1,lab=x" and len(encoded.events) == 3
    # The official encoder leaves a link's trace_state out; the equality above holds us to it.
    assert encoded.links[0].trace_state == "" and encoded.links[0].flags == 0x300


def test_attributes_of_every_type():
    first, _, exporter = _tracers()
    attributes = {
        "s": "plain",
        "s.utf8": "ünïcödé ✓ 日本",
        "s.empty": "",
        "b.true": True,
        "b.false": False,
        "i.zero": 0,
        "i.pos": 42,
        "i.neg": -1,
        "i.min": -(2**63),
        "i.max": 2**63 - 1,
        "f": 3.25,
        "f.neg": -1e-300,
        "f.zero": 0.0,
        "bytes": b"\x00\xffraw",
        "bytes.empty": b"",
        "l.str": ["a", "ü", ""],
        "l.bool": [True, False],
        "l.int": [1, -2, 2**40],
        "l.float": [0.5, -0.0],
        "l.bytes": [b"x", b""],
        "l.empty": [],
        "map": {"inner": {"deep": [1, "two", None]}, "n": -7, "": "empty key"},
        "none": None,
    }
    with first.start_as_current_span("attrs", attributes=attributes):
        pass
    request = _assert_same(exporter.get_finished_spans(), 1)
    assert len(request.resource_spans[0].scope_spans[0].spans[0].attributes) == len(attributes)


def test_unencodable_values_drop_only_their_key_as_the_official_does():
    span = ReadableSpan(
        "raw",
        context=SpanContext(7, 8, False),
        resource=_RESOURCE,
        attributes={
            "ok": 1,
            "too.big": 2**64,
            "too.small": -(2**63) - 1,
            "surrogate": "\ud800",
            "object": object(),
            "nested.bad": [1, {2, 3}],
            "ok.too": "x",
            "map": {"": "empty key", 2: "int key", "b": b"\x01"},  # the SDK would clean these
        },
        status=None,  # type: ignore[arg-type]  # official omits a missing status
        start_time=0,
        end_time=None,
    )
    request = _assert_same([span], 1)
    assert [kv.key for kv in request.resource_spans[0].scope_spans[0].spans[0].attributes] == [
        "ok",
        "ok.too",
        "map",
    ]


def test_equal_values_of_other_types_are_not_confused():
    # 1 == True == 1.0 and 0.0 == -0.0: a cache keyed by value alone would mix them up.
    first, _, exporter = _tracers()
    for value in (1, True, 1.0, "1", 0, False, 0.0, -0.0, 1, True):
        first.start_span("v", attributes={"v": value, "l": [value]}).end()
    request = _assert_same(exporter.get_finished_spans(), 10)
    spans = request.resource_spans[0].scope_spans[0].spans
    assert [s.attributes[0].value.WhichOneof("value") for s in spans[:4]] == [
        "int_value",
        "bool_value",
        "double_value",
        "string_value",
    ]


class _RedactingSpan(ReadableSpan):
    """A span class that overrides the properties the encoder may otherwise bypass."""

    @property
    def attributes(self):
        return dict.fromkeys(super().attributes, "redacted")

    @property
    def events(self):
        return super().events[:1]

    @property
    def links(self):
        return ()


def test_span_subclasses_overriding_properties_are_read_through_them():
    context = SpanContext(5, 6, False)
    span = _RedactingSpan(
        "sub",
        context,
        resource=_RESOURCE,
        attributes={"secret": "x", "n": 1},
        events=[Event("kept", {"a": 1}, timestamp=5), Event("hidden", timestamp=6)],
        links=[Link(_remote(True), {"l": 1})],
    )
    encoded = _assert_same([span], 1).resource_spans[0].scope_spans[0].spans[0]
    assert [kv.value.string_value for kv in encoded.attributes] == ["redacted", "redacted"]
    assert [e.name for e in encoded.events] == ["kept"] and not encoded.links


def test_dropped_attributes_events_and_links_are_counted():
    limits = SpanLimits(
        max_span_attributes=2,
        max_events=2,
        max_links=1,
        max_event_attributes=1,
        max_link_attributes=1,
    )
    first, _, exporter = _tracers(limits=limits)
    links = [Link(_remote(True)), Link(_remote(False), {"a": 1, "b": 2})]  # oldest dropped
    with first.start_as_current_span("s", attributes={"a": 1, "b": 2, "c": 3}, links=links) as s:
        s.add_event("e0")  # the oldest event is the one dropped
        s.add_event("e1", {"a": 1, "b": 2, "c": 3})
        s.add_event("e2")
    request = _assert_same(exporter.get_finished_spans(), 1)
    encoded = request.resource_spans[0].scope_spans[0].spans[0]
    assert (encoded.dropped_attributes_count, encoded.dropped_events_count) == (1, 1)
    assert encoded.dropped_links_count == 1 and encoded.events[0].dropped_attributes_count == 2
    assert encoded.links[0].dropped_attributes_count == 1


def test_grouping_by_resource_then_scope_in_first_seen_order():
    first, second, exporter = _tracers()
    other, _, other_exporter = _tracers(_OTHER_RESOURCE)
    for i in range(3):
        second.start_span(f"db {i}").end()
        other.start_span(f"other {i}").end()
        first.start_span(f"http {i}").end()
    ours, others = exporter.get_finished_spans(), other_exporter.get_finished_spans()
    spans = [ours[0], others[0], *ours[1:4], others[1], *ours[4:], others[2]]
    request = _assert_same(spans, 9)
    assert [len(r.scope_spans) for r in request.resource_spans] == [2, 1]


def test_equal_but_distinct_resources_and_scopes_merge_like_the_official_dicts():
    # Equal Resources (even with their attributes in another order) and equal scopes are
    # one group, encoded from the first-seen object; a None scope is a group of its own.
    scope = InstrumentationScope("s", "1", None, {"k": 1})
    same_scope = InstrumentationScope("s", "1", None, {"k": 1})
    spans = [
        ReadableSpan(
            f"n{i}", SpanContext(i + 1, i + 1, False), resource=res, instrumentation_scope=sc
        )
        for i, (res, sc) in enumerate(
            [
                (Resource({"a": 1, "b": 2}), scope),
                (Resource({"b": 2, "a": 1}), same_scope),
                (Resource({"a": 1.0, "b": 2}), scope),  # equal but hashes apart: own group
                (Resource({"a": 1, "b": 2}), None),
                (None, None),  # ReadableSpan makes a fresh Resource.create({}) for each
                (None, scope),
            ]
        )
    ]
    request = _assert_same(spans, 6)
    assert [len(r.scope_spans) for r in request.resource_spans] == [2, 1, 2]


def test_empty_batch():
    assert encode_spans([]) == b"" == official_encode_spans([]).SerializePartialToString()


class _Collector(BaseHTTPRequestHandler):
    bodies: list[tuple[str, bytes]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.bodies.append((self.headers.get("Content-Encoding", ""), body))
        self.send_response(self.status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, type[_Collector]]]:
    handler = type("Handler", (_Collector,), {"bodies": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", handler
    finally:
        server.shutdown()
        server.server_close()


def _some_spans() -> Sequence[ReadableSpan]:
    first, second, exporter = _tracers()
    with first.start_as_current_span("GET /books", kind=SpanKind.SERVER, attributes={"a": 1}):
        second.start_span("SELECT", kind=SpanKind.CLIENT, attributes={"db": "x"}).end()
    return exporter.get_finished_spans()


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_exporter_posts_our_bytes(collector, compression):
    url, handler = collector
    spans = _some_spans()
    exporter = FastOTLPSpanExporter(endpoint=url, compression=compression)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    [(encoding, body)] = handler.bodies
    if compression is Compression.Gzip:
        assert encoding == "gzip"
        body = gzip.decompress(body)
    assert ExportTraceServiceRequest.FromString(body) == official_encode_spans(spans)
    assert body == encode_spans(spans)
    exporter.shutdown()
    assert exporter.export(spans) is SpanExportResult.FAILURE and len(handler.bodies) == 1


def test_exporter_keeps_the_parents_failures(collector):
    url, handler = collector
    spans = _some_spans()
    too_small = FastOTLPSpanExporter(endpoint=url, max_request_size=10)
    assert too_small.export(spans) is SpanExportResult.FAILURE and handler.bodies == []
    unknown_kind = ReadableSpan("x", SpanContext(1, 2, False), kind=None)  # type: ignore[arg-type]
    assert FastOTLPSpanExporter(endpoint=url).export([unknown_kind]) is SpanExportResult.FAILURE
    assert handler.bodies == []  # encoding failed, as the official's would (KeyError)
    handler.status = 400  # not retryable: one attempt, reported as a failure
    assert FastOTLPSpanExporter(endpoint=url).export(spans) is SpanExportResult.FAILURE
    assert len(handler.bodies) == 1
