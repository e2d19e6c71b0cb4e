"""select_columns (Django): the same page both ways; bytes sent by Postgres counted on
the wire. A second gunicorn reaches Postgres through a TCP tap (run in its own thread,
as the server is another process); `SELECT` of every column must carry at least the
descriptions and ISBNs of its rows, `values(...)` less than the descriptions alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest

from perflab.lab import postgres as pg
from perflab.settings import Settings
from tests.integration.django.conftest import django_flag
from tests.integration.techniques.wiretap import PgWireTap
from tests.support.servers import Server, gunicorn_server, service_env

pytestmark = pytest.mark.integration


@contextmanager
def threaded_tap(upstream_port: int) -> Iterator[PgWireTap]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="pg-tap", daemon=True)
    thread.start()
    tap = PgWireTap(upstream_port)
    asyncio.run_coroutine_threadsafe(tap.start(), loop).result(10)
    try:
        yield tap
    finally:
        asyncio.run_coroutine_threadsafe(tap.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _page(client: httpx.Client, params: dict, variant: str) -> list[dict]:
    answer = client.get("/books/catalog", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json()


def _server_bytes(client: httpx.Client, tap: PgWireTap, variant: str) -> int:
    _page(client, {}, variant)  # warm: the pool's connection is open
    tap.reset()
    _page(client, {}, variant)
    return tap.server_bytes


def _wait_for(client: httpx.Client, name: str, enabled: bool) -> None:
    for _ in range(250):
        if django_flag(client, name) is enabled:
            return
        threading.Event().wait(0.02)
    raise AssertionError(f"{name} never reached {enabled}")


def test_same_page_with_far_fewer_bytes_from_postgres(
    lab_root: Path,
    settings_env: dict[str, str],
    postgres_server: Server,
    settings: Settings,
    set_flag,
):
    pages = [{}, {"genre": "poetry", "limit": 20}, {"limit": 200}]
    with threaded_tap(postgres_server.port) as tap:
        env = service_env(settings_env, {"PERFLAB_DB__DSN": pg.dsn(tap.port)})
        with (
            gunicorn_server(lab_root, env, threads=1, name="django-tap") as url,
            httpx.Client(base_url=url, timeout=30) as client,
        ):
            set_flag("select_columns", False)
            _wait_for(client, "select_columns", False)
            naive = [_page(client, params, "naive") for params in pages]
            naive_bytes = _server_bytes(client, tap, "naive")
            set_flag("select_columns", True)
            _wait_for(client, "select_columns", True)
            optimised = [_page(client, params, "optimised") for params in pages]
            optimised_bytes = _server_bytes(client, tap, "optimised")

    with psycopg.connect(settings.db.dsn) as conn:
        description, isbn = conn.execute(
            "SELECT sum(octet_length(description)), sum(octet_length(isbn))"
            " FROM books WHERE id = ANY(%s)",
            [[book["id"] for book in naive[0]]],
        ).fetchone()
    assert naive == optimised
    assert [len(page) for page in naive] == [50, 20, 200]
    assert {book["genre"] for book in naive[1]} == {"poetry"}
    assert "description" not in naive[0][0]
    assert naive_bytes >= description + isbn
    assert optimised_bytes < description
    assert naive_bytes - optimised_bytes >= description + isbn


def test_parameters_are_validated(django: httpx.Client):
    for params, name in (
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"genre": ""}, "genre"),
        ({"genre": "a\x00b"}, "genre"),  # Postgres text cannot hold NUL: not a 500
    ):
        answer = django.get("/books/catalog", params=params)
        assert answer.status_code == 400 and f"'{name}'" in answer.json()["error"], params
    unknown = django.get("/books/catalog", params={"genre": "no-such-genre"})
    assert unknown.status_code == 200 and unknown.json() == []
