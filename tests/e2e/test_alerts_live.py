"""Alerts fire live when an optimisation is turned off under load, and resolve after.

The stack: the session's Postgres, Redis and Celery worker; the API on uvicorn with 2
processes and a deliberately small pool (2 connections each); Prometheus scraping
every second with the lab's rules, `for:` cut to a few seconds (a rendered copy, the
real rules are untouched); Alertmanager with the lab's config and fast group timings,
posting to the API's webhook.

Turning `n_plus_one` off makes /books run 1 + 2N statements on one pooled connection
(TooManyQueriesPerRequest), and holding connections that long under concurrent load
starves the small pool (DbPoolSaturated). Both must fire in Prometheus, reach
Alertmanager and arrive at the webhook; with the flag back on and a light load they
must resolve and the webhook must receive `resolved`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from perflab.api.routes.alerts import CURRENT_KEY, HISTORY_KEY
from perflab.lab.prom_config import (
    render_alertmanager_config,
    render_prometheus_config,
    render_rules,
)
from perflab.procs import free_port
from tests.support import monitoring
from tests.support.servers import Server, service_env, uvicorn_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

EXPECTED = {"TooManyQueriesPerRequest", "DbPoolSaturated"}
FLAG = "n_plus_one"
POOL_MAX = 2  # per API process
HEAVY_CLIENTS = 16  # concurrent /books requests while the flag is off
BOOKS_PAGE = 100  # naive: 201 statements per request
FIRE_TIMEOUT = 60.0  # the heavy load never runs longer than this
RESOLVE_TIMEOUT = 150.0  # 1m rate windows must forget the naive minute


@dataclass
class LiveStack:
    api: str
    prometheus: monitoring.Monitor
    alertmanager: monitoring.Monitor


@pytest.fixture(scope="module")
def live_stack(
    lab_root: Path, settings_env: dict[str, str], celery_worker_server: Server
) -> Iterator[LiveStack]:
    env = service_env(
        settings_env, {"PERFLAB_DB__POOL_MAX": str(POOL_MAX), "PERFLAB_DB__POOL_MIN": "1"}
    )
    home = lab_root / "alerts-live"
    rules = render_rules(home / "rules", alert_for="3s")
    with uvicorn_server(lab_root, env, workers=2, name="api-alerts") as api:
        am_config = render_alertmanager_config(
            f"{api}/alerts/webhook", group_wait="1s", group_interval="1s", repeat_interval="1m"
        )
        with monitoring.alertmanager(home, am_config) as am:
            prom_port = free_port()
            prom_config = render_prometheus_config(
                api_targets=[api.removeprefix("http://")],
                worker_targets=[f"127.0.0.1:{celery_worker_server.port}"],
                alertmanager_targets=[am.url.removeprefix("http://")],
                prometheus_target=f"127.0.0.1:{prom_port}",
                rule_files=rules,
                scrape_interval="1s",
                evaluation_interval="1s",
            )
            with monitoring.prometheus(home, prom_config, port=prom_port) as prom:
                yield LiveStack(api, prom, am)


async def _load(api: httpx.AsyncClient, clients: int, pause: float, stop: asyncio.Event,
                seen: Counter[str]) -> None:  # fmt: skip
    """`clients` loops of GET /books until `stop`; counts status and variant."""

    async def one() -> None:
        while not stop.is_set():
            answer = await api.get("/books", params={"limit": BOOKS_PAGE})
            seen[f"{answer.status_code}:{answer.headers.get('x-technique-variant')}"] += 1
            if pause:
                await asyncio.sleep(pause)

    await asyncio.gather(*(one() for _ in range(clients)))


@contextlib.asynccontextmanager
async def _running_load(
    api: httpx.AsyncClient, clients: int, pause: float = 0.0
) -> AsyncIterator[Counter[str]]:
    stop = asyncio.Event()
    seen: Counter[str] = Counter()
    task = asyncio.create_task(_load(api, clients, pause, stop, seen))
    try:
        yield seen
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


async def _until(check: Callable[[], Awaitable[bool]], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(1)
    return await check()


async def _prometheus_firing(api: httpx.AsyncClient, stack: LiveStack) -> set[str]:
    answer = await api.get(f"{stack.prometheus.url}/api/v1/alerts")
    alerts = answer.json()["data"]["alerts"]
    return {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}


async def _alertmanager_active(api: httpx.AsyncClient, stack: LiveStack) -> set[str]:
    alerts = (await api.get(f"{stack.alertmanager.url}/api/v2/alerts")).json()
    return {a["labels"]["alertname"] for a in alerts if a["status"]["state"] == "active"}


async def _webhook(api: httpx.AsyncClient) -> dict[str, set[str]]:
    """Alert name -> statuses of its alerts, as the lab's webhook stored them."""
    found: dict[str, set[str]] = {}
    for alert in (await api.get("/alerts")).json()["alerts"]:
        found.setdefault(alert["alertname"], set()).add(alert["status"])
    return found


