"""telemetry_sampling (Django): the same book both ways; with the flag off every request
is traced, with it on about the default ratio of them (server spans counted where a
gunicorn's real OTLP exporter sends them)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from perflab.settings import Settings
from tests.integration.django.conftest import wait_for_flag
from tests.support.otlp import Receiver, attributes, otlp_receiver
from tests.support.sampling import assert_about_ratio
from tests.support.servers import gunicorn_server, service_env

pytestmark = pytest.mark.integration
REQUESTS = 300
PATH = "/telemetry/books/"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with otlp_receiver() as server:
        yield server


@pytest.fixture(scope="module")
def traced_django(
    lab_root: Path, settings_env: dict[str, str], flags_api: str, receiver: Receiver
) -> Iterator[httpx.Client]:
    env = {
        "PERFLAB_TELEMETRY__TRACING_ENABLED": "true",  # at the lab's default ratio
        "PERFLAB_TELEMETRY__OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_port}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms: export within the test, not after 5 s
    }
    with gunicorn_server(
        lab_root, service_env(settings_env, env), workers=1, name="django-traced"
    ) as url:
        with httpx.Client(base_url=url, timeout=60) as client:
            yield client


def _server_spans(receiver: Receiver) -> int:
    def ours(span: Span) -> bool:
        found = attributes(span)
        path = str(found.get("url.path", found.get("http.target", "")))
        return span.kind == Span.SPAN_KIND_SERVER and path.startswith(PATH)

    return sum(ours(span) for _, span in receiver.spans())


def _traced(client: httpx.Client, receiver: Receiver, variant: str) -> tuple[int, list[dict]]:
    """(server spans exported for REQUESTS requests, the answers)."""
    wait_for_flag(client, "telemetry_sampling", variant == "optimised")
    time.sleep(0.5)  # earlier requests' spans: exported before the count starts
    receiver.clear()
    answers = []
    for i in range(REQUESTS):
        answer = client.get(f"{PATH}{i % 50 + 1}")
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Technique-Variant"] == variant
        assert answer.headers["X-DB-Queries"] == "1"
        answers.append(answer.json())
    # Until the batch processor has sent what it holds (it exports every 100 ms).
    counted, deadline = -1, time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _server_spans(receiver)
        if now == counted:
            break
        counted = now
    return counted, answers


def test_flag_off_traces_every_request_and_on_about_the_ratio(
    traced_django: httpx.Client, receiver: Receiver, set_flag, settings: Settings
):
    set_flag("telemetry_sampling", False)
    every, plain = _traced(traced_django, receiver, "naive")
    set_flag("telemetry_sampling", True)
    sampled, same = _traced(traced_django, receiver, "optimised")

    assert plain == same  # the same books, whatever the tracing
    assert plain[0].keys() == {"id", "title", "price_cents"}
    assert every == REQUESTS
    assert_about_ratio(sampled, REQUESTS, settings.telemetry.trace_sample_ratio)


def test_unknown_book_is_404_a_bad_id_400(django: httpx.Client):
    answer = django.get(f"{PATH}999999999")
    assert answer.status_code == 404 and "999999999" in answer.text
    assert django.get(f"{PATH}0").status_code == 400
