"""streaming_export: identical CSV both ways; streamed in batches at a fraction of the memory.

Peak memory is measured with tracemalloc around a raw ASGI call whose `send` hashes
and drops each chunk, as a socket would: httpx's ASGI transport would keep the whole
body and hide the difference.
"""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from starlette.requests import ClientDisconnect
from starlette.types import Message

from perflab.api.techniques.streaming_export import BATCH_ROWS, COLUMNS
from perflab.settings import Settings

pytestmark = pytest.mark.integration

PATH = "/export/orders.csv"


@dataclass
class _Drained:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    size: int = 0
    chunks: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)


async def _drain(
    app: FastAPI, query: str = "", *, disconnect_after: int | None = None, spec: str = "2.3"
) -> _Drained:
    """Serve one GET like a server would; optionally hang up after N body chunks.

    Spec 2.3 (uvicorn's): the app learns of the hang-up from `receive`.
    Spec 2.4: `send` raises OSError once the client is gone.
    """
    result = _Drained()
    gone = asyncio.Event()
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": spec},
        "http_version": "1.1", "method": "GET", "scheme": "http", "path": PATH,
        "raw_path": PATH.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", b"lab")], "client": ("127.0.0.1", 50000),
        "server": ("lab", 80), "app": app,
    }  # fmt: skip
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if gone.is_set() and spec == "2.4":
            raise OSError("client went away")
        if message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body" and message.get("body"):
            result.size += len(message["body"])
            result.digest.update(message["body"])
            result.chunks += 1
            if disconnect_after is not None and result.chunks >= disconnect_after:
                gone.set()
                await asyncio.sleep(0)  # let the disconnect listener run

    await app(scope, receive, send)
    return result


async def _count(settings: Settings, sql: str) -> int:
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def _queries_observed() -> float:
    sample = REGISTRY.get_sample_value(
        "perflab_db_queries_per_request_sum", {"route": PATH}
    )  # fmt: skip
    return sample or 0.0


async def test_same_csv_both_ways(app_client: httpx.AsyncClient, set_flag, settings: Settings):
    await set_flag("streaming_export", False)
    before = _queries_observed()
    naive = await app_client.get(PATH)
    naive_queries = _queries_observed() - before
    await set_flag("streaming_export", True)
    before = _queries_observed()
    optimised = await app_client.get(PATH)
    optimised_queries = _queries_observed() - before

    assert naive.status_code == optimised.status_code == 200
    assert naive.headers["X-Technique-Variant"] == "naive"
    assert optimised.headers["X-Technique-Variant"] == "optimised"
    assert naive.headers["content-type"] == optimised.headers["content-type"]
    assert naive.content == optimised.content
    orders = await _count(settings, "SELECT count(*) FROM orders")
    lines = optimised.text.splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert len(lines) == orders + 1
    assert lines[1].startswith("1,")
    # The cursor read every row in batches: BEGIN + open + one FETCH per batch (the last
    # one short or empty) + COMMIT, against one SELECT for the in-memory build.
    assert optimised_queries - naive_queries == (orders // BATCH_ROWS + 1) + 3 - 1


async def test_limit_is_validated_and_honoured(app_client: httpx.AsyncClient, set_flag):
    for flag in (False, True):
        await set_flag("streaming_export", flag)
        answer = await app_client.get(PATH, params={"limit": 3})
        assert answer.text.splitlines()[0] == ",".join(COLUMNS)
        assert len(answer.text.splitlines()) == 4
    for bad in ("0", "-1", "lots"):
        assert (await app_client.get(PATH, params={"limit": bad})).status_code == 422, bad


async def test_streamed_peak_memory_is_several_times_lower(app_client: httpx.AsyncClient, set_flag):
    app = app_client.app  # type: ignore[attr-defined]
    peaks = {}
    drained = {}
    tracemalloc.start()
    try:
        for flag in (False, True):
            await set_flag("streaming_export", flag)
            baseline = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            drained[flag] = await _drain(app)
            peaks[flag] = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    naive, streamed = drained[False], drained[True]
    assert naive.status == streamed.status == 200
    assert naive.digest.hexdigest() == streamed.digest.hexdigest()
    assert naive.size == streamed.size > 1_000_000
    assert naive.chunks == 1 and streamed.chunks > 10
    assert peaks[True] * 4 < peaks[False], peaks


@pytest.mark.parametrize("spec", ["2.3", "2.4"])
async def test_hanging_up_mid_stream_releases_the_connection(
    app_client: httpx.AsyncClient, set_flag, settings: Settings, spec: str
):
    await set_flag("streaming_export", True)
    app = app_client.app  # type: ignore[attr-defined]
    pool = app.state.resources.pool
    try:
        drained = await _drain(app, disconnect_after=2, spec=spec)
    except ClientDisconnect:
        assert spec == "2.4"  # the 2.4 server is told by the exception
    else:
        assert drained.chunks == 2
    assert pool.get_idle_size() == pool.get_size()
    # Nothing left open on the server side: no transaction still holding the cursor.
    idle_in_tx = await _count(
        settings,
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    )
    assert idle_in_tx == 0
    # And the pool still works.
    assert (await app_client.get(PATH, params={"limit": 2})).status_code == 200
