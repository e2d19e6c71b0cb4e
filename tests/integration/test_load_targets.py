"""`lab load` and the lab's Prometheus: a run's target comes and goes cleanly.

A real Prometheus prepared and started by the lab's own component: its file_sd folder
exists from the start (no file-watch errors), a run's target appears while the run
lasts and is gone from Prometheus by the time the run returns, so `lab smoke` right
after `lab load` sees no dead target.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from perflab.lab import monitoring
from perflab.lab.components import Component, LabContext
from perflab.lab.config import LabOptions, LabSettings, Ports
from perflab.lab.prom_targets import _target_addresses, prometheus_target
from perflab.procs import free_port, pid_alive, stop_pid, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def prometheus() -> Iterator[tuple[Component, str]]:
    state = Path(tempfile.mkdtemp(prefix="perflab-sd-"))
    cfg = LabSettings(
        lab=LabOptions(state_dir=state, scrape_interval="1s"), ports=Ports(prometheus=free_port())
    )
    component = monitoring.prometheus(LabContext.load(cfg))
    assert component.prepare is not None
    component.prepare()
    proc = component.start()
    url = component.url
    try:
        assert wait_until(component.healthy, timeout=30, alive=lambda: pid_alive(proc.pid))
        yield component, url
    finally:
        stop_pid(proc.pid)
        shutil.rmtree(state, ignore_errors=True)


def test_a_fresh_prometheus_watches_the_folder_without_errors(prometheus):
    component, _ = prometheus
    time.sleep(6)  # past one file_sd refresh (5 s)
    assert "Error adding file watch" not in component.log.read_text()


def test_a_finished_run_is_gone_from_prometheus_when_it_returns(prometheus):
    component, url = prometheus
    folder = component.paths.data("prometheus") / monitoring.LOADGEN_SD
    port = free_port()
    with prometheus_target(folder, port, "load-test-run", url):
        assert wait_until(lambda: f"127.0.0.1:{port}" in _target_addresses(url), timeout=15)
    # No waiting here: the context manager returned only once Prometheus dropped it.
    targets = httpx.get(f"{url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
    assert f"127.0.0.1:{port}" not in {t["labels"]["instance"] for t in targets}
