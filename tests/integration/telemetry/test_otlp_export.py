"""A real uvicorn exports its spans by OTLP/HTTP (the SDK's BatchSpanProcessor and the
official OTLPSpanExporter): they arrive at a receiver that decodes them with the
official protobuf classes, as one trace of a server span and its Postgres statement."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.otlp import Receiver, attributes, otlp_receiver
from tests.support.servers import service_env, uvicorn_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with otlp_receiver() as server:
        yield server


@pytest.fixture(scope="module")
def api(lab_root: Path, settings_env: dict[str, str], receiver: Receiver) -> Iterator[str]:
    env = {
        "PERFLAB_TELEMETRY__TRACING_ENABLED": "true",
        "PERFLAB_TELEMETRY__TRACE_SAMPLE_RATIO": "1.0",
        "PERFLAB_TELEMETRY__OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_port}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms: export within the test, not after 5 s
    }
    with uvicorn_server(lab_root, service_env(settings_env, env), name="otlp-export") as base:
        yield base


def _trace(receiver: Receiver, trace_id: bytes, count: int) -> list[tuple[str, Span]]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        spans = [(svc, s) for svc, s in receiver.spans() if s.trace_id == trace_id]
        if len(spans) >= count:
            return spans
        time.sleep(0.1)
    raise AssertionError(f"{count} spans of the trace not received: {receiver.spans()}")


def test_a_sampled_request_arrives_as_a_server_span_with_its_statement(
    api: str, receiver: Receiver
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
            if s.kind == Span.SPAN_KIND_SERVER and attributes(s).get("url.path") == "/books/1"
        ]
        time.sleep(0.1)
    assert server_spans, "no server span received"
    server = server_spans[0]
    spans = _trace(receiver, server.trace_id, 2)
    assert {svc for svc, _ in spans} == {"perflab-api"}
    assert server.name == "GET /books/{book_id}"
    assert attributes(server) | {"url.path": None} == {
        "http.request.method": "GET",
        "url.scheme": "http",
        "url.path": None,
        "http.route": "/books/{book_id}",
        "http.response.status_code": 200,
    }
    assert server.parent_span_id == b"" and server.end_time_unix_nano > server.start_time_unix_nano
    (statement,) = [s for _, s in spans if s.kind == Span.SPAN_KIND_CLIENT]
    assert statement.name == "SELECT" and statement.parent_span_id == server.span_id
    statement_attributes = attributes(statement)
    assert statement_attributes["db.system.name"] == "postgresql"
    assert "FROM books" in str(statement_attributes["db.query.text"])
    assert server.start_time_unix_nano <= statement.start_time_unix_nano
    assert statement.end_time_unix_nano <= server.end_time_unix_nano


def test_an_incoming_traceparent_is_continued_in_the_export(api: str, receiver: Receiver):
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
