"""Every Grafana panel has data for every service after a real run, against a real Prometheus.

The stack: the session's Postgres, Redis and Celery worker, the API on uvicorn and the
Django and Flask services on gunicorn (2 worker processes each), a short Locust run (the
Load dashboard's metrics) and Prometheus scraping them every second, each web service's
job labelled with its `service`. The test flips every flag any service's `/techniques`
lists to its other state, drives every technique of every service for a few seconds
(pages with CSS/JS fetch them as a browser would), flips them back and drives them
again, then runs each panel's PromQL as Grafana would send it (macros filled in,
`$service` set to each service in turn, `$technique` to every technique that service
ran) and requires a valid answer with at least one finite value from every target,
unless NO_DATA_EXPECTED says why not. Runtime ~2-3 minutes on a busy 2-core machine.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from loadgen.browser_cache import BrowserCache, asset_links
from loadgen.recipes import (
    Endpoint,
    build_call,
    parse_techniques,
    recipe_for,
    validate,
)

from perflab.dashboards import walk
from perflab.dashboards.build import OUTPUT_DIR
from perflab.lab.prom_config import render_prometheus_config
from perflab.procs import free_port, pid_alive, start_process, stop_pid, wait_until
from tests.support import monitoring
from tests.support.servers import (
    REPO,
    Server,
    gunicorn_flask_server,
    gunicorn_server,
    service_env,
    uvicorn_server,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(480)]

SCRAPE_SECONDS = 1
# Grafana's $__rate_interval: max($__interval + scrape, 4 x scrape) with a 1 s step.
RATE_INTERVAL = f"{4 * SCRAPE_SECONDS}s"
# Each flag state lasts several scrapes so its gauge, rates and annotations show it.
PHASE_SECONDS = 8.0
MAX_REQUESTS_PER_PHASE = 40  # per technique: bounded load

SERVICES = ("fastapi", "django", "flask")
_NO_ALERTS = (
    "no alert rules are loaded here and nothing could fire within seconds; alerts "
    "going to firing end to end are proven by the alerting issue's live test"
)
_NO_LOOP = "a WSGI worker (gunicorn) has no event loop to lag"
_FASTAPI_ONLY = "only FastAPI (async_io) and Flask (async_views) call the slow upstream"
_DJANGO_ONLY = "only Django renders templates, serves static assets and runs a middleware stack"
# (service, dashboard uid, panel title) -> why the panel cannot have data in this run.
NO_DATA_EXPECTED: dict[tuple[str, str, str], str] = {
    **{(s, "perflab-overview", "Firing alerts by name"): _NO_ALERTS for s in SERVICES},
    ("django", "perflab-runtime", "Event-loop lag per process (worst in each second)"): _NO_LOOP,
    ("django", "perflab-techniques", "async_io: Event-loop lag per process"): _NO_LOOP,
    ("django", "perflab-techniques", "cpu_offload: Event-loop lag per process"): _NO_LOOP,
    ("django", "perflab-techniques", "async_io: Upstream calls in flight"): _FASTAPI_ONLY,
    ("django", "perflab-techniques", "async_views: Upstream calls in flight"): _FASTAPI_ONLY,
    **{
        (service, "perflab-techniques", f"{name}: {title}"): _DJANGO_ONLY
        for service in ("fastapi", "flask")
        for name, title in (
            ("cached_templates", "Templates read and compiled per second by engine"),
            ("static_files", "Static asset requests per second by route and status"),
            ("middleware_diet", "Middleware calls per second by class"),
        )
    },
}


def _dashboards() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(OUTPUT_DIR.glob("*.json"))]


@contextmanager
def _locust(root: Path, api: str, metrics_port: int) -> Iterator[None]:
    """A small headless Locust (2 shoppers) whose exporter feeds the Load dashboard."""
    log = root / "logs" / f"locust-{metrics_port}.log"
    cmd = [
        sys.executable, "-m", "locust", "-f", str(REPO / "loadgen" / "locustfile.py"),
        "--headless", "--users", "2", "--spawn-rate", "2", "--run-time", "60s",
        "--host", api, "--only-summary", "MixedBrowse",
    ]  # fmt: skip
    env = service_env({}, {"PERFLAB_LOADGEN_METRICS_PORT": str(metrics_port)})
    proc = start_process(cmd, log_path=log, env=env, cwd=root)
    try:
        up = wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).is_success,
            timeout=30,
            alive=lambda: pid_alive(proc.pid),
        )
        assert up, f"locust exporter did not start:\n{log.read_text()[-3000:]}"
        yield
    finally:
        stop_pid(proc.pid)


@dataclass
class Drive:
    """What the driver saw: answers checked against the load generator's recipes."""

    requests: int = 0
    wrong: list[str] = field(default_factory=list)
    variants: dict[str, set[str]] = field(default_factory=dict)


