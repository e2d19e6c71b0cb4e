"""Real Prometheus and Alertmanager for the tests, on free loopback ports, always stopped.

Both use the Debian binaries the native lab uses (`/usr/bin/prometheus`,
`/usr/bin/prometheus-alertmanager`) and the configuration the lab's renderer writes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from perflab.procs import free_port, pid_alive, start_process, stop_pid, wait_until

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERTMANAGER = (
    shutil.which("prometheus-alertmanager")
    or shutil.which("alertmanager")
    or "/usr/bin/prometheus-alertmanager"
)
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"


@dataclass
class Monitor:
    name: str
    pid: int
    url: str
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def get(self, path: str, **params: Any) -> Any:
        answer = httpx.get(f"{self.url}{path}", params=params, timeout=5)
        answer.raise_for_status()
        return answer.json()


@contextmanager
def _run(name: str, cmd: list[str], port: int, home: Path) -> Iterator[Monitor]:
    log = home / f"{name}.log"
    proc = start_process(cmd, log_path=log, cwd=home)
    monitor = Monitor(name, proc.pid, f"http://127.0.0.1:{port}", log)
    try:
        ready = wait_until(
            lambda: httpx.get(f"{monitor.url}/-/ready", timeout=2).status_code == 200,
            timeout=30,
            alive=lambda: pid_alive(proc.pid),
        )
        if not ready:
            raise RuntimeError(f"{name} did not become ready:\n{monitor.log_tail()}")
        yield monitor
    finally:
        stop_pid(proc.pid)
        proc.wait(timeout=5)


@contextmanager
def prometheus(root: Path, config: str, *, port: int | None = None) -> Iterator[Monitor]:
    """Prometheus with `config` (YAML text); its TSDB lives under `root`."""
    port = port or free_port()
    home = root / f"prometheus-{port}"
    (home / "data").mkdir(parents=True)
    config_file = home / "prometheus.yml"
    config_file.write_text(config)
    cmd = [
        PROMETHEUS,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
    ]
    with _run("prometheus", cmd, port, home) as monitor:
        yield monitor


@contextmanager
def alertmanager(root: Path, config: str, *, port: int | None = None) -> Iterator[Monitor]:
    """Alertmanager with `config` (YAML text), clustering off."""
    port = port or free_port()
    home = root / f"alertmanager-{port}"
    (home / "data").mkdir(parents=True)
    config_file = home / "alertmanager.yml"
    config_file.write_text(config)
    cmd = [
        ALERTMANAGER,
        f"--config.file={config_file}",
        f"--storage.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        # An empty address turns clustering (and its gossip port) off.
        "--cluster.listen-address=",
    ]
    with _run("alertmanager", cmd, port, home) as monitor:
        yield monitor
