"""The runner's small pieces: settings defaults, pid ownership, missing-package advice."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from perflab import procs
from perflab.console.app import links
from perflab.console.config import ConsoleOptions, ConsoleSettings
from perflab.lab import pidfiles, system
from perflab.lab.components import LabContext
from perflab.lab.config import LabSettings, Ports
from perflab.lab.console_app import console_env
from perflab.lab.prom_config import render_prometheus_config
from perflab.lab.services import SERVICES, UnknownService, base_urls, by_name
from perflab.lab.stack import TIERS, Stack
from perflab.procs import StartError
from perflab.settings import Settings


def test_lab_ports_default_to_what_the_services_expect(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PERFLAB_DB__DSN", "PERFLAB_REDIS__URL", "PERFLAB_API__PORT",
                 "PERFLAB_DJANGO__PORT", "PERFLAB_FLASK__PORT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    ports, services = LabSettings().ports, Settings()
    assert ports.postgres == urlsplit(services.db.dsn).port
    assert ports.redis == urlsplit(services.redis.url).port
    assert ports.api == services.api.port
    assert (ports.django, ports.flask) == (services.django.port, services.flask.port)
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
    # Popen returns once exec has closed its error pipe, which the kernel does before
    # it writes the new argv: /proc/<pid>/cmdline can read empty for a moment.
    deadline = time.monotonic() + 5
    while not pidfiles.cmdline(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
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
    # The database's clients start after the seed (the last tier): every web service
    # of the lab's service list, and the worker.
    assert {"api", "django", "flask", "worker"} == set(TIERS[-1])
    assert {s.job for s in SERVICES} <= set(names)


def test_the_service_list_names_each_service_job_port_and_url() -> None:
    ports = Ports(api=25000, django=25001, flask=25002)
    assert base_urls(ports) == {
        "fastapi": "http://127.0.0.1:25000",
        "django": "http://127.0.0.1:25001",
        "flask": "http://127.0.0.1:25002",
    }
    assert by_name("django").job == "django" and by_name("fastapi").job == "api"
    assert by_name("flask").job == "flask"
    with pytest.raises(UnknownService, match="one of: fastapi, django, flask"):
        by_name("rails")


def test_native_prometheus_labels_every_service_job_with_its_service() -> None:
    config = yaml.safe_load(
        render_prometheus_config(
            api_targets=["127.0.0.1:1"],
            worker_targets=["127.0.0.1:2"],
            service_targets={"django": ["127.0.0.1:3"], "flask": ["127.0.0.1:5"]},
            alertmanager_targets=[],
            prometheus_target="127.0.0.1:4",
            rule_files=[],
        )
    )
    labels = {
        job["job_name"]: job["static_configs"][0].get("labels", {})
        for job in config["scrape_configs"]
    }
    assert labels["api"] == {"service": "fastapi"}
    assert labels["django"] == {"service": "django"}
    assert labels["flask"] == {"service": "flask"}
    assert labels["worker"] == {}  # shared by every service: no service label


def test_the_console_shows_every_lab_service_and_links_only_real_api_docs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PERFLAB_CONSOLE__SERVICES", raising=False)
    monkeypatch.setenv("PERFLAB_LAB__STATE_DIR", str(tmp_path))
    ctx = LabContext.load(LabSettings(ports=Ports(api=25000, django=25001, flask=25002)))
    shown = json.loads(console_env(ctx)["PERFLAB_CONSOLE__SERVICES"])
    assert [(s["name"], s["url"], s["job"]) for s in shown] == [
        ("fastapi", "http://127.0.0.1:25000", "api"),
        ("django", "http://127.0.0.1:25001", "django"),
        ("flask", "http://127.0.0.1:25002", "flask"),
    ]
    settings = ConsoleSettings(console=ConsoleOptions(services=shown))
    assert settings.flags_service.name == "fastapi"  # the one with PUT /flags
    docs = [url for name, url in links(settings) if name.endswith("API docs")]
    assert docs == ["http://127.0.0.1:25000/docs"]


def test_free_ports_are_distinct_bindable_and_outside_theephemeral_port_range() -> None:
    low, _ = procs.ephemeral_port_range()
    ports = [procs.free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(1024 <= port < low for port in ports)
    for port in ports[:5]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
