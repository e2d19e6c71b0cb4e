"""Resources owned by the app's lifespan: the pool, Redis, the flag store and listener."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.exceptions import RedisError

from perflab.db import pool as db_pool
from perflab.errors import DependencyUnavailable
from perflab.flags.state import FlagState
from perflab.flags.store import FlagStore
from perflab.settings import Settings
from perflab.telemetry import runtime

log = logging.getLogger(__name__)


@dataclass
class Resources:
    settings: Settings
    pool: asyncpg.Pool
    redis: Redis
    flags: FlagStore
    # Extra resources a technique owns (e.g. a process pool), closed at shutdown.
    extras: dict[str, Any] = field(default_factory=dict)


async def _open_pool(settings: Settings) -> asyncpg.Pool:
    try:
        return await db_pool.create_pool(settings.db)
    except DependencyUnavailable as exc:
        # Start anyway so /readyz can say what is wrong; connections open on demand.
        log.warning("starting without warm pool: %s", exc.message)
        lazy = settings.db.model_copy(update={"pool_min": 0})
        return await db_pool.create_pool(lazy)


SHUTDOWN_TASKS_SECONDS = 5.0


StartupHook = Callable[["Resources"], Coroutine[Any, Any, object]]


def _start_hooks(
    resources: Resources, hooks: Mapping[str, StartupHook]
) -> list[asyncio.Task[object]]:
    return [
        asyncio.create_task(hook(resources), name=f"{name}-on-start")
        for name, hook in hooks.items()
    ]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    pool = await _open_pool(settings)
    redis = Redis.from_url(
        settings.redis.url,
        socket_timeout=settings.redis.socket_timeout_seconds,
        socket_connect_timeout=settings.redis.socket_timeout_seconds,
    )
    flags = FlagStore(redis, FlagState(settings.flags), settings.flags.resync_interval_seconds)
    with contextlib.suppress(RedisError, OSError):
        await flags.load()
    resources = Resources(settings=settings, pool=pool, redis=redis, flags=flags)
    app.state.resources = resources
    # Kept on app.state so tests (and the bench) can wait until start-up work is done.
    # The techniques' hooks come from app.state (create_app puts them there): this
    # module imports no technique module, as they import it.
    app.state.startup_hooks = _start_hooks(resources, app.state.technique_startup_hooks)
    tasks = [
        asyncio.create_task(flags.listen(), name="flag-listener"),
        *runtime.start_api_samplers(settings, on_tick=lambda: db_pool.sample_pool(pool)),
        *app.state.startup_hooks,
    ]
    runtime.freeze_startup_heap()
    try:
        yield
    finally:
        gc.unfreeze()
        for task in tasks:
            task.cancel()
        # Bounded: a task that ignores its cancel must not hang the shutdown.
        _, stuck = await asyncio.wait(tasks, timeout=SHUTDOWN_TASKS_SECONDS)
        for task in stuck:
            log.warning(
                "background task %s did not stop within %ss",
                task.get_name(),
                SHUTDOWN_TASKS_SECONDS,
            )
        for extra in resources.extras.values():
            close = getattr(extra, "aclose", None) or getattr(extra, "close", None)
            if close is not None:
                result = close()
                if asyncio.iscoroutine(result):
                    await result
        await redis.aclose()
        await pool.close()
