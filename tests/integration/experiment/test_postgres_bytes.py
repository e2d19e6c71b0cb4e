"""The kernel's per-connection count, read with `ss`, is the bytes Postgres sent: a
100,000-character result grows this process's connection by that much and a little
protocol around it, and nothing else of the process is taken for Postgres."""

from __future__ import annotations

import os

import asyncpg

from perflab.experiment import sockets
from perflab.settings import Settings

PAYLOAD = 100_000


def _received() -> dict[str, int]:
    connections = sockets.read()
    assert connections is not None, "iproute2's ss is missing"
    return sockets.received_from_postgres(connections, [os.getpid()])


async def test_a_known_result_grows_the_connection_by_its_size(settings: Settings) -> None:
    others = set(_received())  # connections this process already held (other tests')
    conn = await asyncpg.connect(settings.db.dsn)
    try:
        mine = set(_received()) - others
        assert len(mine) == 1, mine
        (local,) = mine
        before = _received()[local]
        assert await conn.fetchval("SELECT repeat('x', $1::int)", PAYLOAD) == "x" * PAYLOAD
        grown = _received()[local] - before
        # The value, its row description and data row headers, CommandComplete, ReadyForQuery.
        assert PAYLOAD <= grown < PAYLOAD + 500, grown
    finally:
        await conn.close()
    assert local not in _received()  # closed: gone from the kernel's list, bytes and all
