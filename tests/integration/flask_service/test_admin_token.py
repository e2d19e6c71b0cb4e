"""The Flask service guards its writes as the FastAPI one does: token first, 413 on size."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from pydantic import SecretStr

from perflab.flask_service.admin import GUARDED_METHODS
from perflab.flask_service.app import create_app
from perflab.settings import Settings

pytestmark = pytest.mark.integration

TOKEN = "flask-test-token"


@pytest.fixture(scope="module")
def guarded(settings: Settings) -> Iterator[Flask]:
    api = settings.api.model_copy(update={"max_body_bytes": 4096})
    # No tracing: the stock SQLAlchemy instrumentor instruments the first app's engines
    # only, and the session's Flask app (test_tracing.py) must be that first one.
    telemetry = settings.telemetry.model_copy(update={"tracing_enabled": False})
    changes = {"admin_token": SecretStr(TOKEN), "api": api, "telemetry": telemetry}
    app = create_app(settings.model_copy(update=changes))
    yield app
    app.extensions["perflab"].close()


def _writes(app: Flask) -> list[tuple[str, str]]:
    return sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) & GUARDED_METHODS
    )


def test_every_write_without_the_token_is_401_before_routing_or_parsing(guarded: Flask):
    writes = _writes(guarded)
    assert {("POST", "/orders/bulk"), ("POST", "/books/<int:book_id>/reviews")} <= set(writes)
    client = guarded.test_client()
    for method, rule in writes:
        path = rule.replace("<int:book_id>", "999999")
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            answer = client.open(path, method=method, data=b"{not json", headers=headers)
            assert answer.status_code == 401, (method, path, answer.get_data(as_text=True))
            assert "admin token" in answer.get_json()["error"]
    assert client.post("/no/such/path").status_code == 401
    assert client.get("/healthz").status_code == 200


def test_with_the_token_writes_are_served_and_big_bodies_are_413(guarded: Flask):
    client = guarded.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    order = {"user_id": 1, "book_id": 1, "quantity": 1}
    assert client.post("/orders/bulk", json=[order], headers=auth).status_code == 201
    big = client.post("/orders/bulk", data=b" " * 10_000, headers=auth,
                      content_type="application/json")  # fmt: skip
    assert big.status_code == 413
