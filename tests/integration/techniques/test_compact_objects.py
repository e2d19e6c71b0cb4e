"""compact_objects: the same statistics both ways; a `__slots__` object per book holds
several times fewer bytes than a dict per book (tracemalloc, and the catalogue gauge)."""

from __future__ import annotations

import tracemalloc
from dataclasses import asdict

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from perflab.api.techniques import compact_objects

pytestmark = pytest.mark.integration

GENRES = [None, "fantasy", "poetry", "programming"]


async def _stats(client: httpx.AsyncClient, genre: str | None, variant: str) -> dict:
    params = {"genre": genre} if genre else {}
    answer = await client.get("/catalogue/stats", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json()


async def _gauge(client: httpx.AsyncClient) -> dict[str, float]:
    text = (await client.get("/metrics")).text
    return {
        s.labels["variant"]: s.value
        for family in text_string_to_metric_families(text)
        if family.name == "perflab_catalogue_bytes"
        for s in family.samples
    }


async def test_same_statistics_and_fewer_bytes_held_optimised(
    app_client: httpx.AsyncClient, set_flag, settings
):
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        books = await conn.fetchval("SELECT count(*) FROM books")
        cheapest = await conn.fetchval("SELECT min(price_cents) FROM books WHERE genre = 'poetry'")
    finally:
        await conn.close()
    await set_flag("compact_objects", False)
    naive = {g: await _stats(app_client, g, "naive") for g in GENRES}
    held_naive = await _gauge(app_client)
    await set_flag("compact_objects", True)
    optimised = {g: await _stats(app_client, g, "optimised") for g in GENRES}
    held_optimised = await _gauge(app_client)

    assert naive == optimised
    assert naive[None]["books"] == books
    assert naive["poetry"]["price_cents"]["min"] == cheapest
    # Each process holds one form only: the switch dropped the dicts.
    assert held_naive["optimised"] == 0 and held_optimised["naive"] == 0
    assert held_naive["naive"] > 2 * held_optimised["optimised"] > 0


async def test_a_slots_object_takes_a_fraction_of_a_dicts_bytes(settings):
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        rows = await conn.fetch(compact_objects.CATALOGUE_SQL)
    finally:
        await conn.close()

    # Only what the technique's own lines allocated and still hold: other threads of this
    # process (span export, flag mirrors) allocate meanwhile, and a total would count them.
    here = [tracemalloc.Filter(True, compact_objects.__file__)]

    def traced(build) -> float:  # noqa: ANN001
        tracemalloc.start()
        try:
            held = build(rows)
            snapshot = tracemalloc.take_snapshot().filter_traces(here)
        finally:
            tracemalloc.stop()
        assert len(held) == len(rows)
        return sum(stat.size for stat in snapshot.statistics("filename")) / len(rows)

    per_dict, per_object = traced(compact_objects.as_dicts), traced(compact_objects.as_objects)
    assert per_dict > 2.5 * per_object, (per_dict, per_object)
    # The same fields and values, only held differently.
    head = rows[:50]
    assert [asdict(b) for b in compact_objects.as_objects(head)] == compact_objects.as_dicts(head)


async def test_an_unknown_genre_is_a_404(app_client: httpx.AsyncClient):
    answer = await app_client.get("/catalogue/stats", params={"genre": "no-such-genre"})
    assert answer.status_code == 404 and "no-such-genre" in answer.json()["error"]
