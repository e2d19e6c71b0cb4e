"""Maps the exception tree (perflab.errors) and dependency failures to HTTP answers.

Every answer is `{"error": "..."}` (plus `dependency` on a 503), Starlette's own
HTTP errors included (404 of an unknown path, 405, FastAPI's 400 for an unparseable
body); only request validation keeps FastAPI's 422 shape. Postgres errors are mapped
here, in one place: a lost or refused connection in any of asyncpg's shapes
(`perflab.db.errors`) is a 503 naming postgres; any other database error stays a 500.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from perflab.db import errors as db_errors
from perflab.errors import DependencyUnavailable, PerflabError

log = logging.getLogger(__name__)

# Handlers are looked up by class; `_postgres_error` then decides by `db_errors`.
POSTGRES_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
_NO_BODY = frozenset({204, 304})


def _answer(exc: PerflabError) -> JSONResponse:
    body: dict[str, str] = {"error": exc.message}
    if isinstance(exc, DependencyUnavailable):
        body["dependency"] = exc.dependency
    return JSONResponse(body, status_code=exc.status_code)


async def _perflab_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PerflabError)
    if exc.status_code >= 500:
        log.warning("%s", exc.message)
    return _answer(exc)


async def _postgres_error(_: Request, exc: Exception) -> JSONResponse:
    if not db_errors.is_unavailable(exc):
        raise exc  # a bug or a bad statement: a 500 with its traceback in the log
    log.warning("postgres unavailable: %s", db_errors.describe(exc))
    return _answer(DependencyUnavailable("postgres", db_errors.describe(exc)))


async def _redis_down(_: Request, exc: Exception) -> JSONResponse:
    log.warning("redis unavailable: %s", exc)
    return _answer(DependencyUnavailable("redis", str(exc) or type(exc).__name__))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in _NO_BODY:
        return Response(status_code=exc.status_code, headers=exc.headers)
    message = str(exc.detail)
    if exc.status_code == 404 and message == HTTPStatus.NOT_FOUND.phrase:
        # The router's own 404 (no detail given): say what was asked, as Django and Flask do.
        message = f"no route {request.method} {request.url.path}"
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)


class _AsciiJSON(JSONResponse):
    """JSON with non-ASCII escaped: a 422 echoes the input, which may hold a lone
    surrogate that UTF-8 cannot encode (FastAPI's own handler then fails with a 500)."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode()


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # A body that is not UTF-8 comes back as its raw bytes: shown with U+FFFD, not decoded.
    errors = jsonable_encoder(exc.errors(), custom_encoder={bytes: _readable})
    return _AsciiJSON({"detail": errors}, status_code=422)


def _readable(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def install(app: FastAPI) -> None:
    app.add_exception_handler(PerflabError, _perflab_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    for exc_type in POSTGRES_ERRORS:
        app.add_exception_handler(exc_type, _postgres_error)
    for exc_type in REDIS_DOWN:
        app.add_exception_handler(exc_type, _redis_down)
