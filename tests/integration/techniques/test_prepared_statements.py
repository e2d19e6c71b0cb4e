"""prepared_statements: same author stats both ways; Parse messages counted on the wire.

The proof by count: a second API instance reaches Postgres through a TCP tap that
counts the protocol messages the client sends. Each execution of a statement is a
Bind ('B'); each Parse ('P') makes Postgres parse and analyse the SQL text; a Sync
('S') or Flush ('H') ends a round trip. With the cache on, N requests served by a warm
connection send N Binds, no Parse, in N round trips. With it off, asyncpg sends every
request's SQL as an unnamed statement twice (Parse + Describe to learn the types, then
Parse + Bind + Execute): 2N Parses in 2N round trips. Postgres' own
`pg_prepared_statements` agrees: the cached pool's warm connection keeps one prepared
statement that ran every time (custom + generic plans = executions); the uncached
pool keeps none.
"""

from __future__ import annotations

import httpx
import pytest

from perflab.api.techniques import prepared_statements
from perflab.settings import Settings
from tests.integration.techniques.wiretap import tapped_app, wait_for_flag
from tests.support.servers import Server

pytestmark = pytest.mark.integration

N = 8
AUTHOR_IDS = range(1, N + 1)
_RUNS_OF_AUTHOR_SQL = """
SELECT count(*), coalesce(sum(generic_plans + custom_plans), 0)
FROM pg_prepared_statements WHERE statement = $1
"""


def _round_trips(messages: dict[str, int]) -> int:
    # Each ends with a Sync ('S'), or a Flush ('H') when asyncpg awaits a Describe.
    return messages.get("S", 0) + messages.get("H", 0)


async def _authors(client: httpx.AsyncClient, variant: str) -> list[dict]:
    authors = []
    for author_id in AUTHOR_IDS:
        answer = await client.get(f"/authors/{author_id}")
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Technique-Variant"] == variant
        authors.append(answer.json())
    return authors


async def _kept_statements(pool) -> tuple[int, int]:  # noqa: ANN001
    """(prepared statements of AUTHOR_SQL, their executions) on the pool's warm connection."""
    async with pool.acquire() as conn:  # LIFO: the connection the requests just used
        row = await conn.fetchrow(_RUNS_OF_AUTHOR_SQL, prepared_statements.AUTHOR_SQL)
    return row[0], row[1]


async def test_cache_on_binds_a_kept_statement_cache_off_parses_every_time(
    app_client: httpx.AsyncClient, set_flag, settings: Settings, postgres_server: Server
):
    async with tapped_app(settings, postgres_server.port) as (client, tap):
        res = client.app.state.resources  # type: ignore[attr-defined]
        await set_flag("prepared_statements", True)
        await wait_for_flag(client.app, "prepared_statements", True)  # type: ignore[attr-defined]
        await client.get("/authors/1")  # warm-up: the first run on a connection prepares
        tap.reset()
        optimised = await _authors(client, "optimised")
        cached = dict(tap.client_messages)
        kept, runs = await _kept_statements(res.pool)

        await set_flag("prepared_statements", False)
        await wait_for_flag(client.app, "prepared_statements", False)  # type: ignore[attr-defined]
        await client.get("/authors/1")  # opens the uncached pool
        tap.reset()
        naive = await _authors(client, "naive")
        uncached = dict(tap.client_messages)
        uncached_pool = await prepared_statements.uncached_pool(res).get()
        uncached_kept, _ = await _kept_statements(uncached_pool)

    assert naive == optimised
    assert [a["id"] for a in naive] == list(AUTHOR_IDS)
    assert any(a["review_count"] > 0 for a in naive)
    assert cached.get("P", 0) == 0 and cached["B"] == N
    assert uncached["P"] == 2 * N and uncached["B"] == N
    assert _round_trips(cached) == N and _round_trips(uncached) == 2 * N
    assert kept == 1 and runs == N + 1  # the warm-up run, then the N requests
    assert uncached_kept == 0


async def test_missing_author_is_404_and_a_bad_id_422(app_client: httpx.AsyncClient, set_flag):
    for enabled in (False, True):
        await set_flag("prepared_statements", enabled)
        missing = await app_client.get("/authors/99999999")
        assert missing.status_code == 404
        assert missing.json() == {"error": "author 99999999 not found"}
    answer = await app_client.get("/authors/0")
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["path", "author_id"]
