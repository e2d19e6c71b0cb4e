"""select_columns: same catalog page both ways; bytes sent by Postgres counted on the wire.

The proof by count: a second API instance reaches Postgres through a TCP tap that
counts every byte the server sends. The naive `SELECT *` page must carry at least the
descriptions and ISBNs of its rows (their `octet_length`, asked of Postgres); the
optimised page must carry less than the descriptions alone, and the saving must be at
least what those two unused columns weigh.
"""

from __future__ import annotations

import httpx
import pytest

from perflab.settings import Settings
from tests.integration.techniques.wiretap import tapped_app, wait_for_flag
from tests.support.servers import Server

pytestmark = pytest.mark.integration

PAGES = [{}, {"genre": "poetry", "limit": 20}, {"limit": 200}]


async def _page(client: httpx.AsyncClient, params: dict, variant: str) -> list[dict]:
    answer = await client.get("/books/catalog", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json()


async def _server_bytes(client: httpx.AsyncClient, tap, params: dict, variant: str) -> int:  # noqa: ANN001
    await _page(client, params, variant)  # warm-up: the first run also prepares
    tap.reset()
    await _page(client, params, variant)
    return tap.server_bytes


async def test_same_page_with_far_fewer_bytes_from_postgres(
    app_client: httpx.AsyncClient, set_flag, settings: Settings, postgres_server: Server
):
    async with tapped_app(settings, postgres_server.port) as (client, tap):
        app = client.app  # type: ignore[attr-defined]
        await set_flag("select_columns", False)
        await wait_for_flag(app, "select_columns", False)
        naive = [await _page(client, params, "naive") for params in PAGES]
        naive_bytes = await _server_bytes(client, tap, {}, "naive")

        await set_flag("select_columns", True)
        await wait_for_flag(app, "select_columns", True)
        optimised = [await _page(client, params, "optimised") for params in PAGES]
        optimised_bytes = await _server_bytes(client, tap, {}, "optimised")

        async with app.state.resources.pool.acquire() as conn:
            unused = await conn.fetchrow(
                "SELECT sum(octet_length(description)) AS description,"
                " sum(octet_length(isbn)) AS isbn FROM books WHERE id = ANY($1::int[])",
                [book["id"] for book in naive[0]],
            )

    assert naive == optimised
    assert [len(page) for page in naive] == [50, 20, 200]
    assert {book["genre"] for book in naive[1]} == {"poetry"}
    assert "description" not in naive[0][0]
    assert naive_bytes >= unused["description"] + unused["isbn"]
    assert optimised_bytes < unused["description"]
    assert naive_bytes - optimised_bytes >= unused["description"] + unused["isbn"]


async def test_parameters_are_validated(app_client: httpx.AsyncClient):
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"genre": ""}, "genre"),
    ):
        answer = await app_client.get("/books/catalog", params=params)
        assert answer.status_code == 422, params
        assert answer.json()["detail"][0]["loc"] == ["query", field]
    unknown = await app_client.get("/books/catalog", params={"genre": "no-such-genre"})
    assert unknown.status_code == 200 and unknown.json() == []
