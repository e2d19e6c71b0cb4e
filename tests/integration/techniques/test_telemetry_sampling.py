"""telemetry_sampling: the same data both ways; with the flag off every request is
traced, with it on about the default ratio of them (counted in an in-memory exporter
on the process's real tracer provider, behind the real app and its flag store)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from perflab.api.techniques import telemetry_sampling
from perflab.settings import Settings
from perflab.telemetry.tracing import setup_tracing
from tests.support.sampling import assert_about_ratio

pytestmark = pytest.mark.integration

ROUTE = "/telemetry/books/{book_id}"
REQUESTS = 300


@pytest.fixture(scope="module")
def exporter(settings: Settings) -> Iterator[InMemorySpanExporter]:
    provider = setup_tracing(settings, "perflab-api", telemetry_sampling.full_tracing)
    assert provider is not None, "tracing is on by default"
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory
    memory.shutdown()  # the provider is process-wide: stop collecting, keep it


async def _traced_requests(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> tuple[int, list[dict], set[str]]:
    """(server spans recorded for REQUESTS requests, the answers, the variants)."""
    exporter.clear()
    answers, variants = [], set()
    for i in range(REQUESTS):
        answer = await client.get(f"/telemetry/books/{i % 50 + 1}")
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-db-queries"] == "1"
        answers.append(answer.json())
        variants.add(answer.headers["x-technique-variant"])
    spans = [
        s
        for s in exporter.get_finished_spans()
        if s.kind is SpanKind.SERVER and s.attributes.get("http.route") == ROUTE
    ]
    return len(spans), answers, variants


async def test_flag_off_traces_every_request_and_on_about_the_ratio(
    app_client: httpx.AsyncClient, set_flag, exporter: InMemorySpanExporter, settings: Settings
):
    await set_flag("telemetry_sampling", False)
    every, plain, naive = await _traced_requests(app_client, exporter)
    await set_flag("telemetry_sampling", True)
    sampled, same, optimised = await _traced_requests(app_client, exporter)

    assert (naive, optimised) == ({"naive"}, {"optimised"})
    assert plain == same  # the same books, whatever the tracing
    assert plain[0].keys() == {"id", "title", "price_cents"}
    assert every == REQUESTS
    assert_about_ratio(sampled, REQUESTS, settings.telemetry.trace_sample_ratio)


async def test_unknown_book_is_a_404(app_client: httpx.AsyncClient):
    answer = await app_client.get("/telemetry/books/999999999")
    assert answer.status_code == 404
    assert "999999999" in answer.text
