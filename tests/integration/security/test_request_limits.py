"""Request bodies beyond PERFLAB_API__MAX_BODY_BYTES are refused with 413, unread."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from perflab.api.app import create_app
from perflab.settings import Settings

pytestmark = pytest.mark.integration

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
async def small(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    api = settings.api.model_copy(update={"max_body_bytes": LIMIT})
    app = create_app(settings.model_copy(update={"api": api}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
            yield client


def test_the_default_limit_is_one_mebibyte():
    assert Settings().api.max_body_bytes == 1024 * 1024


async def test_a_declared_length_over_the_limit_is_413(small: httpx.AsyncClient):
    body = b"[" + b"1," * LIMIT + b"1]"
    answer = await small.post("/orders/bulk", content=body)
    assert answer.status_code == 413, answer.text
    assert "PERFLAB_API__MAX_BODY_BYTES" in answer.json()["error"]


async def test_a_chunked_body_is_cut_off_at_the_limit(small: httpx.AsyncClient):
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(64):
            sent += 4096
            yield b" " * 4096  # whitespace: valid JSON padding, so only size can fail it

    answer = await small.post("/orders/bulk", content=chunks())
    assert answer.status_code == 413, answer.text
    assert "larger than 65536 bytes" in answer.json()["error"]


async def test_a_body_under_the_limit_is_served(small: httpx.AsyncClient):
    order = {"user_id": 1, "book_id": 1, "quantity": 1}
    answer = await small.post("/orders/bulk", json=[order])
    assert answer.status_code == 201, answer.text
