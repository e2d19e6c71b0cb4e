"""prepared_statements (Django): the API's author both ways; the proof by count is on
the wire: a gunicorn whose Postgres connections go through a tap that counts the
messages its queries send (a Parse, or a simple Query, is SQL Postgres parses again)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from perflab.lab import postgres as pg
from tests.integration.django.conftest import wait_for_flag
from tests.integration.techniques.wiretap import PgWireTap
from tests.support.servers import Server, gunicorn_server, service_env

pytestmark = pytest.mark.integration
WARM_RUNS = 6  # psycopg prepares a query after prepare_threshold (5) runs
MEASURED_RUNS = 10


@pytest.fixture(scope="module")
def tap(postgres_server: Server) -> Iterator[PgWireTap]:
    """The wire tap, served from its own thread's event loop (gunicorn is a subprocess)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="pg-wire-tap", daemon=True)
    thread.start()
    wiretap = PgWireTap(postgres_server.port)
    asyncio.run_coroutine_threadsafe(wiretap.start(), loop).result(timeout=10)
    try:
        yield wiretap
    finally:
        asyncio.run_coroutine_threadsafe(wiretap.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture(scope="module")
def tapped_django(
    lab_root: Path, settings_env: dict[str, str], flags_api: str, tap: PgWireTap
) -> Iterator[httpx.Client]:
    # One thread: one kept connection per alias, so "warm" means warm for every request.
    env = service_env(settings_env, {"PERFLAB_DB__DSN": pg.dsn(tap.port)})
    with gunicorn_server(lab_root, env, workers=1, threads=1, name="django-tapped") as url:
        with httpx.Client(base_url=url, timeout=60) as client:
            yield client


def _author(client: httpx.Client, author_id: int, variant: str) -> dict:
    answer = client.get(f"/authors/{author_id}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    assert answer.headers["X-DB-Queries"] == "1"
    return answer.json()


def _author_parses(client: httpx.Client, tap: PgWireTap, variant: str) -> int:
    """How many times the author query's SQL text crossed the wire in MEASURED_RUNS
    requests, once the variant's connection is warm."""
    wait_for_flag(client, "prepared_statements", variant == "optimised")  # set_flag waited
    # for the session's gunicorn only
    for author_id in range(1, WARM_RUNS + 1):
        _author(client, author_id, variant)
    tap.reset()
    for author_id in range(1, MEASURED_RUNS + 1):
        _author(client, author_id, variant)
    # Other SQL may cross too (Django's connection health check, the pool keeper).
    return sum('FROM "authors"' in sql for sql in tap.parsed_sql)


def test_same_author_both_ways_and_as_the_api(django: httpx.Client, set_flag, flags_api: str):
    ids = [1, 2, 7, 40]
    set_flag("prepared_statements", False)
    naive = [_author(django, i, "naive") for i in ids]
    set_flag("prepared_statements", True)
    optimised = [_author(django, i, "optimised") for i in ids * 3]  # past the threshold
    assert optimised == naive * 3
    assert [httpx.get(f"{flags_api}/authors/{i}").json() for i in ids] == naive
    assert all(a["book_count"] >= 1 and a["genres"] for a in naive)


def test_prepared_alias_sends_the_query_text_only_until_warm(
    tapped_django: httpx.Client, tap: PgWireTap, set_flag
):
    set_flag("prepared_statements", False)
    assert _author_parses(tapped_django, tap, "naive") == MEASURED_RUNS
    set_flag("prepared_statements", True)
    assert _author_parses(tapped_django, tap, "optimised") == 0
    assert tap.client_messages["B"] >= MEASURED_RUNS  # bound and executed instead


def test_unknown_author_is_404_a_bad_id_400(django: httpx.Client, set_flag):
    for enabled in (False, True):
        set_flag("prepared_statements", enabled)
        assert django.get("/authors/99999999").status_code == 404
        assert django.get("/authors/0").status_code == 400
