"""The benchmarks' own processes: a private seeded Postgres and Redis, an OTLP sink,
API servers started with chosen settings, and wrk, pinned to cores.

With two cores the API servers run on one and everything else (wrk, the sink, Postgres,
Redis) on the other, so the load generator does not take the API's CPU. Every process
is stopped and the bench's folder removed when `Bench.running` exits.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Self

import asyncpg
import httpx
import psutil

from perflab.db.seed import seed
from perflab.lab import postgres as pg
from perflab.lab import redis as redis_proc
from perflab.lab import secrets
from perflab.lab.secrets import LabSecrets
from perflab.procs import free_port, start_process, stop_pid, tcp_ready, wait_until
from perflab.settings import with_password

SEED_SCALE = 0.05

WRK_SCRIPT = """
math.randomseed(os.time())
request = function()
  local path = string.gsub("%(path)s", "{id}", tostring(math.random(1, %(max_id)d)))
  return wrk.format("GET", path)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, '
    .. '"errors": %%d, "non2xx": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def _cores() -> tuple[set[int], set[int]] | None:
    """(API core, load core), or None when there are not two cores to split."""
    cores = sorted(os.sched_getaffinity(0))
    return ({cores[0]}, {cores[1]}) if len(cores) >= 2 else None


def _pin(pid: int, cores: set[int] | None) -> None:
    # What `taskset -p` does; children forked later (Postgres backends) inherit it.
    if cores is not None:
        os.sched_setaffinity(pid, cores)


class Bench:
    def __init__(self, root: Path, stack: ExitStack, connections: int) -> None:
        self.root = root
        self.stack = stack
        self.connections = connections
        self.split = _cores()
        self.api_cores = self.split[0] if self.split else None
        self.load_cores = self.split[1] if self.split else None
        self.dsn = self.redis_url = self.sink = ""
        self.max_id = 0

    @classmethod
    @contextmanager
    def running(cls, connections: int, prefix: str) -> Iterator[Self]:
        """A bench with its private seeded Postgres, Redis and OTLP sink started; on
        exit every process it started is stopped and its folder removed."""
        if shutil.which("wrk") is None:
            raise RuntimeError("wrk not found (apt-get install wrk)")
        root = Path(tempfile.mkdtemp(prefix=prefix))
        root.chmod(0o755)  # Postgres runs as another user when we are root
        with ExitStack() as stack:
            stack.callback(shutil.rmtree, root, True)
            bench = cls(root, stack, connections)
            bench.dsn, bench.redis_url, bench.max_id = bench.start_datastores()
            bench.sink = bench.start_sink()
            yield bench

    def script(self, name: str, path: str) -> Path:
        """A wrk script requesting `path` (`{id}` becomes a random book id)."""
        script = self.root / f"{name}.lua"
        script.write_text(WRK_SCRIPT % {"max_id": self.max_id, "path": path})
        return script

    def start_lab_api(self, name: str, telemetry: dict[str, str]) -> tuple[str, int]:
        """The lab's API on the bench's datastores, with these telemetry settings."""
        env = service_env(self.dsn, self.redis_url, self.sink, telemetry)
        return self.start_api(name, env)

    def _started(self, proc: subprocess.Popen[bytes], cores: set[int] | None) -> int:
        self.stack.callback(stop_pid, proc.pid)
        _pin(proc.pid, cores)
        return proc.pid

    def start_datastores(self) -> tuple[str, str, int]:
        data, log = self.root / "pgdata", self.root / "postgres.log"
        keys = LabSecrets(self.root / "secrets").ensure()
        pg.init_cluster(data, log, keys.value(secrets.POSTGRES_SUPERUSER))
        pg_port, redis_port = free_port(), free_port()
        self._started(pg.start(data, pg_port, log), self.load_cores)
        redis_password = keys.value(secrets.REDIS)
        redis = redis_proc.start(
            redis_port, self.root / "redis", self.root / "redis.log", redis_password
        )
        self._started(redis, self.load_cores)
        if not wait_until(lambda: tcp_ready(pg_port) and tcp_ready(redis_port), timeout=30):
            raise RuntimeError(f"postgres/redis did not start, see {self.root}")
        app_password = keys.value(secrets.POSTGRES_APP)
        dsn = with_password(pg.dsn(pg_port), app_password)

        async def prepare() -> int:
            for _ in range(100):  # the port opens a moment before connections are accepted
                try:
                    superuser = keys.value(secrets.POSTGRES_SUPERUSER)
                    await pg.ensure_database(pg_port, superuser, app_password)
                    break
                except (OSError, asyncpg.PostgresError):
                    await asyncio.sleep(0.1)
            conn = await asyncpg.connect(dsn)
            try:
                await seed(conn, SEED_SCALE)
                return int(await conn.fetchval("SELECT max(id) FROM books"))
            finally:
                await conn.close()

        max_id = asyncio.run(prepare())
        return dsn, redis_proc.url(redis_port, redis_password), max_id

    def start_sink(self) -> str:
        port = free_port()
        cmd = [sys.executable, "-m", "perflab.bench.otlp_sink", "--port", str(port)]
        self._started(start_process(cmd, log_path=self.root / "sink.log"), self.load_cores)
        if not wait_until(lambda: tcp_ready(port), timeout=15):
            raise RuntimeError("OTLP sink did not start")
        return f"http://127.0.0.1:{port}"

    def start_api(self, name: str, env: dict[str, str]) -> tuple[str, int]:
        port = free_port()
        metrics_dir = self.root / f"metrics-{port}"
        metrics_dir.mkdir()
        cmd = [
            sys.executable, "-m", "uvicorn", "perflab.api.app:app_factory", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-access-log",
        ]  # fmt: skip
        env = env | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        log = self.root / f"api-{name.split('(')[0]}.log"
        pid = self._started(start_process(cmd, log_path=log, env=env), self.api_cores)
        base = f"http://127.0.0.1:{port}"
        if not wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, timeout=60):
            raise RuntimeError(f"API {name} did not start:\n{log.read_text()[-2000:]}")
        return base, pid

    def wrk(self, api: tuple[str, int], script: Path, seconds: float) -> dict[str, float]:
        base, pid = api
        # CPU the API process spent per request: robust to other load on the machine.
        cpu = psutil.Process(pid).cpu_times()
        cmd = [
            shutil.which("wrk") or "wrk", "-t1", f"-c{self.connections}",
            f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script), base,
        ]  # fmt: skip
        load = self.load_cores
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, load)) if load else None,
        )
        after = psutil.Process(pid).cpu_times()
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if result["errors"] or result["non2xx"]:
            raise RuntimeError(f"wrk saw failures against {base}: {result}")
        used = (after.user + after.system) - (cpu.user + cpu.system)
        return {
            "rps": result["requests"] / (result["duration_us"] / 1e6),
            "p50_ms": result["p50_us"] / 1000,
            "p95_ms": result["p95_us"] / 1000,
            "cpu_ms_per_request": 1000 * used / max(1, result["requests"]),
        }


def service_env(dsn: str, redis_url: str, sink: str, overrides: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_")}
    env |= {
        "PERFLAB_DB__DSN": dsn,
        "PERFLAB_REDIS__URL": redis_url,
        "PERFLAB_FLAGS__DEFAULT_ENABLED": "true",  # connection_pool on: the pooled read
        "PERFLAB_TELEMETRY__OTLP_ENDPOINT": sink,
        "PERFLAB_TELEMETRY__LOG_LEVEL": "WARNING",
    }
    return env | {f"PERFLAB_TELEMETRY__{k}": v for k, v in overrides.items()}
