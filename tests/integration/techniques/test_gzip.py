"""gzip: the same JSON both ways; with the flag on, several times fewer bytes on the wire.

With the flag on a request goes through Starlette's GZipMiddleware, so what is
tested here beyond "same data, fewer bytes" is only how the lab wires it: per request,
by the flag, inside the size metric."""

from __future__ import annotations

import gzip
import json

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from perflab.settings import Settings

pytestmark = pytest.mark.integration

ROUTE = "/reports/sales"


async def _raw(
    client: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None, **params: int
) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent (not decoded by httpx)."""
    async with client.stream("GET", path, params=params, headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, raw


def _bytes_observed(route: str) -> float:
    sample = REGISTRY.get_sample_value(
        "perflab_http_response_size_bytes_sum", {"route": route, "method": "GET"}
    )
    return sample or 0.0


async def test_same_json_and_several_times_fewer_bytes_with_flag_on(
    app_client: httpx.AsyncClient, set_flag, settings: Settings
):
    await set_flag("gzip", False)
    before = _bytes_observed(ROUTE)
    plain, plain_raw = await _raw(app_client, ROUTE, {"Accept-Encoding": "gzip"})
    plain_observed = _bytes_observed(ROUTE) - before
    await set_flag("gzip", True)
    before = _bytes_observed(ROUTE)
    packed, packed_raw = await _raw(app_client, ROUTE, {"Accept-Encoding": "gzip"})
    packed_observed = _bytes_observed(ROUTE) - before

    assert plain.status_code == packed.status_code == 200
    assert plain.headers["X-Technique-Variant"] == "naive"
    assert packed.headers["X-Technique-Variant"] == "optimised"
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in packed.headers["vary"].lower()
    assert int(packed.headers["content-length"]) == len(packed_raw)
    report = json.loads(plain_raw)
    assert json.loads(gzip.decompress(packed_raw)) == report
    # Bytes on the wire, and what the size metric saw: the compressed body.
    assert len(plain_raw) > 100_000
    assert len(packed_raw) * 4 < len(plain_raw)
    assert packed_observed == len(packed_raw)
    assert plain_observed == len(plain_raw)

    # The report is right, not merely the same twice: totals match the orders table.
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        ids = [row["book_id"] for row in report]
        orders, revenue = await conn.fetchrow(
            "SELECT count(*), sum(total_cents) FROM orders WHERE book_id = ANY($1::int[])", ids
        )
        books = await conn.fetchval("SELECT count(*) FROM books")
    finally:
        await conn.close()
    assert len(report) == min(books, 2000)
    assert sum(row["orders"] for row in report) == orders
    assert sum(row["revenue_cents"] for row in report) == revenue


async def test_small_bodies_and_clients_without_gzip_get_identity(
    app_client: httpx.AsyncClient, set_flag
):
    await set_flag("gzip", True)
    small, small_raw = await _raw(app_client, ROUTE, {"Accept-Encoding": "gzip"}, limit=2)
    assert len(small_raw) < 500  # under GZipMiddleware's minimum_size
    assert "content-encoding" not in small.headers
    assert json.loads(small_raw)[0]["book_id"] == 1

    for other in ("identity", "br"):
        answer, raw = await _raw(app_client, ROUTE, {"Accept-Encoding": other})
        assert "content-encoding" not in answer.headers, other
        assert len(raw) > 100_000
        assert json.loads(raw)[0]["book_id"] == 1

    request = app_client.build_request("GET", ROUTE)
    del request.headers["Accept-Encoding"]
    answer = await app_client.send(request, stream=True)
    raw = b"".join([chunk async for chunk in answer.aiter_raw()])
    await answer.aclose()
    assert "content-encoding" not in answer.headers
    assert len(json.loads(raw)) > 100


async def test_streamed_body_is_compressed_chunk_by_chunk(app_client: httpx.AsyncClient, set_flag):
    await set_flag("streaming_export", True)
    await set_flag("gzip", False)
    plain, plain_raw = await _raw(app_client, "/export/orders.csv", limit=5000)
    await set_flag("gzip", True)
    packed, packed_raw = await _raw(
        app_client, "/export/orders.csv", {"Accept-Encoding": "gzip"}, limit=5000
    )
    assert packed.headers["content-encoding"] == "gzip"
    assert "content-length" not in packed.headers  # unknown until the stream ends
    assert gzip.decompress(packed_raw) == plain_raw
    assert len(packed_raw) * 3 < len(plain_raw)


async def test_report_validates_its_limit(app_client: httpx.AsyncClient):
    for bad in ("0", "20001", "many"):
        assert (await app_client.get(ROUTE, params={"limit": bad})).status_code == 422
