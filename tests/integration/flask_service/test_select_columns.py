"""select_columns (Flask): same page both ways; bytes sent by Postgres counted on the wire.

A second Flask app reaches Postgres through the TCP tap of the FastAPI tests
(`PgWireTap`), which counts every byte the server sends. The naive `select(Book)` page
must carry at least the descriptions and ISBNs of its rows; the optimised `load_only`
page less than the descriptions alone. Requests go from a worker thread: the tap runs
on the test's event loop.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from flask.testing import FlaskClient

from perflab.flask_service.app import create_app
from perflab.settings import Settings
from tests.integration.flask_service.conftest import wait_for_mirror
from tests.integration.techniques.wiretap import PgWireTap
from tests.support.servers import Server

pytestmark = pytest.mark.integration

PAGES = [{}, {"genre": "poetry", "limit": 20}, {"limit": 200}]


async def _page(client: FlaskClient, params: dict, variant: str) -> list[dict]:
    answer = await asyncio.to_thread(client.get, "/books/catalog", query_string=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json


async def _server_bytes(client: FlaskClient, tap: PgWireTap, variant: str) -> int:
    await _page(client, {}, variant)  # warm-up: the pool's one connection is open
    tap.reset()
    await _page(client, {}, variant)
    return tap.server_bytes


async def test_same_page_with_far_fewer_bytes_from_postgres(
    set_flag, settings: Settings, postgres_server: Server
):
    tap = PgWireTap(postgres_server.port)
    await tap.start()
    # The same DSN (password included) through the tap's port.
    dsn = settings.db.dsn.replace(f":{postgres_server.port}/", f":{tap.port}/")
    db = settings.db.model_copy(update={"dsn": dsn, "pool_max": 1})
    app = await asyncio.to_thread(create_app, settings.model_copy(update={"db": db}))
    try:
        client = app.test_client()
        await set_flag("select_columns", False)
        await wait_for_mirror(app, "select_columns", False)
        naive = [await _page(client, params, "naive") for params in PAGES]
        naive_bytes = await _server_bytes(client, tap, "naive")
        await set_flag("select_columns", True)
        await wait_for_mirror(app, "select_columns", True)
        optimised = [await _page(client, params, "optimised") for params in PAGES]
        optimised_bytes = await _server_bytes(client, tap, "optimised")
    finally:
        await asyncio.to_thread(app.extensions["perflab"].close)
        await tap.close()

    conn = await asyncpg.connect(settings.db.dsn)
    try:
        unused = await conn.fetchrow(
            "SELECT sum(octet_length(description)) AS description,"
            " sum(octet_length(isbn)) AS isbn FROM books WHERE id = ANY($1::int[])",
            [book["id"] for book in naive[0]],
        )
    finally:
        await conn.close()
    assert naive == optimised
    assert [len(page) for page in naive] == [50, 20, 200]
    assert {book["genre"] for book in naive[1]} == {"poetry"}
    assert "description" not in naive[0][0]
    assert naive_bytes >= unused["description"] + unused["isbn"]
    assert optimised_bytes < unused["description"]
    assert naive_bytes - optimised_bytes >= unused["description"] + unused["isbn"]
