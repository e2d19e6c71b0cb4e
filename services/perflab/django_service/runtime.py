"""What each gunicorn worker process owns: its flag mirror, a Redis client, samplers.

Started lazily and per pid (`flags()`), so it works whatever forked the process; the
gunicorn `post_worker_init` hook starts it at once, so a new worker exports its flag
gauges and follows flips before its first request.
"""

from __future__ import annotations

import os
import threading
import time
from functools import lru_cache

import psutil
import redis
from django.db import connections
from psycopg_pool import ConnectionPool

from perflab.flags.state import FlagState
from perflab.flags.threaded import ThreadedFlagMirror
from perflab.settings import get_settings
from perflab.telemetry.metrics import DB_POOL_CONNECTIONS
from perflab.telemetry.runtime import sample_process

SAMPLE_SECONDS = 1.0
# How often each worker verifies its pool's idle connections (see keep_pool_healthy).
POOL_CHECK_SECONDS = 5.0

_lock = threading.Lock()
_mirror: ThreadedFlagMirror | None = None
_pid = 0


def flags() -> ThreadedFlagMirror:
    """This process's flag mirror (started on first use, again after a fork)."""
    global _mirror, _pid
    with _lock:
        if _mirror is None or _pid != os.getpid():
            settings = get_settings()
            _mirror = ThreadedFlagMirror(
                settings.redis.url,
                FlagState(settings.flags),
                settings.flags.resync_interval_seconds,
            )
            _mirror.start()
            _pid = os.getpid()
            _start_sampler()
            _start_pool_keeper()
        return _mirror


def enabled(name: str) -> bool:
    return flags().enabled(name)


@lru_cache(maxsize=1)
def _redis_for(pid: int) -> redis.Redis:  # noqa: ARG001 - one client per process
    settings = get_settings()
    return redis.Redis.from_url(
        settings.redis.url,
        socket_timeout=settings.redis.socket_timeout_seconds,
        socket_connect_timeout=settings.redis.socket_timeout_seconds,
    )


def redis_client() -> redis.Redis:
    """This process's Redis client (readiness probe, task ids)."""
    return _redis_for(os.getpid())


def sample_pool() -> None:
    """The `default` alias's psycopg pool as the API's pool gauges (size, idle, ...)."""
    pool = connections["default"].pool
    if pool is None:
        return
    stats = pool.get_stats()
    size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
    DB_POOL_CONNECTIONS.labels(state="size").set(size)
    DB_POOL_CONNECTIONS.labels(state="idle").set(idle)
    DB_POOL_CONNECTIONS.labels(state="in_use").set(size - idle)
    DB_POOL_CONNECTIONS.labels(state="max").set(stats.get("pool_max", 0))


def _start_sampler() -> None:
    if not get_settings().telemetry.metrics_enabled:
        return
    process = psutil.Process()

    def loop() -> None:
        while True:
            sample_process(process)
            sample_pool()
            time.sleep(SAMPLE_SECONDS)

    threading.Thread(target=loop, name="runtime-sampler", daemon=True).start()


def keep_pool_healthy(pool: ConnectionPool | None = None) -> None:
    """Verify the pool's idle connections now (default: the `default` alias's pool) with
    psycopg's `ConnectionPool.check()`: a dead one is dropped and replaced.

    After a Postgres restart every idle connection of a worker is dead, and psycopg's
    check at checkout tries them one by one with a backoff of 1, 2, 4 ... s: a worker that
    held three made its next request wait past the pool's 5 s timeout and answer 503,
    seconds after Postgres was back (found by the fault suite). Checked in the background
    every POOL_CHECK_SECONDS, the pool is sound again before a request needs it. The cost
    is an empty query per idle connection.
    """
    pool = pool or connections["default"].pool
    if pool is not None and not pool.closed:
        pool.check()


def _start_pool_keeper() -> None:
    def loop() -> None:
        while True:
            time.sleep(POOL_CHECK_SECONDS)
            try:
                keep_pool_healthy()
            except Exception:  # noqa: BLE001 - Postgres down: the next round tries again
                continue

    threading.Thread(target=loop, name="pool-keeper", daemon=True).start()
