"""One trace from the HTTP request through Postgres into the Celery task it enqueues.

The API runs in this process and a real Celery worker runs in a thread of this
process, both on the real test Postgres and Redis, so every span lands in one
in-memory exporter. The task travels through the real broker: the only link
between the two sides is the `traceparent` header inside the Celery message.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from perflab.api.app import create_app
from perflab.settings import Settings, get_settings
from perflab.telemetry import celery_tracing
from perflab.telemetry.tracing import setup_tracing
from perflab.worker.client import CONFIRM_ORDER_TASK

pytestmark = pytest.mark.integration

ORDER_ID = 7
ROUTE = "/orders/{order_id}/confirm"


@pytest.fixture(scope="module")
def exporter(settings: Settings) -> Iterator[InMemorySpanExporter]:
    provider = setup_tracing(settings, "perflab-api")
    assert provider is not None, "tracing is on by default"
    # The worker's half, as a pool process sets it up. In this one process the contrib
    # instrumentor's publish span (which a real API process never has) also wraps the
    # API's own: the assertions follow parents, so either shape passes through.
    celery_tracing.instrument_worker(provider)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory
    memory.shutdown()  # the provider is process-wide: stop collecting, keep it


@pytest.fixture
def trace_settings(settings: Settings, settings_env, monkeypatch) -> Iterator[Settings]:
    """The test settings on a queue of their own (no other worker may take the task);
    the task reads `get_settings()` like a real worker process, so the env gets them too."""
    queue = f"perflab-trace-{uuid.uuid4().hex[:8]}"
    for key, value in settings_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PERFLAB_CELERY__QUEUE", queue)
    monkeypatch.setenv("PERFLAB_TECHNIQUES__EMAIL_DELAY_SECONDS", "0")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def worker(trace_settings: Settings) -> Iterator[Celery]:
    from perflab.worker.confirmations import send_order_confirmation

    app = Celery("perflab-trace-test", set_as_current=False)
    app.conf.update(
        broker_url=trace_settings.celery_broker_url,
        result_backend=trace_settings.celery_broker_url,
        task_default_queue=trace_settings.celery.queue,
        accept_content=["json"],
        worker_hijack_root_logger=False,
    )
    # The real task function, registered under its real name on this worker's app.
    app.task(name=CONFIRM_ORDER_TASK)(send_order_confirmation.run)
    with start_worker(app, perform_ping_check=False, loglevel="WARNING"):
        yield app


@pytest.fixture
async def offload_on(set_flag) -> None:
    # Before the app starts: its flag store loads the state at startup.
    await set_flag("background_offload", True)
    # telemetry_sampling off: every request is traced, whatever the default ratio.
    await set_flag("telemetry_sampling", False)


@pytest.fixture
async def client(trace_settings: Settings, offload_on) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(trace_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lab") as http:
            yield http


@pytest.fixture
async def cleanup(settings: Settings) -> AsyncIterator[None]:
    conn = await asyncpg.connect(settings.db.dsn)
    seen = await conn.fetchval("SELECT coalesce(max(id), 0) FROM order_confirmations")
    yield
    await conn.execute("DELETE FROM order_confirmations WHERE id > $1", seen)
    await conn.close()


def _task_span(spans: tuple[ReadableSpan, ...]) -> ReadableSpan | None:
    return next(
        (s for s in spans if s.kind is SpanKind.CONSUMER and s.name == f"run/{CONFIRM_ORDER_TASK}"),
        None,
    )


async def test_enqueue_request_is_one_trace_across_api_postgres_and_task(
    exporter: InMemorySpanExporter, worker, client, cleanup
):
    exporter.clear()

    answer = await client.post(f"/orders/{ORDER_ID}/confirm")
    assert answer.status_code == 202, answer.text
    task_id = answer.json()["task_id"]

    for _ in range(200):  # bounded: the task runs in the worker thread
        task = _task_span(exporter.get_finished_spans())
        if task is not None:
            break
        await asyncio.sleep(0.05)
    assert task is not None, [s.name for s in exporter.get_finished_spans()]
    await asyncio.sleep(0.2)  # spans that end after the task span (none expected)
    spans = exporter.get_finished_spans()

    server = [s for s in spans if s.kind is SpanKind.SERVER and s.attributes.get("http.route")]
    assert [s.attributes["http.route"] for s in server] == [ROUTE]
    trace_id = server[0].context.trace_id
    in_trace = [s for s in spans if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in in_trace}

    # Postgres on both sides: the API's order lookup and the task's INSERT.
    sql = [s for s in in_trace if "postgresql" in _db_system(s)]
    assert any(_under(s, server[0], by_id) for s in sql)
    assert any(_under(s, task, by_id) for s in sql)
    # The task span continues the request's trace through the publish span.
    assert task.context.trace_id == trace_id
    assert task.attributes.get("celery.task_name") == CONFIRM_ORDER_TASK
    assert task.parent is not None
    producer = by_id[task.parent.span_id]
    assert producer.kind is SpanKind.PRODUCER
    assert producer.attributes["messaging.message.id"] == task_id
    assert _under(producer, server[0], by_id)
    # Every span of the trace hangs off the server span: no orphans, one root.
    assert [s for s in in_trace if s.parent is None] == [server[0]]
    assert all(s.parent.span_id in by_id for s in in_trace if s.parent is not None)


def _db_system(span: ReadableSpan) -> tuple:
    # Old and stable semantic conventions name the attribute differently.
    return (span.attributes.get("db.system"), span.attributes.get("db.system.name"))


def _under(span: ReadableSpan, ancestor: ReadableSpan, by_id: dict) -> bool:
    while span.parent is not None:
        if span.parent.span_id == ancestor.context.span_id:
            return True
        parent = by_id.get(span.parent.span_id)
        if parent is None:
            return False
        span = parent
    return False