async def _hit(
    client: httpx.AsyncClient, endpoint: Endpoint, rng: random.Random, seen: Drive
) -> None:
    call = build_call(endpoint, rng)
    answer = await client.request(call.method, call.path, params=call.params, json=call.json)
    seen.requests += 1
    problem = validate(
        endpoint.technique, answer.status_code, answer.headers.get("content-type", ""),
        answer.content,
    )  # fmt: skip
    if problem:
        seen.wrong.append(f"{endpoint.technique} {call.url}: {problem}")
    variant = answer.headers.get("x-technique-variant")
    if variant:
        seen.variants.setdefault(endpoint.technique, set()).add(variant)
    if recipe_for(endpoint.technique).assets and answer.status_code == 200:
        await _assets(client, answer.content, seen)
    etag = answer.headers.get("etag")
    if etag and call.method == "GET":
        # Revalidate like a browser: http_caching answers 304 when the flag is on.
        again = await client.get(call.path, params=call.params, headers={"If-None-Match": etag})
        seen.requests += 1
        problem = validate(
            endpoint.technique, again.status_code, again.headers.get("content-type", ""),
            again.content, conditional=True,
        )  # fmt: skip
        if problem:
            seen.wrong.append(f"{endpoint.technique} {call.url} (revalidated): {problem}")


async def _assets(client: httpx.AsyncClient, html: bytes, seen: Drive) -> None:
    """The page's CSS/JS twice, as a browser would: fetched, then fresh or revalidated."""
    browser = BrowserCache()
    for _ in range(2):
        for url in asset_links(html):
            headers = browser.request_headers(url, time.monotonic())
            if headers is None:
                continue
            answer = await client.get(url, headers=headers)
            seen.requests += 1
            if answer.status_code not in (200, 304):
                seen.wrong.append(f"asset {url}: HTTP {answer.status_code}")
            got = {k.lower(): v for k, v in answer.headers.items()}
            browser.store(url, answer.status_code, got, time.monotonic())


# Each technique's endpoint, the client of its service, and what that service answered.
Targets = list[tuple[httpx.AsyncClient, Endpoint, Drive]]


async def _phase(targets: Targets) -> None:
    """Every technique of every service, concurrently, for PHASE_SECONDS (at most
    MAX_REQUESTS each)."""

    async def drive(client: httpx.AsyncClient, endpoint: Endpoint, seen: Drive) -> None:
        rng = random.Random(endpoint.technique)
        deadline = time.monotonic() + PHASE_SECONDS
        for _ in range(MAX_REQUESTS_PER_PHASE):
            if time.monotonic() >= deadline:
                return
            await _hit(client, endpoint, rng, seen)
            await asyncio.sleep(0.1)

    await asyncio.gather(*(drive(client, endpoint, seen) for client, endpoint, seen in targets))


async def _set_flags(client: httpx.AsyncClient, states: dict[str, bool]) -> None:
    for flag, enabled in states.items():
        answer = await client.put(f"/flags/{flag}", json={"enabled": enabled})
        assert answer.status_code == 200, answer.text


