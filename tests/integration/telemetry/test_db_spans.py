"""Postgres statement spans come from CountingConnection, on the real test Postgres:
one CLIENT span per statement inside a sampled trace, none outside one, and the
statement is counted either way; the pool's reset on release sends nothing but the
rollback of a transaction left open."""

from __future__ import annotations

import io
import secrets
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from opentelemetry import context, trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, StatusCode, TraceFlags

from perflab.db import pool as db_pool
from perflab.db import querylog
from perflab.settings import Settings
from perflab.telemetry.tracing import setup_tracing

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def exporter(settings: Settings) -> Iterator[InMemorySpanExporter]:
    provider = setup_tracing(settings, "perflab-test")
    assert provider is not None
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory
    memory.shutdown()


@pytest.fixture
async def conn(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    connection = await db_pool.connect(settings.db)
    yield connection
    await connection.close()


def _remote_parent(sampled: bool) -> trace.Span:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    return NonRecordingSpan(
        SpanContext(secrets.randbits(128), secrets.randbits(64), is_remote=True, trace_flags=flags)
    )


def _db_spans(exporter: InMemorySpanExporter, trace_id: int) -> list:
    return [
        s
        for s in exporter.get_finished_spans()
        if s.context.trace_id == trace_id and s.attributes.get("db.system.name") == "postgresql"
    ]


async def test_each_statement_of_a_sampled_request_is_a_client_span_under_it(
    exporter: InMemorySpanExporter, conn: asyncpg.Connection
):
    exporter.clear()
    tracer = trace.get_tracer("test")
    parent = trace.set_span_in_context(_remote_parent(sampled=True))
    stats = querylog.begin()
    with tracer.start_as_current_span("GET /x", context=parent, kind=SpanKind.SERVER) as server:
        assert await conn.fetchval("SELECT $1::int + 1", 41) == 42
        await conn.execute("/* why */ SET application_name = 'perflab-test'")
        await conn.executemany("SELECT $1::int", [(1,), (2,)])
        with pytest.raises(asyncpg.PostgresError):
            await conn.fetchval("SELECT * FROM no_such_table")
        await conn.copy_from_query("SELECT 1", output=io.BytesIO())
        with querylog.Statement("FETCH 10 FROM c"):
            pass
        assert len(await conn.fetch("SELECT 1 UNION SELECT 2")) == 2
        assert (await conn.fetchrow("SELECT 3 AS x"))["x"] == 3
        assert len(await conn.fetchmany("SELECT $1::int", [(1,), (2,)])) == 2
    spans = _db_spans(exporter, server.get_span_context().trace_id)

    assert [s.name for s in spans] == [
        "SELECT", "SET", "SELECT", "SELECT", "COPY", "FETCH", "SELECT", "SELECT", "SELECT",
    ]  # fmt: skip
    assert all(s.kind is SpanKind.CLIENT for s in spans)
    assert all(s.parent.span_id == server.get_span_context().span_id for s in spans)
    first = spans[0].attributes
    assert first["db.query.text"] == "SELECT $1::int + 1"
    assert first["db.operation.name"] == "SELECT"
    assert spans[4].attributes["db.query.text"] == "COPY (SELECT 1) TO STDOUT"
    failed = spans[3]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["error.type"] == "UndefinedTableError"
    assert spans[0].status.status_code is StatusCode.UNSET
    assert stats.count == 9  # counted as well as traced


async def test_statements_outside_a_sampled_trace_are_counted_but_not_traced(
    exporter: InMemorySpanExporter, conn: asyncpg.Connection
):
    exporter.clear()
    stats = querylog.begin()
    token = context.attach(trace.set_span_in_context(_remote_parent(sampled=False)))
    try:
        await conn.fetchval("SELECT 1")
    finally:
        context.detach(token)
    await conn.fetchval("SELECT 2")  # no span at all: background work
    assert stats.count == 2
    assert [s for s in exporter.get_finished_spans() if "db.system.name" in s.attributes] == []


async def _last_statement(dsn_conn: asyncpg.Connection, backend: int) -> str:
    return await dsn_conn.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", backend)


async def test_returning_a_connection_to_the_pool_sends_nothing_but_a_needed_rollback(
    exporter: InMemorySpanExporter, settings: Settings, conn: asyncpg.Connection
):
    pool = await db_pool.create_pool(settings.db.model_copy(update={"pool_min": 1, "pool_max": 1}))
    try:
        exporter.clear()
        stats = querylog.begin()
        parent = trace.set_span_in_context(_remote_parent(sampled=True))
        with trace.get_tracer("test").start_as_current_span("GET /y", context=parent) as server:
            async with db_pool.acquire(pool) as pooled:
                backend = pooled.get_server_pid()
                await pooled.fetchval("SELECT 1 AS released")
        assert [s.name for s in _db_spans(exporter, server.get_span_context().trace_id)] == [
            "SELECT"
        ]
        assert stats.count == 1
        # Postgres' own record: the backend's last statement is still the request's,
        # no reset query (RESET ALL ...) followed it on release.
        assert await _last_statement(conn, backend) == "SELECT 1 AS released"

        # A transaction left open is still rolled back (asyncpg does it before the hook).
        async with db_pool.acquire(pool) as pooled:
            await pooled.execute("BEGIN")
        assert await _last_statement(conn, backend) == "ROLLBACK"
        async with db_pool.acquire(pool) as pooled:
            assert not pooled.is_in_transaction()
    finally:
        await pool.close()


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("select 1", "SELECT"),
        ("  -- a comment\n/* another */ insert into t values (1)", "INSERT"),
        ("", "SQL"),
        ("/* only a comment */", "SQL"),
    ],
)
def test_span_name_is_the_statements_first_keyword(query: str, name: str):
    assert querylog.operation_name(query) == name
