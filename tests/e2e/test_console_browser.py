"""The console in a real browser: Debian's headless Chromium driven by Playwright.

The stack is real and started here: the session's Postgres, Redis and Celery worker,
the API on uvicorn, Prometheus scraping it every second, Alertmanager, and the console
itself on uvicorn. The tests: the page loads with no console error, failed request or
request leaving the console; a switch flips the flag (`GET /flags`) and the variant
that answers (`X-Technique-Variant`); an experiment started from the page shows its
progress, makes a live figure appear, and ends with a report page whose charts load;
the service overview has every figure (requests/s to CPU) live after real traffic, each
query limited to the service, drawn with the flips; the API's `/docs` renders with no
request leaving the API; with an admin token the switches are read-only until the token
is entered. Screenshots go to
`results/browser-screenshots/`.

Runtime: about 1.5-2.5 minutes on a 2-core machine (the experiment is ~45 s of it).
Skipped only where no Chromium binary exists (`apt-get install chromium`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from perflab.lab.prom_config import render_alertmanager_config, render_prometheus_config
from perflab.procs import free_port, pid_alive, stop_pid, wait_until
from tests.support.monitoring import Monitor, alertmanager, prometheus
from tests.support.servers import REPO, Server, service_env, uvicorn_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SHOTS = REPO / "results" / "browser-screenshots"
TOKEN = "browser-test-token"
QUIET = "select_columns"  # the experiment's technique

if not Path(CHROMIUM).exists():
    pytest.skip(
        "no Chromium binary (Debian: apt-get install chromium); the browser tests need one",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, Request, Response, sync_playwright  # noqa: E402


@dataclass
class Stack:
    api: str
    prometheus: Monitor
    console: str
    results: Path


@contextmanager
def console_server(root: Path, env: dict[str, str], name: str) -> Iterator[str]:
    """The console on a real uvicorn; yields its URL and always stops it."""
    port = free_port()
    log = root / "logs" / f"{name}-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "uvicorn", "perflab.console.app:app_factory", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
    ]  # fmt: skip
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=REPO)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        ok = wait_until(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200,
                        timeout=30, alive=lambda: pid_alive(proc.pid))  # fmt: skip
        assert ok, log.read_text(errors="replace")[-2000:]
        yield url
    finally:
        stop_pid(proc.pid)
        proc.wait(timeout=10)


def _console_env(base: dict[str, str], api: str, prom: str, am: str, results: Path) -> dict:
    return base | {
        "PERFLAB_CONSOLE__SERVICES": json.dumps([{"name": "fastapi", "url": api, "job": "api"}]),
        "PERFLAB_CONSOLE__PROMETHEUS_URL": prom,
        "PERFLAB_CONSOLE__ALERTMANAGER_URL": am,
        "PERFLAB_CONSOLE__LOCUST_URL": "",
        "PERFLAB_CONSOLE__RESULTS_DIR": str(results),
        # A short window: the chart spans what this test made.
        "PERFLAB_CONSOLE__WINDOW_SECONDS": "120",
    }


@pytest.fixture(scope="module")
def stack(
    lab_root: Path, settings_env: dict[str, str], celery_worker_server: Server
) -> Iterator[Stack]:
    env = service_env(settings_env)
    with uvicorn_server(lab_root, env, name="api-browser") as api:
        port = api.rsplit(":", 1)[1]
        prom_config = render_prometheus_config(
            api_targets=[f"127.0.0.1:{port}"],
            worker_targets=[f"127.0.0.1:{celery_worker_server.port}"],
            alertmanager_targets=[], prometheus_target="127.0.0.1:9", rule_files=[],
            scrape_interval="1s", evaluation_interval="1s",
        )  # fmt: skip
        am_config = render_alertmanager_config(f"{api}/alerts/webhook")
        results = lab_root / "browser-results"
        results.mkdir()
        with (
            prometheus(lab_root, prom_config) as prom,
            alertmanager(lab_root, am_config) as am,
            console_server(lab_root, _console_env(env, api, prom.url, am.url, results),
                           "console") as console,
        ):  # fmt: skip
            yield Stack(api, prom, console, results)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watch:
    """What a page did: console errors, uncaught exceptions, failed and all requests."""

    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("requestfailed", self._failed)
        page.on("response", self._answered)
        page.on("request", lambda r: self.requests.append(r.url))
        return page

    def _failed(self, request: Request) -> None:
        # Leaving a page cancels its pending polls, which Chromium reports as ERR_ABORTED:
        # the client's doing, not a failure; a server's failure shows as its status.
        if request.failure != "net::ERR_ABORTED":
            self.failed.append(f"{request.url}: {request.failure}")

    def _answered(self, response: Response) -> None:
        if response.status >= 500:
            self.failed.append(f"{response.url}: HTTP {response.status}")

    def leaving(self, origin: str) -> list[str]:
        return [url for url in self.requests if not url.startswith(origin)]


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _flag(api: str, name: str) -> bool:
    flags = httpx.get(f"{api}/flags", timeout=5).json()["flags"]
    return bool(next(f["enabled"] for f in flags if f["name"] == name))


def _variant(api: str) -> str | None:
    return httpx.get(f"{api}/books", params={"limit": 3}, timeout=10).headers.get(
        "x-technique-variant"
    )


def test_the_page_loads_clean_and_a_switch_flips_the_flag_and_the_variant(
    stack: Stack, browser: Browser
) -> None:
    watch = Watch()
    page = watch.attach(browser.new_page(viewport={"width": 1400, "height": 1000}))
    page.goto(stack.console)
    card = page.locator('.card[data-technique="n_plus_one"]')
    card.wait_for()
    assert page.locator(".card").count() == len(
        httpx.get(f"{stack.api}/techniques").json()["techniques"]
    )
    page.locator("#alerts").get_by_text("No alert firing.").wait_for(timeout=15_000)
    assert _flag(stack.api, "n_plus_one") is True and _variant(stack.api) == "optimised"

    card.locator(".switch").click()
    card.locator(".variant").get_by_text("naive").wait_for(timeout=10_000)
    assert wait_until(lambda: _flag(stack.api, "n_plus_one") is False, timeout=5)
    assert wait_until(lambda: _variant(stack.api) == "naive", timeout=5)
    page.locator("#history tbody").get_by_text("n_plus_one").first.wait_for(timeout=10_000)
    # A flip's actor (anonymous@127.0.0.1) once pushed the page 13 px wider than the window.
    widths = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    scroll_width, window_width = page.evaluate(widths)
    assert scroll_width <= window_width

    card.locator(".switch").click()
    card.locator(".variant").get_by_text("optimised").wait_for(timeout=10_000)
    assert wait_until(lambda: _flag(stack.api, "n_plus_one") is True, timeout=5)
    assert wait_until(lambda: _variant(stack.api) == "optimised", timeout=5)
    page.wait_for_timeout(1500)  # one more round of polling, still clean
    _shot(page, "console-after-flips")
    assert watch.errors == []
    assert watch.failed == []
    assert watch.leaving(stack.console) == []
    page.close()


def test_an_experiment_from_the_page_shows_progress_live_figures_and_its_report(
    stack: Stack, browser: Browser
) -> None:
    watch = Watch()
    page = watch.attach(browser.new_page(viewport={"width": 1400, "height": 1100}))
    page.goto(stack.console)
    # A technique no other test sends traffic to: its figure starts empty.
    card = page.locator(f'.card[data-technique="{QUIET}"]')
    card.locator(".current .what").get_by_text("no ").wait_for(timeout=15_000)
    before = card.locator(".current .value").inner_text()
    assert before == "–", card.inner_text()
    form = page.locator("#run-form")
    form.locator('select[name="kind"]').select_option("experiment")
    form.locator('select[name="target"]').select_option(QUIET)
    form.locator('input[name="users"]').fill("3")
    form.locator('input[name="seconds"]').fill("4")
    form.locator('input[name="repeats"]').fill("1")
    form.locator('button[type="submit"]').click()
    page.locator(".run-status.running").wait_for(timeout=10_000)
    assert page.locator("#run-state progress").count() == 1

    # Under the experiment's load the card's live figure appears (and its chart).
    value = card.locator(".current .value")
    assert wait_until(lambda: value.inner_text() not in ("", "–"), timeout=40, interval=1), (
        before,
        card.inner_text(),
    )
    assert card.locator(".chart canvas").count() == 1
    _shot(page, "console-during-experiment")

    page.locator(".run-status.finished").wait_for(timeout=120_000)
    page.locator("a.run-report").click()
    page.wait_for_load_state("load")
    images = page.locator(".report img")
    assert images.count() >= 2, page.content()[:2000]
    for i in range(images.count()):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        assert image.evaluate("img => img.complete && img.naturalWidth > 0"), image.get_attribute(
            "src"
        )
    assert QUIET in page.locator(".report").inner_text()
    _shot(page, "console-report")
    assert watch.errors == [] and watch.failed == []
    assert watch.leaving(stack.console) == []
    assert _flag(stack.api, QUIET) is True  # the experiment put it back
    page.close()


def _overview(console: str) -> dict:
    return httpx.get(f"{console}/api/overview/fastapi", timeout=10).json()


def test_the_service_overview_shows_every_figure_live(stack: Stack, browser: Browser) -> None:
    # Traffic through the pool (/books), the cache (/genres/top-rated) and the worker
    # (a confirmation's e-mail task), over several 1 s scrapes, so every rate has two
    # samples in its window.
    with httpx.Client(base_url=stack.api, timeout=10) as client:
        for enabled in (False, True):  # two flips for the sparklines to mark
            assert client.put("/flags/gzip", json={"enabled": enabled}).status_code == 200
        for i in range(40):
            assert client.get("/books", params={"limit": 5}).status_code == 200
            assert client.get("/genres/top-rated").status_code == 200
            if i % 10 == 0:
                assert client.post(f"/orders/{i + 1}/confirm").status_code == 202
            time.sleep(0.1)

    def filled() -> dict | None:
        figures = _overview(stack.console)["figures"]
        return figures if all(f["current"] is not None for f in figures.values()) else None

    assert wait_until(lambda: filled() is not None, timeout=30, interval=1), _overview(
        stack.console
    )
    body = _overview(stack.console)
    figures = body["figures"]
    assert all('job="api"' in f["query"] for f in figures.values())
    now = {name: f["current"] for name, f in figures.items()}
    assert now["rps"] > 0 and 0 < now["p50"] <= now["p95"], now
    assert now["errors"] == 0, now  # no 5xx: 0 %, not "no data"
    # Over every route: /books makes 2 statements, a cached read none.
    assert 0 < now["queries"] < 2 and 0 < now["cache_hits"] <= 1, now
    assert now["pool_wait"] >= 0 and now["pool_in_use"] >= 0, now
    assert now["rss"] > 10e6 and now["cpu"] > 0, now
    # The flips are in the window, marked on every sparkline.
    assert [f["new"] for f in body["flips"] if f["flag"] == "gzip"][:2] == [True, False]

    def worker() -> dict:
        return httpx.get(f"{stack.console}/api/worker", timeout=10).json()["figures"]

    assert wait_until(lambda: (worker()["done"]["current"] or 0) > 0, timeout=30), worker()
    tasks = {name: f["current"] for name, f in worker().items()}
    assert tasks["workers_up"] == 1 and tasks["failed"] == 0 and tasks["task_p95"] > 0, tasks

    watch = Watch()
    page = watch.attach(browser.new_page(viewport={"width": 1400, "height": 1000}))
    page.goto(stack.console)
    tiles = page.locator('.overview[data-source="/api/overview/fastapi"] .tile')
    rps = tiles.and_(page.locator('[data-figure="rps"]')).locator(".value")
    assert wait_until(lambda: rps.inner_text().endswith("/s"), timeout=20, interval=0.5), (
        rps.inner_text()
    )
    assert tiles.count() == len(figures)
    assert tiles.locator("canvas").count() == len(figures)
    up = page.locator('.overview[data-source="/api/worker"] [data-figure="workers_up"] .value')
    assert wait_until(lambda: up.inner_text() == "1", timeout=20, interval=0.5), up.inner_text()
    _shot(page, "console-overview")
    assert watch.errors == [] and watch.failed == []
    assert watch.leaving(stack.console) == []
    page.close()


def test_the_api_docs_render_offline(stack: Stack, browser: Browser) -> None:
    watch = Watch()
    page = watch.attach(browser.new_page())
    page.goto(f"{stack.api}/docs")
    page.locator(".swagger-ui .opblock").first.wait_for(timeout=20_000)
    assert page.locator(".swagger-ui .opblock").count() >= 10
    _shot(page, "api-docs")
    assert watch.leaving(stack.api) == []
    assert watch.errors == [] and watch.failed == []
    page.close()


def test_with_an_admin_token_switches_are_read_only_until_it_is_given(
    lab_root: Path, settings_env: dict[str, str], stack: Stack, browser: Browser
) -> None:
    env = service_env(settings_env, {"PERFLAB_ADMIN_TOKEN": TOKEN})
    with (
        uvicorn_server(lab_root, env, name="api-token") as api,
        console_server(lab_root, _console_env(env, api, stack.prometheus.url, "", stack.results),
                       "console-token") as console,
    ):  # fmt: skip
        page = browser.new_page()
        page.goto(console)
        card = page.locator('.card[data-technique="gzip"]')
        switch = card.locator(".flag-switch")
        assert switch.is_disabled()
        assert "read-only" in card.locator(".note").inner_text()
        assert "admin token" in card.locator(".note").inner_text()
        page.locator("#token").fill(TOKEN)
        page.locator("#token-form button").click()
        assert switch.is_enabled()
        card.locator(".switch").click()
        card.locator(".variant").get_by_text("naive").wait_for(timeout=10_000)
        assert _flag(api, "gzip") is False
        card.locator(".switch").click()
        card.locator(".variant").get_by_text("optimised").wait_for(timeout=10_000)
        assert _flag(api, "gzip") is True
        # A wrong token is refused by the API, and the page says so.
        page.locator("#token").fill("wrong")
        page.locator("#token-form button").click()
        card.locator(".switch").click()
        card.locator(".note").get_by_text("refused").wait_for(timeout=10_000)
        assert _flag(api, "gzip") is True
        page.close()


@pytest.fixture(autouse=True, scope="module")
def _no_proxy() -> Iterator[None]:
    # Chromium and httpx must reach 127.0.0.1 directly, whatever the environment says.
    saved = {
        k: os.environ.pop(k) for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy") if k in os.environ
    }
    yield
    os.environ.update(saved)
