"""HTTP RED metrics, statements per request and `X-DB-Queries`, as WSGI middleware.

Wraps `app.wsgi_app`, so it sees what goes on the wire: the status, the headers (it
adds `X-DB-Queries`, the statements counted so far) and every body byte after
compression; a request ends when the server closes the body iterable, so a streamed
export is timed to its last byte. Labels use the route template in FastAPI's `{param}`
style (`/books/<int:book_id>` -> `/books/{book_id}`), matched before the view runs so
the in-progress gauge has its label; anything unmatched shares one label. Probes and
scrapes are left out, as in the FastAPI service. With metrics off only the header is
sent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException

from perflab.flask_service.db import QueryStats, begin_request
from perflab.telemetry import PROBE_PATHS
from perflab.telemetry.metrics import (
    DB_QUERIES_PER_REQUEST,
    HTTP_DURATION,
    HTTP_IN_PROGRESS,
    HTTP_REQUESTS,
    HTTP_RESPONSE_SIZE,
    UNMATCHED_ROUTE,
)

QUERY_COUNT_HEADER = "X-DB-Queries"
_CONVERTER = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def route_template(rule: str) -> str:
    """`/books/<int:book_id>` -> `/books/{book_id}`: the label FastAPI would use."""
    return _CONVERTER.sub(r"{\1}", rule)


class _Body:
    """The response body, passed through, counted; `close()` ends the request."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]) -> None:
        self._body = body
        self._done = done
        self._bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._bytes += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done(self._bytes)


class RequestTelemetry:
    def __init__(self, app: Flask, wsgi_app: WSGIApp, *, metrics: bool) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.metrics = metrics
        self._templates: dict[str, str] = {}

    def _route(self, environ: Environ) -> str:
        try:
            rule, _ = self.app.url_map.bind_to_environ(environ).match(return_rule=True)
        except HTTPException:  # 404, 405: no route to name
            return UNMATCHED_ROUTE
        template = self._templates.get(rule.rule)
        if template is None:
            template = self._templates[rule.rule] = route_template(rule.rule)
        return template

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in PROBE_PATHS:
            return self.wsgi_app(environ, start_response)
        stats = begin_request()
        status = [500]

        def start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = int(code.split(" ", 1)[0])
            headers.append((QUERY_COUNT_HEADER, str(stats.count)))
            return start_response(code, headers, exc_info)

        if not self.metrics:
            return self.wsgi_app(environ, start)
        return self._measured(environ, start, stats, status)

    def _measured(
        self, environ: Environ, start: StartResponse, stats: QueryStats, status: list[int]
    ) -> Iterable[bytes]:
        route, method = self._route(environ), environ.get("REQUEST_METHOD", "GET")
        started = time.perf_counter()
        in_progress = HTTP_IN_PROGRESS.labels(route=route, method=method)
        in_progress.inc()

        def done(size: int) -> None:
            in_progress.dec()
            HTTP_REQUESTS.labels(
                route=route, method=method, status_class=f"{status[0] // 100}xx"
            ).inc()
            HTTP_DURATION.labels(route=route, method=method).observe(time.perf_counter() - started)
            HTTP_RESPONSE_SIZE.labels(route=route, method=method).observe(size)
            DB_QUERIES_PER_REQUEST.labels(route=route).observe(stats.count)

        try:
            body = self.wsgi_app(environ, start)
        except BaseException:
            done(0)
            raise
        return _Body(body, done)
