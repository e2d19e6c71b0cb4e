"""`lab compare` end to end: one technique, naive vs optimised, in FastAPI (uvicorn),
Django and Flask (gunicorn), against a real Prometheus; then the console shows the
report as a comparison. One pair of 3 s arms per framework, about 1.5 min in all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from perflab.console.reports import render
from perflab.lab.prom_config import render_prometheus_config
from perflab.procs import free_port
from tests.support.monitoring import prometheus
from tests.support.servers import (
    REPO,
    gunicorn_flask_server,
    gunicorn_server,
    service_env,
    uvicorn_server,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
SERVICES = ("fastapi", "django", "flask")


@dataclass(frozen=True)
class Stack:
    urls: dict[str, str]
    prometheus: str


@pytest.fixture(scope="module")
def stack(lab_root: Path, settings_env: dict[str, str]) -> Iterator[Stack]:
    env = service_env(settings_env)
    with (
        uvicorn_server(lab_root, env, workers=1, name="api-compare") as api,
        gunicorn_server(lab_root, env, workers=1, threads=4, name="django-compare") as django,
        gunicorn_flask_server(lab_root, env, workers=1, threads=4, name="flask-compare") as (
            flask,
            _,
        ),
    ):
        urls = {"fastapi": api, "django": django, "flask": flask}
        config = render_prometheus_config(
            api_targets=[api.removeprefix("http://")],
            service_targets={
                "django": [django.removeprefix("http://")],
                "flask": [flask.removeprefix("http://")],
            },
            worker_targets=[],
            alertmanager_targets=[],
            prometheus_target=f"127.0.0.1:{free_port()}",
            rule_files=[],
            scrape_interval="1s",
            evaluation_interval="1s",
        )
        with prometheus(lab_root, config) as prom:
            yield Stack(urls, prom.url)


def _flags(api: str) -> dict[str, bool]:
    return {f["name"]: f["enabled"] for f in httpx.get(f"{api}/flags").json()["flags"]}


def test_compare_measures_every_framework_and_the_console_shows_it(
    stack: Stack, tmp_path: Path
) -> None:
    api = stack.urls["fastapi"]
    before = _flags(api)
    out = tmp_path / "n_plus_one-everywhere"
    targets = ",".join(f"{service}={stack.urls[service]}" for service in SERVICES)
    done = subprocess.run(
        [sys.executable, "-m", "perflab.lab.cli", "compare", "n_plus_one",
         "--services", targets, "--duration", "3", "--warmup", "1", "--repeats", "1",
         "--users", "3", "--api", api, "--prometheus", stack.prometheus,
         "--output", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=240, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert _flags(api) == before  # put back after the run

    results = json.loads((out / "results.json").read_text())
    assert results["technique"] == "n_plus_one"
    assert list(results["services"]) == list(SERVICES)
    for service in SERVICES:
        entry = results["services"][service]
        assert entry["skipped"] is None, (service, entry["skipped"])
        arms = entry["experiment"]["arms"]
        assert [a["flag_enabled"] for a in arms] == [False, True], service
        assert all(a["requests"] > 0 and a["failures"] == 0 for a in arms), (service, arms)
        # Each framework's own statements, exact: one per book (or author) naive, a
        # fixed handful optimised, whatever the page holds.
        naive, optimised = (a["server"]["queries_per_request"] for a in arms)
        assert naive >= 1 + 50 and 1 <= optimised <= 3, (service, naive, optimised)
        statements = entry["figures"]["queries_per_request"]
        assert statements["improvement"] == pytest.approx(naive / optimised), service
        assert (out / service / "report.md").stat().st_size > 0

    report = (out / "report.md").read_text()
    assert report.startswith("# `n_plus_one` in every framework")
    for service in SERVICES:
        assert f"- [{service}]({service}/report.md)" in report
    charts = sorted(p.name for p in out.glob("*.png"))
    assert charts, "no chart was drawn"

    # The console lists it as a comparison and shows its table and charts.
    page = render(tmp_path, out.name)
    assert page is not None and page["kind"] == "compare", page and page["kind"]
    assert "in every framework" in page["title"]
    for chart in charts:
        assert f'src="/results/{out.name}/{chart}"' in page["html"]
    # Each framework's own experiment report is linked beneath it.
    assert sorted(Path(r.path).name for r in page["subreports"]) == sorted(SERVICES)
