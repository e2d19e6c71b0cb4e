"""Maps the lab's exception tree (perflab.errors) and dependency failures to JSON answers.

Same bodies as the FastAPI service: `{"error": ...}` (plus `dependency` for a 503),
and FastAPI's `{"detail": [...]}` for a 422 (validation.py).
"""

from __future__ import annotations

import logging

import sqlalchemy.exc
from flask import Flask, Response, jsonify, request
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException

from perflab.errors import DependencyUnavailable, PerflabError
from perflab.flask_service.validation import InvalidRequest

log = logging.getLogger(__name__)

# OperationalError: refused, dropped or timed-out connections; TimeoutError: the pool.
POSTGRES_DOWN = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
)
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


def _answer(exc: PerflabError) -> tuple[Response, int]:
    body: dict[str, str] = {"error": exc.message}
    if isinstance(exc, DependencyUnavailable):
        body["dependency"] = exc.dependency
    return jsonify(body), exc.status_code


def _perflab_error(exc: PerflabError) -> tuple[Response, int]:
    if exc.status_code >= 500:
        log.warning("%s", exc.message)
    return _answer(exc)


def _invalid(exc: InvalidRequest) -> tuple[Response, int]:
    return jsonify({"detail": exc.errors}), exc.status_code


def _postgres_down(exc: Exception) -> tuple[Response, int]:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    log.warning("postgres unavailable: %s", detail)
    return _answer(DependencyUnavailable("postgres", detail or type(exc).__name__))


def _redis_down(exc: Exception) -> tuple[Response, int]:
    log.warning("redis unavailable: %s", exc)
    return _answer(DependencyUnavailable("redis", str(exc) or type(exc).__name__))


def _http(exc: HTTPException) -> tuple[Response, int]:
    code = exc.code or 500
    if code == 404:
        message = f"no route {request.method} {request.path}"
    elif code == 500:  # as the other services: the cause is in the log, not the answer
        message = "internal error; see the service log"
    else:
        message = exc.description or exc.name
    return jsonify({"error": message}), code


def install(app: Flask) -> None:
    app.register_error_handler(PerflabError, _perflab_error)
    app.register_error_handler(InvalidRequest, _invalid)
    app.register_error_handler(HTTPException, _http)
    for exc_type in POSTGRES_DOWN:
        app.register_error_handler(exc_type, _postgres_down)
    for redis_exc in REDIS_DOWN:
        app.register_error_handler(redis_exc, _redis_down)
