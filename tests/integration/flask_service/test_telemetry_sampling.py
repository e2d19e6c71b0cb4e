"""telemetry_sampling (Flask): the same book both ways; with the flag off every request
is traced, with it on about the default ratio of them (server spans counted in an
in-memory exporter on the process's real tracer provider, sampled by the app's hook)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from perflab.flask_service import tracing
from perflab.settings import Settings
from perflab.telemetry.tracing import setup_tracing
from tests.support.sampling import assert_about_ratio

pytestmark = pytest.mark.integration
REQUESTS = 300
ROUTE = "/telemetry/books/<int:book_id>"


@pytest.fixture(scope="module")
def exporter(settings: Settings, flask_app: Flask) -> Iterator[InMemorySpanExporter]:
    # The provider is process-wide and its sampler asks one hook: this app's, for now
    # (the in-process API's tests hand it theirs the same way).
    hook = tracing.full_tracing_by(flask_app.extensions["perflab"].flags)
    provider = setup_tracing(settings, tracing.SERVICE_NAME, hook)
    assert provider is not None, "tracing is on by default"
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory
    memory.shutdown()  # stop collecting, keep the provider


def _traced(client: FlaskClient, exporter: InMemorySpanExporter, variant: str) -> tuple:
    """(server spans recorded for REQUESTS requests, the answers)."""
    exporter.clear()
    answers = []
    for i in range(REQUESTS):
        answer = client.get(f"/telemetry/books/{i % 50 + 1}")
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Technique-Variant"] == variant
        assert answer.headers["X-DB-Queries"] == "1"
        answers.append(answer.json)
    spans = [
        s
        for s in exporter.get_finished_spans()
        if s.kind is SpanKind.SERVER and (s.attributes or {}).get("http.route") == ROUTE
    ]
    return len(spans), answers


async def test_flag_off_traces_every_request_and_on_about_the_ratio(
    flask_client: FlaskClient, flask_flag, exporter: InMemorySpanExporter, settings: Settings
) -> None:
    await flask_flag("telemetry_sampling", False)
    every, plain = _traced(flask_client, exporter, "naive")
    await flask_flag("telemetry_sampling", True)
    sampled, same = _traced(flask_client, exporter, "optimised")

    assert plain == same  # the same books, whatever the tracing
    assert plain[0].keys() == {"id", "title", "price_cents"}
    assert every == REQUESTS
    assert_about_ratio(sampled, REQUESTS, settings.telemetry.trace_sample_ratio)


def test_unknown_book_is_404_a_bad_id_422(flask_client: FlaskClient) -> None:
    answer = flask_client.get("/telemetry/books/999999999")
    assert answer.status_code == 404 and "999999999" in answer.text
    assert flask_client.get("/telemetry/books/0").status_code == 422
