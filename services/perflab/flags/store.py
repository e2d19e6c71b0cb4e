"""The flag store for asyncio processes (the API): Redis hash + pub/sub.

A flip is one Lua script (read old, write new, append history, publish), so the
history never misses a change and the old value is exact. Every process listens on
the channel and also re-reads the hash every few seconds, which heals any message
missed while Redis was away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from perflab.errors import DependencyUnavailable
from perflab.flags.state import (
    HISTORY_LIMIT,
    REDIS_CHANNEL,
    REDIS_HISTORY,
    REDIS_KEY,
    REDIS_VERSION,
    FlagState,
    Flip,
    encode,
)
from perflab.telemetry.metrics import FLAG_FLIPS

log = logging.getLogger(__name__)

# KEYS: hash, history, version. ARGV: flag, new, default, actor, at, channel, history limit.
_FLIP_SCRIPT = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then old = ARGV[3] end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local version = redis.call('INCR', KEYS[3])
local entry = cjson.encode({flag=ARGV[1], old=(old == '1'), new=(ARGV[2] == '1'),
                            actor=ARGV[4], at=ARGV[5], version=version})
redis.call('LPUSH', KEYS[2], entry)
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[7]) - 1)
redis.call('PUBLISH', ARGV[6], entry)
return entry
"""


class FlagStore:
    def __init__(self, redis: Redis, state: FlagState, resync_seconds: float = 5.0) -> None:
        self.redis = redis
        self.state = state
        self._resync_seconds = resync_seconds
        self._flip = redis.register_script(_FLIP_SCRIPT)

    def enabled(self, name: str) -> bool:
        return self.state.enabled(name)

    async def load(self) -> None:
        """Write missing defaults (first process wins), then mirror the hash."""
        seen_before = self.state.version
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, default in self.state.defaults.items():
                pipe.hsetnx(REDIS_KEY, name, encode(default))
            pipe.hgetall(REDIS_KEY)
            pipe.get(REDIS_VERSION)
            results = await pipe.execute()
        self.state.from_redis(results[-2], int(results[-1] or 0), seen_before)

    async def set(self, name: str, enabled: bool, actor: str) -> Flip:
        self.state.check(name)
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        try:
            raw = await self._flip(
                keys=[REDIS_KEY, REDIS_HISTORY, REDIS_VERSION],
                args=[
                    name,
                    encode(enabled),
                    encode(self.state.defaults[name]),
                    actor,
                    at,
                    REDIS_CHANNEL,
                    HISTORY_LIMIT,
                ],  # fmt: skip
            )
        except (RedisError, OSError) as exc:
            raise DependencyUnavailable("redis", str(exc)) from exc
        flip, version = Flip.from_entry(raw)
        if not self.state.apply({name: flip.new}, version):
            # Older than what we hold: either a newer flip already arrived (the snapshot
            # will say so) or Redis lost its data and counts from 1 again (the snapshot
            # detects that and wins). Either way Redis has the answer.
            with contextlib.suppress(RedisError, OSError):
                await self.load()
        FLAG_FLIPS.labels(flag=name).inc()
        return flip

    async def history(self, limit: int = 100) -> list[Flip]:
        try:
            raw = await self.redis.lrange(REDIS_HISTORY, 0, limit - 1)
        except (RedisError, OSError) as exc:
            raise DependencyUnavailable("redis", str(exc)) from exc
        return [Flip.from_entry(item)[0] for item in raw]

    async def listen(self) -> None:
        """Mirror flips until cancelled; survive Redis outages keeping the last state."""
        backoff = 0.2
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(REDIS_CHANNEL)
                await self.load()  # after subscribing, so no flip falls in between
                backoff = 0.2
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=self._resync_seconds
                    )
                    _raise_if_cancelled()
                    if message is None:
                        await self.load()
                        continue
                    flip, version = Flip.from_entry(message["data"])
                    self.state.apply({flip.flag: flip.new}, version)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("flag listener lost Redis (%s); keeping last known flags", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                await pubsub.aclose()


def _raise_if_cancelled() -> None:
    """Re-raise a cancellation that a read timeout swallowed.

    redis-py's timed read can absorb a cancel and return None (on Python 3.11,
    `asyncio.timeout` turns a cancel that meets its deadline into a timeout); the
    task, still marked as cancelling, then polled forever and the app's shutdown
    hung (seen in the tests once the dependencies became async). A cancelled task
    now stops at the next poll.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
