"""A real uvicorn exports its spans by OTLP/HTTP (the SDK's BatchSpanProcessor and the
official OTLPSpanExporter): they arrive at a receiver that decodes them with the
official protobuf classes, as one trace of a server span and its Postgres statement."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.servers import service_env, uvicorn_server

pytestmark = pytest.mark.integration


class _Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.exports: list[ExportTraceServiceRequest] = []

    def spans(self) -> list[tuple[str, Span]]:
        """(service.name, span) for every span received so far."""
        with self.lock:
            exports = list(self.exports)
        out = []
        for export in exports:
            for resource_spans in export.resource_spans:
                service = {
                    kv.key: kv.value.string_value for kv in resource_spans.resource.attributes
                }["service.name"]
                for scope_spans in resource_spans.scope_spans:
                    out += [(service, span) for span in scope_spans.spans]
        return out


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        export = ExportTraceServiceRequest.FromString(body)  # raises on a malformed body
        with self.server.lock:
            self.server.exports.append(export)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def api(lab_root: Path, settings_env: dict[str, str], receiver: _Receiver) -> Iterator[str]:
    env = {
        "PERFLAB_TELEMETRY__TRACING_ENABLED": "true",
        "PERFLAB_TELEMETRY__TRACE_SAMPLE_RATIO": "1.0",
        "PERFLAB_TELEMETRY__OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_port}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms: export within the test, not after 5 s
    }
    with uvicorn_server(lab_root, service_env(settings_env, env), name="otlp-export") as base:
        yield base


def _attributes(span: Span) -> dict[str, object]:
    return {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in span.attributes}


def _trace(receiver: _Receiver, trace_id: bytes, count: int) -> list[tuple[str, Span]]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        spans = [(svc, s) for svc, s in receiver.spans() if s.trace_id == trace_id]
        if len(spans) >= count:
            return spans
        time.sleep(0.1)
    raise AssertionError(f"{count} spans of the trace not received: {receiver.spans()}")


def test_a_sampled_request_arrives_as_a_server_span_with_its_statement(
    api: str, receiver: _Receiver
):
    answer = httpx.get(f"{api}/books/1", timeout=10)
    assert answer.status_code == 200, answer.text
    # The answer does not carry its trace id: find the server span by its path.
    deadline = time.monotonic() + 15
    server_spans: list[Span] = []
    while not server_spans and time.monotonic() < deadline:
        server_spans = [
            s
            for _, s in receiver.spans()
            if s.kind == Span.SPAN_KIND_SERVER and _attributes(s).get("url.path") == "/books/1"
        ]
        time.sleep(0.1)
    assert server_spans, "no server span received"
    server = server_spans[0]
    spans = _trace(receiver, server.trace_id, 2)
    assert {svc for svc, _ in spans} == {"perflab-api"}
    assert server.name == "GET /books/{book_id}"
    assert _attributes(server) | {"url.path": None} == {
        "http.request.method": "GET",
        "url.scheme": "http",
        "url.path": None,
        "http.route": "/books/{book_id}",
        "http.response.status_code": 200,
    }
    assert server.parent_span_id == b"" and server.end_time_unix_nano > server.start_time_unix_nano
    (statement,) = [s for _, s in spans if s.kind == Span.SPAN_KIND_CLIENT]
    assert statement.name == "SELECT" and statement.parent_span_id == server.span_id
    attributes = _attributes(statement)
    assert attributes["db.system.name"] == "postgresql"
    assert "FROM books" in str(attributes["db.query.text"])
    assert server.start_time_unix_nano <= statement.start_time_unix_nano
    assert statement.end_time_unix_nano <= server.end_time_unix_nano


def test_an_incoming_traceparent_is_continued_in_the_export(api: str, receiver: _Receiver):
    trace_id, parent_id = secrets.token_bytes(16), secrets.token_bytes(8)
    header = f"00-{trace_id.hex()}-{parent_id.hex()}-01"
    answer = httpx.get(f"{api}/books/2", headers={"traceparent": header}, timeout=10)
    assert answer.status_code == 200, answer.text
    spans = {s.kind: s for _, s in _trace(receiver, trace_id, 2)}
    server, statement = spans[Span.SPAN_KIND_SERVER], spans[Span.SPAN_KIND_CLIENT]
    assert server.parent_span_id == parent_id
    assert statement.parent_span_id == server.span_id
    # A remote parent: the span's flags say so (the is_remote bits of the OTLP spec).
    assert server.flags & 0x300 == 0x300
