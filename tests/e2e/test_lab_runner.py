"""The native runner end to end: the real `lab` CLI starting, checking and stopping real processes.

Each test gets its own state folder and free ports for every component, so it never
touches a lab a developer has running on the default ports.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from perflab.lab import pidfiles
from perflab.lab import secrets as lab_secrets
from perflab.lab.components import LabContext
from perflab.lab.config import LabOptions, LabSettings, Ports
from perflab.lab.stack import Stack
from perflab.procs import free_port, pid_alive, stop_pid, tcp_ready, wait_until
from tests.support.servers import REPO

pytestmark = pytest.mark.e2e

# Every port the lab knows, each moved to a free one (none left at its default).
PORT_KEYS = tuple(Ports.model_fields)
COMPONENTS = (
    "postgres", "redis", "api", "django", "flask", "worker", "prometheus", "alertmanager",
    "locust", "console",
)  # fmt: skip
GRAFANA_INSTALLED = bool(shutil.which("grafana") or shutil.which("grafana-server"))


@dataclass
class Lab:
    env: dict[str, str]
    state: Path
    ports: dict[str, int]

    def run(
        self, *args: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "perflab.lab.cli", *args],
            env=self.env | (extra_env or {}),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def pids(self) -> dict[str, int]:
        found = {}
        for path in (self.state / "run").glob("*.pid"):
            pid = pidfiles.read(path)
            if pid is not None:
                found[path.stem] = pid
        return found

    def url(self, key: str) -> str:
        return f"http://127.0.0.1:{self.ports[key]}"

    def listening(self) -> list[str]:
        return [key for key, port in self.ports.items() if tcp_ready(port)]


def _distinct_free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return list(ports)


@pytest.fixture
def lab() -> Iterator[Lab]:
    # Not pytest's tmp_path: its parents are 0700 and Postgres runs as another user.
    state = Path(tempfile.mkdtemp(prefix="perflab-lab-"))
    state.chmod(0o755)
    ports = dict(zip(PORT_KEYS, _distinct_free_ports(len(PORT_KEYS)), strict=True))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= {f"PERFLAB_PORTS__{key.upper()}": str(port) for key, port in ports.items()}
    env |= {
        "PERFLAB_LAB__STATE_DIR": str(state),
        "PERFLAB_LAB__API_WORKERS": "1",
        "PERFLAB_LAB__WORKER_CONCURRENCY": "1",
        "PERFLAB_LAB__SEED_SCALE": "0.02",
        "PERFLAB_LAB__SCRAPE_INTERVAL": "1s",
    }
    lab = Lab(env, state, ports)
    yield lab
    # Whatever a test left behind: the lab's own `down`, then any recorded pid still ours.
    lab.run("down")
    cfg = LabSettings(lab=LabOptions(state_dir=state), ports=Ports(**ports))
    for component in Stack(LabContext.load(cfg)).components:
        pid = component.running_pid()
        if pid is not None:
            stop_pid(pid)
    shutil.rmtree(state, ignore_errors=True)


def test_a_busy_port_is_named_and_nothing_starts(lab: Lab) -> None:
    port = lab.ports["api"]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        done = lab.run("up")
        assert done.returncode != 0, done.stdout
        assert f"api: port {port} is already in use" in done.stderr
        assert "PERFLAB_PORTS__API" in done.stderr
        assert lab.listening() == ["api"]
    assert lab.pids() == {}
    assert not (lab.state / "pgdata").exists()


def test_a_component_that_fails_is_named_with_its_log_and_the_rest_stopped(lab: Lab) -> None:
    # An invalid scrape interval makes Prometheus exit on its config: a real failed start.
    done = lab.run("up", extra_env={"PERFLAB_LAB__SCRAPE_INTERVAL": "bogus"})
    assert done.returncode != 0, done.stdout
    log = lab.state / "logs" / "prometheus.log"
    assert f"prometheus: exited during startup, see {log}" in done.stderr
    assert "not a valid duration" in log.read_text()
    assert lab.pids() == {}
    assert wait_until(lambda: lab.listening() == [], timeout=10), lab.listening()


def _targets_up(lab: Lab) -> set[str]:
    """The components whose Prometheus target is `up` (found by port, whatever the job name)."""
    answer = httpx.get(f"{lab.url('prometheus')}/api/v1/targets", timeout=5).json()
    by_address = {f"127.0.0.1:{port}": key for key, port in lab.ports.items()}
    return {
        by_address.get(target["labels"]["instance"], target["labels"]["instance"])
        for target in answer["data"]["activeTargets"]
        if target["health"] == "up"
    }


def test_up_twice_then_status_then_down(lab: Lab) -> None:
    first = lab.run("up")
    assert first.returncode == 0, first.stdout + first.stderr
    pids = lab.pids()
    assert set(pids) == set(COMPONENTS) | ({"grafana"} if GRAFANA_INSTALLED else set())
    assert all(pid_alive(pid) for pid in pids.values())

    ready = httpx.get(f"{lab.url('api')}/readyz", timeout=5)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["postgres"]["ok"] and ready.json()["checks"]["redis"]["ok"]
    assert wait_until(
        lambda: {"api", "django", "flask", "worker_metrics", "loadgen_metrics"} <= _targets_up(lab),
        timeout=30,
        interval=0.5,
    ), _targets_up(lab)
    assert httpx.get(f"{lab.url('alertmanager')}/-/ready", timeout=5).status_code == 200
    # Alert links (generatorURL) lead to this Prometheus, not to the machine's host name.
    flags = httpx.get(f"{lab.url('prometheus')}/api/v1/status/flags", timeout=5).json()["data"]
    assert flags["web.external-url"] == lab.url("prometheus")
    assert httpx.get(lab.url("locust"), timeout=5).status_code == 200
    # The console reads the lab's own API: its page lists every technique.
    page = httpx.get(lab.url("console"), timeout=10)
    assert page.status_code == 200 and 'data-technique="n_plus_one"' in page.text
    if not GRAFANA_INSTALLED:
        assert "not installed" in first.stdout

    # The secrets `up` generated: private files, the API reading them, no trust.
    keys = lab.state / "secrets"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert {p.name for p in keys.iterdir()} >= set(lab_secrets.GENERATED)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in keys.iterdir())
    hba = (lab.state / "pgdata" / "pg_hba.conf").read_text().split()
    assert "trust" not in hba and "scram-sha-256" in hba

    second = lab.run("up")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing started" in second.stdout
    assert lab.pids() == pids

    # One component gone: the next `up` starts that one alone.
    stop_pid(pids["locust"])
    third = lab.run("up")
    assert third.returncode == 0, third.stdout + third.stderr
    restarted = lab.pids()
    assert restarted["locust"] != pids["locust"]
    assert {k: v for k, v in restarted.items() if k != "locust"} == {
        k: v for k, v in pids.items() if k != "locust"
    }
    pids = restarted

    status = lab.run("status")
    assert status.returncode == 0, status.stdout
    rows = {line.split()[1]: line for line in status.stdout.splitlines() if line.startswith("│")}
    for name in COMPONENTS:
        assert "healthy" in rows[name] and str(pids[name]) in rows[name], status.stdout

    down = lab.run("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not [name for name, pid in pids.items() if pid_alive(pid)]
    assert lab.pids() == {}
    assert wait_until(lambda: lab.listening() == [], timeout=10), lab.listening()
    after = lab.run("status")
    assert after.returncode == 3 and "stopped" in after.stdout
