"""`lab bench --servers`: the choice of server, measured side by side in one run.

One endpoint (`GET /books/{random id}`, connection_pool on: one pooled single-row
query) of each framework under several servers, with the same load, the same worker
count (1 process serving; gthread 4 threads) and the same cores (with two cores: the
servers on one, wrk, Postgres and Redis on the other, like `lab bench`):

- Flask: Werkzeug's development server (threaded, as `flask run` starts it), gunicorn
  sync, gunicorn gthread;
- FastAPI: uvicorn, gunicorn with uvicorn workers (`uvicorn-worker`), granian (asgi);
- Django: gunicorn sync, gunicorn gthread (when the Django service is installed);
- the client side: the production server of each framework again, with a new TCP
  connection per request (wrk `-H "Connection: close"`) instead of keep-alive.

Telemetry is off in every server (metrics and tracing), so the figures are the
server's and the framework's, not the lab's instrumentation. Rounds interleave every
configuration, so a drift of the machine hits all alike; figures are medians over the
rounds. Per configuration: req/s, p50/p95/p99 (wrk), CPU time per request and resident
memory (summed over the server's processes: master and workers).
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from perflab.bench.overhead import median_runs
from perflab.bench.stack import Bench, service_env
from perflab.procs import free_port, start_process, wait_until

THREADS = 4  # gthread threads per worker
PATH = "/books/{id}"
TELEMETRY_OFF = {"METRICS_ENABLED": "false", "TRACING_ENABLED": "false"}
_GUNICORN = [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:{port}", "--workers", "1"]
_FLASK_CONF = ["-c", "python:perflab.flask_service.gunicorn_conf"]
_DJANGO_CONF = ["-c", "python:perflab.django_service.gunicorn_conf"]
_DJANGO_APP = "perflab.django_service.wsgi:application"


@dataclass(frozen=True)
class ServerConfig:
    name: str
    framework: str
    server: str
    cmd: list[str]  # `{port}` is filled in
    requires: str = "perflab"  # a module that must be importable
    # Requests sent with `Connection: close`: a new TCP connection each.
    new_connection: bool = False
    env: dict[str, str] = field(default_factory=dict)


def configs() -> list[ServerConfig]:
    uvicorn = [
        sys.executable, "-m", "uvicorn", "perflab.api.app:app_factory", "--factory",
        "--host", "127.0.0.1", "--port", "{port}", "--workers", "1", "--no-access-log",
    ]  # fmt: skip
    gthread = ["--worker-class", "gthread", "--threads", str(THREADS)]
    flask_gthread = [*_GUNICORN, *_FLASK_CONF, *gthread]
    django_gthread = [*_GUNICORN, *_DJANGO_CONF, *gthread, _DJANGO_APP]
    return [
        ServerConfig(
            "flask / werkzeug dev server", "flask", "werkzeug (flask run)",
            [sys.executable, "-m", "flask", "--app", "perflab.flask_service.app:app_factory()",
             "run", "--host", "127.0.0.1", "--port", "{port}", "--no-reload", "--no-debugger",
             "--with-threads"],
        ),
        ServerConfig(
            "flask / gunicorn sync", "flask", "gunicorn sync", [*_GUNICORN, *_FLASK_CONF]
        ),
        ServerConfig(
            f"flask / gunicorn gthread x{THREADS}", "flask", "gunicorn gthread", flask_gthread
        ),
        ServerConfig("fastapi / uvicorn", "fastapi", "uvicorn", uvicorn),
        ServerConfig(
            "fastapi / gunicorn + uvicorn worker", "fastapi", "gunicorn + uvicorn worker",
            [*_GUNICORN, "--worker-class", "uvicorn_worker.UvicornWorker",
             "perflab.api.app:app_factory()"],
        ),
        ServerConfig(
            "fastapi / granian", "fastapi", "granian",
            [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
             "--port", "{port}", "--workers", "1", "--factory", "perflab.api.app:app_factory"],
            requires="granian",
        ),
        ServerConfig(
            "django / gunicorn sync", "django", "gunicorn sync",
            [*_GUNICORN, *_DJANGO_CONF, _DJANGO_APP], requires="perflab.django_service",
        ),
        ServerConfig(
            f"django / gunicorn gthread x{THREADS}", "django", "gunicorn gthread",
            django_gthread, requires="perflab.django_service",
        ),
        # The client side: a new TCP connection per request, to each framework's
        # production server.
        ServerConfig(
            f"flask / gunicorn gthread x{THREADS}, new connection per request", "flask",
            "gunicorn gthread", flask_gthread, new_connection=True,
        ),
        ServerConfig(
            "fastapi / uvicorn, new connection per request", "fastapi", "uvicorn", uvicorn,
            new_connection=True,
        ),
        ServerConfig(
            f"django / gunicorn gthread x{THREADS}, new connection per request", "django",
            "gunicorn gthread", django_gthread, requires="perflab.django_service",
            new_connection=True,
        ),
    ]  # fmt: skip


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _tree(pid: int) -> list[psutil.Process]:
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def _cpu_seconds(pid: int) -> float:
    total = 0.0
    for proc in _tree(pid):
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _rss_bytes(pid: int) -> int:
    total = 0
    for proc in _tree(pid):
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


class ServersBench(Bench):
    def start_server(self, config: ServerConfig) -> tuple[str, int]:
        port = free_port()
        cmd = [part.replace("{port}", str(port)) for part in config.cmd]
        if self.api_cores is not None:  # pinned before anything forks: workers inherit it
            cmd = ["taskset", "-c", ",".join(map(str, sorted(self.api_cores))), *cmd]
        metrics_dir = self.root / f"metrics-{port}"
        metrics_dir.mkdir()
        env = service_env(self.dsn, self.redis_url, self.sink, TELEMETRY_OFF)
        env |= {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), **config.env}
        log = self.root / f"server-{port}.log"
        pid = self._started(start_process(cmd, log_path=log, env=env), None)
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            return httpx.get(f"{base}/readyz", timeout=2).status_code == 200

        if not wait_until(ready, timeout=90):
            raise RuntimeError(f"{config.name} did not start:\n{log.read_text()[-2000:]}")
        return base, pid

    def wrk_run(
        self, server: tuple[str, int], script: Path, seconds: float, new_connection: bool
    ) -> dict[str, float]:
        base, pid = server
        cpu_before = _cpu_seconds(pid)
        cmd = [
            shutil.which("wrk") or "wrk", "-t1", f"-c{self.connections}",
            f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script),
        ]  # fmt: skip
        if new_connection:
            cmd += ["-H", "Connection: close"]
        load = self.load_cores
        done = subprocess.run(
            [*cmd, base],
            capture_output=True,
            text=True,
            check=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, load)) if load else None,
        )
        used = _cpu_seconds(pid) - cpu_before
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if result["non2xx"]:
            raise RuntimeError(f"wrk saw {result['non2xx']} non-2xx answers from {base}")
        requests = max(1, result["requests"])
        return {
            "rps": result["requests"] / (result["duration_us"] / 1e6),
            "p50_ms": result["p50_us"] / 1000,
            "p95_ms": result["p95_us"] / 1000,
            "p99_ms": result["p99_us"] / 1000,
            "cpu_ms_per_request": 1000 * used / requests,
            "rss_mb": _rss_bytes(pid) / 2**20,
            "socket_errors": float(result["errors"]),
        }


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor() or platform.machine(),
        "cores": len(os.sched_getaffinity(0)),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def run(duration: float = 10.0, rounds: int = 2, connections: int = 16) -> dict[str, Any]:
    all_configs = configs()
    skipped = {
        c.name: f"{c.requires} is not installed" for c in all_configs if not _available(c.requires)
    }
    chosen = [c for c in all_configs if c.name not in skipped]
    started_at = time.strftime("%Y-%m-%d %H:%M:%S")
    with ServersBench.running(connections, "perflab-servers-") as bench:
        script = bench.script("servers", PATH)
        servers: dict[str, tuple[str, int]] = {}
        for config in chosen:
            key = " ".join(config.cmd)  # the same server serves its keep-alive and close rows
            if key not in servers:
                servers[key] = bench.start_server(config)
            bench.wrk_run(servers[key], script, 2, config.new_connection)  # warm-up
        runs: dict[str, list[dict[str, float]]] = {c.name: [] for c in chosen}
        for _ in range(rounds):
            for config in chosen:
                server = servers[" ".join(config.cmd)]
                runs[config.name].append(
                    bench.wrk_run(server, script, duration, config.new_connection)
                )
                time.sleep(0.5)
    medians = median_runs(runs)
    cases = {
        c.name: {
            "framework": c.framework,
            "server": c.server,
            "connection": "new per request" if c.new_connection else "keep-alive",
            **medians[c.name],
        }
        for c in chosen
    }
    return {
        "date": started_at,
        "machine": machine(),
        "endpoint": f"GET {PATH}",
        "duration_s": duration,
        "rounds": rounds,
        "connections": connections,
        "workers": 1,
        "threads": THREADS,
        "pinned": bench.split is not None,
        "cases": cases,
        "skipped": skipped,
        "runs": runs,
    }
