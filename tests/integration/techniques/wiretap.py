"""A TCP proxy in front of the test Postgres that counts what crosses the wire.

Some techniques change the protocol exchange itself, which neither the SQL count nor
Postgres' statistics views show: how many Parse messages the client sends (prepared
statements) or how many bytes the server sends back (select_columns). `tapped_app`
runs a second API instance, in this process, whose every Postgres connection goes
through a `PgWireTap`.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections import Counter
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from perflab.api.app import create_app
from perflab.settings import Settings

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


class PgWireTap:
    """Forwards 127.0.0.1:port to Postgres; counts client message types, server bytes."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.client_messages: Counter[str] = Counter()  # by type byte: P parse, B bind...
        self.parsed_sql: list[str] = []  # the SQL text of each Parse and simple Query
        self.server_bytes = 0
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def reset(self) -> None:
        self.client_messages.clear()
        self.parsed_sql.clear()
        self.server_bytes = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            await asyncio.gather(
                self._from_client(client_r, server_w), self._from_server(server_r, client_w)
            )
        finally:
            for writer in (client_w, server_w):
                writer.close()

    async def _from_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            # Untyped first: optional SSL / GSS requests (the test server declines both,
            # so the stream stays plain), then the startup message.
            while True:
                head = await reader.readexactly(8)
                length, code = struct.unpack("!ii", head)
                writer.write(head + await reader.readexactly(length - 8))
                await writer.drain()
                if code not in (_SSL_REQUEST, _GSSENC_REQUEST):
                    break
            while True:  # then typed messages: 1 type byte, int32 length, body
                kind = await reader.readexactly(1)
                head = await reader.readexactly(4)
                body = await reader.readexactly(struct.unpack("!i", head)[0] - 4)
                self.client_messages[kind.decode()] += 1
                if kind == b"P":  # statement name, NUL, SQL text, NUL, parameter types
                    self.parsed_sql.append(body.split(b"\0", 2)[1].decode())
                elif kind == b"Q":  # SQL text, NUL
                    self.parsed_sql.append(body.rstrip(b"\0").decode())
                writer.write(kind + head + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _from_server(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            while chunk := await reader.read(65536):
                self.server_bytes += len(chunk)
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def tapped_app(
    settings: Settings, postgres_port: int
) -> AsyncIterator[tuple[httpx.AsyncClient, PgWireTap]]:
    """A second API instance (same Redis, so same flags) talking to Postgres via a tap."""
    tap = PgWireTap(postgres_port)
    await tap.start()
    # One pooled connection: every request reuses the connection that was warmed up.
    # The same DSN (password included) through the tap's port.
    dsn = settings.db.dsn.replace(f":{postgres_port}/", f":{tap.port}/")
    db = settings.db.model_copy(update={"dsn": dsn, "pool_min": 1, "pool_max": 1})
    app = create_app(settings.model_copy(update={"db": db}))
    try:
        async with app.router.lifespan_context(app):
            # Start-up hooks (the index reconcile) talk to Postgres through the tap too.
            await asyncio.gather(*app.state.startup_hooks)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://tap") as client:
                client.app = app  # type: ignore[attr-defined]
                yield client, tap
    finally:
        await tap.close()


async def wait_for_flag(app: FastAPI, name: str, enabled: bool, within: float = 3.0) -> None:
    """Until this instance has heard of a flip made through another one (pub/sub)."""
    flags = app.state.resources.flags
    deadline = time.monotonic() + within
    while flags.enabled(name) is not enabled:
        assert time.monotonic() < deadline, f"flag {name} never reached {enabled}"
        await asyncio.sleep(0.02)