async def _drive_every_technique_both_ways(
    api: str, services: dict[str, str]
) -> tuple[dict[str, Drive], dict[str, list[str]]]:
    """Flags through the API; every technique of every service (name -> base URL)."""
    # Idle connections expire before gunicorn's 2 s keep-alive closes them: otherwise a
    # request sent as the server closes its connection fails with ReadError.
    limits = httpx.Limits(keepalive_expiry=1.0)
    clients = {
        name: httpx.AsyncClient(base_url=url, timeout=60, limits=limits)
        for name, url in services.items()
    }
    seen = {name: Drive() for name in services}
    listed: dict[str, list[str]] = {}
    targets: Targets = []
    try:
        flags: set[str] = set()
        for name, client in clients.items():
            listing = (await client.get("/techniques")).json()
            endpoints = parse_techniques(listing)
            listed[name] = sorted(endpoints)
            flags |= {t["flag"] for t in listing["techniques"]}
            targets += [(client, endpoint, seen[name]) for endpoint in endpoints.values()]
        async with httpx.AsyncClient(base_url=api, timeout=60) as flipper:
            current = (await flipper.get("/flags")).json()["flags"]
            before = {f["name"]: f["enabled"] for f in current if f["name"] in flags}
            try:
                for states in (None, {f: not on for f, on in before.items()}, before):
                    if states is not None:
                        await _set_flags(flipper, states)
                    await _phase(targets)
            finally:
                await _set_flags(flipper, before)
    finally:
        for client in clients.values():
            await client.aclose()
    return seen, listed


@dataclass(frozen=True)
class Window:
    start: float
    end: float

    @property
    def range_(self) -> str:
        return f"{math.ceil(self.end - self.start)}s"


def _ask(prometheus: str, expr: str, window: Window, *, instant: bool) -> dict[str, Any]:
    if instant:
        path, params = "query", {"query": expr, "time": window.end}
    else:
        path = "query_range"
        params = {"query": expr, "start": window.start, "end": window.end, "step": SCRAPE_SECONDS}
    answer = httpx.post(f"{prometheus}/api/v1/{path}", data=params, timeout=30)
    return answer.json()


def _finite_values(result: dict[str, Any]) -> int:
    data = result["data"]
    series = data["result"]
    if data["resultType"] == "matrix":
        points = [v for s in series for _, v in s["values"]]
    elif data["resultType"] == "vector":
        points = [s["value"][1] for s in series]
    else:
        points = [series[1]]
    return sum(1 for p in points if math.isfinite(float(p)))


def _check_dashboard(
    prometheus: str,
    dashboard: dict[str, Any],
    window: Window,
    service: str,
    techniques: list[str],
) -> tuple[list[str], list[str], set[tuple[str, str]]]:
    """(invalid queries, targets without data, panels that had data) for one service."""
    invalid, empty, with_data = [], [], set()
    variables = walk.variables(dashboard)
    assignments: list[dict[str, str]] = [{"service": service}]
    if "technique" in variables:
        assignments = [{"service": service, "technique": name} for name in techniques]
    for query in walk.queries(dashboard):
        runs = assignments if "$technique" in query.expr else [{"service": service}]
        for values in runs:
            expr = walk.substitute(
                query.expr, rate_interval=RATE_INTERVAL, interval=f"{SCRAPE_SECONDS}s",
                range_=window.range_, values=values,
            )  # fmt: skip
            where = f"{service}: {query.where} {values}"
            result = _ask(prometheus, expr, window, instant=query.instant)
            if result.get("status") != "success":
                invalid.append(f"{where}: {result.get('error')}: {expr}")
            elif _finite_values(result):
                with_data.add((query.dashboard, query.panel))
            else:
                empty.append(f"{where}: {expr}")
    for index, expr in enumerate(walk.annotation_exprs(dashboard)):
        result = _ask(prometheus, expr, window, instant=False)
        if result.get("status") != "success":
            invalid.append(f"{dashboard['uid']} annotation {index}: {result.get('error')}")
        elif not _finite_values(result):
            empty.append(f"{service}: {dashboard['uid']} annotation {index} (no flip): {expr}")
    return invalid, empty, with_data


def _label_values(prometheus: str, variable: walk.LabelValues, service: str) -> list[str]:
    match = variable.match.replace("$service", service) if variable.match else None
    params = {"match[]": match} if match else {}
    answer = httpx.get(f"{prometheus}/api/v1/label/{variable.label}/values", params=params)
    return sorted(answer.json()["data"])


