"""`lab load` against the real stack: every scenario and shape runs clean and reports.

The stack: the session's Postgres, Redis and Celery worker, the API on uvicorn, and a
real Prometheus scraping the load generator's metrics port every second. Each run is
a few seconds of real Locust; its series carry `run=<report folder>`, so each run's
load-side metrics are found in Prometheus apart from the others'.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from perflab.lab.load import LoadOptions, LoadResult, run_load
from perflab.procs import free_port, wait_until
from tests.support.monitoring import Monitor, prometheus
from tests.support.servers import REPO, Server, service_env, uvicorn_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

USERS = 4
# What each scenario may call (plus /techniques, which every user reads first).
SCENARIO_NAMES = {
    "mixed": {
        "/books", "/books/catalog", "/genres/top-rated", "/books/{book_id}",
        "/books/{book_id}/card", "/authors/{author_id}", "/users/{user_id}/orders",
        "/orders/feed", "/orders/{order_id}/confirm", "/books/{book_id}/reviews",
    },
    "export": {"/export/orders.csv", "/books/dump", "/reports/sales"},
    "writer": {"/orders/bulk", "/orders/{order_id}/confirm"},
    "n_plus_one": {"/books"},
    "capacity": {"/healthz"},
}  # fmt: skip
REPORT_FILES = ("report.html", "locust_stats.csv", "locust_stats_history.csv",
                "locust_failures.csv", "summary.json", "locust.log")  # fmt: skip


@pytest.fixture(scope="module")
def api(
    lab_root: Path, settings_env: dict[str, str], celery_worker_server: Server
) -> Iterator[str]:
    with uvicorn_server(lab_root, service_env(settings_env), name="api-load") as url:
        yield url


@pytest.fixture(scope="module")
def metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def prom(lab_root: Path, metrics_port: int) -> Iterator[Monitor]:
    config = f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: locust
    static_configs: [{{targets: ["127.0.0.1:{metrics_port}"]}}]
"""
    with prometheus(lab_root, config) as monitor:
        # Scraping starts a few seconds after Prometheus is ready; runs must not miss it.
        assert wait_until(lambda: _scraping(monitor), timeout=30), monitor.log_tail()
        yield monitor


def _scraping(monitor: Monitor) -> bool:
    targets = monitor.get("/api/v1/targets")["data"]["activeTargets"]
    return bool(targets) and all(t["health"] != "unknown" for t in targets)


def _run(api: str, port: int, out: Path, **options: object) -> LoadResult:
    opts = LoadOptions(host=api, metrics_port=port, output=out, users=USERS, spawn_rate=USERS)
    for key, value in options.items():
        setattr(opts, key, value)
    return run_load(opts, Console(quiet=True))


def _assert_clean(result: LoadResult) -> None:
    log = (result.output / "locust.log").read_text()[-3000:]
    assert result.total is not None and result.total.requests > 0, log
    assert result.failures == [] and result.total.failures == 0, result.failures
    assert result.returncode == 0 and result.ok, log
    for name in REPORT_FILES:
        assert (result.output / name).stat().st_size > 0, name
    html = (result.output / "report.html").read_text()
    assert "Locust" in html and any(row.name in html for row in result.rows)


def _series(prom: Monitor, metric: str, run: str) -> list[dict]:
    """Every series of `metric` this run produced (its max over the last minutes)."""
    query = f'max_over_time({metric}{{run="{run}"}}[10m])'
    deadline = time.monotonic() + 5  # the last scrape may still be on its way
    while True:
        found = prom.get("/api/v1/query", query=query)["data"]["result"]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def _assert_in_prometheus(prom: Monitor, result: LoadResult, allowed: set[str]) -> None:
    run = result.output.name
    requests = _series(prom, "perflab_loadgen_requests_total", run)
    names = {s["metric"]["name"] for s in requests}
    assert names, f"no perflab_loadgen_requests_total for run {run}"
    assert names <= allowed | {"/techniques"}, names
    assert sum(float(s["value"][1]) for s in requests) > 0
    assert names <= {row.name for row in result.rows}
    assert _series(prom, "perflab_loadgen_failures_total", run)
    buckets = _series(prom, "perflab_loadgen_request_duration_seconds_bucket", run)
    assert {s["metric"]["le"] for s in buckets} >= {"0.1", "+Inf"}
    users = _series(prom, "perflab_loadgen_users", run)
    assert users and float(users[0]["value"][1]) > 0