def _diagnostics(stack: LiveStack, seen: Counter[str]) -> str:
    return json.dumps(
        {
            "load": dict(seen),
            "prometheus": stack.prometheus.get("/api/v1/alerts")["data"]["alerts"],
            "alertmanager": stack.alertmanager.get("/api/v2/alerts"),
            "prometheus_log": stack.prometheus.log_tail(10),
            "alertmanager_log": stack.alertmanager.log_tail(10),
        },
        indent=1,
        default=str,
    )


async def test_alerts_fire_under_load_and_resolve_when_the_flag_is_back_on(
    live_stack: LiveStack, redis_client: Redis
):
    await redis_client.delete(CURRENT_KEY, HISTORY_KEY)
    async with httpx.AsyncClient(base_url=live_stack.api, timeout=30) as api:
        flags = (await api.get("/flags")).json()["flags"]
        original = next(f["enabled"] for f in flags if f["name"] == FLAG)
        try:
            await _fire_then_resolve(live_stack, api)
        finally:
            await api.put(f"/flags/{FLAG}", json={"enabled": original})


async def _fire_then_resolve(stack: LiveStack, api: httpx.AsyncClient) -> None:
    assert (await api.put(f"/flags/{FLAG}", json={"enabled": False})).status_code == 200

    async def fired_everywhere() -> bool:
        webhook = await _webhook(api)
        return (
            EXPECTED <= await _prometheus_firing(api, stack)
            and EXPECTED <= await _alertmanager_active(api, stack)
            and all("firing" in webhook.get(name, set()) for name in EXPECTED)
        )

    async with _running_load(api, HEAVY_CLIENTS) as seen:
        fired = await _until(fired_everywhere, FIRE_TIMEOUT)
    assert seen["200:naive"] > 0 and not [k for k in seen if not k.startswith("200:")], seen
    assert fired, _diagnostics(stack, seen)

    assert (await api.put(f"/flags/{FLAG}", json={"enabled": True})).status_code == 200

    async def resolved_at_webhook() -> bool:
        webhook = await _webhook(api)
        return all(webhook.get(name) == {"resolved"} for name in EXPECTED)

    # A light load keeps the rates defined (0/0 has no value) while the windows roll.
    async with _running_load(api, clients=1, pause=0.2) as light:
        resolved = await _until(resolved_at_webhook, RESOLVE_TIMEOUT)
    assert light["200:optimised"] > 0, light
    assert resolved, _diagnostics(stack, light)
    assert not EXPECTED & await _prometheus_firing(api, stack)

    history = (await api.get("/alerts/history", params={"limit": 1000})).json()
    for name in EXPECTED:
        statuses = [h["status"] for h in reversed(history) if h["alertname"] == name]
        assert statuses[0] == "firing" and statuses[-1] == "resolved", (name, statuses)