def _series_of(
    prometheus: str, variable: walk.LabelValues, service: str, expected: set[str]
) -> list[dict[str, str]]:
    """The series that put a label value in `variable` beyond `expected` (for the report)."""
    match = (variable.match or "").replace("$service", service)
    answer = httpx.get(f"{prometheus}/api/v1/series", params={"match[]": match})
    series = answer.json().get("data", [])
    return [s for s in series if s.get(variable.label) not in expected][:5]


def test_every_panel_has_data_for_every_service_after_driving_every_technique_both_ways(
    lab_root: Path, settings_env: dict[str, str], celery_worker_server: Server
) -> None:
    dashboards = _dashboards()
    titles = {(d["uid"], p["title"]) for d in dashboards for p in walk.panels(d)}
    exempt = {(uid, title) for _, uid, title in NO_DATA_EXPECTED}
    assert exempt <= titles, "NO_DATA_EXPECTED names a panel that is gone"

    env = service_env(settings_env)
    with (
        uvicorn_server(lab_root, env, workers=2, name="api-dash") as api,
        gunicorn_server(lab_root, env, workers=2, threads=2, name="django-dash") as django,
        gunicorn_flask_server(lab_root, env, workers=2, threads=2, name="flask-dash") as (
            flask,
            _,
        ),
    ):
        prometheus_port, locust_port = free_port(), free_port()
        config = render_prometheus_config(
            api_targets=[api.removeprefix("http://")],
            service_targets={
                "django": [django.removeprefix("http://")],
                "flask": [flask.removeprefix("http://")],
            },
            worker_targets=[f"127.0.0.1:{celery_worker_server.port}"],
            alertmanager_targets=[],
            prometheus_target=f"127.0.0.1:{prometheus_port}",
            locust_targets=[f"127.0.0.1:{locust_port}"],
            rule_files=[],
            scrape_interval=f"{SCRAPE_SECONDS}s",
            evaluation_interval=f"{SCRAPE_SECONDS}s",
        )
        with monitoring.prometheus(lab_root, config, port=prometheus_port) as monitor:
            prometheus = monitor.url
            start = time.time()
            with _locust(lab_root, api, locust_port):
                seen, listed = asyncio.run(
                    _drive_every_technique_both_ways(
                        api, {"fastapi": api, "django": django, "flask": flask}
                    )
                )
                time.sleep(3 * SCRAPE_SECONDS)  # the last samples reach Prometheus
            window = Window(start, time.time())

            for service in SERVICES:
                drive = seen[service]
                assert drive.wrong == [], f"{service}:\n" + "\n".join(drive.wrong[:20])
                both = {n for n, variants in drive.variants.items() if len(variants) == 2}
                missing = set(listed[service]) - both
                assert not missing, f"{service}: not answered both ways: {missing}"
            techniques_board = _by_uid(dashboards, "perflab-techniques")
            variable = walk.variables(techniques_board)["technique"]
            for service in SERVICES:
                found = _label_values(prometheus, variable, service)
                assert found == listed[service], (
                    f"$technique must list {service}'s techniques; the series behind the "
                    f"others: {_series_of(prometheus, variable, service, set(listed[service]))}"
                )

            invalid, empty, with_data = [], [], set()
            for service in SERVICES:
                for dashboard in dashboards:
                    bad, none, some = _check_dashboard(
                        prometheus, dashboard, window, service, listed[service]
                    )
                    invalid += bad
                    empty += [e for e in none if not _exempt(e)]
                    with_data |= {(service, uid, title) for uid, title in some}

    requests = {service: drive.requests for service, drive in seen.items()}
    assert invalid == [], "queries Prometheus rejects:\n" + "\n".join(invalid)
    assert empty == [], f"no data ({requests} requests sent):\n" + "\n".join(empty)
    for service in SERVICES:
        wanted = {(service, uid, title) for uid, title in titles}
        assert wanted - set(NO_DATA_EXPECTED) <= with_data, service


def _by_uid(dashboards: list[dict[str, Any]], uid: str) -> dict[str, Any]:
    return next(d for d in dashboards if d["uid"] == uid)


def _exempt(where: str) -> bool:
    return any(
        where.startswith(f"{service}: {uid} / {title} /")
        for service, uid, title in NO_DATA_EXPECTED
    )
