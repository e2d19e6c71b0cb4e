"""Instrumentation overhead: one endpoint with telemetry off, metrics only, metrics + tracing.

Starts a private Postgres (seeded) and Redis, an OTLP sink, and for every run a fresh
uvicorn server (1 worker) of the configuration measured:

- off:      `metrics_enabled=false`, `tracing_enabled=false`: no metric written (every
            metric is a no-op), no sampler, no flush thread, no span. The service itself
            is unchanged: it still counts each request's SQL for its `X-DB-Queries`
            header, which every configuration sends.
- metrics:  Prometheus metrics in multiprocess mode, as the lab runs them
- metrics+tracing(R%): metrics + OpenTelemetry at the lab's default head-sampling ratio
            (`--ratio` to try another), then at 100 %, exported by OTLP/HTTP to a
            local sink that discards them: the cost of recording, batching,
            serialising and posting sampled spans is included, a collector's is not.

Load: `wrk` on `GET /books/{random id}` (connection_pool technique, flag on: one
pooled single-row query; `--path` picks another endpoint), 16 connections. Design:
`--processes` fresh API processes per configuration are started side by side and warmed
up (2 s each); then every round sends one `--duration` s burst to each process, in a new
random order per round. Why both:
- one process keeps its own speed for its whole life (memory layout, hash seed):
  processes of the same configuration differed by up to 5 us per request, about 2 %,
  so several processes per configuration average that luck out;
- the machine drifts (a VM on a shared host: the same configuration moved by 10 % over
  a few minutes), so the configurations are compared within each round, where they
  ran seconds apart, and the per-round ratios are summarised (median, min, max).
The API servers are pinned to one core; wrk, the sink, Postgres and Redis to the other
(when there are two cores). Prints throughput and p95 per configuration and their
ratios to `off`, plus the API's CPU time per request, the figure least disturbed by
other work on the machine.

    python -m perflab.bench.overhead [--duration 5] [--rounds 4] [--processes 3]
                                     [--ratio R] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Self

import asyncpg
import httpx
import psutil

from perflab import machine
from perflab.db.seed import seed
from perflab.lab import postgres as pg
from perflab.lab import redis as redis_proc
from perflab.lab import secrets
from perflab.lab.secrets import LabSecrets
from perflab.procs import free_port, start_process, stop_pid, tcp_ready, wait_until
from perflab.settings import TelemetrySettings, with_password

SEED_SCALE = 0.05
DEFAULT_RATIO = TelemetrySettings().trace_sample_ratio
# The simplest DB read: connection_pool's one-row query (flag on: pooled).
DEFAULT_PATH = "/books/{id}"
METRICS_TARGET, TRACING_TARGET = 0.95, 0.90  # throughput vs off (issue 15)


def traced(ratio: float) -> str:
    return f"metrics+tracing({ratio * 100:g}%)"


def configs(ratio: float = DEFAULT_RATIO) -> dict[str, dict[str, str]]:
    """Name -> PERFLAB_TELEMETRY__* settings, in the order they are reported."""
    tracing = {"METRICS_ENABLED": "true", "TRACING_ENABLED": "true"}
    return {
        "off": {"METRICS_ENABLED": "false", "TRACING_ENABLED": "false"},
        "metrics": {"METRICS_ENABLED": "true", "TRACING_ENABLED": "false"},
        traced(ratio): tracing | {"TRACE_SAMPLE_RATIO": str(ratio)},
        traced(1.0): tracing | {"TRACE_SAMPLE_RATIO": "1.0"},
    }


def targets(ratio: float = DEFAULT_RATIO) -> dict[str, float]:
    return {"metrics": METRICS_TARGET, traced(ratio): TRACING_TARGET}


# Ratio to `off` -> the figure it divides.
RATIOS = {"throughput_ratio": "rps", "p95_ratio": "p95_ms", "cpu_ratio": "cpu_ms_per_request"}
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
        env = _service_env(self.dsn, self.redis_url, self.sink, telemetry)
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


def _service_env(dsn: str, redis_url: str, sink: str, overrides: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_")}
    env |= {
        "PERFLAB_DB__DSN": dsn,
        "PERFLAB_REDIS__URL": redis_url,
        "PERFLAB_FLAGS__DEFAULT_ENABLED": "true",  # connection_pool on: the pooled read
        "PERFLAB_TELEMETRY__OTLP_ENDPOINT": sink,
        "PERFLAB_TELEMETRY__LOG_LEVEL": "WARNING",
    }
    return env | {f"PERFLAB_TELEMETRY__{k}": v for k, v in overrides.items()}


def run(
    duration: float = 5.0,
    rounds: int = 4,
    connections: int = 16,
    path: str = DEFAULT_PATH,
    processes: int = 3,
    ratio: float = DEFAULT_RATIO,
) -> dict[str, Any]:
    measured = configs(ratio)
    watch = machine.Watch()  # the machine's speed, to compare this run with another
    with Bench.running(connections, "perflab-bench-") as bench:
        script = bench.script("endpoint", path)
        apis: list[tuple[str, tuple[str, int]]] = []
        for name, telemetry in measured.items():
            for _ in range(processes):
                api = bench.start_lab_api(name, telemetry)
                bench.wrk(api, script, 2)  # warm-up: pool, caches, first-request costs
                apis.append((name, api))
        shuffle = random.Random(0x5EED).shuffle  # a fixed seed: a run can be repeated
        per_round: list[dict[str, dict[str, float]]] = []
        for _ in range(rounds):
            order = list(apis)
            shuffle(order)
            bursts: dict[str, list[dict[str, float]]] = {name: [] for name in measured}
            for name, api in order:
                bursts[name].append(bench.wrk(api, script, duration))
            per_round.append({name: _mean(runs) for name, runs in bursts.items()})
        for _, (_, pid) in apis:
            stop_pid(pid)  # a graceful stop: the tracing ones export what they hold
        exported = httpx.get(f"{bench.sink}/").json()
    setup = {
        "endpoint": f"GET {path}",
        "duration_s": duration,
        "rounds": rounds,
        "processes": processes,
        "connections": connections,
        "pinned": bench.split is not None,
        "default_ratio": ratio,
        "machine": asdict(watch.stop()),
    }
    return _summarise(per_round, exported, setup, targets(ratio))


def _mean(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.fmean(r[key] for r in runs) for key in runs[0]}


def median_runs(runs: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Each figure's median over the rounds: one disturbed run does not move it."""
    return {
        name: {key: statistics.median(r[key] for r in rs) for key in rs[0]}
        for name, rs in runs.items()
    }


