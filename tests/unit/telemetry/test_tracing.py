"""Head sampling and the server-span middleware, on a private tracer provider."""

from __future__ import annotations

import secrets

from opentelemetry import context, propagate, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, StatusCode, TraceFlags

from perflab.api.middleware.tracing import TracingMiddleware
from perflab.telemetry.lean_spans import LabTracerProvider, LeanSpan
from perflab.telemetry.tracing import (
    LabSampler,
    otlp_traces_url,
    sampled_trace_id,
)


class _Route:
    path_format = "/books/{book_id}"


def _parent(sampled: bool) -> context.Context:
    span_context = SpanContext(
        trace_id=secrets.randbits(128) | 1,
        span_id=secrets.randbits(64) | 1,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT),
    )
    return trace.set_span_in_context(NonRecordingSpan(span_context))


def test_sampler_follows_the_parent_and_drops_orphan_client_spans():
    always, never = LabSampler(1.0), LabSampler(0.0)
    trace_id = secrets.randbits(128)
    assert always.should_sample(None, trace_id, "GET", SpanKind.SERVER).decision is (
        Decision.RECORD_AND_SAMPLE
    )
    assert never.should_sample(None, trace_id, "GET", SpanKind.SERVER).decision is Decision.DROP
    # Redis polling of a background task: no parent, client kind.
    assert always.should_sample(None, trace_id, "HGETALL", SpanKind.CLIENT).decision is (
        Decision.DROP
    )
    # Inside a sampled request the same client span is kept, and the parent decides.
    assert always.should_sample(_parent(True), trace_id, "SELECT", SpanKind.CLIENT).decision is (
        Decision.RECORD_AND_SAMPLE
    )
    assert never.should_sample(_parent(True), trace_id, "SELECT", SpanKind.CLIENT).decision is (
        Decision.RECORD_AND_SAMPLE
    )
    assert always.should_sample(_parent(False), trace_id, "SELECT", SpanKind.CLIENT).decision is (
        Decision.DROP
    )


def test_otlp_url_gets_the_traces_path_once():
    assert otlp_traces_url("http://c:4318") == "http://c:4318/v1/traces"
    assert otlp_traces_url("http://c:4318/") == "http://c:4318/v1/traces"
    assert otlp_traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"


def _middleware(
    ratio: float, lab_provider: bool = True
) -> tuple[TracingMiddleware, InMemorySpanExporter, list]:
    exporter = InMemorySpanExporter()
    # The SDK's own provider: every request takes the SDK path (no lean spans).
    kind = LabTracerProvider if lab_provider else TracerProvider
    provider = kind(sampler=LabSampler(ratio))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    seen: list = []

    async def app(scope, receive, send):
        # What the endpoint sees: its trace id (if sampled) and instrumentation switch.
        seen.append((sampled_trace_id(), is_instrumentation_enabled(), trace.get_current_span()))
        scope["route"] = _Route()
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return TracingMiddleware(app, provider, frozenset({"/metrics"})), exporter, seen


def _scope(path: str, headers: list | None = None) -> dict:
    return {
        "type": "http", "method": "GET", "path": path, "scheme": "http", "http_version": "1.1",
        "query_string": b"x=1", "headers": headers or [(b"user-agent", b"test")],
        "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
    }  # fmt: skip


async def _call(mw: TracingMiddleware, scope: dict) -> None:
    async def receive():
        return {"type": "http.request"}

    async def send(message):
        pass

    await mw(scope, receive, send)


async def test_sampled_request_gets_a_named_server_span_and_a_trace_id():
    mw, exporter, seen = _middleware(1.0)
    await _call(mw, _scope("/books/7"))
    (span,) = exporter.get_finished_spans()
    assert span.kind is SpanKind.SERVER
    assert span.name == "GET /books/{book_id}"
    assert span.attributes["http.route"] == "/books/{book_id}"
    assert span.attributes["url.path"] == "/books/7"
    assert span.attributes["http.response.status_code"] == 503
    assert span.status.is_ok is False
    trace_id, instrumented, _ = seen[0]
    assert trace_id == format(span.context.trace_id, "032x")
    assert instrumented is True


