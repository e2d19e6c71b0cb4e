"""HTTP RED metrics and per-request SQL accounting, as pure ASGI middleware.

Labels use the matched route template (`/books/{book_id}`), never the raw path;
anything unmatched shares one label. The SQL count of the request is also sent back
in the `X-DB-Queries` header (middleware/querycount.py), in this same layer. When the
request's span is sampled, its trace id goes on the latency histogram as an
exemplar (see telemetry/exemplars.py for the multiprocess case).

Hot path: the route template is found by the route regexes alone (no param
conversion, no scope copies) and the labelled children are bound once per label set.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from perflab.api.middleware.querycount import add_query_count
from perflab.db import querylog
from perflab.telemetry import PROBE_PATHS, exemplars, multiproc
from perflab.telemetry.metrics import (
    DB_QUERIES_PER_REQUEST,
    HTTP_DURATION,
    HTTP_IN_PROGRESS,
    HTTP_REQUESTS,
    HTTP_RESPONSE_SIZE,
    UNMATCHED_ROUTE,
)
from perflab.telemetry.tracing import sampled_trace_id


def _first_segment(path: str) -> str:
    """`/books/{id}` -> `books`; `/` -> ``."""
    return path[1:].partition("/")[0]


class _RouteMetrics:
    """The metric children of one (route, method), bound once: `labels()` takes a lock
    and builds a key on every call."""

    def __init__(self, route: str, method: str) -> None:
        self.route, self.method = route, method
        self.in_progress = HTTP_IN_PROGRESS.labels(route=route, method=method)
        self.duration = HTTP_DURATION.labels(route=route, method=method)
        self.size = HTTP_RESPONSE_SIZE.labels(route=route, method=method)
        self.queries = DB_QUERIES_PER_REQUEST.labels(route=route)
        self.statuses: dict[int, Any] = {}

    def requests(self, status: int) -> Any:
        klass = status // 100
        counter = self.statuses.get(klass)
        if counter is None:
            counter = self.statuses[klass] = HTTP_REQUESTS.labels(
                route=self.route, method=self.method, status_class=f"{klass}xx"
            )
        return counter

    def finish(
        self,
        status: int,
        seconds: float,
        size: int,
        queries: int,
        exemplar: dict[str, str] | None = None,
    ) -> None:
        self.in_progress.dec()
        self.requests(status).inc()
        if exemplar is None:
            self.duration.observe(seconds)
        else:
            self.duration.observe(seconds, exemplar)
        self.size.observe(size)
        self.queries.observe(queries)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute], exemplars: bool = True) -> None:
        self.app = app
        # Matched here, before the app runs, because in-progress needs the label early.
        # A path can only match routes that share its first segment when that segment
        # is literal: indexed by it, a request tries a handful of regexes, not all.
        self._matchers = [
            (route.path_regex.match, str(getattr(route, "path_format", route.path)))
            for route in routes
            if hasattr(route, "path_regex") and hasattr(route, "path")
        ]
        self._by_segment: dict[str, list[tuple[Any, str]]] | None = {}
        for match, template in self._matchers:
            segment = _first_segment(template)
            if "{" in segment:  # a parameter up front: keep the full scan
                self._by_segment = None
                break
            self._by_segment.setdefault(segment, []).append((match, template))
        self._metrics: dict[tuple[str, str], _RouteMetrics] = {}
        self._exemplar_dir = multiproc.folder()
        self._exemplars = exemplars  # False: tracing is off, no trace id to look up

    def route_template(self, scope: Scope) -> str:
        # The template whichever the method: a 405 still belongs to its route.
        path = scope["path"]
        if self._by_segment is None:
            candidates = self._matchers
        else:
            candidates = self._by_segment.get(_first_segment(path), [])
        for match, template in candidates:
            if match(path):
                return template
        return UNMATCHED_ROUTE

    def _bound(self, route: str, method: str) -> _RouteMetrics:
        metrics = self._metrics.get((route, method))
        if metrics is None:
            metrics = self._metrics[(route, method)] = _RouteMetrics(route, method)
        return metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        started = time.perf_counter()
        stats = querylog.begin()
        status = 500  # unless a response starts
        body_bytes = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status, body_bytes
            if message["type"] == "http.response.start":
                status = message["status"]
                add_query_count(message, stats.count)
            elif message["type"] == "http.response.body":
                body_bytes += len(message.get("body", b""))
            await send(message)

        metrics = self._bound(self.route_template(scope), method)
        metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            trace_id = sampled_trace_id() if self._exemplars else None
            if trace_id is None:
                metrics.finish(status, elapsed, body_bytes, stats.count)
            elif self._exemplar_dir is None:
                metrics.finish(status, elapsed, body_bytes, stats.count, {"trace_id": trace_id})
            else:
                # Multiprocess mode drops exemplars: keep them in the side channel.
                metrics.finish(status, elapsed, body_bytes, stats.count)
                exemplars.record(metrics.route, method, elapsed, trace_id)
