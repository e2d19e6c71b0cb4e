"""A late pub/sub message cannot undo a newer flip; a reset Redis is followed.

The CI once saw it: a test put a flag back (PUT), the next test flipped it again at
once, and the listener then applied the first flip's message after the second flip,
so requests ran the wrong variant. Each test here owns a fresh Redis.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from perflab.flags.state import REDIS_CHANNEL, FlagState
from perflab.flags.store import FlagStore
from perflab.flags.threaded import ThreadedFlagMirror
from perflab.settings import FlagSettings
from tests.support.servers import Server, start_redis

pytestmark = pytest.mark.integration
FLAG = "gzip"
OTHER = "fast_json"


@pytest.fixture
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_redis(Path(tmp_path_factory.mktemp("flags-redis")))
    yield server
    server.stop()


@pytest.fixture
async def client(own_redis: Server) -> AsyncIterator[Redis]:
    redis = Redis.from_url(own_redis.url)
    yield redis
    await redis.aclose()


def _store(redis: Redis) -> FlagStore:
    return FlagStore(redis, FlagState(FlagSettings(default_enabled=True)), resync_seconds=60)


async def _until(check, limit: float = 5.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_a_late_message_does_not_undo_a_newer_flip(client: Redis):
    listening, writer = _store(client), _store(client)
    await listening.load()
    task = asyncio.create_task(listening.listen())
    try:
        older = await writer.set(FLAG, False, actor="test")
        await writer.set(FLAG, True, actor="test")
        await _until(lambda: listening.state.version == 2)
        # Deliver the first flip again, late, then a marker flip of another flag: the
        # channel is ordered, so once the marker is applied the late one was seen.
        late = {**vars(older), "version": 1}
        await client.publish(REDIS_CHANNEL, json.dumps(late))
        await writer.set(OTHER, False, actor="test")
        await _until(lambda: listening.enabled(OTHER) is False)
        assert listening.enabled(FLAG) is True
        assert listening.state.version == 3
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_reset_redis_is_followed_not_ignored(client: Redis):
    store = _store(client)
    await store.load()
    for _ in range(3):
        await store.set(FLAG, False, actor="test")
    assert store.state.version == 3
    await client.flushall()  # what a restart without persistence leaves behind
    await store.load()
    assert store.enabled(FLAG) is True  # the default again, as Redis now says
    flip = await store.set(FLAG, False, actor="test")
    assert flip.old is True and store.enabled(FLAG) is False
    assert store.state.version == 1


async def test_a_flip_right_after_a_reset_applies_here_at_once(client: Redis):
    store = _store(client)
    await store.load()
    for _ in range(3):
        await store.set(FLAG, True, actor="test")
    await client.flushall()  # no resync in between: this process still holds version 3
    await store.set(FLAG, False, actor="test")  # version 1 in the new Redis
    assert store.enabled(FLAG) is False
    assert store.state.version == 1


async def test_the_worker_mirror_ignores_a_late_message_too(own_redis: Server, client: Redis):
    writer = _store(client)
    await writer.load()
    older = await writer.set(FLAG, False, actor="test")
    await writer.set(FLAG, True, actor="test")
    mirror = ThreadedFlagMirror(
        own_redis.url,
        FlagState(FlagSettings(default_enabled=False)),
        resync_seconds=60,
    )
    mirror.start()
    try:
        await _until(lambda: mirror.state.version == 2)
        assert mirror.enabled(FLAG) is True
        # Subscribed before its first read, so the marker below is sure to arrive.
        await client.publish(REDIS_CHANNEL, json.dumps({**vars(older), "version": 1}))
        await writer.set(OTHER, False, actor="test")
        await _until(lambda: mirror.enabled(OTHER) is False)
        assert mirror.enabled(FLAG) is True
    finally:
        mirror.stop()
