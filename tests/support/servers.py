"""Real servers for the tests, on free loopback ports, in a temp folder.

They use the same process primitives as the native runner (`perflab.lab`), so the
tests exercise the code that `lab up` runs.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import redis

from perflab.db.seed import seed
from perflab.lab import postgres as pg
from perflab.lab import redis as redis_proc
from perflab.procs import free_port, pid_alive, stop_pid, tcp_ready, wait_until

REPO = Path(__file__).resolve().parents[2]
# Small enough to seed in about a second, large enough for the planner to use indexes.
TEST_SEED_SCALE = 0.05


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        stop_pid(self.proc.pid)
        self.proc.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def _wait(server: Server, check, timeout: float = 30) -> None:  # noqa: ANN001
    if not wait_until(check, timeout=timeout, alive=lambda: pid_alive(server.proc.pid)):
        server.stop()
        raise RuntimeError(f"{server.name} did not become ready:\n{server.log_tail()}")


def start_postgres(root: Path, seed_scale: float = TEST_SEED_SCALE) -> Server:
    data = root / "pgdata"
    log = root / "logs" / "postgres.log"
    pg.init_cluster(data, log)
    port = free_port()
    server = Server("postgres", pg.start(data, port, log), port, log)
    _wait(server, lambda: tcp_ready(port) and _pg_accepts(port))

    async def prepare() -> None:
        await pg.ensure_database(port)
        conn = await asyncpg.connect(pg.dsn(port))
        try:
            await seed(conn, seed_scale)
        finally:
            await conn.close()

    asyncio.run(prepare())
    return server


def _pg_accepts(port: int) -> bool:
    async def probe() -> bool:
        conn = await asyncpg.connect(pg.dsn(port, "postgres"), timeout=2)
        await conn.close()
        return True

    return asyncio.run(probe())


def restart_postgres(server: Server, root: Path) -> Server:
    """Start the same cluster again on the same port (after a test stopped it)."""
    data = root / "pgdata"
    new = Server("postgres", pg.start(data, server.port, server.log), server.port, server.log)
    _wait(new, lambda: _pg_accepts(server.port))
    return new


def start_redis(root: Path) -> Server:
    port = free_port()
    log = root / "logs" / "redis.log"
    proc = redis_proc.start(port, root / "redis", log, persist=False)
    server = Server("redis", proc, port, log)
    _wait(server, lambda: redis.Redis(port=port, socket_timeout=1).ping())
    return server


def service_env(settings_env: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_")}
    env.update(settings_env)
    env.update(extra or {})
    return env


def api_metrics_dir(root: Path, name: str, base: str) -> Path:
    """The PROMETHEUS_MULTIPROC_DIR of the `uvicorn_server` named `name` at `base`."""
    return root / f"{name}-{base.rsplit(':', 1)[1]}-metrics"


@contextmanager
def uvicorn_server(
    root: Path, env: Mapping[str, str], *, workers: int = 1, name: str = "api"
) -> Iterator[str]:
    """A real uvicorn running the API; yields its base URL and always stops it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    metrics_dir = api_metrics_dir(root, name, base)
    metrics_dir.mkdir(parents=True)
    log = root / "logs" / f"{name}-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = dict(env) | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    cmd = [
        sys.executable, "-m", "uvicorn", "perflab.api.app:app_factory", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log",
    ]  # fmt: skip
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name, proc, port, log)
    try:
        _wait(server, lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200)
        yield base
    finally:
        if pid_alive(proc.pid):
            server.stop()


def django_metrics_dir(root: Path, name: str, base: str) -> Path:
    """The PROMETHEUS_MULTIPROC_DIR of the `gunicorn_server` named `name` at `base`."""
    return root / f"{name}-{base.rsplit(':', 1)[1]}-metrics"


@contextmanager
def gunicorn_server(
    root: Path,
    env: Mapping[str, str],
    *,
    workers: int = 1,
    threads: int = 4,
    name: str = "django",
    ready: str = "/readyz",
) -> Iterator[str]:
    """A real gunicorn running the Django service (as `lab up` does); yields its base
    URL once `ready` answers 200, and always stops it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    metrics_dir = django_metrics_dir(root, name, base)
    metrics_dir.mkdir(parents=True)
    static_root = root / f"{name}-{port}-static"
    log = root / "logs" / f"{name}-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = dict(env) | {
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "PERFLAB_DJANGO__STATIC_ROOT": str(static_root),
        "PERFLAB_DJANGO__THREADS": str(threads),
    }
    cmd = [
        sys.executable, "-m", "gunicorn", "perflab.django_service.wsgi:application",
        "--config", "python:perflab.django_service.gunicorn_conf",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
    ]  # fmt: skip
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name, proc, port, log)
    try:
        _wait(server, lambda: httpx.get(f"{base}{ready}", timeout=2).status_code == 200)
        yield base
    finally:
        if pid_alive(proc.pid):
            server.stop()


@contextmanager
def gunicorn_flask_server(
    root: Path, env: Mapping[str, str], *, workers: int = 2, threads: int = 1, name: str = "flask"
) -> Iterator[tuple[str, Server]]:
    """A real gunicorn serving the Flask service (multiprocess metrics in its own folder);
    yields its base URL and server, and always stops it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    metrics_dir = api_metrics_dir(root, name, base)
    metrics_dir.mkdir(parents=True)
    log = root / "logs" / f"{name}-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = dict(env) | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    cmd = [
        sys.executable, "-m", "gunicorn", "-c", "python:perflab.flask_service.gunicorn_conf",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
    ]  # fmt: skip
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name, proc, port, log)
    try:
        _wait(server, lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200)
        yield base, server
    finally:
        if pid_alive(proc.pid):
            server.stop()


@contextmanager
def celery_worker(root: Path, env: Mapping[str, str], *, concurrency: int = 2) -> Iterator[Server]:
    """A real Celery worker (prefork) on the test Redis; waits until it answers a ping."""
    log = root / "logs" / "celery.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    metrics_port = free_port()
    metrics_dir = root / f"worker-{metrics_port}-metrics"
    metrics_dir.mkdir(parents=True)
    full_env = dict(env) | {
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "PERFLAB_WORKER__METRICS_PORT": str(metrics_port),
    }
    cmd = [
        sys.executable, "-m", "celery", "-A", "perflab.worker.app:celery_app", "worker",
        "--loglevel=INFO", f"--concurrency={concurrency}", "--without-gossip",
        "--without-mingle", "-n", f"test-{metrics_port}@%h",
    ]  # fmt: skip
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server("celery", proc, metrics_port, log)
    probe_env = dict(full_env)

    def answers_ping() -> bool:
        code = (
            "from perflab.worker.tasks import ping;"
            "import sys; sys.exit(0 if ping.delay().get(timeout=3) == 'pong' else 1)"
        )
        done = subprocess.run([sys.executable, "-c", code], env=probe_env, timeout=10, check=False)
        return done.returncode == 0

    try:
        _wait(server, answers_ping, timeout=60)
        yield server
    finally:
        if pid_alive(proc.pid):
            server.stop()
