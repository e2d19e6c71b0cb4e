"""`lab smoke` against real stacks: it passes on a healthy one and names Redis when it stops.

The healthy stack: the session's Postgres, Redis and Celery worker, the API on uvicorn
with 2 worker processes (so a flip must reach both), and a real Prometheus scraping it.
The broken one has its own Redis (the session's must stay up for the other tests),
stopped before the smoke test runs.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from perflab.lab.flags_client import FlagsClient
from perflab.lab.smoke import _restoring, run_smoke
from perflab.lab.smoke_burst import check_burst
from tests.support.monitoring import Monitor, prometheus
from tests.support.servers import REPO, Server, service_env, start_redis, uvicorn_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def api(
    lab_root: Path, settings_env: dict[str, str], celery_worker_server: Server
) -> Iterator[str]:
    with uvicorn_server(lab_root, service_env(settings_env), workers=2, name="api-smoke") as url:
        yield url


@pytest.fixture(scope="module")
def prom(lab_root: Path, api: str) -> Iterator[Monitor]:
    config = f"""
global: {{scrape_interval: 1s}}
scrape_configs:
  - job_name: perflab-api
    static_configs: [{{targets: ["{api.removeprefix("http://")}"]}}]
"""
    with prometheus(lab_root, config) as monitor:
        yield monitor


def _flags(api: str) -> dict[str, bool]:
    return {f["name"]: f["enabled"] for f in httpx.get(f"{api}/flags").json()["flags"]}


def test_smoke_passes_on_a_healthy_stack_and_leaves_the_flags_as_they_were(
    api: str, prom: Monitor, tmp_path: Path
) -> None:
    before = _flags(api)
    checks = run_smoke(api, prom.url, burst_seconds=3, output=tmp_path / "burst")
    failed = [f"{c.component}: {c.detail}" for c in checks if not c.ok]
    assert failed == []
    listed = httpx.get(f"{api}/techniques").json()["techniques"]
    covered = {c.component for c in checks if c.component.startswith("technique ")}
    assert covered == {f"technique {t['name']}" for t in listed}
    components = {c.component for c in checks}
    assert {"api", "flags", "prometheus target perflab-api", "locust"} <= components
    assert (tmp_path / "burst" / "report.html").exists()
    assert _flags(api) == before


def test_a_burst_without_an_output_folder_leaves_nothing_in_the_temp_directory(api: str) -> None:
    def leftovers() -> set[Path]:
        return set(Path(tempfile.gettempdir()).glob("perflab-smoke-*"))

    before = leftovers()
    check = check_burst(api, 2, None)
    assert check.ok, check.detail
    assert leftovers() == before


def test_flags_are_put_back_even_when_a_check_blows_up(api: str) -> None:
    before = _flags(api)
    with FlagsClient(api) as flags, pytest.raises(RuntimeError, match="boom"):
        with _restoring(flags):
            for name in ("gzip", "n_plus_one"):
                flags.set(name, not before[name])
            assert _flags(api)["gzip"] is not before["gzip"]
            raise RuntimeError("boom")
    assert _flags(api) == before


def test_smoke_fails_naming_redis_when_redis_is_stopped(
    lab_root: Path, settings_env: dict[str, str]
) -> None:
    root = lab_root / "smoke-own-redis"
    root.mkdir()
    own = start_redis(root)
    env = service_env(settings_env, {"PERFLAB_REDIS__URL": own.url})
    env.pop("PERFLAB_REDIS__PASSWORD_FILE")  # the password is in own.url
    try:
        with uvicorn_server(root, env, name="api-no-redis") as api:
            own.stop()
            done = subprocess.run(
                [sys.executable, "-m", "perflab.lab.cli", "smoke", "--api", api,
                 "--prometheus", ""],
                capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
            )  # fmt: skip
    finally:
        own.stop()
    out = done.stdout.replace("\n", " ")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "redis: /readyz reports redis unavailable" in out
    assert "postgres:" not in out  # only the component that is down is named
    assert "API not ready" in out  # the rest is skipped, not piled on as failures
    assert "Locust burst" not in out
