"""Celery queue depth and age of the oldest waiting message, read from the Redis broker.

kombu's Redis transport keeps a queue as Redis lists: `LPUSH` to publish, `BRPOP`
to consume, so the oldest message is the tail (`LINDEX key -1`). Priorities 3, 6, 9
get their own lists `<queue>\\x06\\x16<priority>` (kombu `_q_for_pri`); depth is the
sum over them, like kombu's own `_size`. Celery messages carry no enqueue time, so
the producer stamps one (`perflab_enqueued_at` header, see celery_metrics); messages
without it count in the depth but not in the age.

Sampled by the API processes only (never by the worker too, which would export the
same figure twice): the backlog must stay visible when every worker is down. With
several API processes the gauges merge with `livemax`, so each figure counts once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from celery.signals import before_task_publish
from redis.asyncio import Redis
from redis.exceptions import RedisError

from perflab.settings import Settings
from perflab.telemetry.metrics import (
    CELERY_QUEUE_LENGTH,
    CELERY_QUEUE_OLDEST_AGE,
    CELERY_UNACKED,
    CELERY_UNACKED_OLDEST_AGE,
)

ENQUEUED_AT_HEADER = "perflab_enqueued_at"
PRIORITY_SEP = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)
TICK_SECONDS = 2.0

log = logging.getLogger(__name__)


def _stamp_enqueue_time(headers: dict[str, Any] | None = None, **_: Any) -> None:
    # Runs in the publishing process for every message; lands in the raw message.
    if headers is not None:
        headers[ENQUEUED_AT_HEADER] = time.time()


# Connected on import: every process that may publish (API, worker) imports this.
before_task_publish.connect(_stamp_enqueue_time, weak=False)


def queue_keys(queue: str) -> list[str]:
    return [queue if p == 0 else f"{queue}{PRIORITY_SEP}{p}" for p in PRIORITY_STEPS]


def enqueued_at(raw: bytes | None) -> float | None:
    """The producer's timestamp in a raw kombu message, if it has one."""
    if raw is None:
        return None
    try:
        value = json.loads(raw).get("headers", {}).get(ENQUEUED_AT_HEADER)
        return float(value) if value is not None else None
    except (ValueError, TypeError, AttributeError):
        return None


async def measure(broker: Redis, queue: str, now: float | None = None) -> tuple[int, float]:
    """(messages waiting, age in seconds of the oldest stamped one; 0 when none)."""
    keys = queue_keys(queue)
    async with broker.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.llen(key)
            pipe.lindex(key, -1)
        replies = await pipe.execute()
    depth = sum(int(n) for n in replies[0::2])
    stamps = [t for t in map(enqueued_at, replies[1::2]) if t is not None]
    now = time.time() if now is None else now
    age = max(0.0, now - min(stamps)) if stamps else 0.0
    return depth, age


# kombu's Redis transport (default key names): a hash of delivered, unacknowledged
# messages and a sorted set of their delivery times.
UNACKED_KEY = "unacked"
UNACKED_INDEX_KEY = "unacked_index"


async def measure_unacked(broker: Redis, now: float | None = None) -> tuple[int, float]:
    """(messages delivered and not acknowledged, seconds since the oldest delivery)."""
    async with broker.pipeline(transaction=False) as pipe:
        pipe.hlen(UNACKED_KEY)
        pipe.zrange(UNACKED_INDEX_KEY, 0, 0, withscores=True)
        count, oldest = await pipe.execute()
    now = time.time() if now is None else now
    age = max(0.0, now - float(oldest[0][1])) if oldest else 0.0
    return int(count), age


async def sample_forever(settings: Settings) -> None:
    queue = settings.celery.queue
    CELERY_QUEUE_LENGTH.labels(queue=queue).set(0)
    CELERY_QUEUE_OLDEST_AGE.labels(queue=queue).set(0)
    broker = Redis.from_url(
        settings.celery_broker_url, socket_timeout=settings.redis.socket_timeout_seconds
    )
    try:
        while True:
            with contextlib.suppress(RedisError, OSError):
                depth, age = await measure(broker, queue)
                CELERY_QUEUE_LENGTH.labels(queue=queue).set(depth)
                CELERY_QUEUE_OLDEST_AGE.labels(queue=queue).set(age)
                unacked, unacked_age = await measure_unacked(broker)
                CELERY_UNACKED.set(unacked)
                CELERY_UNACKED_OLDEST_AGE.set(unacked_age)
            await asyncio.sleep(TICK_SECONDS)
    finally:
        await broker.aclose()
