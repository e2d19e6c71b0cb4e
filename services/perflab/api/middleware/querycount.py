"""The `X-DB-Queries` response header: how many SQL statements the request sent.

It is part of every answer, telemetry on or off: the technique demos (N+1 above all)
show it per response. With metrics on, `MetricsMiddleware` sends it as part of its
own work, in the same layer; with metrics off this middleware does that job alone.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from perflab.db import querylog
from perflab.telemetry import PROBE_PATHS

QUERY_COUNT_HEADER = b"x-db-queries"


def add_query_count(message: Message, count: int) -> None:
    """Add the header to an `http.response.start` message."""
    header = (QUERY_COUNT_HEADER, str(count).encode())
    # In place, as Starlette's own middleware does: the message is ours to edit.
    headers = message.get("headers")
    if type(headers) is list:
        headers.append(header)
    else:
        message["headers"] = [*(headers or ()), header]


class QueryCountMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        stats = querylog.begin()

        async def send_with_count(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_query_count(message, stats.count)
            await send(message)

        await self.app(scope, receive, send_with_count)
