"""Maps the exception tree (perflab.errors) and dependency failures to HTTP answers."""

from __future__ import annotations

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from perflab.errors import DependencyUnavailable, PerflabError

log = logging.getLogger(__name__)

POSTGRES_DOWN = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    ConnectionRefusedError,
)
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


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


async def _postgres_down(_: Request, exc: Exception) -> JSONResponse:
    log.warning("postgres unavailable: %s", exc)
    return _answer(DependencyUnavailable("postgres", str(exc) or type(exc).__name__))


async def _redis_down(_: Request, exc: Exception) -> JSONResponse:
    log.warning("redis unavailable: %s", exc)
    return _answer(DependencyUnavailable("redis", str(exc) or type(exc).__name__))


def install(app: FastAPI) -> None:
    app.add_exception_handler(PerflabError, _perflab_error)
    for exc_type in POSTGRES_DOWN:
        app.add_exception_handler(exc_type, _postgres_down)
    for exc_type in REDIS_DOWN:
        app.add_exception_handler(exc_type, _redis_down)
