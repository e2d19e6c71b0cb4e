"""compact_objects (Flask): the API's statistics both ways; a `Row` per book holds
several times fewer bytes than a mapped entity per book (this process's catalogue, one
form held at a time)."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from flask.testing import FlaskClient

from perflab.flask_service.techniques.compact_objects import catalogue
from perflab.settings import Settings

pytestmark = pytest.mark.integration
GENRES = [None, "fantasy", "poetry", "programming"]


def _stats(client: FlaskClient, genre: str | None, variant: str) -> dict:
    answer = client.get("/catalogue/stats", query_string={"genre": genre} if genre else {})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json


async def test_the_apis_statistics_and_fewer_bytes_held_optimised(
    flask_client: FlaskClient, flask_flag, app_client: httpx.AsyncClient, settings: Settings
) -> None:
    with psycopg.connect(settings.db.dsn) as conn:
        books = conn.execute("SELECT count(*) FROM books").fetchone()[0]
    # The API in this process sets the same gauge: this catalogue's own figures are read.
    await flask_flag("compact_objects", False)
    naive = {g: _stats(flask_client, g, "naive") for g in GENRES}
    held_naive = dict(catalogue.bytes_held)
    await flask_flag("compact_objects", True)
    optimised = {g: _stats(flask_client, g, "optimised") for g in GENRES}
    held_optimised = dict(catalogue.bytes_held)

    assert naive == optimised
    for genre, stats in naive.items():
        api = await app_client.get("/catalogue/stats", params={"genre": genre} if genre else {})
        assert api.json() == stats
    assert naive[None]["books"] == books
    assert held_naive["optimised"] == 0 and held_optimised["naive"] == 0
    assert held_naive["naive"] > 4 * held_optimised["optimised"]
    # A Row is a tuple plus its own small object (~160 B); an entity with its state ~1 KB.
    assert 100 < held_optimised["optimised"] / books < 260
    assert held_naive["naive"] / books > 700


def test_an_unknown_genre_is_a_404_and_a_bad_one_a_422(flask_client: FlaskClient) -> None:
    missing = flask_client.get("/catalogue/stats", query_string={"genre": "no-such-genre"})
    assert missing.status_code == 404 and "no-such-genre" in missing.json["error"]
    bad = flask_client.get("/catalogue/stats", query_string={"genre": "x" * 51})
    assert bad.status_code == 422 and bad.json["detail"][0]["loc"] == ["query", "genre"]
