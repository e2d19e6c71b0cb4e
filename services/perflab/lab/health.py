"""Health probes, one per kind of component. Each answers True or raises/returns False."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

PROBE_TIMEOUT_SECONDS = 2.0


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=PROBE_TIMEOUT_SECONDS).status_code == 200


def postgres_accepts(dsn: str) -> bool:
    import asyncpg

    async def probe() -> bool:
        conn = await asyncpg.connect(dsn, timeout=PROBE_TIMEOUT_SECONDS)
        await conn.close()
        return True

    return asyncio.run(probe())


def redis_pings(port: int, password: str | None = None) -> bool:
    import redis

    client = redis.Redis(port=port, password=password, socket_timeout=PROBE_TIMEOUT_SECONDS)
    try:
        return bool(client.ping())
    finally:
        client.close()


class CeleryPing:
    """Round-trips the worker's `perflab.ping` task through the broker and result backend."""

    def __init__(self, broker_url: str, queue: str) -> None:
        self._broker_url = broker_url
        self._queue = queue
        self._app: Any = None

    def __call__(self) -> bool:
        from celery import Celery

        if self._app is None:
            self._app = Celery(
                "perflab-lab-probe", broker=self._broker_url, backend=self._broker_url
            )
        result = self._app.send_task("perflab.ping", queue=self._queue)
        try:
            return bool(result.get(timeout=3) == "pong")
        finally:
            result.forget()

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None
