"""A real gunicorn serving the Django service on the session's Postgres and Redis.

Flags are set through a real API process (the one place `PUT /flags` lives) and reach
the Django workers through Redis, as in the lab; `set_flag` waits until the Django
service says so, then puts every flag it touched back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import django_app
from tests.support.servers import gunicorn_server, service_env, uvicorn_server

django_app.setup()  # the tests import the service's modules (e.g. its middleware list)


@pytest.fixture(scope="session")
def flags_api(lab_root: Path, settings_env: dict[str, str]) -> Iterator[str]:
    """The API whose `PUT /flags` the Django tests flip flags through."""
    with uvicorn_server(lab_root, service_env(settings_env), name="api-for-django") as url:
        yield url


@pytest.fixture(scope="session")
def django_url(lab_root: Path, settings_env: dict[str, str], flags_api: str) -> Iterator[str]:
    # One worker: counters read from /metrics and connection counts per thread stay exact.
    with gunicorn_server(lab_root, service_env(settings_env), workers=1, threads=4) as url:
        yield url


@pytest.fixture
def django(django_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=django_url, timeout=60) as client:
        yield client


def django_flag(client: httpx.Client, name: str) -> bool:
    flags = client.get("/flags").json()["flags"]
    return next(f["enabled"] for f in flags if f["name"] == name)


def wait_for_flag(client: httpx.Client, name: str, enabled: bool, within: float = 5) -> None:
    """Until the Django service behind `client` has heard the flip (over Redis)."""
    deadline = time.monotonic() + within
    while django_flag(client, name) is not enabled:
        assert time.monotonic() < deadline, f"{name} never reached the Django service"
        time.sleep(0.02)


@pytest.fixture
def set_flag(flags_api: str, django: httpx.Client) -> Iterator:
    """Flip a flag through the API and wait until the Django service follows."""
    touched: dict[str, bool] = {}
    api = httpx.Client(base_url=flags_api, timeout=30)

    def _set(name: str, enabled: bool) -> None:
        if name not in touched:
            touched[name] = django_flag(django, name)
        answer = api.put(f"/flags/{name}", json={"enabled": enabled})
        assert answer.status_code == 200, answer.text
        wait_for_flag(django, name, enabled)

    yield _set
    for name, enabled in touched.items():
        api.put(f"/flags/{name}", json={"enabled": enabled})
    api.close()
