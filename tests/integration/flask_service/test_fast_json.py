"""fast_json (Flask): the API's dump, the same bytes both ways; stdlib json calls back
into Python once per datetime, orjson never; each call's serialisation is timed on the
request thread's CPU clock as well as the wall clock."""

from __future__ import annotations

import sys
from datetime import datetime
from types import FrameType

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from perflab import serialise
from perflab.flask_service.techniques import fast_json

pytestmark = pytest.mark.integration
LIMIT = 500


def _dump(client: FlaskClient, variant: str) -> bytes:
    answer = client.get("/books/dump", query_string={"limit": LIMIT})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    assert answer.mimetype == "application/json"
    return answer.get_data()


def _observed(name: str, variant: str) -> float:
    labels = {"technique": "fast_json", "variant": variant}
    return REGISTRY.get_sample_value(f"perflab_technique_{name}", labels) or 0.0


async def test_same_bytes_both_ways_and_as_the_api(
    flask_client: FlaskClient, flask_flag, app_client: httpx.AsyncClient
) -> None:
    await flask_flag("fast_json", False)
    naive = _dump(flask_client, "naive")
    await flask_flag("fast_json", True)
    optimised = _dump(flask_client, "optimised")
    assert naive == optimised
    api = await app_client.get("/books/dump", params={"limit": LIMIT})
    assert naive == api.content


def test_stdlib_calls_back_into_python_per_datetime_orjson_never(flask_app: Flask) -> None:
    with flask_app.app_context():
        books = fast_json.books(LIMIT)
    datetimes = sum(
        isinstance(value, datetime) for book in books for value in book["reviews"].values()
    )
    assert datetimes > 100
    calls = {"naive": 0, "optimised": 0}
    for variant, serialiser in (("naive", fast_json.naive), ("optimised", fast_json.optimised)):

        def count(frame: FrameType, event: str, _arg: object, variant: str = variant) -> None:
            if event == "call" and frame.f_code is serialise.iso_datetime.__code__:
                calls[variant] += 1

        sys.setprofile(count)
        try:
            serialiser(books)
        finally:
            sys.setprofile(None)
    assert calls == {"naive": datetimes, "optimised": 0}


@pytest.mark.parametrize("enabled", [False, True])
async def test_each_call_adds_one_cpu_and_one_wall_observation(
    flask_client: FlaskClient, flask_flag, enabled: bool
) -> None:
    variant = "optimised" if enabled else "naive"
    await flask_flag("fast_json", enabled)
    names = ("cpu_seconds_count", "cpu_seconds_sum", "duration_seconds_count",
             "duration_seconds_sum")  # fmt: skip
    before = {name: _observed(name, variant) for name in names}
    _dump(flask_client, variant)
    after = {name: _observed(name, variant) for name in names}
    assert after["cpu_seconds_count"] == before["cpu_seconds_count"] + 1
    assert after["duration_seconds_count"] == before["duration_seconds_count"] + 1
    cpu = after["cpu_seconds_sum"] - before["cpu_seconds_sum"]
    wall = after["duration_seconds_sum"] - before["duration_seconds_sum"]
    assert 0 < cpu <= wall


def test_a_bad_limit_is_422(flask_client: FlaskClient) -> None:
    for bad in ("0", "20001", "x"):
        answer = flask_client.get("/books/dump", query_string={"limit": bad})
        assert answer.status_code == 422
        assert answer.json["detail"][0]["loc"] == ["query", "limit"]
