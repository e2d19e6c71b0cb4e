"""Every way asyncpg says "the connection is gone" is a 503 naming postgres; nothing else is.

Real exception types raised by a route of an app with the lab's handlers; the real
Postgres crash is in the fault suite (tests/e2e/test_faults.py).
"""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from starlette.exceptions import HTTPException

from perflab.api import errors

UNAVAILABLE = [
    asyncpg.InternalClientError("cannot switch to state 12"),
    asyncpg.ProtocolError("unexpected message"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.InterfaceError("connection is closed"),
    asyncpg.CannotConnectNowError("the database system is shutting down"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CrashShutdownError("terminating connection because of crash of another process"),
    asyncpg.ConnectionFailureError("connection failure"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
]
# The client's or the code's fault: a 500 stays a 500 (and is logged with its traceback).
NOT_UNAVAILABLE = [
    asyncpg.DataError("invalid input for query argument $1 (value out of int64 range)"),
    asyncpg.UniqueViolationError("duplicate key"),
    asyncpg.UndefinedTableError("relation does not exist"),
]


def _app(exc: BaseException) -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    return app


async def _get(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/boom")


@pytest.mark.parametrize("exc", UNAVAILABLE, ids=lambda e: type(e).__name__)
async def test_connection_level_errors_are_503_naming_postgres(exc: BaseException):
    answer = await _get(_app(exc))
    assert answer.status_code == 503
    body = answer.json()
    assert body["dependency"] == "postgres"
    assert body["error"].startswith("postgres is unavailable")


@pytest.mark.parametrize("exc", NOT_UNAVAILABLE, ids=lambda e: type(e).__name__)
async def test_other_database_errors_are_not_blamed_on_postgres(exc: BaseException):
    assert (await _get(_app(exc))).status_code == 500


async def test_starlette_errors_use_the_lab_error_shape():
    app = FastAPI()
    errors.install(app)

    @app.get("/orders/{order_id}")
    async def order(order_id: int) -> None:
        raise HTTPException(404, detail=f"order {order_id} not found")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        unrouted = await client.get("/nowhere")
        missing = await client.get("/orders/7")
    # The router's 404 names what was asked, as Django's and Flask's do; a route's own
    # 404 keeps its detail.
    assert unrouted.status_code == 404
    assert unrouted.json() == {"error": "no route GET /nowhere"}
    assert missing.status_code == 404
    assert missing.json() == {"error": "order 7 not found"}


async def test_a_body_that_is_not_utf8_is_a_422_not_a_500():
    app = FastAPI()
    errors.install(app)

    @app.post("/items")
    async def items(body: list[int]) -> int:
        return len(body)

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.post(
            "/items", content=b"\xff\xfe", headers={"content-type": "text/plain"}
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body"]
    assert answer.json()["detail"][0]["input"] == "\ufffd\ufffd"