async def test_unsampled_request_runs_without_library_spans_but_keeps_its_trace_context():
    mw, exporter, seen = _middleware(0.0)
    await _call(mw, _scope("/books/7"))
    assert exporter.get_finished_spans() == ()
    trace_id, instrumented, span = seen[0]
    assert trace_id is None and instrumented is False
    # A task enqueued from here inherits "not sampled" rather than starting a new trace.
    assert span.get_span_context().is_valid and not span.get_span_context().trace_flags.sampled


async def test_an_unsampled_span_makes_its_ids_once_and_propagates_them_as_not_sampled():
    mw, _, seen = _middleware(0.0)
    await _call(mw, _scope("/books/7"))
    span = seen[0][2]
    first = span.get_span_context()
    assert span.get_span_context() is first  # drawn on demand, then fixed
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    _, trace_id, span_id, flags = carrier["traceparent"].split("-")
    assert (trace_id, span_id) == (f"{first.trace_id:032x}", f"{first.span_id:016x}")
    assert int(flags, 16) & 0x01 == 0  # "not sampled" (0x02 is only "random trace id")


async def test_incoming_traceparent_is_continued_and_probes_are_never_traced():
    mw, exporter, seen = _middleware(0.0)  # the parent's decision wins over the ratio
    parent = secrets.token_hex(16)
    header = (b"traceparent", f"00-{parent}-{secrets.token_hex(8)}-01".encode())
    await _call(mw, _scope("/books/7", [header]))
    await _call(mw, _scope("/metrics", [header]))
    (span,) = exporter.get_finished_spans()
    assert format(span.context.trace_id, "032x") == parent
    assert [trace_id for trace_id, _, _ in seen] == [parent, None]


async def test_own_root_sampling_decides_as_the_sdk_sampler_would_for_the_same_trace_id():
    mw, exporter, seen = _middleware(0.5)
    sdk_sampler = LabSampler(0.5)
    for _ in range(300):
        await _call(mw, _scope("/books/7"))
    contexts = [span.get_span_context() for _, _, span in seen]
    sampled = [c for c in contexts if c.trace_flags.sampled]
    assert 0 < len(sampled) < len(contexts)  # both branches ran
    for c in contexts:
        decision = sdk_sampler.should_sample(None, c.trace_id, "GET", SpanKind.SERVER).decision
        assert c.trace_flags.sampled == decision.is_sampled()
    # Sampled requests keep the trace id that was drawn for the decision.
    assert sorted(s.context.trace_id for s in exporter.get_finished_spans()) == sorted(
        c.trace_id for c in sampled
    )
    assert len({c.trace_id for c in contexts}) == len(contexts)


async def test_lean_and_sdk_server_spans_carry_the_same_data():
    spans = {}
    for lab_provider in (True, False):
        mw, exporter, seen = _middleware(1.0, lab_provider=lab_provider)
        await _call(mw, _scope("/books/7"))
        (span,) = exporter.get_finished_spans()
        assert isinstance(seen[0][2], LeanSpan) is lab_provider
        spans[lab_provider] = span
    lean, sdk = spans[True], spans[False]
    assert (lean.name, lean.kind) == (sdk.name, sdk.kind)
    assert dict(lean.attributes) == dict(sdk.attributes)
    assert lean.status.status_code is sdk.status.status_code is StatusCode.ERROR  # the 503
    assert lean.context.trace_flags == sdk.context.trace_flags  # sampled, random trace id
    assert lean.parent is None and sdk.parent is None
    assert lean.start_time <= lean.end_time


async def test_without_the_lab_provider_the_sdk_samples_as_before():
    for ratio, expected in ((1.0, 1), (0.0, 0)):
        mw, exporter, seen = _middleware(ratio, lab_provider=False)
        await _call(mw, _scope("/books/7"))
        assert len(exporter.get_finished_spans()) == expected
        assert seen[0][2].get_span_context().is_valid


def test_the_resource_hashes_once_and_like_the_sdk_resource():
    from opentelemetry.sdk.resources import Resource

    from perflab.telemetry.tracing import _HashOnceResource

    sdk = Resource.create({"service.name": "perflab-api"})
    ours = _HashOnceResource(sdk.attributes, sdk.schema_url)
    assert ours == sdk and hash(ours) == hash(sdk)
    # The OTLP encoder groups spans by resource: both must land in one group.
    assert len({ours: 1, sdk: 2}) == 1
    assert ours._hash == hash(sdk)  # cached after the first call