@pytest.mark.parametrize("scenario", ["mixed", "export", "writer", "n_plus_one", "capacity"])
def test_each_scenario_runs_clean_and_reports(
    api: str, prom: Monitor, metrics_port: int, tmp_path: Path, scenario: str
) -> None:
    users = 1 if scenario == "capacity" else USERS  # no think time: one user is plenty
    result = _run(api, metrics_port, tmp_path / f"load-{scenario}", scenario=scenario,
                  duration="4s", users=users)  # fmt: skip
    _assert_clean(result)
    assert {row.name for row in result.rows} <= SCENARIO_NAMES[scenario] | {"/techniques"}
    _assert_in_prometheus(prom, result, SCENARIO_NAMES[scenario])


def test_every_technique_the_api_lists_is_driven(
    api: str, prom: Monitor, metrics_port: int, tmp_path: Path
) -> None:
    listed = httpx.get(f"{api}/techniques").json()["techniques"]
    # One user per technique, each starting at a different one: all get called.
    result = _run(api, metrics_port, tmp_path / "load-techniques", scenario="techniques",
                  users=len(listed), spawn_rate=len(listed), duration="4s")  # fmt: skip
    _assert_clean(result)
    assert {row.name for row in result.rows} >= {t["path"] for t in listed}
    _assert_in_prometheus(prom, result, {t["path"] for t in listed})


def _users_over_time(result: LoadResult) -> list[int]:
    with (result.output / "locust_stats_history.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["Name"] == "Aggregated"]
    return [int(r["User Count"]) for r in rows if int(r["User Count"]) > 0]


@pytest.mark.parametrize("shape", ["ramp", "step", "spike", "soak"])
def test_each_shape_runs_clean_and_draws_its_curve(
    api: str, prom: Monitor, metrics_port: int, tmp_path: Path, shape: str
) -> None:
    peak = 5
    result = _run(api, metrics_port, tmp_path / f"load-{shape}", scenario="mixed", shape=shape,
                  users=peak, duration="5s")  # fmt: skip
    _assert_clean(result)
    _assert_in_prometheus(prom, result, SCENARIO_NAMES["mixed"])
    counts = _users_over_time(result)
    assert max(counts) == peak, counts
    if shape in ("ramp", "step"):
        assert counts == sorted(counts) and min(counts) < peak, counts
    if shape == "spike":
        top = counts.index(peak)
        assert min(counts[:top]) < peak and min(counts[top:]) < peak, counts
    if shape == "soak":
        assert counts.count(peak) >= len(counts) - 1, counts


def test_distributed_run_reports_every_workers_requests(
    api: str, prom: Monitor, metrics_port: int, tmp_path: Path
) -> None:
    result = _run(api, metrics_port, tmp_path / "load-distributed", scenario="mixed",
                  processes=2, duration="6s")  # fmt: skip
    _assert_clean(result)
    log = (result.output / "locust.log").read_text()
    assert "2 workers connected" in log
    workers = _series(prom, "perflab_loadgen_workers", result.output.name)
    assert workers and float(workers[0]["value"][1]) == 2
    _assert_in_prometheus(prom, result, SCENARIO_NAMES["mixed"])


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perflab.lab.cli", "load", *args],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
    )  # fmt: skip


def test_the_cli_prints_a_summary_and_exits_zero(api: str, tmp_path: Path) -> None:
    out = tmp_path / "cli-ok"
    done = _cli("--scenario", "n_plus_one", "-u", "2", "-t", "3s", "--host", api,
                "--output", str(out))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "GET /books" in done.stdout and "total" in done.stdout
    assert f"reports: {out}" in done.stdout.replace("\n", "")
    assert (out / "report.html").exists()


def test_the_cli_exits_non_zero_and_names_the_failures(tmp_path: Path) -> None:
    nothing = f"http://127.0.0.1:{free_port()}"  # nobody listens here
    done = _cli("--scenario", "mixed", "-u", "2", "-t", "2s", "--host", nothing,
                "--output", str(tmp_path / "cli-fail"))  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "GET /techniques" in done.stdout and "✗" in done.stdout
    unknown = _cli("--scenario", "nope", "--host", nothing)
    assert unknown.returncode == 2 and "cannot list techniques" in unknown.stdout
