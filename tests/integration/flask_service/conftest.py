"""The Flask app in this process (real Postgres and Redis), and flag flips it hears.

Flags are flipped through the FastAPI service (`set_flag`), as the lab does; the Flask
app's mirror hears the flip over Redis pub/sub and `flask_flag` waits until it has.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from perflab.flask_service.app import create_app
from perflab.settings import Settings

FlagSetter = Callable[[str, bool], Awaitable[None]]


@pytest.fixture(scope="session")
def flask_app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    yield app
    app.extensions["perflab"].close()


@pytest.fixture
def flask_client(flask_app: Flask) -> FlaskClient:
    return flask_app.test_client()


async def wait_for_mirror(app: Flask, name: str, enabled: bool, within: float = 3.0) -> None:
    flags = app.extensions["perflab"].flags
    deadline = time.monotonic() + within
    while flags.enabled(name) is not enabled:
        assert time.monotonic() < deadline, f"the Flask app never saw {name}={enabled}"
        await asyncio.sleep(0.02)


@pytest.fixture
async def flask_flag(set_flag: FlagSetter, flask_app: Flask) -> AsyncIterator[FlagSetter]:
    async def _set(name: str, enabled: bool) -> None:
        await set_flag(name, enabled)
        await wait_for_mirror(flask_app, name, enabled)

    yield _set
