"""RED metrics by route template, SQL statements per request, errors as JSON answers.

The outermost of the service's middleware (only the tracing instrumentation's server
span wraps it). For every request it:

- leaves scrapes and probes (`PROBE_PATHS`) out, as the API and Flask do;
- counts and times each SQL statement through Django's public
  `connection.execute_wrapper`, on every database alias, and sends the count as
  `X-DB-Queries` (and to `perflab_db_queries_per_request`);
- labels the HTTP metrics with the route template Django resolved
  (`books/<int:book_id>` -> `/books/{book_id}`, the same label as the API's), static
  files by their prefix (`/static/{path}`), anything else `<unmatched>`;
- measures a streaming answer when its last chunk is sent (statements run while
  streaming, such as a server-side cursor's, are counted there too);
- turns the lab's exceptions and a dependency going down into JSON answers: 4xx naming
  what was wrong (413 for a body over the limit), 503 naming Postgres or Redis.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connections
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from perflab.errors import DependencyUnavailable, PerflabError
from perflab.telemetry import PROBE_PATHS
from perflab.telemetry.metrics import (
    DB_QUERIES_PER_REQUEST,
    DB_QUERY_DURATION,
    HTTP_DURATION,
    HTTP_IN_PROGRESS,
    HTTP_REQUESTS,
    HTTP_RESPONSE_SIZE,
    UNMATCHED_ROUTE,
)

QUERIES_HEADER = "X-DB-Queries"
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_STATIC_ROUTE = "/static/{path}"
log = logging.getLogger(__name__)


def route_template(route: str) -> str:
    """Django's `books/<int:book_id>` -> `/books/{book_id}` (the API's label style)."""
    return "/" + _CONVERTER.sub(r"{\1}", route).lstrip("^").rstrip("$")


class StatementCounter:
    """An `execute_wrapper`: counts and times each statement of one request."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            # Failed statements count too: they reached the server.
            self.count += 1
            DB_QUERY_DURATION.observe(time.perf_counter() - started)


@contextlib.contextmanager
def counting(counter: StatementCounter) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for alias in settings.DATABASES:
            stack.enter_context(connections[alias].execute_wrapper(counter))
        yield


def _error_answer(exc: PerflabError) -> JsonResponse:
    body: dict[str, str] = {"error": exc.message}
    if isinstance(exc, DependencyUnavailable):
        body["dependency"] = exc.dependency
    return JsonResponse(body, status=exc.status_code)


def error_answer(exc: Exception) -> JsonResponse | None:
    """The JSON answer for an exception the lab knows, else None (Django's 500)."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return JsonResponse({"error": f"request body over {limit} bytes"}, status=413)
    if isinstance(exc, PerflabError):
        if exc.status_code >= 500:
            log.warning("%s", exc.message)
        return _error_answer(exc)
    if isinstance(exc, OperationalError | InterfaceError):
        log.warning("postgres unavailable: %s", exc)
        return _error_answer(DependencyUnavailable("postgres", str(exc) or type(exc).__name__))
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        log.warning("redis unavailable: %s", exc)
        return _error_answer(DependencyUnavailable("redis", str(exc) or type(exc).__name__))
    if isinstance(exc, DatabaseError):
        log.exception("database error")
    return None


def _explained(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    # `require_GET` and friends answer 405 with an empty body; say what is allowed.
    if response.status_code == 405 and not response.streaming and not response.content:
        return _not_allowed(request, response)
    return response


def _not_allowed(request: HttpRequest, empty: HttpResponseBase) -> JsonResponse:
    allowed = empty.get("Allow", "")
    body = {"error": f"method {request.method} not allowed on {request.path}; allowed: {allowed}"}
    return JsonResponse(body, status=405, headers={"Allow": allowed})


class TelemetryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info in PROBE_PATHS:
            return _explained(request, self.get_response(request))
        started = time.perf_counter()
        counter = StatementCounter()
        with counting(counter):
            response = _explained(request, self.get_response(request))
        response[QUERIES_HEADER] = str(counter.count)
        route = self._route(request)
        if response.streaming:
            content = response.streaming_content
            response.streaming_content = self._stream(
                content, request, response, route, counter, started
            )
        else:
            size = len(response.content)
            self._finish(request, response, route, counter, started, size)
        return response

    def process_view(self, request: HttpRequest, *_: Any) -> None:
        if request.path_info in PROBE_PATHS:
            return
        # The route is known from here on: count the request as in flight.
        route = self._route(request)
        HTTP_IN_PROGRESS.labels(route=route, method=request.method).inc()
        request.perflab_in_flight = route

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        return error_answer(exc)

    def _route(self, request: HttpRequest) -> str:
        match = getattr(request, "resolver_match", None)
        if match is not None and match.route:
            return route_template(match.route)
        if request.path_info.startswith(settings.STATIC_URL):
            return _STATIC_ROUTE
        return UNMATCHED_ROUTE

    def _stream(
        self,
        content: Iterator[bytes],
        request: HttpRequest,
        response: HttpResponseBase,
        route: str,
        counter: StatementCounter,
        started: float,
    ) -> Iterator[bytes]:
        size = 0
        try:
            with counting(counter):
                for chunk in content:
                    size += len(chunk)
                    yield chunk
        finally:
            self._finish(request, response, route, counter, started, size)

    def _finish(
        self,
        request: HttpRequest,
        response: HttpResponseBase,
        route: str,
        counter: StatementCounter,
        started: float,
        size: int,
    ) -> None:
        method = request.method or "GET"
        HTTP_DURATION.labels(route=route, method=method).observe(time.perf_counter() - started)
        HTTP_RESPONSE_SIZE.labels(route=route, method=method).observe(size)
        HTTP_REQUESTS.labels(
            route=route, method=method, status_class=f"{response.status_code // 100}xx"
        ).inc()
        DB_QUERIES_PER_REQUEST.labels(route=route).observe(counter.count)
        in_flight = getattr(request, "perflab_in_flight", None)
        if in_flight is not None:
            HTTP_IN_PROGRESS.labels(route=in_flight, method=method).dec()
