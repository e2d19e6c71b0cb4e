"""What one Flask app owns: both engines, a Redis client, the flag mirror, the Celery
client, samplers.

Built by `create_app` (so once per gunicorn worker: the lab's gunicorn does not preload
the app, and threads never cross a fork) and closed by `Resources.close()`. A view
reaches them with `resources()`; its database session comes from `session()`, one per
request and engine, closed when the app context ends.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

import redis
import sqlalchemy.exc
from flask import current_app, g
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from perflab.flags.state import FlagState
from perflab.flags.threaded import ThreadedFlagMirror
from perflab.flask_service import db
from perflab.settings import Settings
from perflab.telemetry.metrics import DB_POOL_ACQUIRE
from perflab.worker.client import BlockingTaskClient

log = logging.getLogger(__name__)

EXTENSION = "perflab"
# How long start-up waits for the first read of the flags before serving defaults.
FLAG_SYNC_SECONDS = 2.0
POOL_SAMPLE_SECONDS = 1.0


@dataclass
class Resources:
    settings: Settings
    pooled: Engine
    direct: Engine
    redis: redis.Redis
    flags: ThreadedFlagMirror
    tasks: BlockingTaskClient  # enqueues the worker's tasks (background_offload)
    _stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def open(cls, settings: Settings) -> Resources:
        client = redis.Redis.from_url(
            settings.redis.url,
            socket_timeout=settings.redis.socket_timeout_seconds,
            socket_connect_timeout=settings.redis.socket_timeout_seconds,
        )
        flags = ThreadedFlagMirror(
            settings.redis.url, FlagState(settings.flags), settings.flags.resync_interval_seconds
        )
        flags.start()
        flags.wait_synced(FLAG_SYNC_SECONDS)  # Redis down: defaults, healed by the mirror
        return cls(
            settings=settings,
            pooled=db.pooled_engine(settings.db),
            direct=db.direct_engine(settings.db),
            redis=client,
            flags=flags,
            tasks=BlockingTaskClient(settings, client),
        )

    def start_pool_sampler(self) -> None:
        def loop() -> None:
            while not self._stop.wait(POOL_SAMPLE_SECONDS):
                db.sample_pool(self.pooled)

        threading.Thread(target=loop, name="pool-sampler", daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self.flags.stop()
        self.tasks.close()
        self.redis.close()
        self.pooled.dispose()
        self.direct.dispose()


def resources() -> Resources:
    found: Resources = current_app.extensions[EXTENSION]
    return found


def pooled_connection() -> Connection:
    """A connection from the pool, the wait timed into perflab_db_pool_acquire_seconds;
    the caller closes it (which gives it back)."""
    started = time.perf_counter()
    conn = resources().pooled.connect()
    DB_POOL_ACQUIRE.observe(time.perf_counter() - started)
    return conn


def session(engine: Literal["pooled", "direct"] = "pooled") -> Session:
    """This request's session on `engine`; its connection is taken now (the pooled wait
    is timed into perflab_db_pool_acquire_seconds) and given back at teardown."""
    sessions: dict[str, tuple[Session, Connection]] = g.setdefault("perflab_sessions", {})
    if engine not in sessions:
        conn = pooled_connection() if engine == "pooled" else resources().direct.connect()
        sessions[engine] = (Session(bind=conn), conn)
    return sessions[engine][0]


def close_sessions(_: BaseException | None = None) -> None:
    """Teardown: roll back anything left open and give every connection back.

    A rollback on a connection Postgres has dropped fails. That must neither turn the
    answer already made (a 503 naming postgres) into a 500 nor keep the connection out
    of the pool: it is invalidated instead, and the pool opens a new one when needed.
    """
    for open_session, conn in g.pop("perflab_sessions", {}).values():
        try:
            open_session.close()
        except sqlalchemy.exc.DBAPIError as exc:
            log.warning("rollback at teardown failed, connection dropped: %s", exc.orig)
            conn.invalidate()
        finally:
            conn.close()
