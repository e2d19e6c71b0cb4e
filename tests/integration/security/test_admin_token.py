"""With an admin token configured, every state-changing request needs it, checked first.

The write routes are found in the app itself, so a route added later is covered
without editing this test. Each is called the way an attacker would: without the
token, with a wrong one, for a thing that does not exist, with a body that is not
valid. All must be 401, and nothing may change.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from perflab.api.app import create_app
from perflab.api.middleware.admin import GUARDED_METHODS
from perflab.settings import Settings

pytestmark = pytest.mark.integration

TOKEN = "s3cret-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
async def guarded(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"admin_token": SecretStr(TOKEN)}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def _writes(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    """Every state-changing operation of the app (its OpenAPI document lists them all)."""
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method.upper() in GUARDED_METHODS
    )


def _concrete(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def test_the_lab_has_the_write_routes_this_test_expects(guarded: httpx.AsyncClient):
    # A floor, not the list: a new write route is covered by the loop below anyway.
    assert {
        ("PUT", "/flags/{name}"),
        ("POST", "/alerts/webhook"),
        ("POST", "/orders/{order_id}/confirm"),
        ("POST", "/orders/bulk"),
        ("POST", "/books/{book_id}/reviews"),
        ("PUT", "/upstream/fault"),
    } <= set(_writes(guarded))


@pytest.mark.parametrize("value", ["1", "999999999", "no-such-thing"])
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"X-Perflab-Actor": "me"}],
    ids=["none", "wrong", "no-scheme", "actor-header"],
)
async def test_every_write_without_the_token_is_401_before_anything_else(
    guarded: httpx.AsyncClient, headers: dict[str, str], value: str
):
    flags_before = (await guarded.get("/flags")).json()
    for method, path in _writes(guarded):
        for body in ({"enabled": "maybe"}, b"{not json", b"\xff\xfe"):
            kwargs = {"json": body} if isinstance(body, dict) else {"content": body}
            answer = await guarded.request(
                method, _concrete(path, value), headers=headers, **kwargs
            )
            assert answer.status_code == 401, (method, path, body, answer.text)
            assert "admin token" in answer.json()["error"]
            assert answer.headers["www-authenticate"] == "Bearer"
    assert (await guarded.get("/flags")).json() == flags_before


async def test_reads_need_no_token(guarded: httpx.AsyncClient):
    for path in ("/flags", "/techniques", "/alerts", "/healthz"):
        assert (await guarded.get(path)).status_code == 200, path


async def test_with_the_token_the_request_is_served_and_the_actor_is_the_credential(
    guarded: httpx.AsyncClient,
):
    before = next(f for f in (await guarded.get("/flags")).json()["flags"] if f["name"] == "gzip")
    unknown = await guarded.put("/flags/nope", json={"enabled": True}, headers=AUTH)
    assert unknown.status_code == 404
    bad = await guarded.put("/flags/gzip", json={"enabled": "maybe"}, headers=AUTH)
    assert bad.status_code == 422
    flipped = await guarded.put(
        "/flags/gzip",
        json={"enabled": not before["enabled"]},
        headers={**AUTH, "X-Perflab-Actor": "mallory"},
    )
    assert flipped.status_code == 200, flipped.text
    try:
        (last,) = (await guarded.get("/flags/history", params={"limit": 1})).json()
        assert (last["flag"], last["actor"]) == ("gzip", "admin")
    finally:
        await guarded.put("/flags/gzip", json={"enabled": before["enabled"]}, headers=AUTH)


async def test_without_a_token_configured_the_actor_is_the_client_not_a_header(
    app_client: httpx.AsyncClient,
):
    before = next(
        f for f in (await app_client.get("/flags")).json()["flags"] if f["name"] == "gzip"
    )
    flipped = await app_client.put(
        "/flags/gzip", json={"enabled": not before["enabled"]}, headers={"X-Perflab-Actor": "x"}
    )
    assert flipped.status_code == 200
    try:
        (last,) = (await app_client.get("/flags/history", params={"limit": 1})).json()
        assert last["actor"].startswith("anonymous@")
    finally:
        await app_client.put("/flags/gzip", json={"enabled": before["enabled"]})


def test_every_write_route_documents_401_413_and_the_token(guarded: httpx.AsyncClient):
    schema = guarded.app.openapi()  # type: ignore[attr-defined]
    assert schema["components"]["securitySchemes"]["adminToken"]["scheme"] == "bearer"
    for method, path in _writes(guarded):
        operation = schema["paths"][path][method.lower()]
        assert {"400", "401", "413"} <= set(operation["responses"]), (method, path)
        assert {"adminToken": []} in operation["security"], (method, path)
