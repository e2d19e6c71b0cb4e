"""compact_objects (Django): the API's statistics both ways; a named tuple per book
holds several times fewer bytes than a model instance per book (the worker's
`perflab_catalogue_bytes`, and one form held at a time)."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from perflab.settings import Settings
from tests.support.metrics import sample

pytestmark = pytest.mark.integration
GENRES = [None, "fantasy", "poetry", "programming"]


def _stats(client: httpx.Client, genre: str | None, variant: str) -> dict:
    answer = client.get("/catalogue/stats", params={"genre": genre} if genre else {})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json()


def _held(client: httpx.Client) -> dict[str, float]:
    return {v: sample(client, "perflab_catalogue_bytes", variant=v) for v in ("naive", "optimised")}


def test_the_apis_statistics_and_fewer_bytes_held_optimised(
    django: httpx.Client, set_flag, flags_api: str, settings: Settings
):
    with psycopg.connect(settings.db.dsn) as conn:
        books = conn.execute("SELECT count(*) FROM books").fetchone()[0]
    set_flag("compact_objects", False)
    naive = {g: _stats(django, g, "naive") for g in GENRES}
    held_naive = _held(django)
    set_flag("compact_objects", True)
    optimised = {g: _stats(django, g, "optimised") for g in GENRES}
    held_optimised = _held(django)

    assert naive == optimised
    for genre, stats in naive.items():
        params = {"genre": genre} if genre else {}
        assert httpx.get(f"{flags_api}/catalogue/stats", params=params).json() == stats
    assert naive[None]["books"] == books
    # One form per process: the switch dropped the model instances.
    assert held_naive["optimised"] == 0 and held_optimised["naive"] == 0
    assert held_naive["naive"] > 3 * held_optimised["optimised"]
    # A named tuple of six references is ~100 B; an instance with its state several times it.
    assert 60 < held_optimised["optimised"] / books < 160
    assert held_naive["naive"] / books > 300


def test_an_unknown_genre_is_a_404_and_a_bad_one_a_400(django: httpx.Client):
    missing = django.get("/catalogue/stats", params={"genre": "no-such-genre"})
    assert missing.status_code == 404 and "no-such-genre" in missing.json()["error"]
    bad = django.get("/catalogue/stats", params={"genre": "x" * 51})
    assert bad.status_code == 400 and "genre" in bad.json()["error"]
