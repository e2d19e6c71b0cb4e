"""Traces of the Flask service: a server span from the stock Flask instrumentation and a
client span per statement from the stock SQLAlchemy one, in the same trace.

Spans are read with the SDK's in-memory exporter added to the process's provider.
"""

from __future__ import annotations

import pytest
from flask import Flask
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

pytestmark = pytest.mark.integration


async def test_a_request_is_a_server_span_with_its_statements_inside(
    flask_app: Flask, flask_flag
) -> None:
    await flask_flag("telemetry_sampling", False)  # every request traced, not 1 %
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    answer = flask_app.test_client().get("/books/3")
    assert answer.status_code == 200
    spans = exporter.get_finished_spans()
    servers = [s for s in spans if s.kind is SpanKind.SERVER]
    assert [s.name for s in servers] == ["GET /books/<int:book_id>"]
    server = servers[0]
    # Statement spans carry the SQL (a first request may also show the pool's "connect").
    statements = [
        s
        for s in spans
        if s.kind is SpanKind.CLIENT
        and s.context.trace_id == server.context.trace_id
        and "db.statement" in (s.attributes or {})
    ]
    assert len(statements) == int(answer.headers["X-DB-Queries"]) == 1
    assert statements[0].attributes["db.system"] == "postgresql"
    assert "FROM books" in statements[0].attributes["db.statement"]
    exporter.shutdown()
