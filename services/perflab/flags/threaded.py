"""The flag mirror for synchronous processes (Celery workers, the Flask service's
gunicorn workers): a daemon thread."""

from __future__ import annotations

import logging
import threading
import time

import redis
from redis.exceptions import RedisError

from perflab.flags.state import REDIS_CHANNEL, REDIS_KEY, REDIS_VERSION, FlagState, Flip

log = logging.getLogger(__name__)


class ThreadedFlagMirror:
    def __init__(self, url: str, state: FlagState, resync_seconds: float = 5.0) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=resync_seconds + 2)
        self.state = state
        self._resync_seconds = resync_seconds
        self._stop = threading.Event()
        self._synced = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flag-mirror", daemon=True)

    def enabled(self, name: str) -> bool:
        return self.state.enabled(name)

    def start(self) -> None:
        self._thread.start()

    def wait_synced(self, timeout: float) -> bool:
        """Until the first read of Redis is applied (False: still on defaults)."""
        return self._synced.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._resync_seconds + 3)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(REDIS_CHANNEL)
                self._resync()
                synced = time.monotonic()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=min(self._resync_seconds, 1.0))
                    if message is None:
                        if time.monotonic() - synced >= self._resync_seconds:
                            self._resync()
                            synced = time.monotonic()
                        continue
                    flip, version = Flip.from_entry(message["data"])
                    self.state.apply({flip.flag: flip.new}, version)
            except (RedisError, OSError) as exc:
                log.warning("flag mirror lost Redis (%s); keeping last known flags", exc)
                self._stop.wait(1.0)
            finally:
                pubsub.close()

    def _resync(self) -> None:
        seen_before = self.state.version
        with self._client.pipeline(transaction=True) as pipe:
            pipe.hgetall(REDIS_KEY)
            pipe.get(REDIS_VERSION)
            values, version = pipe.execute()
        self.state.from_redis(values, int(version or 0), seen_before)
        self._synced.set()
