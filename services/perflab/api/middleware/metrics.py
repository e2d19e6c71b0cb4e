"""HTTP RED metrics and per-request SQL accounting, as pure ASGI middleware.

Labels use the matched route template (`/books/{book_id}`), never the raw path;
anything unmatched shares one label. The SQL count of the request is also sent back
in an `X-DB-Queries` header so a user (or a test) sees it per response.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from perflab.db import querylog
from perflab.telemetry.metrics import (
    DB_QUERIES_PER_REQUEST,
    HTTP_DURATION,
    HTTP_IN_PROGRESS,
    HTTP_REQUESTS,
    HTTP_RESPONSE_SIZE,
    UNMATCHED_ROUTE,
)

# Scrapes and probes would drown the lab's own traffic in the RED figures.
UNMEASURED_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        # Matched here, before the app runs, because in-progress needs the label early.
        self.routes = list(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNMEASURED_PATHS:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        started = time.perf_counter()
        stats = querylog.begin()
        status = 500
        body_bytes = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status, body_bytes
            if message["type"] == "http.response.start":
                status = message["status"]
                await querylog.settle()
                headers = list(message.get("headers", []))
                headers.append((b"x-db-queries", str(stats.count).encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                body_bytes += len(message.get("body", b""))
            await send(message)

        route = self.route_template(scope)
        in_progress = HTTP_IN_PROGRESS.labels(route=route, method=method)
        in_progress.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            in_progress.dec()
            await querylog.settle()
            HTTP_REQUESTS.labels(
                route=route, method=method, status_class=f"{status // 100}xx"
            ).inc()
            HTTP_DURATION.labels(route=route, method=method).observe(time.perf_counter() - started)
            HTTP_RESPONSE_SIZE.labels(route=route, method=method).observe(body_bytes)
            DB_QUERIES_PER_REQUEST.labels(route=route).observe(stats.count)

    def route_template(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return str(getattr(route, "path_format", None) or getattr(route, "path", ""))
        return UNMATCHED_ROUTE
