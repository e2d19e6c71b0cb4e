"""Head sampling and the server-span middleware, on a private SDK tracer provider."""

from __future__ import annotations

import secrets

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, StatusCode, TraceFlags

from perflab.api.middleware.tracing import TracingMiddleware
from perflab.telemetry.tracing import LabSampler, otlp_traces_url, sampled_trace_id


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


def _decision(sampler: LabSampler, parent=None, kind=SpanKind.SERVER) -> Decision:
    return sampler.should_sample(parent, secrets.randbits(128), "x", kind).decision


def test_sampler_follows_the_parent_and_drops_orphan_client_spans():
    always, never = LabSampler(1.0), LabSampler(0.0)
    assert _decision(always) is Decision.RECORD_AND_SAMPLE
    assert _decision(never) is Decision.DROP
    # Redis polling of a background task: no parent, client kind.
    assert _decision(always, kind=SpanKind.CLIENT) is Decision.DROP
    # Inside a request the same client span follows the parent, whatever the ratio.
    assert _decision(never, _parent(True), SpanKind.CLIENT) is Decision.RECORD_AND_SAMPLE
    assert _decision(always, _parent(False), SpanKind.CLIENT) is Decision.DROP


def test_full_tracing_is_asked_at_every_root_span():
    full = [True]
    sampler = LabSampler(0.0, full_tracing=lambda: full[0])
    assert _decision(sampler) is Decision.RECORD_AND_SAMPLE
    full[0] = False  # a flip: the next root span already follows the ratio
    assert _decision(sampler) is Decision.DROP
    # A parent's decision still wins.
    assert _decision(sampler, _parent(True)) is Decision.RECORD_AND_SAMPLE


def test_ratio_keeps_about_that_share_of_root_spans():
    sampler = LabSampler(0.25)
    kept = sum(_decision(sampler) is Decision.RECORD_AND_SAMPLE for _ in range(4000))
    assert 800 < kept < 1200


def test_otlp_url_gets_the_traces_path_once():
    assert otlp_traces_url("http://c:4318") == "http://c:4318/v1/traces"
    assert otlp_traces_url("http://c:4318/") == "http://c:4318/v1/traces"
    assert otlp_traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"


def _middleware(ratio: float) -> tuple[TracingMiddleware, InMemorySpanExporter, list]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=LabSampler(ratio))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    seen: list = []

    async def app(scope, receive, send):
        # What the endpoint sees: its trace id (if sampled) and its span.
        seen.append((sampled_trace_id(), trace.get_current_span()))
        scope["route"] = _Route()
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    mw = TracingMiddleware(app, frozenset({"/metrics"}), tracer_provider=provider)
    return mw, exporter, seen


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
    assert span.attributes["url.query"] == "x=1"
    assert span.attributes["http.response.status_code"] == 503
    assert span.status.status_code is StatusCode.ERROR
    assert seen[0][0] == format(span.context.trace_id, "032x")


async def test_unsampled_request_exports_nothing_but_keeps_its_trace_context():
    mw, exporter, seen = _middleware(0.0)
    await _call(mw, _scope("/books/7"))
    assert exporter.get_finished_spans() == ()
    trace_id, span = seen[0]
    assert trace_id is None
    # A task enqueued from here inherits "not sampled" rather than starting a new trace.
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    assert span.get_span_context().is_valid
    assert int(carrier["traceparent"].rsplit("-", 1)[1], 16) & 0x01 == 0


async def test_incoming_traceparent_is_continued_and_probes_are_never_traced():
    mw, exporter, seen = _middleware(0.0)  # the parent's decision wins over the ratio
    parent = secrets.token_hex(16)
    header = (b"traceparent", f"00-{parent}-{secrets.token_hex(8)}-01".encode())
    await _call(mw, _scope("/books/7", [header]))
    await _call(mw, _scope("/metrics", [header]))
    (span,) = exporter.get_finished_spans()
    assert format(span.context.trace_id, "032x") == parent
    assert [trace_id for trace_id, _ in seen] == [parent, None]


async def test_an_exception_is_recorded_on_the_span():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=LabSampler(1.0))
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def failing(scope, receive, send):
        raise RuntimeError("boom")

    mw = TracingMiddleware(failing, tracer_provider=provider)
    try:
        await _call(mw, _scope("/books/7"))
    except RuntimeError:
        pass
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "RuntimeError: boom"
    assert [e.name for e in span.events] == ["exception"]
    assert span.attributes["http.response.status_code"] == 500
