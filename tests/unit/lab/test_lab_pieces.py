"""The runner's small pieces: settings defaults, pid ownership, missing-package advice."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from perflab.lab import pidfiles, system
from perflab.lab.components import LabContext
from perflab.lab.config import LabSettings
from perflab.lab.stack import TIERS, Stack
from perflab.procs import StartError
from perflab.settings import Settings


def test_lab_ports_default_to_what_the_services_expect(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PERFLAB_DB__DSN", "PERFLAB_REDIS__URL", "PERFLAB_API__PORT"):
        monkeypatch.delenv(name, raising=False)
    ports, services = LabSettings().ports, Settings()
    assert ports.postgres == urlsplit(services.db.dsn).port
    assert ports.redis == urlsplit(services.redis.url).port
    assert ports.api == services.api.port
    assert ports.worker_metrics == services.worker.metrics_port


def test_a_port_moves_with_its_env_var(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PERFLAB_PORTS__API", "18000")
    monkeypatch.setenv("PERFLAB_LAB__STATE_DIR", str(tmp_path))
    ctx = LabContext.load()
    assert ctx.api_url == "http://127.0.0.1:18000"
    api = next(c for c in Stack(ctx).components if c.name == "api")
    assert (api.port, api.port_env) == (18000, "PERFLAB_PORTS__API")
    assert api.pid_file == tmp_path / "run" / "api.pid"


def test_a_pid_is_ours_only_while_its_command_line_matches(tmp_path: Path) -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        pid_file = tmp_path / "sleeper.pid"
        pidfiles.write(pid_file, proc.pid)
        assert pidfiles.running_pid(pid_file, ("sleep 30 ",)) == proc.pid
        # Same pid, other program: what a recycled pid looks like. Never ours.
        assert pidfiles.running_pid(pid_file, ("redis-server 127.0.0.1:1",)) is None
    finally:
        proc.kill()
        proc.wait()
    assert pidfiles.running_pid(pid_file, ("sleep 30 ",)) is None


def test_missing_packages_come_with_the_exact_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PERFLAB_LAB__STATE_DIR", str(tmp_path))
    components = Stack(LabContext.load()).components
    by_name = {c.name: c for c in components}
    for name in ("redis", "prometheus", "alertmanager", "grafana"):
        by_name[name].binary = None
    # Grafana is optional: reported as not installed, never demanded.
    missing = system.missing_packages(components)
    assert missing == ["redis-server", "prometheus", "prometheus-alertmanager"]
    monkeypatch.setattr(system, "is_root", lambda: False)
    with pytest.raises(StartError) as raised:
        system.ensure(missing)
    assert str(raised.value).endswith(
        "run: sudo apt-get install -y redis-server prometheus prometheus-alertmanager"
    )
    system.ensure([])  # nothing missing: nothing to do, even as root


def test_every_component_starts_in_exactly_one_tier(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PERFLAB_LAB__STATE_DIR", str(tmp_path))
    names = [c.name for c in Stack(LabContext.load()).components]
    tiered = [name for tier in TIERS for name in tier]
    assert sorted(tiered) == sorted(names)
    # The database's clients start after the seed (the last tier).
    assert {"api", "worker"} == set(TIERS[-1])
