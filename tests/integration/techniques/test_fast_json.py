"""fast_json: byte-identical JSON both ways; orjson never calls back into Python; each
variant's CPU time is recorded beside its wall time."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import Response
from prometheus_client.parser import text_string_to_metric_families

from perflab.api.techniques import fast_json
from perflab.serialise import iso_datetime
from perflab.settings import Settings

pytestmark = pytest.mark.integration

IDENTITY = {"Accept-Encoding": "identity"}


async def test_same_bytes_both_ways(app_client: httpx.AsyncClient, set_flag, settings: Settings):
    await set_flag("fast_json", False)
    naive = await app_client.get("/books/dump", headers=IDENTITY)
    await set_flag("fast_json", True)
    optimised = await app_client.get("/books/dump", headers=IDENTITY)

    assert naive.status_code == optimised.status_code == 200
    assert naive.headers["X-Technique-Variant"] == "naive"
    assert optimised.headers["X-Technique-Variant"] == "optimised"
    assert naive.headers["content-type"] == optimised.headers["content-type"]
    assert naive.content == optimised.content
    books = optimised.json()
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        total = await conn.fetchval("SELECT count(*) FROM books")
        first = await conn.fetchrow(
            """
            SELECT count(*) AS n, max(created_at) AS last_at FROM reviews
            WHERE book_id = (SELECT min(id) FROM books)
            """
        )
    finally:
        await conn.close()
    assert len(books) == min(total, 2000)
    assert books[0]["reviews"]["count"] == first["n"]
    assert datetime.fromisoformat(books[0]["reviews"]["last_at"]) == first["last_at"]
    assert set(books[0]["author"]) == {"id", "name", "country"}


async def test_limit_is_validated_and_honoured(app_client: httpx.AsyncClient):
    assert len((await app_client.get("/books/dump", params={"limit": 7})).json()) == 7
    for bad in ("0", "20001", "all"):
        answer = await app_client.get("/books/dump", params={"limit": bad})
        assert answer.status_code == 422, bad


class _CallCounter:
    """Counts Python-level function calls (not C calls) while it is installed."""

    def __init__(self, watched: Callable[..., Any]) -> None:
        self.calls = 0
        self.watched_calls = 0
        self._code = watched.__code__

    def __call__(self, frame: FrameType, event: str, _arg: object) -> None:
        if event == "call":
            self.calls += 1
            self.watched_calls += frame.f_code is self._code


def _profiled(
    serialise: Callable[[list[dict[str, Any]]], Response],
    books: list[dict[str, Any]],
) -> tuple[bytes, _CallCounter]:
    counter = _CallCounter(iso_datetime)
    sys.setprofile(counter)
    try:
        response = serialise(books)
    finally:
        sys.setprofile(None)
    return bytes(response.body), counter


async def test_stdlib_calls_back_into_python_per_datetime_orjson_never(
    app_client: httpx.AsyncClient,
):
    pool = app_client.app.state.resources.pool  # type: ignore[attr-defined]
    books = await fast_json._load(pool, 2000)
    datetimes = sum(
        isinstance(value, datetime) for book in books for value in book["reviews"].values()
    )
    assert datetimes > 1000

    naive_body, naive_calls = _profiled(fast_json.naive, books)
    optimised_body, optimised_calls = _profiled(fast_json.optimised, books)

    assert naive_body == optimised_body
    assert naive_calls.watched_calls == datetimes
    assert optimised_calls.watched_calls == 0
    assert naive_calls.calls >= optimised_calls.calls + datetimes


async def _timer_totals(client: httpx.AsyncClient) -> dict[tuple[str, str, str], float]:
    """(sample name, variant) -> value, for the `_count` and `_sum` of fast_json's timers."""
    totals = {}
    for family in text_string_to_metric_families((await client.get("/metrics")).text):
        for sample in family.samples:
            if sample.labels.get("technique") == "fast_json" and sample.name.endswith(
                ("_count", "_sum")
            ):
                totals[(sample.name, sample.labels["variant"])] = sample.value
    return totals


async def test_each_variant_records_its_cpu_time_beside_its_wall_time(
    app_client: httpx.AsyncClient, set_flag
):
    before = await _timer_totals(app_client)
    for enabled in (False, True):
        await set_flag("fast_json", enabled)
        assert (await app_client.get("/books/dump", params={"limit": 300})).status_code == 200
    after = await _timer_totals(app_client)

    def added(name: str, variant: str) -> float:
        return after[(name, variant)] - before.get((name, variant), 0.0)

    for variant in ("naive", "optimised"):
        assert added("perflab_technique_cpu_seconds_count", variant) == 1
        assert added("perflab_technique_duration_seconds_count", variant) == 1
        cpu = added("perflab_technique_cpu_seconds_sum", variant)
        # One thread's CPU clock cannot run ahead of the wall clock around it.
        assert 0 < cpu <= added("perflab_technique_duration_seconds_sum", variant) + 1e-6