def _summarise(
    per_round: list[dict[str, dict[str, float]]],
    exported: dict[str, int],
    setup: dict[str, Any],
    goals: dict[str, float],
) -> dict[str, Any]:
    runs = {name: [r[name] for r in per_round] for name in per_round[0]}
    medians = median_runs(runs)
    configs: dict[str, dict[str, Any]] = {}
    for name, m in medians.items():
        figures: dict[str, Any] = {**m, "rounds": runs[name]}
        # Ratios within each round (configurations seconds apart), then their median.
        for ratio, key in RATIOS.items():
            values = [r[name][key] / r["off"][key] for r in per_round]
            figures[ratio] = statistics.median(values)
            figures[f"{ratio}_range"] = [min(values), max(values)]
        configs[name] = figures
        if name in goals:
            figures["target_throughput_ratio"] = goals[name]
            figures["within_target"] = figures["throughput_ratio"] >= goals[name]
    return {**setup, "otlp_sink": exported, "configs": configs}


def render(report: dict[str, Any]) -> str:
    lines = [
        f"{report['endpoint']}, {report['connections']} connections, {report['processes']} "
        f"processes per config, {report['rounds']} rounds of {report['duration_s']:.0f} s "
        f"bursts, pinned={report['pinned']}",
        "medians over the rounds; ratios to off within each round: median [min..max]",
        f"{'config':<24}{'req/s':>7}{'p95 ms':>8}{'CPU ms/req':>11}"
        f"{'throughput ratio':>25}{'p95 ratio':>10}{'CPU ratio':>10}  target",
    ]
    for name, f in report["configs"].items():
        target = ""
        if "target_throughput_ratio" in f:
            verdict = "ok" if f["within_target"] else "OVER"
            target = f">= {f['target_throughput_ratio']:.2f} {verdict}"
        low, high = f["throughput_ratio_range"]
        lines.append(
            f"{name:<24}{f['rps']:>7.0f}{f['p95_ms']:>8.2f}{f['cpu_ms_per_request']:>11.3f}"
            f"{f['throughput_ratio']:>9.3f} [{low:.3f}..{high:.3f}]"
            f"{f['p95_ratio']:>10.3f}{f['cpu_ratio']:>10.3f}  {target}"
        )
    sink = report["otlp_sink"]
    lines.append(f"OTLP sink received {sink['requests']} exports, {sink['bytes']} bytes")
    lines += machine.report_lines(report)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per burst")
    parser.add_argument("--rounds", type=int, default=4, help="rounds over every process")
    parser.add_argument("--processes", type=int, default=3, help="API processes per config")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--path", default=DEFAULT_PATH, help="endpoint; {id} becomes a random book id"
    )
    parser.add_argument(
        "--ratio", type=float, default=DEFAULT_RATIO, help="head-sampling ratio to compare"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    report = run(
        args.duration, args.rounds, args.connections, args.path, args.processes, args.ratio
    )
    sys.stdout.write(json.dumps(report, indent=2) + "\n" if args.json else render(report))


if __name__ == "__main__":
    main()
